"""Render a report's pages with jinja2: {output path: bytes}, nothing written to disk."""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import os
import pickle
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import jinja2

from . import syndication
from .assets import AssetManifest
from .models import FeedState, SiteData


class RenderError(Exception):
    """A template failed to render."""


def render_site(data: SiteData, manifest: AssetManifest, templates_dir: Path,
                asset_files: dict[str, bytes], reuse: dict[str, bytes] | None = None,
                parallel: bool = False) -> dict[str, bytes]:
    """Return every file of the report (pages, data files, assets) keyed by output path.

    reuse: the REUSABLE files of a previous build whose reader_fingerprint was the same
    as this one's; they are taken as they are instead of being rendered again.
    parallel: render the biggest pages in a second process (for big reports; the caller
    must run no other thread, as the process is forked).
    """
    env = _environment(templates_dir)
    report = data.report
    logo = manifest.image(report.logo)
    common = {
        "report": report, "assets": manifest, "image": manifest.image,
        "favicon": manifest.image(report.favicon), "logo": logo,
        "logo_size": _svg_size(asset_files[logo]) if logo and logo.endswith(".svg") else None,
    }
    files = dict(asset_files)
    if reuse is not None and set(reuse) == set(REUSABLE):
        files.update(reuse)
    else:
        files.update(_reader_files(env, data, common, parallel))
    template, context = _health_page(data)
    files["health/index.html"] = _tidy(_render(env, template, {**common, **context})).encode()
    files["status.json"] = status_json(data)
    version = content_version(files)
    files["version.json"] = (json.dumps({"version": version}) + "\n").encode()
    precache = ["./", manifest.css, manifest.js, manifest.boot] + sorted(manifest.images.values())
    files["sw.js"] = _render(env, "sw.js", {"version": version, "precache": precache}).encode()
    return files


def _reader_files(env: jinja2.Environment, data: SiteData, common: dict,
                  parallel: bool) -> dict[str, bytes]:
    pages = _pages(data)
    # The all-stories page is as big as the front page: a second core renders it.
    child = _ForkedRender(env, {p: pages.pop(p) for p in PARALLEL_PAGES}, common) \
        if parallel and hasattr(os, "fork") else None
    files = _render_pages(env, pages, common)
    stories = syndication.front_page_stories(data)
    files["feed.xml"] = syndication.atom_feed(data, stories)
    files["headlines.json"] = syndication.json_feed(data, stories)
    files["sources.opml"] = syndication.opml(data)
    files["sitemap.xml"] = syndication.sitemap(data)
    files["robots.txt"] = syndication.robots(data)
    files["manifest.webmanifest"] = syndication.web_manifest(
        data, common["favicon"], THEME_COLORS.get(data.report.theme, "#ffffff"))
    if child:
        files.update(child.result())
    return files


PARALLEL_PAGES = ("all/index.html",)


def _render_pages(env: jinja2.Environment, pages: dict[str, tuple[str, dict]],
                  common: dict) -> dict[str, bytes]:
    return {path: _tidy(_render(env, template, {**common, **context})).encode("utf-8")
            for path, (template, context) in pages.items()}


class _ForkedRender:
    """Renders some pages in a forked child process, meanwhile the caller renders others."""

    def __init__(self, env: jinja2.Environment, pages: dict[str, tuple[str, dict]],
                 common: dict):
        read, write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: render, send the pages (or the error), leave
            os.close(read)
            try:
                try:
                    message = ("ok", _render_pages(env, pages, common))
                except Exception as exc:  # reported by the parent
                    message = ("error", str(exc))
                with os.fdopen(write, "wb") as out:
                    pickle.dump(message, out, protocol=5)
            finally:
                os._exit(0)
        os.close(write)
        self.read = read

    def result(self) -> dict[str, bytes]:
        with os.fdopen(self.read, "rb") as stream:
            data = stream.read()
        _, status = os.waitpid(self.pid, 0)
        if not data:
            raise RenderError(f"the page renderer process died (wait status {status})")
        kind, payload = pickle.loads(data)
        if kind == "error":
            raise RenderError(payload)
        return payload


# Files that depend only on what reader_fingerprint covers: the same fingerprint, the same
# bytes. The health page and status.json show every fetch and are rendered every time;
# version.json and sw.js are computed from the others.
REUSABLE = ("index.html", "all/index.html", "archive/index.html", "about/index.html",
            "404.html", "feed.xml", "headlines.json", "sources.opml", "sitemap.xml",
            "robots.txt", "manifest.webmanifest")
_CODE_DIR = Path(__file__).resolve().parent


def _folder_digest(folder: Path) -> bytes:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.digest()


@functools.cache
def _code_digest() -> bytes:
    """This package's code, read once per process (the templates may change between
    builds of one process; the code does not)."""
    return _folder_digest(_CODE_DIR)


def reader_fingerprint(data: SiteData, manifest: AssetManifest, templates_dir: Path,
                       entry_digests: dict[str, str] | None = None) -> str:
    """Return a hash of everything the REUSABLE files are made from: the report's config,
    what each box shows, the headlines and their archive, the asset names, the templates
    and this package's code.

    entry_digests: a hash of each feed's entries (StateStore.entries_digest), which stands
    for them; a box whose feed has none is hashed entry by entry.
    """
    digest = hashlib.sha256()
    digest.update(_folder_digest(templates_dir) + _code_digest())
    digests = entry_digests or {}

    # The entries as JSON of plain values (pickling 30,000 dataclasses costs ten times
    # more); the rest, small, pickled without the memo, so that equal values give equal
    # bytes whether or not they are one object.
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    rows = [(e.id, e.title, e.link, e.summary, iso(e.published), iso(e.updated),
             iso(e.first_seen)) for box in data.boxes if box.feed.key not in digests
            for e in box.entries]
    digest.update(json.dumps(rows).encode())
    boxes = [(box.feed.key, box.shown, box.last_change, box.stale, box.error, len(box.entries),
              digests.get(box.feed.key)) for box in data.boxes]
    shown = (data.report, boxes, data.headlines, data.archive,
             json.dumps(manifest.to_json(), sort_keys=True))
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True
    pickler.dump(shown)
    digest.update(buffer.getbuffer())
    return digest.hexdigest()


