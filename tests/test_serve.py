"""The preview server sends our Content-Types, maps dir/ to index.html and misses to 404.html."""

from __future__ import annotations

import threading

import httpx
import pytest

from linuxreport.serve import make_server


@pytest.fixture
def site(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!DOCTYPE html><title>front</title>")
    (tmp_path / "404.html").write_text("<!DOCTYPE html><title>missing</title>")
    (tmp_path / "assets" / "site-0123abcd.css").write_text("body{}")
    (tmp_path / "assets" / "site-0123abcd.js").write_text("void 0;")
    (tmp_path / "assets" / "logo-0123abcd.svg").write_text("<svg/>")
    (tmp_path / ".linuxreport").mkdir()
    (tmp_path / ".linuxreport" / "manifest.json").write_text("{}")
    server = make_server(tmp_path, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path, content_type", [
    ("/", "text/html; charset=utf-8"),
    ("/index.html", "text/html; charset=utf-8"),
    ("/assets/site-0123abcd.css", "text/css; charset=utf-8"),
    ("/assets/site-0123abcd.js", "text/javascript; charset=utf-8"),
    ("/assets/logo-0123abcd.svg", "image/svg+xml; charset=utf-8"),
])
def test_content_types(site, path, content_type):
    response = httpx.get(site + path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type


def test_missing_page_gets_the_404_page(site):
    response = httpx.get(site + "/no/such/page")
    assert response.status_code == 404
    assert "<title>missing</title>" in response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_build_manifest_is_not_served(site):
    assert httpx.get(site + "/.linuxreport/manifest.json").status_code == 404
