"""Read plain RSS 2.0, RSS 1.0 and Atom 1.0 documents with ElementTree, ten times cheaper than
feedparser, giving the raw entry fields feedparser would give; raise Unsupported otherwise.

feedparser (run with sanitize_html and resolve_relative_uris off) stays the reference: this
module reproduces what it stores for an entry's title, summary, link, id and dates, on
documents where that is certain, and gives up on anything else: not well-formed, a DOCTYPE,
an encoding it cannot be sure of, xml:base, XHTML or base64 content, markup inside a text
element, an element feedparser gives a meaning this module does not model, a date outside
the two common formats. The reason goes into Unsupported, for the debug log and the tests.
"""

from __future__ import annotations

import codecs
import re
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from feedparser.api import StrictFeedParser

ATOM_NS = "http://www.w3.org/2005/Atom"
RSS1_NS = "http://purl.org/rss/1.0/"
RSS090_NS = "http://my.netscape.com/rdf/simple/0.9/"
_UTF8_BOM = b"\xef\xbb\xbf"
_DECLARATION = re.compile(rb"<\?xml[ \t]+version=([\"'])1\.0\1(?:[ \t]+encoding=([\"'])"
                          rb"([A-Za-z][A-Za-z0-9._-]*)\2)?(?:[ \t]+standalone=([\"'])"
                          rb"(?:yes|no)\4)?[ \t]*\?>")
_DOCTYPE = re.compile(rb"<!doctype", re.IGNORECASE)
# Codecs that read ASCII bytes as ASCII: a pure-ASCII body means the same text in each.
_ASCII_COMPATIBLE = {"ascii", "iso8859-1", "iso8859-15", "cp1252", "utf-8"}
# feedparser's text clean-up maps C1 controls to the Windows-1252 characters they stand for.
CP1252_C1 = {c: bytes([c]).decode("cp1252") for c in range(0x80, 0xA0)
             if c not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
# feedparser strips extra slashes after 'scheme://' before joining; its scheme pattern
# is [A-Za-z0-9+-.], where '+-.' is a range that takes in ','.
_SLASHES_AFTER_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+,\-.]*://)/*")
_HTML_HINT = re.compile(r"</\w+>|&#?\w+;")  # what feedparser checks before guessing HTML
_AMP_REFERENCE = re.compile(r"&([A-Za-z0-9_]+);")
_NAMESPACES = {uri.lower(): prefix for uri, prefix in StrictFeedParser.namespaces.items()}
_HANDLED = {name.split("_", 2)[2] if name.startswith("_start_") else name[5:]
            for name in dir(StrictFeedParser) if name.startswith(("_start_", "_end_"))}
# Elements of an entry that feedparser handles without touching the fields read here.
_INERT = {"author", "contributor", "name", "email", "uri", "url", "homepage", "category",
          "dc_creator", "dc_author", "dc_subject", "dc_contributor", "dc_rights", "rights",
          "copyright", "enclosure", "media_content", "media_thumbnail", "media_credit",
          "media_rating", "media_license", "media_restriction", "media_group",
          "itunes_author", "itunes_explicit", "itunes_image", "itunes_block", "itunes_name",
          "itunes_email", "itunes_subtitle"}
_FIELDS = {"title", "link", "guid", "id", "description", "summary", "content",
           "content_encoded", "pubdate", "published", "updated", "dc_date"}
# Names feedparser would store an unknown element under that collide with what is read.
_READ_KEYS = {"title_detail", "summary_detail", "published_parsed", "updated_parsed",
              "links", "guidislink"}
_REFUSED_CHILDREN = _READ_KEYS | (_HANDLED - _FIELDS - _INERT)
_REFUSED_INSIDE = _READ_KEYS | (_HANDLED - _INERT)
_TEXT_TYPES = {"text/plain", "text/html"}
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(),
                                      1)}
_RFC822 = re.compile(r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) ([A-Z][a-z]{2}) "
                     r"(\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? ([A-Z]{1,3}|[+-]\d{4})")
_ZONES = {"GMT": 0, "UTC": 0, "UT": 0, "Z": 0, "EST": -300, "EDT": -240, "CST": -360,
          "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420}  # RFC 822
_W3C = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})")


