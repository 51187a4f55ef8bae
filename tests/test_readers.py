"""Readers on small made-up exports in the layouts of ../shared/FORMATS.md.

Every expected number below is a hand computation from the fixture rows in
tests/export_fixtures.py (sums of the rows per day, days shifted by the
stated time zone's UTC offset).
"""

from __future__ import annotations

import json
import math

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import export_fixtures as fx
import wikimedia_fixtures
from butfor.ingest import ingest_files
from butfor.panel import Panel
from butfor.readers import FORMATS, READERS, detect_format, read, read_files


def _day(result, unit, date):
    frame = result.frame
    row = frame[(frame["unit"] == unit) & (frame["date"] == pd.Timestamp(date))]
    assert len(row) == 1, f"{unit} {date}: {len(row)} rows"
    return row.iloc[0]


def _notes(report, action=None):
    return [n for n in report.notes if action is None or n.action == action]


# ---------------------------------------------------------------------------
# contract: every reader, one fixture each
FIXTURES = {
    "socialblade": (fx.socialblade, {}),
    "x_overview": (fx.overview, {"unit": "ava"}),
    "x_content": (fx.content, {}),
    "x_legacy": (lambda d: fx.legacy(d, [fx.legacy_row("11", "2021-12-28 16:45 +0000", 100, 3)]),
                 {"timezone": "UTC"}),
    "posts": (fx.posts_csv, {"timezone": "UTC"}),
    "long": (fx.long_csv, {}),
    "wide": (fx.wide_csv, {"metric": "impressions"}),
    "youtube": (fx.youtube_table_by_date, {"unit": "ava"}),
    "instagram": (fx.instagram, {}),
    "tiktok": (fx.tiktok_overview, {"unit": "ava"}),
    "socialblade_api": (fx.socialblade_api, {}),
    "trends": (fx.trends, {}),
    "wikimedia": (wikimedia_fixtures.wikimedia_json, {}),
}


def test_every_reader_has_a_fixture():
    assert set(FIXTURES) == set(READERS) == set(FORMATS)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_reader_contract(name, tmp_path):
    build, options = FIXTURES[name]
    path = build(tmp_path)
    assert detect_format(path) == name
    result = read(path, **options)
    frame = result.frame
    assert list(frame.columns[:2]) == ["unit", "date"]
    metrics = list(frame.columns[2:])
    assert metrics and all(frame[m].dtype == np.float64 for m in metrics)
    assert not frame.duplicated(["unit", "date"]).any()
    assert {"unit", "display_name"} <= set(result.units.columns)
    assert set(frame["unit"]) == set(result.units["unit"])
    [source] = result.report.sources
    assert source.format == name and len(source.sha256) == 64
    assert source.rows_read == source.rows_kept + source.rows_dropped > 0
    # the same file read with an explicit --format gives the same frame
    pd.testing.assert_frame_equal(read(path, format=name, **options).frame, frame)
    Panel.from_frame(frame, result.units)  # a valid panel


# ---------------------------------------------------------------------------
def test_socialblade_values_units_and_change_check(tmp_path):
    result = read(fx.socialblade(tmp_path))
    assert _day(result, "Bob_B", "2022-03-30")["followers"] == 1990
    assert _day(result, "alice", "2022-03-31")["posts"] == 53  # tweets -> posts
    assert "change" not in result.frame and "percent_change" not in result.frame
    names = dict(zip(result.units["unit"], result.units["display_name"], strict=True))
    assert names == {"alice": "Alice A", "Bob_B": "Bob, the Builder"}
    # Bob_B on 2022-03-31: change says 99, followers went 1990 -> 1995 (line 7)
    [off] = [n for n in result.report.notes if "disagrees" in n.reason]
    assert off.lines == [7] and off.column == "change"
    assert result.report.rows_kept == 6 and result.report.rows_dropped == 0


def test_x_overview_quirks_are_repaired_and_noted(tmp_path):
    result = read(fx.overview(tmp_path), unit="ava")
    assert _day(result, "ava", "2026-08-25")["impressions"] == 10000
    assert _day(result, "ava", "2026-08-27")["impressions"] == 15000  # "15,000"
    assert math.isnan(_day(result, "ava", "2026-08-26")["unfollows"])  # "-"
    assert _day(result, "ava", "2026-08-26")["posts"] == 2  # Create Post -> posts
    assert _day(result, "ava", "2026-08-27")["new_follows"] == 7
    repaired = {(n.reason.split(" ")[0], n.column): n.lines for n in _notes(result.report,
                                                                             "repaired")}
    assert repaired == {("byte-order", None): [1], ("thousands", "Impressions"): [2],
                        ("'-'", "Unfollows"): [3]}
    assert result.report.rows_repaired == 2


