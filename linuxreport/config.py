"""The config schema (one YAML file per report in config/) and its loader.

Every key is typed, defaulted and documented here; ``linuxreport check
--reference`` prints this as the config reference. Validation is pure and
collects every problem; only ``load_reports`` raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import yaml

from .errors import ConfigError
from .schema import Check, Problems, build_dataclass, is_missing, opt, req

THEMES = ("light", "dark", "sepia", "terminal", "contrast")
DEFAULT_USER_AGENT = "linuxreport/0.1 (static news aggregator; +https://linuxreport.net/)"


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in parts.netloc


def _is_feed_url(value: str) -> bool:
    return _is_http_url(value) or (value.startswith("file:") and len(value) > 5)


def _is_asset_path(value: str) -> bool:
    return not value.startswith(("/", "..")) and "/../" not in value and "\\" not in value


HttpUrl = Annotated[str, Check("an http(s) URL", _is_http_url)]
FeedUrl = Annotated[str, Check("an http(s) or file: URL", _is_feed_url)]
AssetPath = Annotated[str, Check("a path inside assets/, like 'logos/lwn.svg'", _is_asset_path)]
Positive = Annotated[int, Check("a whole number of at least 1", lambda v: v >= 1)]
Seconds = Annotated[float, Check("a number of seconds above 0", lambda v: v > 0)]
Share = Annotated[float, Check("a number from 0 to 1", lambda v: 0 <= v <= 1)]
Days = Annotated[float, Check("a number of days of at least 0", lambda v: v >= 0)]
Hours = Annotated[float, Check("a number of hours above 0", lambda v: v > 0)]
Theme = Annotated[str, Check("one of " + ", ".join(THEMES), lambda v: v in THEMES)]
Key = Annotated[str, Check("lowercase letters, digits and dashes", lambda v: bool(
    re.fullmatch(r"[a-z0-9][a-z0-9-]*", v)))]


@dataclass(frozen=True)
class FetchLimits:
    """How feeds are fetched; every feed shares these unless it overrides deadline/max_bytes."""

    connect_timeout: Seconds = opt(10.0, "seconds to wait for a connection (TCP and TLS)")
    read_timeout: Seconds = opt(20.0, "seconds to wait for the next chunk of a response")
    deadline: Seconds = opt(45.0, "overall seconds for one feed, retries included")
    concurrency: Positive = opt(128, "feeds fetched at the same time")
    per_host: Positive = opt(4, "feeds fetched at the same time from one host")
    max_bytes: Positive = opt(5_000_000, "largest body accepted, counted after decompression")
    retries: Annotated[int, Check("a whole number of at least 0", lambda v: v >= 0)] = opt(
        2, "extra tries after a connection error or an HTTP 5xx")
    backoff: Seconds = opt(1.0, "seconds before the first retry, doubled for each next one")
    max_redirects: Positive = opt(5, "redirects followed before giving up")


@dataclass(frozen=True)
class Headline:
    """A curated top headline shown above the feed boxes."""

    title: str = req("the headline text")
    url: HttpUrl = req("where it links")
    image: HttpUrl | None = opt(None, "an image shown with the headline")


@dataclass(frozen=True)
class Feed:
    """One source: an RSS/Atom feed and how its box looks."""

    url: FeedUrl = req("the feed's address; file: URLs are relative to the config file")
    title: str = req("the name shown on the feed's box")
    site: HttpUrl | None = opt(None, "the site the box's name and logo link to")
    logo: AssetPath | None = opt(None, "the source's logo, a path inside assets/")
    id: Key | None = opt(None, "stable key for the state file; default: the title, slugified")
    entries_shown: Positive | None = opt(None, "entries on the front page; default: the report's")
    entries_kept: Positive | None = opt(None, "entries remembered; default: the report's")
    deadline: Seconds | None = opt(None, "overall seconds for this feed; default: fetch.deadline")
    max_bytes: Positive | None = opt(None, "largest body for this feed; default: fetch.max_bytes")

    @property
    def key(self) -> str:
        """The feed's stable key: its id, else its title as a slug."""
        return self.id or slugify(self.title)


def _is_target(value: str) -> bool:
    if value.startswith("s3://"):
        bucket = value[5:].split("/", 1)[0]
        return bool(re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket))
    return "://" not in value


