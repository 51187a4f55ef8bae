"""Malformed inputs: each gives one sentence naming file, line, column and fix; exit code 2.

Every case runs the real command line (``butfor ingest``) through typer's
CliRunner and checks the message, the exit code and that no traceback shows.
Line numbers are counted by hand in the fixture text (header = line 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import export_fixtures as fx
from butfor.cli import app
from butfor.errors import ButforError, DataError
from butfor.ingest import ingest_files


@dataclass
class Bad:
    id: str
    build: Callable[[Path], list[str]]  # writes the files, returns the CLI arguments
    file: str | None  # the file name the message must name
    line: int | None
    column: str | None
    says: str  # a fragment of the problem or the fix


def _w(name: str, text: str, **kw) -> Callable[[Path], list[str]]:
    def build(d: Path) -> list[str]:
        return [str(fx.write(d / name, text, **kw))]
    return build


def _content_with(rows: list[list]) -> Callable[[Path], list[str]]:
    def build(d: Path) -> list[str]:
        return [str(fx.write_csv(d / "content.csv", fx.CONTENT_HEADER, rows))]
    return build


def _legacy_times(*times: str, extra: tuple[str, ...] = ()) -> Callable[[Path], list[str]]:
    def build(d: Path) -> list[str]:
        rows = [fx.legacy_row(str(10 + i), t, 10, 1) for i, t in enumerate(times)]
        return [str(fx.legacy(d, rows)), *extra]
    return build


def _two_lists(d: Path) -> list[str]:
    data = fx.socialblade(d)
    a = fx.write_csv(d / "a-list.csv", ["Name", "Handle"], [["Alice", "alice"]])
    b = fx.write_csv(d / "b-list.csv", ["Name", "Handle"], [["Bob", "bob_b"], ["Al", "ALICE"]])
    return [str(data), "--groups-file", f"a={a}", "--groups-file", f"b={b}"]


_LINK = "https://x.com/ava/status/"
_POST = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # the twelve count columns after Impressions

CASES = [
    Bad("missing-required-column",
        _w("follows.csv", "username,display_name,followers\nava,Ava,10\n"),
        "follows.csv", 1, "date", "has no column 'date'"),
    Bad("unknown-columns",
        _w("mystery.csv", "foo,bar\n1,2\n"),
        "mystery.csv", 1, None, "could not tell the format"),
    Bad("duplicate-unit-date-different-values",
        _w("d.csv", "unit,date,likes\nava,2024-01-01,1\nava,2024-01-02,2\nava,2024-01-01,5\n"),
        "d.csv", 4, "likes", "another row for 2024-01-01 (line 2)"),
    Bad("unparseable-date",
        _w("d.csv", "unit,date,likes\nava,2024-01-01,1\nava,2024-13-45,2\n"),
        "d.csv", 3, "date", "'2024-13-45' is not a date"),
    Bad("mixed-date-formats",
        _w("d.csv", "unit,date,likes\nava,2024-01-01,1\nava,01/02/2024,2\n"),
        "d.csv", 3, "date", "written as MM/DD/YYYY but the first date"),
    Bad("ambiguous-day-month",
        _w("d.csv", "unit,date,likes\nava,01/02/2024,1\nava,01/03/2024,2\n"),
        "d.csv", 2, "date", "month/day and as day/month"),
    Bad("date-without-year",
        _w("d.csv", "unit,date,likes\nava,23 August,1\n"),
        "d.csv", 2, "date", "has no year"),
    Bad("date-with-time-of-day",
        _w("d.csv", "unit,date,likes\nava,2024-01-01 13:00:00,1\n"),
        "d.csv", 2, "date", "has a time of day"),
    Bad("empty-date",
        _w("d.csv", "unit,date,likes\nava,,1\n"),
        "d.csv", 2, "date", "the date is empty"),
    Bad("negative-count",
        _w("d.csv", "unit,date,likes\nava,2024-01-01,1\nava,2024-01-02,-4\n"),
        "d.csv", 3, "likes", "the count -4 is negative"),
    Bad("non-numeric-cell",
        _w("d.csv", "unit,date,likes\nava,2024-01-01,lots\n"),
        "d.csv", 2, "likes", "'lots' is not a number"),
    Bad("non-numeric-after-multiline-text",  # the quoted text spans lines 2-3
        _content_with([["1", "Mon, Aug 24, 2026", "two\nlines", _LINK + "1", 5, *_POST],
                       ["2", "Tue, Aug 25, 2026", "x", _LINK + "2", "n/a", *_POST]]),
        "content.csv", 4, "Impressions", "'n/a' is not a number"),
    Bad("empty-file", _w("empty.csv", ""), "empty.csv", None, None, "is empty"),
    Bad("header-only", _w("h.csv", "unit,date,likes\n"), "h.csv", 1, None,
        "has a header but no data rows"),
    Bad("bom-then-bad-cell",
        _w("bom.csv", "unit,date,likes\nava,2024-01-01,x1\n", encoding="utf-8-sig"),
        "bom.csv", 2, "likes", "'x1' is not a number"),
    Bad("excel-mangled-id-without-permalink",
        _content_with([["1.23457E+18", "Mon, Aug 24, 2026", "hi", "", 5, *_POST]]),
        "content.csv", 2, "Post id", "rounded by a spreadsheet"),
    Bad("excel-mangled-id-contradicting-permalink",
        _content_with([["1.23457E+18", "Mon, Aug 24, 2026", "hi", _LINK + "2075000000000000001",
                        5, *_POST]]),
        "content.csv", 2, "Post id", "does not match the permalink"),
    Bad("post-level-file-without-time-zone",
        _legacy_times("2021-12-28 16:45", "2021-12-29 09:00"),
        "tweet_activity_metrics_ava_20211201_20220101_en.csv", 2, "time",
        "pass --timezone"),
    Bad("some-timestamps-without-zone",
        _legacy_times("2021-12-28 16:45 +0000", "2021-12-29 09:00"),
        "tweet_activity_metrics_ava_20211201_20220101_en.csv", 3, "time",
        "has no time zone but others"),
    Bad("unreadable-timestamp",
        _legacy_times("2021-12-28 16:45 +0000", "yesterday at noon +0000"),
        "tweet_activity_metrics_ava_20211201_20220101_en.csv", 3, "time",
        "is not a timestamp"),
    Bad("ragged-row",
        _w("d.csv", "unit,date,likes\nava,2024-01-01,1\nava,2024-01-02,2,3\n"),
        "d.csv", 3, None, "has 4 cells on this row but 3 in the header"),
    Bad("unclosed-quote",
        _w("d.csv", 'unit,date,likes\nava,2024-01-01,1\n"ava,2024-01-02,2\n'),
        "d.csv", 3, None, "never closed"),
    Bad("column-twice",
        _w("d.csv", "unit,date,likes,Likes\nava,2024-01-01,1,2\n"),
        "d.csv", 1, "Likes", "twice"),
    Bad("overview-without-unit",
        lambda d: [str(fx.overview(d))],
        "account_overview_analytics.csv", None, None, "pass --unit"),
    Bad("handle-list-given-as-data",
        _w("left-list.csv", "Name,Handle\nAva,ava\n"),
        "left-list.csv", 1, None, "--groups-file LABEL=left-list.csv"),
    Bad("handle-in-two-groups", _two_lists, "b-list.csv", 3, "Handle",
        "also in group 'a' ("),
    Bad("broken-json-lines",
        _w("d.jsonl", '{"unit": "ava", "date": "2024-01-01", "likes": 1}\n{"unit": "ava",\n'),
        "d.jsonl", 2, None, "not valid JSON"),
    Bad("not-utf8",
        _w("d.csv", "unit,date,likes\nava,2024-01-01,1\n", encoding="utf-16"),
        "d.csv", None, None, "is UTF-16 text, not UTF-8"),
    Bad("missing-file", lambda d: [str(d / "nowhere.csv")], "nowhere.csv", None, None,
        "does not exist"),
    Bad("bad-time-zone-name",
        lambda d: [str(fx.posts_csv(d)), "--timezone", "Mars/Olympus"], None, None, None,
        "--timezone 'Mars/Olympus' is not a time zone"),
    Bad("groups-file-without-label",
        lambda d: [str(fx.long_csv(d)), "--groups-file", "list.csv"], None, None, None,
        "is not LABEL=FILE"),
]


def test_at_least_twenty_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_sentence_and_exit_code_2(case, tmp_path):
    args = case.build(tmp_path)
    store = tmp_path / "store.duckdb"
    result = CliRunner().invoke(app, ["ingest", *args, "--store", str(store)])
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    message = output.strip()
    assert "\n" not in message, message  # one sentence on one line
    assert message.startswith("error: ") and message.endswith(".")
    if case.file is not None:
        assert case.file in message
    if case.line is not None:
        assert f"line {case.line}" in message, message
    else:
        assert " line " not in message, message
    if case.column is not None:
        assert f"column '{case.column}'" in message, message
    assert case.says in message, message
    assert not store.exists()  # nothing was stored


def test_an_unknown_format_name_is_refused_by_the_library_and_by_the_command(tmp_path):
    # the command line's --format is an enum (butfor.choices.Format): typer refuses the value
    # and lists the readers; the library, called from Python, says the same in its sentence
    with pytest.raises(ButforError, match="--format 'myspace' is not a reader butfor knows"):
        ingest_files([fx.long_csv(tmp_path)], format="myspace")
    result = CliRunner().invoke(app, ["ingest", str(fx.long_csv(tmp_path)), "--format",
                                      "myspace", "--store", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'myspace' is not one of 'auto'" in " ".join(result.output.split())
    assert not (tmp_path / "s.duckdb").exists()


def test_subject_not_in_the_panel(tmp_path):
    """A case whose subject the ingested data does not hold fails with the fix, not a KeyError."""
    from butfor.case import parse_case

    panel, _ = ingest_files([fx.socialblade(tmp_path)])
    case = parse_case({"subject": {"unit": "carol"}, "outcome": {"metric": "followers"},
                       "events": [{"name": "change", "date": "2022-03-30"}]})
    with pytest.raises(DataError) as err:
        case.check_against(panel, source="case.toml")
    assert "'carol' is not in the panel" in str(err.value)
    assert "butfor data" in str(err.value)


def test_errors_are_butfor_errors_in_the_library(tmp_path):
    """The library raises the same one-sentence errors the command line prints."""
    path = fx.write(tmp_path / "d.csv", "unit,date,likes\nava,2024-01-01,lots\n")
    with pytest.raises(ButforError) as err:
        ingest_files([path])
    assert str(err.value) == (f"{path}, line 2, column 'likes': 'lots' is not a number; write a "
                              "plain number there (or leave the cell empty if the value is "
                              "unknown).")


def test_a_zip_member_in_an_unsupported_compression_is_refused_in_one_sentence(tmp_path):
    # zipfile raises NotImplementedError for a compression method it cannot read (here 99,
    # AES in WinZip's numbering, written into both headers by hand): the archive is named
    # with the fix, exit 2, no traceback
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data.csv", "unit,date,impressions\nava,2022-01-01,5\n")
    raw = bytearray(buf.getvalue())
    local, central = raw.find(b"PK\x03\x04"), raw.find(b"PK\x01\x02")
    raw[local + 8:local + 10] = raw[central + 10:central + 12] = (99).to_bytes(2, "little")
    path = tmp_path / "odd.zip"
    path.write_bytes(bytes(raw))
    result = CliRunner().invoke(app, ["ingest", str(path), "--store", str(tmp_path / "s.db")])
    assert result.exit_code == 2
    assert "odd.zip:data.csv: cannot be unpacked" in result.output
    assert "download or export the zip again" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3
