"""Panel rules: unique keys, complete grid with explicit missing days, order-free."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from butfor.errors import DataError
from butfor.ingest_report import IngestReport
from butfor.panel import Panel


def frame():
    return pd.DataFrame({
        "unit": ["a", "a", "a", "b", "b"],
        "date": ["2022-01-01", "2022-01-02", "2022-01-04", "2022-01-02", "2022-01-03"],
        "followers": [10, 11, 13, 5, 6],
    })


def test_missing_days_become_explicit_rows_and_are_counted():
    report = IngestReport()
    panel = Panel.from_frame(frame(), report=report)
    # grid: 2 units × 4 days = 8 rows; 5 given, so 3 filled (a: 01-03; b: 01-01, 01-04)
    assert len(panel.data) == 8
    assert report.cells_filled == 3
    wide = panel.wide("followers")
    assert np.isnan(wide.loc["2022-01-03", "a"])
    assert np.isnan(wide.loc["2022-01-01", "b"]) and np.isnan(wide.loc["2022-01-04", "b"])
    assert wide.loc["2022-01-04", "a"] == 13


def test_duplicate_unit_day_is_an_error():
    f = pd.concat([frame(), frame().iloc[[0]]])
    with pytest.raises(DataError, match="more than one row for 2022-01-01"):
        Panel.from_frame(f)


def test_units_table_attaches_groups_and_names():
    units = pd.DataFrame({"unit": ["a"], "group": ["left"], "display_name": ["Ay"]})
    panel = Panel.from_frame(frame(), units)
    assert panel.groups() == {"left": ["a"]}
    assert panel.units.set_index("unit").loc["b", "display_name"] == "b"


def test_unknown_metric_and_unit_are_named():
    panel = Panel.from_frame(frame())
    with pytest.raises(DataError, match="no metric 'likes'"):
        panel.wide("likes")
    with pytest.raises(DataError, match="unit 'zz' is not in the panel"):
        panel.series("zz", "followers")


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(5)))
def test_row_order_does_not_matter(order):
    shuffled = frame().iloc[list(order)]
    a = Panel.from_frame(frame()).data
    b = Panel.from_frame(shuffled).data
    pd.testing.assert_frame_equal(a, b)
