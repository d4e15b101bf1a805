"""Config validation: every problem in one pass, each naming file, key, expected and found."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from linuxreport.config import Feed, FetchLimits, Headline, Report, parse_report, read_report
from linuxreport.schema import reference

BASE = {"title": "Test Report", "base_url": "https://news.example.org/",
        "feeds": [{"url": "https://lwn.example/rss", "title": "LWN"}]}


def check(data: object, assets_dir: Path):
    return parse_report(Path("x/t.yaml"), data, assets_dir=assets_dir, source="t.yaml")


def test_valid_config_gives_a_report_with_defaults(tmp_path):
    report, problems = check(BASE, tmp_path)
    assert (problems.errors, problems.warnings) == ([], [])
    assert report.name == "t"
    assert (report.theme, report.entries_shown, report.entries_kept) == ("light", 8, 40)
    assert report.feeds[0].key == "lwn"


def test_all_problems_are_reported_at_once(tmp_path):
    data = {"base_url": "https://news.example.org/",
            "feeds": [{"url": "lwn.net/rss", "title": "LWN"}],
            "entries_shown": "eight", "theme": "purple"}
    report, problems = check(data, tmp_path)
    assert report is None
    assert sorted(problems.errors) == sorted([
        "t.yaml: title: missing; expected text",
        "t.yaml: feeds[0].url: expected an http(s) or file: URL, got 'lwn.net/rss'",
        "t.yaml: entries_shown: expected a whole number of at least 1, got 'eight'",
        "t.yaml: theme: expected one of light, dark, sepia, terminal, contrast, got 'purple'",
    ])
    assert problems.warnings == []


def test_booleans_are_not_numbers(tmp_path):
    data = {**BASE, "entries_shown": True, "fetch": {"backoff": False},
            "feeds": [{"url": "https://lwn.example/rss", "title": "LWN", "entries_kept": True}]}
    _, problems = check(data, tmp_path)
    assert sorted(problems.errors) == sorted([
        "t.yaml: entries_shown: expected a whole number of at least 1, got true",
        "t.yaml: fetch.backoff: expected a number of seconds above 0, got false",
        "t.yaml: feeds[0].entries_kept: expected a whole number of at least 1, got true",
    ])


def test_unknown_keys_warn_with_a_hint(tmp_path):
    data = {**BASE, "entries_shwn": 3, "zzzz": 1, "fetch": {"deadlin": 3}}
    report, problems = check(data, tmp_path)
    assert report is not None and problems.errors == []
    assert sorted(problems.warnings) == sorted([
        "t.yaml: entries_shwn: unknown key, ignored (did you mean 'entries_shown'?)",
        "t.yaml: zzzz: unknown key, ignored",
        "t.yaml: fetch.deadlin: unknown key, ignored (did you mean 'deadline'?)",
    ])


def test_top_level_must_be_a_mapping(tmp_path):
    _, problems = check(None, tmp_path)
    assert problems.errors == ["t.yaml: (top level): expected a mapping, got nothing"]


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("title: Test\nfeeds:\n  - url: https://lwn.example/rss\n   title: LWN\n")
    report, problems = read_report(path, tmp_path, "config/t.yaml")
    assert report is None
    [error] = problems.errors
    assert error.startswith("config/t.yaml: line 4, column 4: invalid YAML: ")


def test_read_report_validates_the_yaml(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("title: T\nbase_url: https://news.example.org/\nentries_shown: yes\n"
                    "feeds:\n  - url: https://lwn.example/rss\n    title: LWN\n")
    _, problems = read_report(path, tmp_path, "config/t.yaml")
    assert problems.errors == [
        "config/t.yaml: entries_shown: expected a whole number of at least 1, got true"]


def test_duplicate_feed_titles_point_at_the_second_id(tmp_path):
    data = {**BASE, "feeds": [{"url": "https://a.example/rss", "title": "LWN"},
                              {"url": "https://b.example/rss", "title": "LWN"}]}
    report, problems = check(data, tmp_path)
    assert report is None
    assert problems.errors == ["t.yaml: feeds[1].id: expected a key unique in the report, "
                               "got 'lwn' (also feeds[0]); set id:"]


def test_duplicate_titles_are_fine_with_distinct_ids(tmp_path):
    data = {**BASE, "feeds": [{"url": "https://a.example/rss", "title": "LWN"},
                              {"url": "https://b.example/rss", "title": "LWN", "id": "lwn-2"}]}
    report, problems = check(data, tmp_path)
    assert problems.errors == []
    assert [f.key for f in report.feeds] == ["lwn", "lwn-2"]


def test_logo_that_does_not_exist_is_an_error(tmp_path):
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "site.svg").write_text("<svg/>")
    data = {**BASE, "logo": "logos/site.svg",
            "feeds": [{"url": "https://lwn.example/rss", "title": "LWN",
                       "logo": "logos/lwn.svg"}]}
    report, problems = check(data, tmp_path)
    assert report is None
    assert problems.errors == ["t.yaml: feeds[0].logo: expected a file inside assets/, "
                               "got 'logos/lwn.svg' (not found)"]


@pytest.mark.parametrize("logo", ["/etc/passwd", "../secret.svg", "logos/../../x.svg"])
def test_logo_outside_assets_is_refused(tmp_path, logo):
    _, problems = check({**BASE, "logo": logo}, tmp_path)
    assert problems.errors == [f"t.yaml: logo: expected a path inside assets/, like "
                               f"'logos/lwn.svg', got {logo!r}"]


@pytest.mark.parametrize("cls, indent", [(Report, ""), (Feed, "  "), (FetchLimits, "  "),
                                         (Headline, "  ")])
def test_reference_documents_every_key(cls, indent):
    lines = reference(Report)
    for f in dataclasses.fields(cls):
        if f.name in ("name", "path"):  # from the file name, not a key
            continue
        prefix = f"{indent}{f.name}: "
        assert any(line.startswith(prefix) and line.endswith(f". {f.metadata['doc']}")
                   for line in lines), f.name


def test_reference_lines_give_type_and_default():
    lines = reference(Report)
    assert ("theme: one of light, dark, sepia, terminal, contrast (default: 'light'). "
            "the theme readers get until they pick one") in lines
    assert ("title: text (required). "
            "the site's title, shown in the header and the browser tab") in lines
    assert ("  retries: a whole number of at least 0 (default: 2). "
            "extra tries after a connection error or an HTTP 5xx") in lines


def test_stale_after_hours_is_described_in_hours():
    [line] = [line for line in reference(Report) if line.startswith("stale_after_hours:")]
    assert "seconds" not in line