Target = Annotated[str, Check("s3://bucket/prefix or a local directory", _is_target)]
CACHE_ASSETS = "public, max-age=31536000, immutable"
CACHE_HTML = "public, max-age=60, s-maxage=300, stale-while-revalidate=60, stale-if-error=86400"
CACHE_DATA = "public, max-age=300, s-maxage=600, stale-while-revalidate=120, stale-if-error=86400"
CACHE_OTHER = "public, max-age=3600, stale-while-revalidate=600, stale-if-error=86400"


@dataclass(frozen=True)
class CacheRules:
    """Cache-Control per path class."""

    assets: str = opt(CACHE_ASSETS, "hashed assets (name-<hash>.ext under assets/)")
    html: str = opt(CACHE_HTML, "HTML pages: short in browsers, longer at the CDN")
    data: str = opt(CACHE_DATA, "feeds, JSON, XML, OPML and text files")
    other: str = opt(CACHE_OTHER, "anything else (unhashed images, scripts at fixed names)")


@dataclass(frozen=True)
class PublishConfig:
    """Where and how `linuxreport publish` uploads the built report."""

    target: Target | None = opt(None, "s3://bucket/prefix or a dir; default: published/<report>")
    endpoint_url: HttpUrl | None = opt(None, "S3 endpoint for non-AWS stores (Linode, R2, MinIO)")
    region: str | None = opt(None, "S3 region; default: boto3's usual chain")
    profile: str | None = opt(None, "AWS profile name; credentials never go in YAML")
    retention_days: Days = opt(7.0, "days an old hashed asset stays after no page references it")
    max_deletes: Annotated[int, Check("a whole number of at least 0", lambda v: v >= 0)] = opt(
        256, "over this many deletes in one run, delete nothing and warn")
    workers: Positive = opt(16, "uploads at the same time")
    gzip: bool = opt(False, "store text files gzip-compressed (Content-Encoding: gzip)")
    cache_control: CacheRules = opt(CacheRules(), "Cache-Control per path class (see below)")
    cloudfront_distribution: str | None = opt(None, "CloudFront distribution to invalidate")
    purge_url: HttpUrl | None = opt(None, "URL that gets a POST of the changed paths (other CDNs)")


@dataclass(frozen=True)
class Report:
    """One report (one site): config/<name>.yaml."""

    name: str
    path: Path
    title: str = req("the site's title, shown in the header and the browser tab")
    base_url: HttpUrl = req("the public address the site is served from")
    feeds: list[Feed] = req("the sources, in the order their boxes appear")
    description: str = opt("", "one sentence for search engines and link previews")
    logo: AssetPath | None = opt(None, "the site's logo, a path inside assets/")
    favicon: AssetPath | None = opt(None, "the browser tab icon, a path inside assets/")
    theme: Theme = opt("light", "the theme readers get until they pick one")
    entries_shown: Positive = opt(8, "entries shown per feed box")
    entries_kept: Positive = opt(40, "entries remembered per feed")
    stale_after_hours: Hours = opt(6.0, "hours without a successful fetch before a box is stale")
    max_failed_share: Share = opt(0.5, "over this share of feeds failing, keep the old output")
    refresh_minutes: Positive = opt(5, "minutes between the page's checks for a newer build")
    archive_days: Positive = opt(365, "days a top headline stays in the archive")
    user_agent: str = opt(DEFAULT_USER_AGENT, "the User-Agent header sent to feeds")
    fetch: FetchLimits = opt(FetchLimits(), "fetch limits (see below)")
    headlines: list[Headline] = opt([], "curated top headlines, shown above the boxes")
    publish: PublishConfig = opt(PublishConfig(), "where to publish (see below)")

    @property
    def config_dir(self) -> Path:
        return self.path.parent

    def shown(self, feed: Feed) -> int:
        return feed.entries_shown or self.entries_shown

    def kept(self, feed: Feed) -> int:
        return max(feed.entries_kept or self.entries_kept, self.shown(feed))


