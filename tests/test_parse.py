"""parse_feed: feed bytes in, clean Entry values out (safe links, plain text, UTC dates)."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ROOT, parse_both_ways

from linuxreport.fastparse import Unsupported, read_simple_feed
from linuxreport.parse import ParseError, parse_feed, safe_http_url, shorten

URL = "https://news.example.org/feed.xml"
RSS_HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
ATOM_HEADERS = {"content-type": "application/atom+xml; charset=utf-8"}


def rss(items: str, channel_link: str = "https://news.example.org/") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Example</title><link>{channel_link}</link>{items}</channel></rss>").encode()


def item(title: str = "Story", link: str = "https://news.example.org/story",
         extra: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link>{extra}</item>"


def parse_rss(items: str, final_url: str = URL, **kwargs) -> list:
    return parse_feed(rss(items, **kwargs), RSS_HEADERS, final_url)


# --- formats -------------------------------------------------------------------------

def test_rss2_entry_fields():
    body = rss(item("Kernel 6.9 released", "https://news.example.org/k69",
                    "<guid isPermaLink='false'>tag:news.example.org,2024:69</guid>"
                    "<pubDate>Tue, 02 Jan 2024 10:00:00 +0200</pubDate>"
                    "<description>The release notes.</description>"))
    [entry] = parse_feed(body, RSS_HEADERS, URL)
    assert entry.title == "Kernel 6.9 released"
    assert entry.link == "https://news.example.org/k69"
    assert entry.id == "tag:news.example.org,2024:69"
    assert entry.published == datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
    assert entry.summary == "The release notes."


def test_atom_entry_fields():
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom example</title>
  <entry><title>Atom story</title><link href="https://atom.example.com/1"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2024-03-04T05:06:07Z</updated><summary>Short text.</summary></entry>
</feed>"""
    [entry] = parse_feed(body, ATOM_HEADERS, "https://atom.example.com/feed")
    assert entry.title == "Atom story"
    assert entry.link == "https://atom.example.com/1"
    assert entry.id == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    assert entry.updated == datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert entry.summary == "Short text."


def test_rss1_rdf_entry_with_dc_date():
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.net/"><title>RDF</title>
    <link>https://rdf.example.net/</link></channel>
  <item rdf:about="https://rdf.example.net/r1"><title>RDF story</title>
    <link>https://rdf.example.net/r1</link><dc:date>2024-01-02T09:30:00+01:00</dc:date></item>
</rdf:RDF>"""
    [entry] = parse_feed(body, {"content-type": "application/rdf+xml"},
                         "https://rdf.example.net/index.rdf")
    assert (entry.title, entry.link) == ("RDF story", "https://rdf.example.net/r1")
    assert entry.date == datetime(2024, 1, 2, 8, 30, tzinfo=UTC)


# --- titles and summaries ------------------------------------------------------------

def test_atom_html_title_becomes_plain_text():
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><title type="html">&lt;b&gt;Fish&lt;/b&gt; &amp;amp; &lt;i&gt;chips&lt;/i&gt;</title>
  <link href="https://ex.example/a"/><id>urn:a</id></entry></feed>"""
    [entry] = parse_feed(body, ATOM_HEADERS, "https://ex.example/feed")
    assert entry.title == "Fish & chips"


def test_entities_in_rss_title_are_decoded():
    [entry] = parse_rss(item("AT&amp;T &amp; friends"))
    assert entry.title == "AT&T & friends"


def test_summary_is_plain_text_with_collapsed_whitespace():
    summary = "&lt;p&gt;One &lt;b&gt;bold&lt;/b&gt;\n\n   word.&lt;/p&gt;\n&lt;p&gt;Two.&lt;/p&gt;"
    [entry] = parse_rss(item(extra=f"<description>{summary}</description>"))
    assert entry.summary == "One bold word. Two."


@pytest.mark.parametrize("html", ["First line&lt;br&gt;Second line",
                                  "&lt;p&gt;First line&lt;/p&gt;&lt;p&gt;Second line&lt;/p&gt;"])
def test_summary_keeps_words_apart_across_line_breaks_and_paragraphs(html):
    [entry] = parse_rss(item(extra=f"<description>{html}</description>"))
    assert entry.summary == "First line Second line"