def test_x_video_overview_is_detected_and_read_with_row_accounting(tmp_path):
    # FORMATS.md's video overview: detected without --format, the same reader as the
    # account overview (one account per file, --unit required)
    result = read_files([fx.video_overview(tmp_path)], unit="ava")
    assert result.report.sources[0].format == "x_overview"
    (source,) = result.report.sources
    assert source.rows_read == 3 == source.rows_kept and source.rows_dropped == 0
    assert _day(result, "ava", "2026-08-27")["views"] == 1500  # "1,500"
    assert _day(result, "ava", "2026-08-26")["watch_time_ms"] == 2500000
    assert _day(result, "ava", "2026-08-25")["completion_rate"] == 0.42


def test_x_content_posts_summed_into_days(tmp_path):
    result = read(fx.content(tmp_path))
    assert set(result.frame["unit"]) == {"ava"}  # from the permalinks
    expected = {  # (posts, impressions, likes) summed by hand from the four rows
        "2026-08-24": (1, 100, 1),
        "2026-08-25": (2, 1500, 15),
        "2026-08-26": (0, 0, 0),  # no post that day: explicit zeros, noted as filled
        "2026-08-27": (1, 500, 5),
    }
    for date, (posts, impressions, likes) in expected.items():
        row = _day(result, "ava", date)
        assert (row["posts"], row["impressions"], row["likes"]) == (posts, impressions, likes)
    [mangled] = [n for n in result.report.notes if "rounded" in n.reason]
    assert mangled.action == "repaired" and mangled.lines == [3] and mangled.column == "Post id"
    [aggregated] = _notes(result.report, "aggregated")
    # line numbers follow the text editor: the third post's text spans lines 4-5
    assert aggregated.count == 4 and sorted(aggregated.lines) == [2, 3, 4, 6]
    [filled] = _notes(result.report, "filled")
    assert filled.count == 1


def _legacy_pair(tmp_path):
    a = fx.legacy(tmp_path, [
        fx.legacy_row("1", "2021-12-28 16:45 +0000", 100, 3),
        fx.legacy_row("2", "2021-12-29 03:30 +0000", 200, 4),
        fx.legacy_row("3", "2021-12-31 12:00 +0000", 50, 1),
    ], start="20211201", end="20220101")
    b = fx.legacy(tmp_path, [
        fx.legacy_row("2", "2021-12-29 03:30 +0000", 200, 4),  # exact repeat
        fx.legacy_row("3", "2021-12-31 12:00 +0000", 80, 2),  # a later export: more counts
        fx.legacy_row("4", "2022-01-02 10:00 +0000", 30, 0, promoted=True),
    ], start="20211229", end="20220128")
    return a, b


def test_x_legacy_deduplicates_overlapping_files(tmp_path):
    a, b = _legacy_pair(tmp_path)
    result = read_files([a, b], timezone="UTC")
    report = result.report
    src = {s.file: s for s in report.sources}
    assert (src[str(a)].rows_read, src[str(a)].rows_kept, src[str(a)].rows_dropped) == (3, 1, 2)
    assert (src[str(b)].rows_read, src[str(b)].rows_kept, src[str(b)].rows_dropped) == (3, 3, 0)
    dropped = [n for n in _notes(report, "dropped") if n.reason.startswith("duplicate post id")]
    assert sorted(n.lines[0] for n in dropped) == [3, 4]
    assert all(n.file == str(a) for n in dropped)
    # UTC days
    assert _day(result, "ava", "2021-12-28")["impressions"] == 100
    assert _day(result, "ava", "2021-12-29")["impressions"] == 200
    assert _day(result, "ava", "2021-12-31")["impressions"] == 80  # the later file's counts
    assert _day(result, "ava", "2021-12-31")["reposts"] == 1  # retweets -> reposts
    assert _day(result, "ava", "2022-01-02")["posts"] == 1
    assert "engagement_rate" not in result.frame
    assert not [c for c in result.frame if c.startswith("promoted")]
    [paid] = [n for n in report.notes if "promoted" in n.reason]
    assert "1 posts had promoted values" in paid.reason


