"""The command line: exit codes, exact messages, help texts."""

from __future__ import annotations

import json

from conftest import ROOT, run_cli


def test_help_shows_examples_and_exit_codes(tmp_path):
    for args in ([], ["build"], ["check"], ["serve"], ["publish"]):
        result = run_cli(*args, "--help", cwd=tmp_path)
        assert result.returncode == 0
        assert "Example:" in result.stdout
        assert "2  usage error" in result.stdout


def test_usage_error_exits_2(tmp_path):
    result = run_cli("build", "--no-such-option", cwd=tmp_path)
    assert result.returncode == 2
    assert "Error: No such option '--no-such-option'." in result.stderr
    assert run_cli("frobnicate", cwd=tmp_path).returncode == 2


def test_three_mistakes_give_three_messages_and_write_nothing(write_config, tmp_path):
    write_config("news", {
        "title": "News",
        "base_url": "news.example.org",
        "entries_shown": "eight",
        "feeds": [{"url": "https://lwn.net/headlines/newrss", "title": "LWN"},
                  {"url": "lwn.net/rss", "title": "Other"}],
    })
    result = run_cli("build", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "config/news.yaml: base_url: expected an http(s) URL, got 'news.example.org'",
        "config/news.yaml: feeds[1].url: expected an http(s) or file: URL, got 'lwn.net/rss'",
        "config/news.yaml: entries_shown: expected a whole number of at least 1, got 'eight'",
        "Error: 3 problem(s) in the config; nothing was written.",
    ]
    assert not (tmp_path / "public").exists() and not (tmp_path / ".state").exists()


def test_yaml_syntax_error_keeps_line_and_column(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "news.yaml").write_text("title: News\nfeeds: [\n  - url: x\n")
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("config/news.yaml: line 3, column 3: invalid YAML")


def test_unknown_key_warns_and_strict_fails(write_config, tmp_path):
    write_config("news", {"title": "News", "base_url": "https://news.example.org/",
                          "tilte": "typo",
                          "feeds": [{"url": "https://lwn.net/headlines/newrss",
                                     "title": "LWN"}]})
    lenient = run_cli("check", cwd=tmp_path)
    assert lenient.returncode == 0
    assert ("config/news.yaml: tilte: unknown key, ignored (did you mean 'title'?)"
            in lenient.stderr)
    strict = run_cli("check", "--strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert strict.stderr.splitlines()[0] == (
        "config/news.yaml: tilte: unknown key, ignored (did you mean 'title'?)")


def test_unknown_report_name(write_config, tmp_path):
    write_config("news", {"title": "News", "base_url": "https://news.example.org/",
                          "feeds": [{"url": "https://lwn.net/headlines/newrss",
                                     "title": "LWN"}]})
    result = run_cli("build", "nope", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "config/nope.yaml: no such report 'nope' (known: news)")


def test_shipped_configs_pass_strict_check():
    result = run_cli("check", "--strict", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    for name in ("linux", "demo"):
        assert f"config/{name}.yaml: OK" in result.stdout


def test_serve_refuses_an_unbuilt_report(tmp_path):
    result = run_cli("serve", "demo", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: public/demo: not built yet; run: linuxreport build demo")


def test_reference_lists_every_key(tmp_path):
    result = run_cli("check", "--reference", cwd=tmp_path)
    assert result.returncode == 0
    assert "entries_shown: a whole number of at least 1 (default: 8)." in result.stdout
    assert "  url: an http(s) or file: URL (required)." in result.stdout


def test_build_without_names_builds_every_report_and_reports_json(write_config, tmp_path):
    feeds_dir = tmp_path / "config" / "feeds"
    feeds_dir.mkdir(parents=True)
    (feeds_dir / "one.xml").write_bytes(
        (ROOT / "config" / "demo-feeds" / "lwn.xml").read_bytes())
    for name in ("alpha", "beta"):
        write_config(name, {"title": name.title(), "base_url": "https://news.example.org/",
                            "feeds": [{"url": "file:feeds/one.xml", "title": "One"}]})
    result = run_cli("build", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [b["report"] for b in report["built"]] == ["alpha", "beta"]
    assert report["failed"] == []
    assert all(b["feeds_ok"] == 1 and b["entries"] > 0 for b in report["built"])
    assert (tmp_path / "public/alpha/index.html").is_file()
    assert (tmp_path / "public/beta/index.html").is_file()


def test_quiet_build_prints_nothing_on_success(write_config, tmp_path):
    (tmp_path / "config" / "feeds").mkdir(parents=True)
    (tmp_path / "config" / "feeds" / "one.xml").write_bytes(
        (ROOT / "config" / "demo-feeds" / "lwn.xml").read_bytes())
    write_config("alpha", {"title": "Alpha", "base_url": "https://news.example.org/",
                           "feeds": [{"url": "file:feeds/one.xml", "title": "One"}]})
    result = run_cli("-q", "build", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""


# The build stages and their libraries take longer to import than a no-change publish
# takes to run; publish and check must not load them.
BUILD_ONLY_MODULES = {"linuxreport.build", "linuxreport.fetch", "linuxreport.parse",
                      "linuxreport.render", "linuxreport.assets", "httpx", "feedparser",
                      "jinja2", "webassets", "boto3", "s3transfer"}


def loaded_modules(args: list[str], cwd, env: dict | None = None) -> set[str]:
    """Run the CLI in a fresh interpreter; return the names of the modules it imported."""
    import os
    import subprocess
    import sys

    code = ("import json, sys\nfrom linuxreport.cli import main\n"
            f"main({args!r})\nprint(json.dumps(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                            text=True, timeout=120, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_publish_and_check_load_no_build_modules(project):
    built = run_cli("--site-dir", "site", "build", "demo", "--now", "2026-11-21T08:00:00+0000",
                    cwd=project)
    assert built.returncode == 0, built.stderr
    loaded = loaded_modules(["--site-dir", "site", "-q", "publish", "demo"], project)
    assert (project / "published" / "demo" / "index.html").is_file()
    assert loaded.isdisjoint(BUILD_ONLY_MODULES), loaded & BUILD_ONLY_MODULES
    loaded = loaded_modules(["--site-dir", "site", "-q", "check", "demo"], project)
    assert loaded.isdisjoint(BUILD_ONLY_MODULES), loaded & BUILD_ONLY_MODULES


def test_the_cli_default_site_dir_is_the_builds():
    from linuxreport.build import SitePaths
    from linuxreport.cli import SHIPPED_SITE_DIR

    assert SitePaths() == SitePaths(SHIPPED_SITE_DIR / "templates", SHIPPED_SITE_DIR / "assets")
