"""Bundle CSS/JS with webassets and copy images, all under content-hashed file names."""

from __future__ import annotations

import base64
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from webassets import Bundle, Environment

from .config import Report

ASSET_PREFIX = "assets"
CSS_SOURCES = ("css/site.css",)
JS_SOURCES = ("js/site.js",)
# Loaded blocking in <head>: applies saved settings before the first paint.
BOOT_SOURCES = ("js/boot.js",)


@dataclass(frozen=True)
class AssetManifest:
    """Where each asset ended up: output paths relative to the report's root."""

    css: str
    js: str
    boot: str
    images: dict[str, str] = field(default_factory=dict)  # source in assets/ -> output path
    integrity: dict[str, str] = field(default_factory=dict)  # output path -> SRI hash

    def image(self, source: str | None) -> str | None:
        return self.images.get(source) if source else None

    def to_json(self) -> dict:
        return {"css": self.css, "js": self.js, "boot": self.boot, "images": self.images,
                "integrity": self.integrity}


def build_assets(report: Report, assets_dir: Path) -> tuple[AssetManifest, dict[str, bytes]]:
    """Return the asset manifest and the asset files ({output path: bytes})."""
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="linuxreport-assets-") as tmp:
        css = _bundle(assets_dir, Path(tmp), CSS_SOURCES, "rcssmin", "site-%(version)s.css",
                      files)
        js = _bundle(assets_dir, Path(tmp), JS_SOURCES, "rjsmin", "site-%(version)s.js", files)
        boot = _bundle(assets_dir, Path(tmp), BOOT_SOURCES, "rjsmin", "boot-%(version)s.js",
                       files)
    images = {}
    for source in _image_sources(report):
        data = (assets_dir / source).read_bytes()
        path = PurePosixPath(source)
        hashed = f"{ASSET_PREFIX}/{path.parent}/{path.stem}-{content_hash(data)}{path.suffix}"
        images[source] = hashed.replace("/./", "/")
        files[images[source]] = data
    integrity = {p: sri(files[p]) for p in (css, js, boot)}
    return AssetManifest(css=css, js=js, boot=boot, images=images, integrity=integrity), files


def content_hash(data: bytes) -> str:
    """The short content hash used in asset file names (same length as webassets')."""
    return hashlib.md5(data).hexdigest()[:8]


def sri(data: bytes) -> str:
    """Return a Subresource Integrity value for data."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def _image_sources(report: Report) -> list[str]:
    sources = [report.logo, report.favicon] + [feed.logo for feed in report.feeds]
    return sorted({s for s in sources if s})


def _bundle(assets_dir: Path, out_dir: Path, sources: tuple[str, ...], filters: str,
            output: str, files: dict[str, bytes]) -> str:
    env = Environment(directory=str(out_dir), url=ASSET_PREFIX)
    env.load_path = [str(assets_dir)]
    env.versions = "hash"
    env.manifest = f"json:{out_dir / '.webassets-manifest.json'}"
    env.cache = False
    env.url_expire = False
    env.updater = "always"
    bundle = Bundle(*sources, filters=filters, output=output)
    env.register(output, bundle)
    bundle.build()
    (url,) = bundle.urls()
    files[url] = (out_dir / PurePosixPath(url).name).read_bytes()
    return url