def test_x_legacy_days_follow_the_stated_time_zone(tmp_path):
    a, b = _legacy_pair(tmp_path)
    result = read_files([a, b], timezone="America/New_York")
    # 16:45 and 03:30 UTC are 11:45 on Dec 28 and 22:30 on Dec 28 in New York (UTC-5)
    row = _day(result, "ava", "2021-12-28")
    assert (row["posts"], row["impressions"]) == (2, 300)
    assert _day(result, "ava", "2021-12-29")["posts"] == 0
    assert _day(result, "ava", "2021-12-31")["impressions"] == 80  # 07:00 in New York


def test_x_legacy_without_timezone_uses_utc_and_says_so(tmp_path):
    a, _ = _legacy_pair(tmp_path)
    result = read(a)
    assert any("no --timezone given" in n.reason for n in result.report.notes)
    assert _day(result, "ava", "2021-12-29")["impressions"] == 200


def test_posts_days_in_tokyo(tmp_path):
    path = fx.posts_csv(tmp_path)
    tokyo = read(path, timezone="Asia/Tokyo")  # UTC+9: all three posts fall on Mar 2
    assert len(tokyo.frame) == 1
    row = _day(tokyo, "ava", "2024-03-02")
    assert (row["posts"], row["views"], row["likes"]) == (3, 220, 10)
    utc = read(path, timezone="UTC")
    assert _day(utc, "ava", "2024-03-01")["views"] == 100
    assert _day(utc, "ava", "2024-03-02")["views"] == 120


def test_posts_without_zone_read_as_local_times(tmp_path):
    path = fx.posts_csv(tmp_path, zone="")
    result = read(path, timezone="UTC")
    assert _day(result, "ava", "2024-03-02")["views"] == 120


# ---------------------------------------------------------------------------
# generic tables: the same data as CSV, Parquet and JSON lines
def test_long_csv_parquet_and_jsonl_agree(tmp_path):
    from_csv = read(fx.long_csv(tmp_path)).frame
    table = pd.DataFrame(fx.long_rows(), columns=["unit", "date", "impressions", "likes"])
    table["date"] = pd.to_datetime(table["date"])
    table.to_parquet(tmp_path / "long.parquet", index=False)
    with open(tmp_path / "long.jsonl", "w", encoding="utf-8") as fh:
        for row in fx.long_rows():
            fh.write(json.dumps(dict(zip(["unit", "date", "impressions", "likes"], row,
                                         strict=True))) + "\n")
    for path in (tmp_path / "long.parquet", tmp_path / "long.jsonl"):
        assert detect_format(path) == "long"
        pd.testing.assert_frame_equal(read(path).frame, from_csv, check_dtype=False)
    assert from_csv["impressions"].tolist() == [10, 12, 20, 25]


def test_wide_equals_long(tmp_path):
    wide = read(fx.wide_csv(tmp_path), metric="impressions").frame
    assert len(wide) == 6  # every (unit, date) cell of the wide table
    expected = {("alice", "2022-01-01"): 10, ("alice", "2022-01-02"): 12,
                ("bob", "2022-01-01"): 20, ("bob", "2022-01-03"): 25}
    got = {(r.unit, f"{r.date:%Y-%m-%d}"): r.impressions for r in wide.itertuples()
           if not math.isnan(r.impressions)}
    assert got == expected


def test_column_mapping_and_single_unit(tmp_path):
    path = fx.write_csv(tmp_path / "mine.csv", ["account", "day", "Views"],
                        [["ava", "2024-01-01", 5], ["ava", "2024-01-02", 6]])
    result = read(path, columns={"account": "unit", "day": "date"})
    assert result.frame["views"].tolist() == [5, 6]
    single = fx.write_csv(tmp_path / "one.csv", ["date", "impressions", "likes"],
                          [["2024-01-01", 5, 1]])
    assert detect_format(single) == "long"
    assert read(single, unit="ava").frame["unit"].tolist() == ["ava"]


def test_files_with_different_metrics_combine(tmp_path):
    followers = fx.write_csv(tmp_path / "f.csv", ["unit", "date", "followers"],
                             [["ava", "2024-01-01", 100], ["ava", "2024-01-02", 101]])
    reach = fx.write_csv(tmp_path / "r.csv", ["unit", "date", "impressions"],
                         [["ava", "2024-01-02", 5000]])
    result = read_files([followers, reach])
    assert len(result.frame) == 2
    assert _day(result, "ava", "2024-01-02")[["followers", "impressions"]].tolist() == [101,
                                                                                        5000]
    assert result.report.rows_kept == 3 and result.report.rows_dropped == 0