class Unsupported(Exception):
    """The document needs feedparser; the message says why."""


@dataclass
class RawFeed:
    """The feed's link and its entries as feedparser's entry dictionaries would hold them."""

    link: str = ""
    entries: list[dict] = field(default_factory=list)


def read_simple_feed(body: bytes, content_type: str, base: str) -> RawFeed:
    """Return the feed's link and raw entries; raise Unsupported when feedparser must decide.

    content_type is the HTTP Content-Type ('' if none); base is the URL relative references
    resolve against ('' if none), which is also the Content-Location feedparser is given.
    """
    text = _decode(body, content_type, has_headers=bool(base or content_type))
    reader = _Reader(_settled_base(base))
    root = reader.load(text)
    return reader.read(root)


def _decode(body: bytes, content_type: str, has_headers: bool) -> str:
    """Return the body as text when feedparser would certainly decode it the same way."""
    data = body[3:] if body.startswith(_UTF8_BOM) else body
    if not data.startswith(b"<"):
        raise Unsupported("does not start with '<' (a byte order mark, or leading space)")
    if _DOCTYPE.search(data):
        raise Unsupported("has a DOCTYPE")
    xml_encoding = ""
    if data.startswith(b"<?xml"):
        declaration = _DECLARATION.match(data)
        if not declaration:
            raise Unsupported("unusual XML declaration")
        xml_encoding = (declaration.group(3) or b"").decode().lower()
    mime, charset = _split_content_type(content_type)
    if mime in ("application/xml", "application/xml-dtd",
                "application/xml-external-parsed-entity") or (
            mime.startswith("application/") and mime.endswith("+xml")):
        declared = charset or xml_encoding or "utf-8"
    elif mime.startswith("text/"):
        declared = charset or "us-ascii"  # RFC 3023: text/* without a charset is ASCII
    elif has_headers and not content_type:
        declared = xml_encoding or "iso-8859-1"
    else:
        declared = xml_encoding or "utf-8"
    codec = _codec(declared)
    if charset and xml_encoding and _codec(charset) != _codec(xml_encoding):
        raise Unsupported(f"Content-Type says {charset}, the XML declaration {xml_encoding}")
    if data is not body and _codec(xml_encoding or "utf-8") != "utf-8":
        raise Unsupported("UTF-8 byte order mark on a document declared otherwise")
    if codec == "utf-8" or (codec in _ASCII_COMPATIBLE and data.isascii()):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise Unsupported("not valid UTF-8") from None
    raise Unsupported(f"encoding {declared} (only UTF-8, or ASCII text, is read here)")


def _settled_base(base: str) -> str:
    """Return the base URL feedparser ends up with: it joins the base with itself at every
    element, keeping the result when its scheme is http(s)."""
    settled = base
    for _ in range(2):
        joined = join_url(settled, settled) if settled else ""
        if joined.strip().split(":", 1)[0] in ("http", "https"):
            settled = joined
    if settled and join_url(settled, settled) != settled:
        raise Unsupported(f"a base URL that changes when joined with itself: {base!r}")
    return settled


def _split_content_type(value: str) -> tuple[str, str]:
    mime, *params = value.split(";")
    charset = ""
    for param in params:
        key, _, found = param.partition("=")
        if key.strip().lower() == "charset":
            charset = found.strip().strip("\"'")
    return mime.strip(), charset


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise Unsupported(f"unknown encoding {name!r}") from None


def join_url(base: str, uri: str) -> str:
    """Return uri resolved against base as feedparser does ('' when urllib rejects it)."""
    if (match := _SLASHES_AFTER_SCHEME.match(uri)) and match.end() > len(match.group(1)):
        uri = match.group(1) + uri[match.end():]
    try:
        return urllib.parse.urljoin(base, uri)
    except ValueError:
        return ""


def fix_text(text: str) -> str:
    """Return text as feedparser cleans every value it keeps: UTF-8 read as Latin-1 undone
    when that decodes, C1 controls as the Windows-1252 characters they stand for."""
    if text.isascii():
        return text
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return text.translate(CP1252_C1)