def test_long_summary_is_shortened_with_ellipsis():
    [entry] = parse_rss(item(extra=f"<description>{'lorem ipsum ' * 60}</description>"))
    assert len(entry.summary) <= 280
    assert entry.summary.endswith("…")
    assert entry.summary.startswith("lorem ipsum lorem")


def test_long_title_is_cut_on_a_word_boundary():
    [entry] = parse_rss(item("alpha " * 80))
    assert len(entry.title) <= 200
    assert entry.title.endswith("…")
    assert set(entry.title[:-1].split()) == {"alpha"}  # no word cut in half


def test_shorten_leaves_short_text_alone_and_cuts_long_text():
    assert shorten("short text", 20) == "short text"
    assert shorten("the quick brown fox jumps", 18) == "the quick brown…"
    assert shorten("a" * 50, 20) == "a" * 19 + "…"  # one long word: cut inside it


# --- links ---------------------------------------------------------------------------

def test_relative_link_resolves_against_the_http_final_url():
    [entry] = parse_rss(item(link="/2024/story"), final_url="https://news.example.org/rss/all")
    assert entry.link == "https://news.example.org/2024/story"


def test_relative_link_resolves_against_atom_xml_base():
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://base.example.com/blog/">
<title>T</title><entry><title>x</title><link href="post/1"/><id>urn:1</id></entry></feed>"""
    [entry] = parse_feed(body, ATOM_HEADERS, "https://feeds.example.net/atom")
    assert entry.link == "https://base.example.com/blog/post/1"


def test_relative_link_in_a_file_feed_resolves_against_the_channel_link():
    body = rss(item(link="item/2"), channel_link="https://chan.example.net/news/")
    [entry] = parse_feed(body, {}, "file:///srv/feeds/local.xml", "file:local.xml")
    assert entry.link == "https://chan.example.net/news/item/2"


@pytest.mark.parametrize("link", [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java&#9;script:alert(1)",  # a tab, which browsers ignore
    "   javascript:alert(1)",
    "&#106;avascript:alert(1)",  # the j as a character reference
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
])
def test_entries_with_script_links_are_skipped(link):
    entries = parse_rss(item("evil", link) + item("good", "https://news.example.org/good"))
    assert [(e.title, e.link) for e in entries] == [("good", "https://news.example.org/good")]


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)",
    "  javascript:alert(1)", "&#106;avascript:alert(1)", "java&#x09;script:alert(1)",
    "data:text/html,hi", "vbscript:msgbox(1)", "ftp://example.com/x", "//example.com/x",
    "/relative/path", "http:///no-host", "",
])
def test_safe_http_url_rejects_non_http_urls(url):
    assert safe_http_url(url) == ""


def test_safe_http_url_keeps_http_and_https():
    assert safe_http_url("https://example.com/a?b=1") == "https://example.com/a?b=1"
    assert safe_http_url("HTTP://example.com/") == "HTTP://example.com/"


def test_entry_without_link_is_skipped():
    entries = parse_rss("<item><title>no link</title><description>x</description></item>"
                        + item("linked"))
    assert [e.title for e in entries] == ["linked"]


# --- ids -----------------------------------------------------------------------------

def test_id_is_the_link_when_there_is_no_guid():
    [entry] = parse_rss(item(link="https://news.example.org/no-guid"))
    assert entry.id == "https://news.example.org/no-guid"


def test_duplicate_ids_in_one_feed_collapse_to_the_first():
    guid = "<guid isPermaLink='false'>tag:example,2024:1</guid>"
    entries = parse_rss(item("first", "https://news.example.org/1", guid)
                        + item("second", "https://news.example.org/2", guid))
    assert [e.title for e in entries] == ["first"]


# --- dates ---------------------------------------------------------------------------

def test_rfc822_date_with_offset_is_converted_to_utc():
    [entry] = parse_rss(item(extra="<pubDate>Sat, 01 Jun 2024 23:30:00 +0200</pubDate>"))
    assert entry.published == datetime(2024, 6, 1, 21, 30, tzinfo=UTC)
    assert entry.published.utcoffset() == timedelta(0)


def test_iso_date_with_z_is_utc():
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>x</title>
<link href="https://ex.example/x"/><id>urn:x</id><published>2024-02-29T12:00:00Z</published>
</entry></feed>"""
    [entry] = parse_feed(body, ATOM_HEADERS, "https://ex.example/feed")
    assert entry.published == datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    assert entry.published.utcoffset() == timedelta(0)