def test_exact_duplicate_row_is_dropped_with_a_note(tmp_path):
    path = fx.write_csv(tmp_path / "d.csv", ["unit", "date", "likes"],
                        [["ava", "2024-01-01", 1], ["ava", "2024-01-02", 2],
                         ["ava", "2024-01-01", 1]])
    result = read(path)
    assert len(result.frame) == 2
    [note] = _notes(result.report, "dropped")
    assert note.lines == [4] and "duplicate" in note.reason
    assert (result.report.rows_read, result.report.rows_kept, result.report.rows_dropped) == \
        (3, 2, 1)


def test_empty_rows_are_dropped_with_a_note(tmp_path):
    path = fx.write(tmp_path / "gaps.csv", "unit,date,likes\nava,2024-01-01,1\n,,\n"
                    "ava,2024-01-02,2\n")
    result = read(path)
    assert len(result.frame) == 2
    [note] = _notes(result.report, "dropped")
    assert note.lines == [3]


# ---------------------------------------------------------------------------
# groups
def test_group_lists_match_case_insensitively_and_report_leftovers(tmp_path):
    data = fx.socialblade(tmp_path)
    right = fx.write_csv(tmp_path / "right.csv", ["Name", "Handle"],
                         [["Alice", "ALICE"], ["Nobody", "ghost"]])
    panel, report = ingest_files([data], groups_files=[f"right={right}"])
    groups = dict(zip(panel.units["unit"], panel.units["group"], strict=True))
    assert groups == {"Bob_B": None, "alice": "right"}
    [lost] = [n for n in report.notes if n.file == str(right)]
    assert lost.action == "dropped" and lost.lines == [3] and "ghost" in lost.reason
    assert report.remarks and "Bob_B" in report.remarks[0]
    [listed] = [s for s in report.sources if s.format == "group_list"]
    assert (listed.rows_read, listed.rows_kept, listed.rows_dropped) == (2, 1, 1)


def test_group_option_labels_every_unit(tmp_path):
    panel, _ = ingest_files([fx.socialblade(tmp_path)], group="peers")
    assert panel.groups() == {"peers": ["Bob_B", "alice"]}


def test_ingest_fills_explicit_missing_days(tmp_path):
    panel, report = ingest_files([fx.long_csv(tmp_path)])
    # alice lacks Jan 3, bob lacks Jan 2: the 2 x 3 grid gets two explicit missing rows
    assert len(panel.data) == 6 and report.cells_filled == 2
    assert report.rows_kept == 4


# ---------------------------------------------------------------------------
# properties
_values = st.integers(min_value=0, max_value=10**9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(st.tuples(st.sampled_from(["a", "B", "c_1"]), st.integers(0, 20), _values,
                               _values), min_size=1, max_size=30,
                     unique_by=lambda t: (t[0], t[1])),
       seed=st.integers(0, 2**16))
def test_long_round_trip_and_row_order(tmp_path, data, seed):
    """Whatever the values and row order, a long CSV reads back exactly."""
    rows = [[u, f"{pd.Timestamp('2023-01-01') + pd.Timedelta(days=d):%Y-%m-%d}", x, y]
            for u, d, x, y in data]
    order = np.random.default_rng(seed).permutation(len(rows))
    path = fx.write_csv(tmp_path / f"p{seed}.csv", ["unit", "date", "impressions", "likes"],
                        [rows[i] for i in order])
    result = read(path)
    got = {(r.unit, f"{r.date:%Y-%m-%d}"): (r.impressions, r.likes)
           for r in result.frame.itertuples()}
    assert got == {(u, d): (float(x), float(y)) for u, d, x, y in rows}
    assert result.report.rows_read == result.report.rows_kept == len(rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.integers(0, 10**7), min_size=1, max_size=10))
def test_thousands_separators_read_as_the_same_number(tmp_path, values):
    rows = [["ava", f"2023-01-{i + 1:02d}", f"{v:,}"] for i, v in enumerate(values)]
    path = fx.write_csv(tmp_path / "t.csv", ["unit", "date", "likes"], rows)
    result = read(path)
    assert result.frame["likes"].tolist() == [float(v) for v in values]
    with_commas = [i for i, v in enumerate(values) if v >= 1000]
    assert result.report.rows_repaired == len(with_commas)


def test_empty_mapping_target_leaves_a_column_out(tmp_path):
    path = fx.write_csv(tmp_path / "p.csv", ["unit", "date", "lang", "likes"],
                        [["ava", "2024-01-01", "en", 3]])
    result = read(path, columns={"lang": ""})
    assert list(result.frame.columns) == ["unit", "date", "likes"]