def _content_kind(value: str) -> str:
    value = value.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html",
            "xhtml": "application/xhtml+xml"}.get(value, value)


def parse_date(text: str) -> tuple | None:
    """Return an RFC 822 or W3C date-time as a UTC time tuple; raise Unsupported for any
    other form, which only feedparser's many date parsers may read."""
    if not text:
        return None
    if match := _RFC822.fullmatch(text):
        day, month, year, hour, minute, second, zone = match.groups()
        if month not in _MONTHS or zone.isalpha() and zone not in _ZONES:
            raise Unsupported(f"date {text!r}")
        offset = _ZONES[zone] if zone.isalpha() else (
            (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[3:])))
        fields = (year, _MONTHS[month], day, hour, minute, second or 0)
    elif match := _W3C.fullmatch(text):
        *fields, zone = match.groups()
        fields[5] = fields[5] or 0
        offset = 0 if zone == "Z" else (
            (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:])))
    else:
        raise Unsupported(f"date {text!r}")
    year, month, day, hour, minute, second = (int(f) for f in fields)
    if not 1900 <= year <= 9000 or abs(offset) > 14 * 60 or offset % 60 not in (0, 30, 45):
        raise Unsupported(f"date {text!r}")
    try:
        local = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise Unsupported(f"date {text!r}") from None
    return (local - timedelta(minutes=offset)).replace(tzinfo=UTC).timetuple()