@pytest.mark.parametrize("extra", ["", "<pubDate>not a date at all</pubDate>"])
def test_missing_or_unreadable_date_is_none(extra):
    [entry] = parse_rss(item(extra=extra))
    assert entry.published is None and entry.updated is None


# --- encodings -----------------------------------------------------------------------

def test_charset_from_content_type_header_is_used():
    body = ('<rss version="2.0"><channel><title>C</title><item><title>café</title>'
            "<link>https://ex.example/c</link></item></channel></rss>").encode("iso-8859-1")
    headers = {"content-type": "application/rss+xml; charset=iso-8859-1"}
    [entry] = parse_feed(body, headers, "https://ex.example/feed")
    assert entry.title == "café"


def test_charset_header_decides_for_a_non_latin_encoding():
    # Without the header this KOI8-R body would be read as Windows-1252 mojibake.
    body = ('<rss version="2.0"><channel><title>C</title><item><title>привет</title>'
            "<link>https://ex.example/r</link></item></channel></rss>").encode("koi8-r")
    headers = {"content-type": "application/rss+xml; charset=koi8-r"}
    [entry] = parse_feed(body, headers, "https://ex.example/feed")
    assert entry.title == "привет"


# --- failures ------------------------------------------------------------------------

def test_malformed_xml_without_entries_raises():
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>a</ti'
    with pytest.raises(ParseError, match=r"^malformed XML"):
        parse_feed(body, RSS_HEADERS, URL)


def test_malformed_xml_with_usable_entries_keeps_them():
    body = rss(item("survivor")).replace(b"</channel></rss>", b"<item><title>broken</ti")
    assert [e.title for e in parse_feed(body, RSS_HEADERS, URL)] == ["survivor"]


def test_html_page_raises_not_a_feed():
    body = b"<!DOCTYPE html>\n<html><head><title>Oops</title></head><body>Login</body></html>"
    with pytest.raises(ParseError) as info:
        parse_feed(body, {"content-type": "text/html; charset=utf-8"}, URL)
    assert str(info.value) == "not a feed: got an HTML page"


def test_whitespace_only_body_raises_empty_body():
    with pytest.raises(ParseError) as info:
        parse_feed(b"  \n", RSS_HEADERS, URL)
    assert str(info.value) == "empty body"


def test_empty_body_raises_parse_error():
    with pytest.raises(ParseError, match="empty body"):
        parse_feed(b"", RSS_HEADERS, URL)


@pytest.mark.parametrize("headers", [{"content-type": "text/plain"}, {}])
def test_well_formed_empty_feed_is_not_called_malformed(headers):
    assert parse_feed(rss(""), headers, URL) == []


def test_body_naming_a_local_path_is_never_opened(tmp_path):
    feed_file = tmp_path / "secret.xml"
    feed_file.write_bytes(rss(item("local secret")))
    for body in (b"/etc/passwd", str(feed_file).encode(), feed_file.as_uri().encode()):
        with pytest.raises(ParseError):
            parse_feed(body, {}, URL)


# --- the fast path: the same entries as feedparser, or feedparser decides ------------

def _fixture_feeds() -> list[tuple[str, bytes, dict[str, str], str]]:
    from feedserver import rss as server_rss
    spec = importlib.util.spec_from_file_location("bench_feeds", ROOT / "bench" / "feeds.py")
    synthetic = importlib.util.module_from_spec(spec)  # the benchmark's feed generator
    spec.loader.exec_module(synthetic)
    samples = [(path.name, path.read_bytes(), {}, path.as_uri()) for path in sorted(
        [*(ROOT / "config" / "demo-feeds").glob("*.xml"),
         *(ROOT / "tests" / "fixtures").rglob("*.xml")])]
    for n in range(5):
        kind = "atom" if synthetic.is_atom(n) else "rss"
        samples.append((f"bench-{kind}-{n}", synthetic.render(n, 1)[0],
                        {"content-type": f"application/{kind}+xml; charset=utf-8"},
                        f"http://127.0.2.1:8080/feed/{n}.xml"))
    samples.append(("feedserver", server_rss("t", [("A &amp; B", "/rel/1", "Tue, 10 Nov 2026 "
                                                    "10:00:00 GMT")]), RSS_HEADERS, URL))
    for body, extra in [(rss(item("x", "item/2")), "relative"),
                        (rss(item("Caf\u00e9 \u2014 na\u00efve")), "utf-8")]:
        samples += [(f"{extra}-http", body, RSS_HEADERS, URL),
                    (f"{extra}-file", body, {}, "file:///srv/feeds/local.xml")]
    return samples


