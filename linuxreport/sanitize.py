"""Make feed text safe and honest: plain text only, http(s) links only, no mojibake."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

_SPACES = re.compile(r"\s+")
# Block-level tags become spaces, so words from separate lines do not run together.
_BLOCK_TAGS = re.compile(r"<(?:br|hr|/?p|/?li|/?div|/?h[1-6]|/?tr|/?td|/?th|/?blockquote|"
                         r"/?ul|/?ol|/?pre|/?section|/?article)\b[^>]*>", re.IGNORECASE)
# Control characters and spaces that browsers ignore inside a URL scheme.
_URL_JUNK = re.compile(r"[\x00-\x20\x7f]+")
# UTF-8 read as Latin-1/Windows-1252: 'Ã©' for 'é', 'â€"' for '—'.
_MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160"
                       "\u0161\u0178\u017d\u017e\u02c6\u02dc\u20ac\u2122]")


class GarbledText(ValueError):
    """Text whose characters were lost in a wrong decoding and cannot be recovered."""


def plain_text(markup: str) -> str:
    """Return markup as plain text: tags dropped, entities decoded, whitespace collapsed."""
    text = nh3.clean(_BLOCK_TAGS.sub(" ", markup), tags=set())
    return _SPACES.sub(" ", html.unescape(text)).strip()


def collapse(text: str) -> str:
    """Return text with runs of whitespace collapsed to one space."""
    return _SPACES.sub(" ", text).strip()


def honest_text(text: str) -> str:
    """Return text as its author meant it: undo UTF-8-read-as-Windows-1252 mojibake; raise
    GarbledText when characters were replaced and are gone."""
    if "\ufffd" in text:
        raise GarbledText("replacement characters")
    if not _MOJIBAKE.search(text):
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            repaired = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if not _MOJIBAKE.search(repaired):
            return repaired
    raise GarbledText("mixed or wrong character encodings")


def safe_http_url(url: str) -> str:
    """Return url if it is an absolute http(s) URL (scheme checked after browser-style
    cleanup, so obfuscated javascript: links are caught), else ''."""
    url = html.unescape(url or "").strip()
    parts = urlsplit(_URL_JUNK.sub("", url))
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return url