class _Reader:
    """One document: its namespace prefixes, and feedparser's name for each element."""

    def __init__(self, base: str):
        self.base = base
        self.prefix_of: dict[str, str] = {}  # namespace URI -> the prefix the document uses
        self.names: dict[str, tuple[str, str]] = {}  # tag -> (feedparser name, namespace)
        self.version_ns = ""  # the first namespace that tells feedparser the version

    def load(self, text: str) -> ET.Element:
        """Return the root element, noting each namespace's prefix (one each, or give up)."""
        parser = ET.XMLPullParser(events=("start-ns", "start"))
        try:
            parser.feed(text)
            parser.close()
        except ET.ParseError as exc:
            raise Unsupported(f"not well-formed: {exc}") from None
        bound: dict[str, str] = {}
        root = None
        for event, value in parser.read_events():
            if event == "start":
                root = value if root is None else root
                continue
            prefix, uri = value
            if bound.setdefault(prefix, uri) != uri or (
                    prefix and self.prefix_of.setdefault(uri, prefix) != prefix):
                raise Unsupported(f"namespace prefix {prefix!r} or {uri!r} bound twice")
            lower = uri.lower()
            if root is None and not self.version_ns and (lower in (RSS1_NS, ATOM_NS.lower())
                                                         or (prefix, lower) == ("", RSS090_NS)):
                self.version_ns = lower  # what feedparser takes the version from
        return root

    def name(self, tag: str) -> tuple[str, str]:
        """Return feedparser's name for an element ('dc_date', 'link') and its namespace."""
        if tag not in self.names:
            uri, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
            standard = self._standard_prefix(uri)
            if standard is None:  # unknown: feedparser goes by the document's prefix
                standard = self.prefix_of.get(uri, "")
            key = f"{standard.lower()}_{local.lower()}" if standard else local.lower()
            self.names[tag] = (key, uri)
        return self.names[tag]

    @staticmethod
    def _standard_prefix(uri: str) -> str | None:
        lower = uri.lower()
        if "backend.userland.com/rss" in lower or not uri:
            return ""
        return _NAMESPACES.get(lower)

    def attributes(self, element: ET.Element) -> dict[str, str]:
        """Return element's attributes keyed as feedparser keys them."""
        if not element.attrib:
            return {}
        found, by_qname = {}, {}
        for name, value in element.attrib.items():
            uri, _, local = name[1:].partition("}") if name[0] == "{" else ("", "", name)
            standard = _NAMESPACES.get(uri.lower(), "") if uri else ""
            key = (f"{standard}:{local}" if standard else local).lower()
            found[key] = value.lower() if key in ("rel", "type") else value
            qname = (f"{self._qname_prefix(uri)}:{local}" if uri else local).lower()
            by_qname[qname] = value.lower() if qname in ("rel", "type") else value
        found.update(by_qname)
        if "xml:base" in found or "base" in found:
            raise Unsupported("xml:base")
        return found

    def _qname_prefix(self, uri: str) -> str:
        if uri == "http://www.w3.org/XML/1998/namespace":
            return "xml"
        return self.prefix_of[uri]

    def read(self, root: ET.Element) -> RawFeed:
        """Return the feed link and raw entries of the document rooted at root."""
        key, uri = self.name(root.tag)
        if key == "rss":
            channel = container = self._only_channel(root)
        elif key == "feed" and uri == ATOM_NS and self.version_ns == ATOM_NS.lower():
            channel = container = root
        elif key == "rdf_rdf" and self.version_ns == RSS1_NS:
            container, channel = root, self._only_channel(root)
        else:
            raise Unsupported(f"root element {root.tag}")
        self._check_outside_entries(root, container)
        feed = RawFeed(link=self._feed_link(channel))
        for child in container:
            if self.name(child.tag)[0] in ("item", "entry"):
                feed.entries.append(_Entry(self, is_atom=key == "feed").read(child))
        return feed

    def _only_channel(self, root: ET.Element) -> ET.Element:
        channels = [child for child in root if self.name(child.tag)[0] == "channel"]
        if len(channels) != 1:
            raise Unsupported("not exactly one channel")
        return channels[0]

    def _check_outside_entries(self, root: ET.Element, container: ET.Element) -> None:
        """Entries must sit where expected, and nothing outside them may change their reading
        (or, with no base URL, the feed link that stands in for it)."""
        stack = [(root, None)]
        while stack:
            element, parent = stack.pop()
            attributes = self.attributes(element)
            key = self.name(element.tag)[0]
            if key in ("item", "entry") and parent is container:
                continue  # read by _Entry
            if key in ("item", "entry", "source") or key.endswith("svg"):
                raise Unsupported(f"<{element.tag}> where it is not expected")
            if key == "channel" and ("href" in attributes or "lastmod" in attributes):
                raise Unsupported("an href or lastmod attribute on the channel")
            if key == "link" and not self.base and parent is not container and self.name(
                    parent.tag)[0] not in ("channel", "image", "textinput"):
                raise Unsupported("a feed-level link out of place (and no base URL)")
            stack.extend((child, element) for child in element)

    def _feed_link(self, channel: ET.Element) -> str:
        """Return the feed's own link: the base for relative links when there is no URL."""
        if self.base:
            return ""  # not needed: relative links resolve against the feed's URL
        link = ""
        for element in channel:
            key = self.name(element.tag)[0]
            if key in ("image", "textinput") and any(
                    self.name(child.tag)[0] not in _IMAGE_CHILDREN[key] for child in element):
                raise Unsupported(f"<{element.tag}> with unusual children (and no base URL)")
            if key != "link":
                continue
            href = _href(self.attributes(element))
            if href is None:
                text = _text(element).strip()
                link = _AMP_REFERENCE.sub(r"&\1", fix_text(join_url(self.base, text)
                                                           if text else text))
            elif _is_alternate_html(self.attributes(element)):
                link = join_url(self.base, href)
        return link


# Inside these, feedparser keeps a link for the image or text input, not for the feed.
_IMAGE_CHILDREN = {"image": {"title", "link", "description", "url", "width", "height"},
                   "textinput": {"title", "link", "description", "name"}}