FIXTURES = _fixture_feeds()


@pytest.mark.parametrize("name, body, headers, final_url", FIXTURES,
                         ids=[sample[0] for sample in FIXTURES])
def test_fast_path_gives_the_same_entries_as_feedparser(name, body, headers, final_url):
    fast, slow = parse_both_ways(body, headers, final_url)
    assert fast == slow
    assert slow and not isinstance(slow, str), "every fixture has usable entries"


def test_fast_path_reads_the_benchmark_and_demo_feeds_itself():
    """Most fixtures must not need feedparser, or the comparison above proves little."""
    fast_read = [name for name, body, headers, url in FIXTURES if _fast_reason(
        body, headers, url) is None]
    assert {f"bench-{kind}-{n}" for n, kind in enumerate("rss rss rss atom atom".split())} \
        <= set(fast_read)
    assert {"hn.xml", "lwn.xml", "reddit-linux.xml", "slashdot.xml", "linuxtoday.xml",
            "relative-file", "utf-8-http"} <= set(fast_read)


def _fast_reason(body: bytes, headers: dict[str, str], final_url: str) -> str | None:
    base = final_url if final_url.startswith(("http:", "https:")) else ""
    try:
        read_simple_feed(body, headers.get("content-type", ""), base)
    except Unsupported as exc:
        return str(exc)
    return None


ATOM_ENTRY = ("<entry><title>T</title><link href='https://ex.example/1'/><id>urn:1</id>"
              "{extra}</entry>")


def atom(extra: str = "", entry: str = "", feed_attrs: str = "") -> bytes:
    return (f"<feed xmlns='http://www.w3.org/2005/Atom'{feed_attrs}><title>F</title>"
            f"{entry or ATOM_ENTRY.format(extra=extra)}</feed>").encode()


@pytest.mark.parametrize("body, headers, reason", [
    (rss(item()).replace(b"</channel>", b"<item><title>x</ti</channel>"), RSS_HEADERS,
     "not well-formed"),
    (b"<html><body><p>Feed</p></body></html>", {}, "root element html"),
    (b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "x.dtd">' + rss(item())[39:], {},
     "has a DOCTYPE"),
    (rss(item()), {"content-type": "application/rss+xml; charset=iso-8859-1"},
     "Content-Type says iso-8859-1, the XML declaration utf-8"),
    (rss(item("caf\u00e9")).replace(b"utf-8", b"iso-8859-1"), {}, "encoding iso-8859-1"),
    (rss(item("caf\u00e9")), {"content-type": "text/xml"}, "encoding us-ascii"),
    (rss(item()).replace(b"Story", b"\xff"), RSS_HEADERS, "not valid UTF-8"),
    ("\ufeff".encode("utf-16-le") + rss(item()).decode().encode("utf-16-le"), {},
     "does not start with '<'"),
    (atom(feed_attrs=" xml:base='https://other.example/'"), ATOM_HEADERS, "xml:base"),
    (rss(item(extra="<pubDate>2 days ago</pubDate>")), RSS_HEADERS, "date '2 days ago'"),
    (atom("<summary type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>x</div>"
          "</summary>"), ATOM_HEADERS, "bound twice|markup inside"),
    (atom("<content type='image/png'>aGVsbG8=</content>"), ATOM_HEADERS,
     "content of type 'image/png'"),
    (rss(item(extra="<description>a</description><description>b</description>")),
     RSS_HEADERS, "a second <description>"),
    (rss(item(extra="<source url='https://s.example/'>S</source>")), RSS_HEADERS,
     "<source> in an entry"),
    (rss(item("&lt;b&gt;bold&lt;/b&gt;")), RSS_HEADERS, "may guess is HTML"),
    (rss(item()).replace(b"<channel>", b"<channel><item><title>i</title></item>", 1)
     .replace(b"<channel>", b"<foo>", 1).replace(b"<title>Example", b"</foo><channel>"
                                                 b"<title>Example", 1), RSS_HEADERS,
     "where it is not expected"),
])
def test_unusual_documents_fall_back_to_feedparser(body, headers, reason):
    assert re.search(reason, _fast_reason(body, headers, URL) or "")
    fast, slow = parse_both_ways(body, headers, URL)
    assert fast == slow