THEME_COLORS = {"light": "#ffffff", "dark": "#121212", "sepia": "#f4ecd8",
                "terminal": "#000000", "contrast": "#000000"}
# What readers see; the health page and status.json change with every fetch and are left out.
VERSIONED = ("index.html", "all/index.html", "archive/index.html", "about/index.html",
             "feed.xml", "headlines.json")


def content_version(files: dict[str, bytes]) -> str:
    """Return a short hash that changes only when what readers see changes."""
    digest = hashlib.sha256()
    for path in VERSIONED:
        digest.update(path.encode() + b"\0" + files[path] + b"\0")
    return digest.hexdigest()[:16]


def _pages(data: SiteData) -> dict[str, tuple[str, dict]]:
    report = data.report
    base = report.base_url
    stories = _all_stories(data)
    days = [(day, list(records)) for day, records in
            itertools.groupby(data.archive, key=lambda h: h.first_seen.astimezone(UTC).date())]
    return {
        "index.html": ("index.html", {"root": "", "canonical": base, "page": "index",
                                      "boxes": data.boxes, "headlines": data.headlines}),
        "all/index.html": ("all.html", {"root": "../", "canonical": urljoin(base, "all/"),
                                        "page": "all", "stories": stories}),
        "archive/index.html": ("archive.html", {"root": "../", "page": "archive",
                                                "canonical": urljoin(base, "archive/"),
                                                "days": days}),
        "about/index.html": ("about.html", {"root": "../", "canonical": urljoin(base, "about/"),
                                            "page": "about"}),
        "404.html": ("404.html", {"root": urlsplit(base).path, "page": "404",
                                  "canonical": urljoin(base, "404.html"), "base_url": base}),
    }


class _Story(NamedTuple):
    """A line of the all-stories page, with its time formatted once."""

    link: str
    title: str
    summary: str
    source: str
    iso: str | None
    human: str | None


def _all_stories(data: SiteData) -> list[_Story]:
    dated = [(e.date, e, box.feed.title) for box in data.boxes for e in box.entries]
    dated.sort(key=lambda d: (d[0] or _EPOCH, d[1].id), reverse=True)
    return [_Story(e.link, e.title, e.summary, source,
                   iso_utc(date) if date else None, human_utc(date) if date else None)
            for date, e, source in dated]


def _health_page(data: SiteData) -> tuple[str, dict]:
    return ("health.html", {
        "root": "../", "canonical": urljoin(data.report.base_url, "health/"), "page": "health",
        "boxes": data.boxes, "ok_count": sum(not b.error for b in data.boxes)})


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _render(env: jinja2.Environment, template: str, context: dict) -> str:
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateError as exc:
        where = f"{exc.filename}:{exc.lineno}" if getattr(exc, "lineno", None) else template
        raise RenderError(f"template {where}: {exc}") from exc


def status_json(data: SiteData) -> bytes:
    """Return the machine-readable feed health of the report."""
    feeds = []
    for box in data.boxes:
        state = box.state or FeedState(key=box.feed.key, url=box.feed.url)
        feeds.append({
            "key": box.feed.key, "title": box.feed.title, "url": box.feed.url,
            "status": box.health, "stale": box.stale, "error": box.error,
            "entries": len(state.entries),
            "last_success": _iso_or_none(state.last_success),
            "last_failure": _iso_or_none(state.last_failure),
            "last_failure_reason": state.last_failure_reason,
            "consecutive_failures": state.consecutive_failures,
            "last_change": _iso_or_none(state.last_change),
            "permanent_redirect": state.permanent_redirect,
            "gone_since": _iso_or_none(state.gone_since),
            "retry_after": _iso_or_none(state.retry_after),
        })
    report = {"report": data.report.name, "feeds": feeds,
              "failing": [f["key"] for f in feeds if f["error"]]}
    return (json.dumps(report, indent=1, ensure_ascii=False) + "\n").encode()


def _iso_or_none(value: datetime | None) -> str | None:
    return iso_utc(value) if value else None


def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["iso"] = iso_utc
    env.filters["human"] = human_utc
    return env


def iso_utc(value: datetime) -> str:
    """Return an RFC 3339 UTC timestamp, as browsers parse it in <time datetime>."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_utc(value: datetime) -> str:
    """Return a readable UTC time; the script replaces it with the reader's local time."""
    return value.astimezone(UTC).strftime("%b %-d, %H:%M UTC")


def _svg_size(svg: bytes) -> tuple[str, str] | None:
    head = svg[:2000].decode("utf-8", "replace")
    tag = re.search(r"<svg\b[^>]*>", head)
    if not tag:
        return None
    width = re.search(r'\swidth="(\d+)(?:px)?"', tag.group(0))
    height = re.search(r'\sheight="(\d+)(?:px)?"', tag.group(0))
    return (width.group(1), height.group(1)) if width and height else None


def _tidy(text: str) -> str:
    return re.sub(r"\n\s*\n+", "\n", text)
