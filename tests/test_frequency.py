"""A panel's frequency: detected from the dates, stated in the case or on the command line.

Issue #12: the raw Prop 99 file (annual, ``1970.0`` years) did not ingest, and
rewritten with ``YYYY-01-01`` dates it was filled to a daily grid of 10,958
days with 426,153 missing cells. Each check here says what it reproduces.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor import frequency as freq
from butfor.cli import app
from butfor.errors import ButforError
from butfor.ingest import ingest_files
from butfor.panel import Panel
from butfor.store import Store


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("dates", "expected"), [
    (["1970-01-01", "1971-01-01", "1975-01-01"], "Y"),
    (["2020-01-01", "2020-04-01", "2021-01-01"], "Q"),
    (["2020-01-01", "2020-02-01", "2020-05-01"], "M"),
    (["2020-01-06", "2020-01-13", "2020-02-03"], "W"),
    (["2020-01-01", "2020-01-02", "2020-01-09"], "D"),
    (["2020-01-01"], "D"),  # one date says nothing about spacing
])
def test_frequency_is_the_coarsest_the_dates_allow(dates, expected):
    assert freq.infer(pd.to_datetime(dates)) == expected


@pytest.mark.parametrize(("written", "first"), [
    ("1970.0", "1970-01-01"), ("1970", "1970-01-01"), ("1970-03", "1970-03-01"),
    ("1970Q3", "1970-07-01"), ("1970-Q2", "1970-04-01"),
])
def test_period_dates_are_read_as_their_first_day(tmp_path, written, first):
    path = _write(tmp_path / "p.csv", f"state,year,sales\nA,{written},1\nB,{written},2\n")
    panel, _ = ingest_files([path])
    assert list(panel.dates) == [pd.Timestamp(first)]


def test_annual_panel_keeps_one_row_per_unit_and_year(tmp_path):
    rows = [f"{s},{y}.0,{i + y - 1970}" for i, s in enumerate("ABC") for y in range(1970, 1980)]
    path = _write(tmp_path / "annual.csv", "state,year,sales\n" + "\n".join(rows) + "\n")
    panel, report = ingest_files([path])
    assert panel.frequency == "Y"
    assert len(panel.data) == 30  # 3 states x 10 years, not 3 x 3,288 days
    assert report.cells_filled == 0
    assert any("column 'year' read as the date" in r for r in report.remarks)
    assert any("column 'state' read as the unit" in r for r in report.remarks)
    # a missing year is an explicit missing value on the annual grid
    gap = _write(tmp_path / "gap.csv", "state,year,sales\nA,1970,1\nA,1972,3\nB,1970,1\n"
                 "B,1971,2\nB,1972,3\n")
    panel, report = ingest_files([gap])
    assert panel.frequency == "Y" and report.cells_filled == 1


def test_stated_monthly_frequency_reads_dates_as_their_month(tmp_path):
    path = _write(tmp_path / "m.csv", "unit,date,views\na,2020-01-31,1\na,2020-02-29,2\n"
                  "a,2020-04-30,4\n")
    auto, _ = ingest_files([path])
    assert auto.frequency == "D"  # month ends are not period starts: daily unless stated
    panel, report = ingest_files([path], frequency="monthly")
    assert panel.frequency == "M"
    assert list(panel.dates) == list(pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01",
                                                     "2020-04-01"]))
    assert report.cells_filled == 1  # March
    assert any("3 dates read as the first day of their month" in r for r in report.remarks)


def test_stated_frequency_coarser_than_the_data_is_refused(tmp_path):
    path = _write(tmp_path / "d.csv", "unit,date,views\na,2020-01-01,1\na,2020-01-02,2\n")
    with pytest.raises(ButforError, match=r"more than one row in the month starting "
                       r"2020-01-01.*aggregate the data to one row per month"):
        ingest_files([path], frequency="monthly")
    with pytest.raises(ButforError, match="frequency 'fortnightly' is not one butfor knows"):
        ingest_files([path], frequency="fortnightly")


def test_weekly_panel_is_not_filled_daily(tmp_path):
    path = _write(tmp_path / "w.csv", "unit,date,views\na,2020-01-06,1\na,2020-01-13,2\n"
                  "a,2020-01-27,4\n")
    panel, report = ingest_files([path])
    assert panel.frequency == "W" and len(panel.data) == 4 and report.cells_filled == 1


def test_store_keeps_the_frequency_and_refuses_to_mix_them(tmp_path):
    annual = _write(tmp_path / "a.csv", "state,year,sales\nA,1970,1\nA,1971,2\n")
    daily = _write(tmp_path / "d.csv", "state,date,sales\nA,1972-01-01,1\nA,1972-01-02,2\n")
    store = Store(tmp_path / "s.duckdb")
    panel, report = ingest_files([annual])
    store.write_panel(panel, report)
    assert store.read_panel().frequency == "Y"
    other, other_report = ingest_files([daily])
    with pytest.raises(ButforError, match="the stored panel is annual and the new files are "
                       "daily"):
        store.write_panel(other, other_report)


def test_panel_off_its_grid_names_the_period():
    frame = pd.DataFrame({"unit": ["a", "a"], "date": pd.to_datetime(["1970-01-01",
                                                                      "1971-06-01"]),
                          "y": [1.0, 2.0]})
    with pytest.raises(ButforError, match=r"off the annual grid .*one row per year"):
        Panel.from_frame(frame, frequency="Y")


@pytest.mark.realdata
def test_raw_prop99_file_ingests_as_an_annual_panel(shared_data, tmp_path):
    """Issue #12: 'the raw file does not ingest'; then 'a daily grid of 10,958 days'."""
    path = shared_data / "prop99" / "smoking.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent (see ../shared/data/README.md)")
    result = CliRunner().invoke(app, ["ingest", str(path), "--store",
                                      str(tmp_path / "s.duckdb")])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    # the provenance README: 39 states x 1970-2000, 1,209 rows, none missing from the grid
    assert "Panel (annual): 39 units, 1970-01-01 to 2000-01-01 (31 years)" in out
    assert "0 unit-years with no row" in out
    panel = Store(tmp_path / "s.duckdb").read_panel()
    assert panel.frequency == "Y" and len(panel.data) == 1209
    # stating daily is the user's choice, and fills the grid the issue reports
    daily = CliRunner().invoke(app, ["ingest", str(path), "--frequency", "daily", "--store",
                                     str(tmp_path / "d.duckdb")])
    assert "426,153 unit-days with no row" in " ".join(daily.output.split())
