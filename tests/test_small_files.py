"""The small-file fast paths give what pandas' general paths give (issue 18).

Reading a small export used to cost 15-60 ms, nearly all of it pandas' fixed
cost per call. Four places now take a cheaper route on the usual input and
fall back to the general one otherwise; each is checked here against the
general path it replaces, on seeded random inputs including the awkward cells
of the reader property test (the reference is pandas itself, 3.x):

- ``_parse.numbers`` reads columns up to ``SMALL_COLUMN`` cells in Python;
- ``Panel.from_frame`` places rows on the grid in numpy instead of a reindex;
- ``panel._normalise_units`` reorders instead of merging when every unit matches;
- ``_table.sort_stable`` skips a sort when the rows are already in order.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from butfor import panel as panel_module
from butfor.errors import ButforError
from butfor.ingest_report import IngestReport
from butfor.panel import Panel
from butfor.readers import _parse
from butfor.readers._table import Table, sort_stable

CELLS = ["-5", "-0", "1e308", "1e26", "99999999999999999999", "1234.56", "inf", "-inf", "nan",
         "NaN", "0x10", "1_000", "\u0661\u0662", "1e-300", "", "-", "\u2013", "<1", "12%", "TRUE",
         "2999", "15,000", "1,234,567.5", "1,23", "\u0661,\u0662\u0663\u0664", " 7 ", "+5",
         "1e400", ".5", "3.", "Infinity", "12", "0", "7", "42", "1000000", "1E5", "--", "1,000,000"]


def _table(cells: list[str]) -> Table:
    frame = pd.DataFrame({"v": pd.Series(cells, dtype=str)})
    return Table(path=Path("x.csv"), kind="csv", frame=frame,
                 lines=np.arange(2, len(cells) + 2, dtype=np.int64), sha256="")


def _outcome(cells: list[str], count: bool):
    table, report = _table(cells), IngestReport()
    try:
        values = _parse.numbers(table, "v", report, count=count)
    except ButforError as err:
        return ("error", str(err))
    notes = [repr(n) for n in report.notes]
    return ("values", values.tobytes(), notes, sorted(table.repaired_rows))


@pytest.mark.parametrize("seed", range(6))
def test_numbers_small_path_matches_pandas_path(seed, monkeypatch):
    rng = random.Random(seed)
    for _ in range(60):
        # mostly plain counts, as real files are, with one or two awkward cells
        cells = [str(rng.randint(0, 10**6)) for _ in range(rng.randint(1, 12))]
        for _ in range(rng.randint(0, 3)):
            cells[rng.randrange(len(cells))] = rng.choice(CELLS)
        count = rng.random() < 0.7
        small = _outcome(cells, count)
        monkeypatch.setattr(_parse, "SMALL_COLUMN", -1)  # every column through pandas
        general = _outcome(cells, count)
        monkeypatch.undo()
        assert small == general, cells


def _reference_grid(frame: pd.DataFrame, frequency: str) -> pd.DataFrame:
    """panel._complete_grid as it was: a MultiIndex and pandas' reindex."""
    from butfor import frequency as freq

    dates = freq.grid(frame["date"].min(), frame["date"].max(), frequency)
    units = np.sort(frame["unit"].unique())
    grid = pd.MultiIndex.from_product([units, dates], names=["unit", "date"])
    return frame.set_index(["unit", "date"]).reindex(grid).reset_index()


