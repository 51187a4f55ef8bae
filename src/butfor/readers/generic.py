"""Generic long and wide tables, as CSV, Parquet or JSON lines.

**long**: one row per unit and day::

    unit,date,impressions,likes[,display_name,group]

``unit`` may be absent when ``--unit`` names the one account the file holds.
``display_name`` and ``group`` become unit attributes; every other column is
a metric, renamed to its canonical snake_case name (``Create Post`` ->
``posts``, ``Retweets`` -> ``reposts``; see ``_parse.ALIASES``).

**wide**: one row per day, one column per unit, all holding one metric
(``--metric NAME``, default ``value``)::

    date,alice,bob,carol

Headers that differ from these are mapped with ``columns`` (``--column
SOURCE=TARGET`` on the command line), e.g. ``{"account": "unit", "day": "date"}``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._parse import (
    KNOWN_METRICS,
    Table,
    canonical,
    days,
    metric_values,
    numbers,
    part,
    snake,
    unit_ids,
)

ATTRIBUTES = ("display_name", "group")


def detect_long(names: set[str]) -> bool:
    if {"unit", "date"} <= names:
        return True
    others = {canonical(n) for n in names if n != "date"}
    return "date" in names and bool(others) and others <= KNOWN_METRICS


def detect_wide(names: set[str]) -> bool:
    return "date" in names and len(names) >= 2


def read_long(tables: list[Table], report: IngestReport,
              opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts, units = [], []
    for i, t in enumerate(tables):
        ucol = t.find("unit")
        dcol = t.require("date")
        if ucol is None and not opts.unit:
            raise InputError(t.path, "has no 'unit' column and no unit was given",
                             "add a 'unit' column, or pass --unit NAME if the file holds "
                             "one account", line=1, column="unit")
        unit = unit_ids(t, ucol) if ucol is not None else pd.Series([opts.unit] * len(t.frame))
        date = days(t, dcol)
        attrs = {a: t.find(a) for a in ATTRIBUTES}
        skip = {ucol, dcol, *attrs.values()}
        metric_cols = [c for c in t.frame.columns if c not in skip and snake(c)]
        if not metric_cols:
            raise InputError(t.path, "has no metric columns", "add at least one column of "
                             "numbers (e.g. impressions)", line=1)
        metrics = metric_values(t, metric_cols, report)
        parts.append(part(i, t, unit.to_numpy(), date, metrics))
        u = pd.DataFrame({"unit": unit.to_numpy()})
        for a, col in attrs.items():
            if col is not None:
                text = t.text(col)
                u[a] = text.where(text != "", None).to_numpy()
        units.append(u.drop_duplicates("unit", keep="last"))
    return pd.concat(parts, ignore_index=True), pd.concat(units, ignore_index=True)


def read_wide(tables: list[Table], report: IngestReport,
              opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    metric = canonical(opts.metric) if opts.metric else "value"
    parts, units = [], []
    for i, t in enumerate(tables):
        dcol = t.require("date")
        date = days(t, dcol)
        unit_cols = [c for c in t.frame.columns if c != dcol and str(c).strip()]
        t.metric_columns[metric] = metric
        for k, col in enumerate(unit_cols):
            values = numbers(t, col, report)
            p = part(i, t, str(col).strip(), date, {metric: values})
            p["_rows"] = 1 if k == 0 else 0  # one input row gives one value per unit
            parts.append(p)
        units.append(pd.DataFrame({"unit": [str(c).strip() for c in unit_cols]}))
    frame = pd.concat(parts, ignore_index=True)
    frame["_rows"] = frame["_rows"].astype(np.int64)
    return frame, pd.concat(units, ignore_index=True)