@dataclass
class LoadResult:
    """The reports that loaded, and every error and warning found on the way."""

    reports: list[Report] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def slugify(text: str) -> str:
    """Return text as lowercase words joined by dashes (for keys and file names)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "feed"


def parse_report(path: Path, data: object, assets_dir: Path, source: str) -> tuple[
        Report | None, Problems]:
    """Validate one parsed YAML document; return the Report (or None) and all problems."""
    problems = Problems(source)
    name = path.stem
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        problems.error("(file name)",
                       f"expected lowercase letters, digits and dashes, got {name!r}")
    report = build_dataclass(data, Report, "", problems, {"name": name, "path": path})
    if is_missing(report) or problems.errors:
        return None, problems
    _cross_check(report, assets_dir, problems)
    return (None if problems.errors else report), problems


def _cross_check(report: Report, assets_dir: Path, problems: Problems) -> None:
    if not report.feeds:
        problems.error("feeds", "expected at least one feed, got an empty list")
    for key in ("logo", "favicon"):
        value = getattr(report, key)
        if value and not (assets_dir / value).is_file():
            problems.error(key, f"expected a file inside assets/, got {value!r} (not found)")
    seen_keys: dict[str, int] = {}
    seen_urls: dict[str, int] = {}
    for i, feed in enumerate(report.feeds):
        if feed.key in seen_keys:
            problems.error(f"feeds[{i}].id", f"expected a key unique in the report, got "
                           f"{feed.key!r} (also feeds[{seen_keys[feed.key]}]); set id:")
        if feed.url in seen_urls:
            problems.error(f"feeds[{i}].url", f"expected each feed once, got {feed.url!r} "
                           f"again (also feeds[{seen_urls[feed.url]}])")
        seen_keys.setdefault(feed.key, i)
        seen_urls.setdefault(feed.url, i)
        if feed.logo and not (assets_dir / feed.logo).is_file():
            problems.error(f"feeds[{i}].logo",
                           f"expected a file inside assets/, got {feed.logo!r} (not found)")
        if feed.url.startswith("file:") and not _file_path(feed.url, report.config_dir).is_file():
            problems.error(f"feeds[{i}].url", f"expected an existing file, got {feed.url!r}")


def _file_path(url: str, base_dir: Path) -> Path:
    path = Path(urlsplit(url).path)
    return path if path.is_absolute() else base_dir / path


def feed_file_path(report: Report, feed: Feed) -> Path:
    """Return the local path a file: feed URL names (relative to the config file)."""
    return _file_path(feed.url, report.config_dir)


# libyaml's loader where PyYAML was built with it: the same safe subset, ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_report(path: Path, assets_dir: Path, display: str) -> tuple[Report | None, Problems]:
    """Read and validate one YAML file; syntax errors keep their line and column."""
    problems = Problems(display)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.error("(file)", f"cannot be read: {exc}")
        return None, problems
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        reason = getattr(exc, "problem", None) or str(exc)
        problems.error(where, f"invalid YAML: {reason}")
        return None, problems
    return parse_report(path, data, assets_dir, display)


def config_files(config_dir: Path, names: list[str] | None = None) -> list[Path]:
    """Return the report files to load: all *.yaml in config_dir, or the named ones."""
    if not config_dir.is_dir():
        raise ConfigError([f"{config_dir}: expected a config directory, not found"])
    if not names:
        files = sorted(config_dir.glob("*.yaml"))
        if not files:
            raise ConfigError([f"{config_dir}: expected report files (*.yaml), found none"])
        return files
    missing = [n for n in names if not (config_dir / f"{n}.yaml").is_file()]
    if missing:
        known = ", ".join(p.stem for p in sorted(config_dir.glob("*.yaml"))) or "none"
        raise ConfigError([f"{config_dir / (n + '.yaml')}: no such report '{n}' (known: {known})"
                           for n in missing])
    return [config_dir / f"{n}.yaml" for n in names]


def load_reports(config_dir: Path, assets_dir: Path, names: list[str] | None = None,
                 strict: bool = False) -> LoadResult:
    """Load and validate reports; raise ConfigError listing every problem if any file is bad."""
    result = LoadResult()
    for path in config_files(config_dir, names):
        report, problems = read_report(path, assets_dir, _display(path))
        result.errors += problems.errors
        result.warnings += problems.warnings
        if report:
            result.reports.append(report)
    if result.errors or (strict and result.warnings):
        raise ConfigError(result.errors + (result.warnings if strict else []))
    return result


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
