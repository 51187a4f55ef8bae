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

A table with an id-like column (``userid``, ``account``, ``channel``,
``state``, ... see :data:`ID_LIKE`) is never taken for a wide one: it is a
long table keyed by that column, read as the unit (the report says so). A
"wide" table whose dates repeat is refused with the fix, since a wide table
has one row per date.
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
from butfor.readers._sense import whole_counts

ATTRIBUTES = ("display_name", "group")
# columns that name whom a row is about, in the order one is taken as the unit
ID_LIKE = ("unit", "username", "user_id", "userid", "user", "user_name", "screen_name",
           "handle", "account", "account_id", "account_name", "channel", "channel_id",
           "channel_name", "page", "page_id", "profile", "creator", "author", "id", "name",
           "state", "country", "region", "county", "city", "district", "article", "term",
           "company", "brand", "site", "domain", "ticker")


# a table with no 'date' column is dated by its one column of these names (a year, a month)
DATE_LIKE = ("date", "day", "week", "month", "quarter", "year", "period")


def date_column(names) -> str | None:
    """'date', else the table's only date-like column (``year`` in a panel of states)."""
    if "date" in names:
        return "date"
    found = [n for n in DATE_LIKE if n in names]
    return found[0] if len(found) == 1 else None


def id_columns(names) -> list[str]:
    """The id-like names among ``names``, most unit-like first."""
    found = [n for n in ID_LIKE if n in names]
    found += sorted(n for n in names if n.endswith("_id") and n not in found)
    return found


def detect_long(names: set[str]) -> bool:
    dated = date_column(names)
    if dated is None:
        return False
    if "unit" in names or id_columns(names):
        return True
    others = {canonical(n) for n in names if n != dated}
    return bool(others) and others <= KNOWN_METRICS


def detect_wide(names: set[str]) -> bool:
    """A date and unit columns: never when a column is id-like or a metric's name."""
    dated = date_column(names)
    metric_named = {canonical(n) for n in names if n != dated} & KNOWN_METRICS
    return dated is not None and len(names) >= 2 and not id_columns(names) and not metric_named


def _date_of(t: Table, report: IngestReport) -> str:
    """The table's date column; a date-like one read as the date is said in the report."""
    dated = date_column({snake(c) for c in t.frame.columns})
    col = t.require(dated or "date")
    if dated != "date":
        report.remarks.append(f"{t.name}: column '{col}' read as the date (each row's "
                              "period); rename it with --column if not")
    return col


def read_long(tables: list[Table], report: IngestReport,
              opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts, units = [], []
    for i, t in enumerate(tables):
        dcol = _date_of(t, report)
        ucol = t.find("unit")
        if ucol is None and not opts.unit:
            keys = [c for c in id_columns({snake(c): c for c in t.frame.columns})
                    if snake(c) not in ATTRIBUTES]
            if keys:
                ucol = t.find(keys[0])
                report.remarks.append(f"{t.name}: column '{ucol}' read as the unit (the id of "
                                      "each row's account); rename it with --column if not")
        if ucol is None and not opts.unit:
            raise InputError(t.name, "has no 'unit' column and no unit was given",
                             "add a 'unit' column, or pass --unit NAME if the file holds "
                             "one account", line=1, column="unit")
        unit = unit_ids(t, ucol) if ucol is not None else pd.Series([opts.unit] * len(t.frame))
        date = days(t, dcol)
        attrs = {a: t.find(a) for a in ATTRIBUTES}
        skip = {ucol, dcol, *attrs.values()}
        other_ids = [c for c in t.frame.columns if c not in skip and snake(c) in ID_LIKE]
        if other_ids:
            raise InputError(t.name, f"has more than one id-like column ('{ucol or 'unit'}' and "
                             f"'{other_ids[0]}'), so which one names the unit is unclear",
                             f"leave the other out with --column {other_ids[0]}= , or name the "
                             "unit with --column SOURCE=unit", line=1, column=other_ids[0])
        metric_cols = [c for c in t.frame.columns if c not in skip and snake(c)]
        if not metric_cols:
            raise InputError(t.name, "has no metric columns", "add at least one column of "
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
        dcol = _date_of(t, report)
        date = days(t, dcol)
        repeated = pd.Series(date).duplicated(keep=False).to_numpy()
        if repeated.any():
            first, second = np.flatnonzero(repeated)[:2]
            raise t.error(
                f"the date on this row is also on {_where(t, int(first))}, but a wide table "
                "has one row per date", "if this is a long table (one row per unit and date), "
                "name its unit column with --column SOURCE=unit", row=int(second), column=dcol)
        unit_cols = [c for c in t.frame.columns if c != dcol and str(c).strip()]
        t.metric_columns[metric] = metric
        for k, col in enumerate(unit_cols):
            values = whole_counts(t, col, metric, numbers(t, col, report), report)
            p = part(i, t, str(col).strip(), date, {metric: values})
            p["_rows"] = 1 if k == 0 else 0  # one input row gives one value per unit
            parts.append(p)
        units.append(pd.DataFrame({"unit": [str(c).strip() for c in unit_cols]}))
    frame = pd.concat(parts, ignore_index=True)
    frame["_rows"] = frame["_rows"].astype(np.int64)
    return frame, pd.concat(units, ignore_index=True)


def _where(t: Table, row: int) -> str:
    return f"line {t.line(row)}" if t.has_lines else f"record {row + 1}"