@pytest.mark.parametrize("seed", range(5))
def test_grid_in_numpy_matches_reindex(seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        n_units, n_days = int(rng.integers(1, 5)), int(rng.integers(1, 30))
        units = rng.choice(["b", "a", "ü", "Z", "10", "9"], n_units, replace=False)
        days = pd.date_range("2023-12-20", periods=n_days)
        rows = [(u, d) for u in units for d in days if rng.random() < 0.6] or [(units[0], days[0])]
        rows = [rows[i] for i in rng.permutation(len(rows))]
        frame = pd.DataFrame({"unit": [r[0] for r in rows],
                              "date": [r[1] for r in rows]})
        frame["likes"] = rng.integers(0, 100, len(frame)).astype(float)
        frame["views"] = np.where(rng.random(len(frame)) < 0.2, np.nan, 1.5)
        report = IngestReport()
        built = Panel.from_frame(frame, report=report).data
        cleaned = frame.astype({"unit": str, "date": "datetime64[ns]"})
        expected = _reference_grid(cleaned, "D")
        pd.testing.assert_frame_equal(built, expected)
        assert report.cells_filled == len(expected) - len(frame)


def test_grid_keeps_pandas_path_for_off_grid_and_odd_dates():
    monthly = pd.DataFrame({"unit": ["a", "a"], "date": pd.to_datetime(["2024-01-01",
                                                                        "2024-02-15"]),
                            "x": [1.0, 2.0]})
    with pytest.raises(ButforError, match="off the monthly grid"):
        Panel.from_frame(monthly, frequency="M")
    zoned = pd.DataFrame({"unit": ["a", "a"], "x": [1.0, 2.0],
                          "date": pd.to_datetime(["2024-01-01 23:00", "2024-01-03 01:00"],
                                                 utc=True)})
    data = Panel.from_frame(zoned).data
    assert data["date"].dtype == "datetime64[ns]" and len(data) == 3
    assert data["date"].tolist() == list(pd.date_range("2024-01-01", periods=3))


@pytest.mark.parametrize("units", [
    None,
    pd.DataFrame({"unit": ["b", "a"], "display_name": ["B", None], "group": ["x", None]}),
    pd.DataFrame({"display_name": ["A", "B"], "unit": ["a", "b"], "rounded": [True, False]}),
    pd.DataFrame({"unit": ["a"], "display_name": ["A"], "rounded": [True]}),  # b missing
    pd.DataFrame({"unit": ["a", "b", "c"], "group": ["x", "y", "z"]}),  # c not present
    pd.DataFrame({"unit": ["a", "b", "a"], "display_name": ["A1", "B", "A2"]}),
])
def test_units_reordering_matches_merge(units):
    present = np.array(["b", "a"], dtype=object)
    built = panel_module._normalise_units(units, present)
    if units is None:
        return
    # the general path, a left merge on the sorted units (panel.py before issue 18)
    base = pd.DataFrame({"unit": np.sort(present.astype(str))})
    attrs = units.astype({"unit": str}).drop_duplicates("unit", keep="last")
    merged = base.merge(attrs, on="unit", how="left")
    for col in ("display_name", "group"):
        if col not in merged:
            merged[col] = merged["unit"] if col == "display_name" else None
    merged["display_name"] = merged["display_name"].fillna(merged["unit"])
    merged["group"] = merged["group"].astype("object").where(merged["group"].notna(), None)
    expected = merged[["unit", "display_name", "group",
                       *[c for c in merged.columns if c not in ("unit", "display_name",
                                                                "group")]]]
    pd.testing.assert_frame_equal(built, expected)


@pytest.mark.parametrize("seed", range(4))
def test_sort_stable_matches_sort_values(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(0, 8))
        frame = pd.DataFrame({
            "unit": pd.Series(rng.choice(["a", "b", "c"], n), dtype=str),
            "date": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 3, n), "D"),
            "_line": rng.integers(0, 4, n),
        })
        if n and rng.random() < 0.3:
            frame.loc[int(rng.integers(0, n)), "unit"] = None
        if n and rng.random() < 0.3:
            frame.loc[int(rng.integers(0, n)), "date"] = pd.NaT
        if rng.random() < 0.5:  # often already in order, as a reader's rows are
            frame = frame.sort_values(["unit", "date", "_line"]).reset_index(drop=True)
        for columns in (["unit", "date"], ["_line"], ["unit", "_line"]):
            pd.testing.assert_frame_equal(sort_stable(frame, columns),
                                          frame.sort_values(columns, kind="stable"))


@pytest.mark.parametrize("days, units, expected", [
    (["2024-01-01", "2024-01-02", "2024-01-01"], ["a", "a", "b"], True),
    (["2024-01-01", "2024-01-03"], ["a", "a"], False),  # a quiet day between
    (["2024-01-01", "2024-01-01", "2024-01-03"], ["a", "b", "a"], False),  # not by unit
    (["2024-01-02", "2024-01-01"], ["a", "a"], False),  # not by day
    (["2024-01-01"], ["a"], True),
])
def test_quiet_days_shortcut_only_when_nothing_to_fill(days, units, expected):
    from butfor.readers import x_posts

    daily = pd.DataFrame({"unit": pd.Series(units, dtype=str), "date": pd.to_datetime(days)})
    assert x_posts._no_quiet_days(daily) is expected


PERIOD_COLUMNS = [["1970", "1971.0"], ["1970-01", "1970-12"], ["1970-13"], ["1970Q1", "1970 - q4"],
                  ["1970\u2003Q2"], ["\u0661\u0669\u0667\u0660-01"], ["2024-01-01", "2024-01-02"],
                  ["1970", "x"], ["1970", "1970-01"], ["Total"], ["19700"], ["1970Q5"]]


@pytest.mark.parametrize("cells", PERIOD_COLUMNS)
def test_period_dates_gate_matches_pandas(cells, monkeypatch):
    import re

    def outcome():
        try:
            got = _parse._period_dates(pd.Series(cells, dtype=str))
        except Exception as err:  # the comparison is of outcomes, whatever they are
            return type(err).__name__
        return None if got is None else got.tolist()

    gated = outcome()
    monkeypatch.setattr(_parse, "_PERIOD_GATES", (re.compile(""),))  # every column to pandas
    assert gated == outcome()
