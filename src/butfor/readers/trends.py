"""Google Trends "Interest over time" download (``multiTimeline.csv``).

Layout: an optional preamble (``Category: All categories`` and a blank
line, skipped by the table loader), then::

    Week,butfor: (Worldwide),causal impact: (United States)
    2024-01-07,45,<1

The first column is ``Week``, ``Day`` or ``Month`` (``2024-01``, read as the
month's first day). Each other column is one search term in one region: a
unit ``butfor (Worldwide)`` with the attributes ``term``, ``region`` and
``source = google_trends``; the metric is ``search_interest``. Values are
0-100 relative to the peak of the range asked for; ``<1`` (below one) is
read as 0.5, the middle of that interval, with a note. A value above 100
cannot come from Trends and is an error.

Two downloads of different ranges are on different scales: one term in two
files is refused with the fix, rather than joined as if comparable.

Weekly and monthly values are kept on the day each period starts; the
panel is daily, so the other days of each period are explicit missing
values, and the report's remarks say so.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._parse import Table, days, numbers, part, snake

COLUMNS = ("Week", "<term>: (<region>)")
PERIODS = {"week": "weekly", "day": "daily", "month": "monthly"}
METRIC = "search_interest"
TERM = re.compile(r"^(?P<term>.+): \((?P<region>.+)\)$")


def detect(names) -> bool:
    raw = getattr(names, "raw", ())
    return (len(raw) >= 2 and snake(raw[0]) in PERIODS
            and all(TERM.match(str(c).strip()) for c in raw[1:]))


def read(tables: list[Table], report: IngestReport, opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts, units, seen = [], [], {}
    for i, t in enumerate(tables):
        dcol = t.frame.columns[0]
        period = PERIODS.get(snake(dcol))
        if period is None:
            raise t.error(f"the first column is '{dcol}', not Week, Day or Month",
                          "give butfor the Trends download as it was saved", column=dcol)
        if period == "monthly":
            t.frame[dcol] = t.text(dcol).where(~t.text(dcol).str.fullmatch(r"\d{4}-\d{2}"),
                                               t.text(dcol) + "-01")
        date = days(t, dcol)
        if period != "daily":
            report.remarks.append(
                f"{t.name}: {period} search interest, each value on the first day of its "
                "period; the other days of the daily panel are explicit missing values")
        for k, col in enumerate(t.frame.columns[1:]):
            match = TERM.match(str(col).strip())
            if match is None:
                raise t.error(f"the column '{col}' is not '<term>: (<region>)'",
                              "give butfor the Trends download as it was saved", column=col)
            unit = f"{match['term'].strip()} ({match['region'].strip()})"
            if unit in seen and seen[unit] != t.name:
                raise InputError(
                    t.name, f"'{col}' is also in {seen[unit]}, and two Trends downloads are on "
                    "different scales (each relative to its own peak)",
                    "ingest one download covering the whole range, or rescale them on their "
                    "overlap first", line=1, column=str(col))
            seen[unit] = t.name
            values = _interest(t, col, report)
            p = part(i, t, unit, date, {METRIC: values})
            p["_rows"] = 1 if k == 0 else 0  # one input row gives one value per term
            parts.append(p)
            units.append({"unit": unit, "display_name": unit, "term": match["term"].strip(),
                          "region": match["region"].strip(), "source": "google_trends"})
        t.metric_columns[METRIC] = METRIC
    frame = pd.concat(parts, ignore_index=True)
    frame["_rows"] = frame["_rows"].astype(np.int64)
    return frame, pd.DataFrame(units)


def _interest(t: Table, col: str, report: IngestReport) -> np.ndarray:
    text = t.text(col)
    below_one = (text == "<1").to_numpy()
    if below_one.any():
        t.frame[col] = text.where(~below_one, "0.5")
        report.note(t.name, "repaired", "'<1' (interest below one) read as 0.5, the middle of "
                    "0 to 1", t.lines[below_one].tolist(), column=str(col))
        t.mark_repaired(np.flatnonzero(below_one))
    values = numbers(t, col, report)
    above = values > 100
    if above.any():
        row = int(np.flatnonzero(above)[0])
        raise t.error(f"the search interest {values[row]:g} is above 100, the peak Trends "
                      "scales to", "give butfor the Trends download as it was saved", row=row,
                      column=str(col))
    return values