class _Entry:
    """Reads one item or entry element the way feedparser fills its entry dictionary."""

    def __init__(self, reader: _Reader, is_atom: bool):
        self.reader = reader
        self.is_atom = is_atom
        self.raw: dict = {}
        self.seen: set[str] = set()

    def read(self, item: ET.Element) -> dict:
        attributes = self.reader.attributes(item)
        if "href" in attributes or "lastmod" in attributes:
            raise Unsupported("an href or lastmod attribute on an entry")
        if attributes.get("rdf:about"):
            self.raw["id"] = attributes["rdf:about"]
        content = None
        for child in item:
            key = self.reader.name(child.tag)[0]
            self._check_subtree(child, key)
            if key in ("content", "content_encoded"):
                content = self._content(child, key)
            elif key in _FIELDS:
                self._field(child, key)
        if "summary" not in self.raw and content is not None:
            self.raw["summary"] = content  # feedparser copies content, without its type
        return self.raw

    def _check_subtree(self, element: ET.Element, key: str) -> None:
        if key in _REFUSED_CHILDREN:
            raise Unsupported(f"<{element.tag}> in an entry")
        group = _GROUPS.get(key, key)
        if key in _FIELDS and key != "link":  # links are taken in order, as feedparser does
            if group in self.seen:
                raise Unsupported(f"a second <{element.tag}> ({group}) in an entry")
            self.seen.add(group)
        stack = list(element)
        while stack:
            inner = stack.pop()
            if self.reader.name(inner.tag)[0] in _REFUSED_INSIDE:
                raise Unsupported(f"<{inner.tag}> inside <{element.tag}> in an entry")
            self.reader.attributes(inner)
            stack.extend(inner)

    def _field(self, element: ET.Element, key: str) -> None:
        attributes = self.reader.attributes(element)
        if key == "link":
            href = _href(attributes)
            if href is None:
                text = self._value(element, resolve=True)
                self.raw["link"] = _AMP_REFERENCE.sub(r"&\1", text.replace("&amp;", "&"))
            elif _is_alternate_html(attributes):
                self.raw["link"] = join_url(self.reader.base, href)
        elif key in ("guid", "id"):
            is_link = attributes.get("ispermalink", "true") == "true"
            self.raw["id"] = self._value(element, resolve=is_link)
            if is_link:
                self.raw.setdefault("link", self.raw["id"])
        elif key in ("pubdate", "published"):
            self.raw["published_parsed"] = parse_date(self._value(element))
        elif key in ("updated", "dc_date"):
            self.raw["updated_parsed"] = parse_date(self._value(element))
        else:
            target = "title" if key == "title" else "summary"
            kind = self._text_kind(attributes, "text/html" if key == "description"
                                   else "text/plain")
            self.raw[target] = self._value(element, kind=kind)
            self.raw[f"{target}_detail"] = {"type": kind}

    def _content(self, element: ET.Element, key: str) -> str:
        attributes = self.reader.attributes(element)
        if "src" in attributes:
            raise Unsupported("content with a src attribute")
        kind = self._text_kind(attributes, "text/html" if key == "content_encoded"
                               else "text/plain")
        return self._value(element, kind=kind)

    @staticmethod
    def _text_kind(attributes: dict[str, str], default: str) -> str:
        if "mode" in attributes:
            raise Unsupported("content with a mode attribute (maybe base64)")
        kind = _content_kind(attributes.get("type", default))
        if kind not in _TEXT_TYPES:
            raise Unsupported(f"content of type {kind!r}")
        return kind

    def _value(self, element: ET.Element, resolve: bool = False, kind: str = "") -> str:
        """Return the element's text as feedparser keeps it."""
        text = _text(element).strip()
        if resolve and text:
            text = join_url(self.reader.base, text)
        if kind == "text/plain" and not self.is_atom and _HTML_HINT.search(text):
            raise Unsupported("text that feedparser may guess is HTML")
        return fix_text(text)


# Elements that fill the same field: a second one needs feedparser's precedence rules.
_GROUPS = {"guid": "id", "description": "summary", "content_encoded": "content",
           "pubdate": "published", "dc_date": "updated"}


def _text(element: ET.Element) -> str:
    if len(element):
        raise Unsupported(f"markup inside <{element.tag}>")
    return element.text or ""


def _href(attributes: dict[str, str]) -> str | None:
    if "url" in attributes or "uri" in attributes:
        raise Unsupported("a link with a url or uri attribute")
    return attributes.get("href")


def _is_alternate_html(attributes: dict[str, str]) -> bool:
    rel = attributes.get("rel", "alternate")
    kind = attributes.get("type", "application/atom+xml" if rel == "self" else "text/html")
    return rel == "alternate" and _content_kind(kind) in ("text/html", "application/xhtml+xml")
