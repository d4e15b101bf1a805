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
# C0 and C1 controls (but tab and newline, which are whitespace), surrogates and the
# non-characters U+FFFE/U+FFFF: never meant as text, and not allowed in XML we write.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Browsers drop tabs and newlines anywhere in a URL, and strip C0 controls and spaces
# around it.
_URL_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_URL_EDGES = "".join(chr(c) for c in range(0x21))
# UTF-8 read as Latin-1/Windows-1252: 'Ã©' for 'é', 'â€"' for '—'.
_MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160"
                       "\u0161\u0178\u017d\u017e\u02c6\u02dc\u20ac\u2122]")


class GarbledText(ValueError):
    """Text whose characters were lost in a wrong decoding and cannot be recovered."""


def plain_text(markup: str) -> str:
    """Return markup as plain text: tags dropped, entities decoded, whitespace collapsed.

    The result is text, not markup: it may contain '<' and must be escaped on output.
    """
    text = nh3.clean(_BLOCK_TAGS.sub(" ", markup), tags=set())
    return collapse(html.unescape(text))


def collapse(text: str) -> str:
    """Return text without control characters, runs of whitespace collapsed to one space."""
    if text.isascii() and text.isprintable():  # the common case: only spaces to collapse
        return " ".join(text.split())
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


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
    """Return url, cleaned up as a browser would read it, if it is an absolute http(s) URL
    (so obfuscated javascript: links are caught); else ''."""
    url = _URL_TAB_NEWLINE.sub("", url or "").strip(_URL_EDGES)
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # a malformed host, such as an unclosed '[' IPv6 literal
        return ""
    if parts.scheme.lower() not in ("http", "https") or not hostname or _CONTROL.search(url):
        return ""
    return url
