"""The issue's acceptance check on real data: ../shared/data/verge-follows/.

Reference values come from reading the same CSV files independently with the
standard library's csv module (not butfor's readers) and from the data's
README (100 accounts, 29 days each; one left-leaning account, shaunking,
runs 2022-03-28 to 2022-04-25).
"""

from __future__ import annotations

import csv
import math

import pytest
from typer.testing import CliRunner

from butfor.cli import app
from butfor.readers import detect_format
from butfor.store import Store

pytestmark = pytest.mark.realdata


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def verge(shared_data, tmp_path_factory):
    folder = shared_data / "verge-follows"
    store = tmp_path_factory.mktemp("verge") / "butfor.duckdb"
    result = CliRunner().invoke(app, [
        "ingest", str(folder / "conservative-follows.csv"), str(folder / "liberal-follows.csv"),
        "--groups-file", f"conservative={folder / 'conservative-list.csv'}",
        "--groups-file", f"liberal={folder / 'liberal-list.csv'}",
        "--store", str(store),
    ])
    assert result.exit_code == 0, result.output
    return folder, Store(store), result.output


def test_format_is_detected_from_the_header(shared_data):
    folder = shared_data / "verge-follows"
    assert detect_format(folder / "conservative-follows.csv") == "socialblade"
    assert detect_format(folder / "liberal-follows.csv") == "socialblade"


def test_every_data_row_is_kept(verge):
    folder, store, output = verge
    report = store.read_report()
    data = [s for s in report.sources if s.format == "socialblade"]
    # 1,450 data rows in each file (csv module count), 2,900 in all
    expected = {str(folder / f): len(_rows(folder / f))
                for f in ("conservative-follows.csv", "liberal-follows.csv")}
    assert sum(expected.values()) == 2900
    assert {s.file: s.rows_read for s in data} == expected
    assert {s.file: s.rows_kept for s in data} == expected
    assert all(s.rows_dropped == 0 for s in data)
    assert "2,900 rows read, 2,900 kept" in output


def test_values_match_an_independent_read(verge):
    folder, store, _ = verge
    panel = store.read_panel()
    data = panel.data.set_index(["unit", "date"])
    for f in ("conservative-follows.csv", "liberal-follows.csv"):
        for row in _rows(folder / f):
            got = data.loc[(row["username"], row["date"])]
            assert got["followers"] == float(row["followers"])
            assert got["following"] == float(row["following"])
            assert got["posts"] == float(row["tweets"])  # tweets -> posts


def test_shifted_account_is_kept_and_its_missing_day_explicit(verge):
    folder, store, _ = verge
    panel = store.read_panel()
    # the grid runs from the earliest day of any account to the latest: 30 days x 100 units
    assert len(panel.unit_ids) == 100
    assert str(panel.dates.min().date()) == "2022-03-28"
    assert str(panel.dates.max().date()) == "2022-04-26"
    assert len(panel.data) == 3000
    king = panel.series("shaunking", "followers")
    raw = [r for r in _rows(folder / "liberal-follows.csv") if r["username"] == "shaunking"]
    assert (raw[0]["date"], raw[-1]["date"], len(raw)) == ("2022-03-28", "2022-04-25", 29)
    assert king["2022-03-28"] == float(raw[0]["followers"])
    assert king["2022-04-25"] == float(raw[-1]["followers"])
    assert math.isnan(king["2022-04-26"])  # explicit missing row, not an absent one
    # 99 accounts lack 2022-03-28 and shaunking lacks 2022-04-26
    assert store.read_report().cells_filled == 100
    assert int(panel.data["followers"].isna().sum()) == 100


def test_group_lists_attach_despite_letter_case(verge):
    folder, store, _ = verge
    panel = store.read_panel()
    groups = panel.groups()
    assert {g: len(u) for g, u in groups.items()} == {"conservative": 50, "liberal": 50}
    units = set(panel.unit_ids)
    listed = {}
    for label in ("conservative", "liberal"):
        for row in _rows(folder / f"{label}-list.csv"):
            listed[row["Handle"]] = label
    differ = [h for h in listed if h not in units]
    assert len(differ) == 21  # handles whose letter case differs from the data's username
    by_lower = {u.lower(): u for u in units}
    attrs = panel.units.set_index("unit")
    for handle in differ:
        assert attrs.loc[by_lower[handle.lower()], "group"] == listed[handle]
    report = store.read_report()
    lists = [s for s in report.sources if s.format == "group_list"]
    assert [s.rows_kept for s in lists] == [50, 50]
    assert report.remarks == []  # every unit is in a list
