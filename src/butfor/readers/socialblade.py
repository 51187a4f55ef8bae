"""Social Blade-style daily account stats.

Layout (the one of ``../shared/data/verge-follows/``)::

    username,display_name,date,followers,following,tweets[,change,percent_change]

Column mapping (header, case-insensitive -> panel):

============== ===============================================
``username``   ``unit`` (as written; a leading ``@`` removed)
``display_name`` unit attribute ``display_name``
``date``       ``date`` (YYYY-MM-DD, or another single format)
``followers``  ``followers`` (required)
``following``  ``following``
``tweets``     ``posts`` (cumulative count of posts, as reported)
``change``,    left out: the day-on-day change of ``followers``
``percent_change``  and its ratio, which the panel can derive from
               ``followers`` itself. The report says so, and counts the
               rows where ``change`` disagrees with the followers column.
============== ===============================================

Any other numeric column is read as a metric under its snake_case name.

**Social Blade API JSON** (``socialblade_api``): the response's
``data.daily[]`` records, each ``date, followers, following, tweets``
(mapped as above). The account is the response's ``data.id.username``
(``--unit`` overrides it; without either, an error says to pass ``--unit``);
``data.id.display_name``, when present, becomes the display name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._parse import Table, canonical, days, metric_values, numbers, part, unit_ids
from butfor.readers._table import sort_stable

API_COLUMNS = ("date", "followers", "following", "tweets")

DERIVED = ("change", "percent_change")
TEXT = ("username", "display_name", "date", "name")


def detect(names: set[str]) -> bool:
    return {"username", "followers"} <= names


def read(tables: list[Table], report: IngestReport, opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts, units = [], []
    for i, t in enumerate(tables):
        ucol = t.require("username")
        dcol = t.require("date")
        t.require("followers")
        unit = unit_ids(t, ucol)
        date = days(t, dcol)
        metric_cols = [c for c in t.frame.columns
                       if canonical(c) not in (*TEXT, *DERIVED) and str(c).strip()]
        metrics = metric_values(t, metric_cols, report)
        for col in [c for c in t.frame.columns if canonical(c) in DERIVED]:
            _note_derived(t, col, unit, date, metrics["followers"], report)
        parts.append(part(i, t, unit.to_numpy(), date, metrics))
        dcol_name = t.find("display_name")
        names = t.text(dcol_name) if dcol_name else unit
        u = pd.DataFrame({"unit": unit, "display_name": names.where(names != "", unit)})
        units.append(u.drop_duplicates("unit", keep="last"))
    return pd.concat(parts, ignore_index=True), pd.concat(units, ignore_index=True)


def _note_derived(t: Table, col: str, unit: pd.Series, date: np.ndarray,
                  followers: np.ndarray, report: IngestReport) -> None:
    """Leave a day-on-day column out, and count the rows where it disagrees with followers."""
    values = numbers(t, col, report, count=False)
    present = ~np.isnan(values)
    report.note(t.name, "dropped",
                f"values of '{col}' not kept (rows are): it is derived from followers "
                "(day-on-day change), which the panel holds",
                t.lines[present].tolist(), column=col)
    if canonical(col) != "change":
        return
    frame = pd.DataFrame({"unit": unit.to_numpy(), "date": date, "f": followers,
                          "change": values, "line": t.lines})
    frame = sort_stable(frame, ["unit", "date"])
    prev_date = frame.groupby("unit")["date"].shift()
    prev_f = frame.groupby("unit")["f"].shift()
    next_day = (frame["date"] - prev_date) == pd.Timedelta(days=1)
    diff = frame["f"] - prev_f
    checked = next_day & frame["change"].notna() & diff.notna()
    disagree = checked & ((frame["change"] - diff).abs() > 0.5)
    if disagree.any():
        report.note(t.name, "dropped",
                    f"'{col}' disagrees with the difference of followers on consecutive days "
                    "(followers kept, the change column left out)",
                    frame.loc[disagree, "line"].astype(int).tolist(), column=col)


# ---------------------------------------------------------------------------
def detect_api(names) -> bool:
    return getattr(names, "json_path", None) in ("data.daily", "daily") and \
        {"date", "followers"} <= names


def read_api(tables: list[Table], report: IngestReport,
             opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts, units = [], []
    for i, t in enumerate(tables):
        ident = _api_identity(t.document)
        unit = opts.unit or ident.get("username")
        if not unit:
            raise InputError(t.name, "is a Social Blade API response that does not name the "
                             "account (no data.id.username)", "pass --unit NAME")
        unit = str(unit).strip().lstrip("@")
        date = days(t, t.require("date"))
        metric_cols = [c for c in t.frame.columns
                       if canonical(c) not in (*TEXT, *DERIVED) and str(c).strip()]
        metrics = metric_values(t, metric_cols, report)
        parts.append(part(i, t, unit, date, metrics))
        units.append(pd.DataFrame({"unit": [unit],
                                   "display_name": [ident.get("display_name") or unit]}))
    return pd.concat(parts, ignore_index=True), pd.concat(units, ignore_index=True)


def _api_identity(document) -> dict:
    data = document.get("data") if isinstance(document, dict) else None
    ident = data.get("id") if isinstance(data, dict) else None
    if not isinstance(ident, dict):
        return {}
    return {k: str(v) for k, v in ident.items() if isinstance(v, str | int) and str(v).strip()}
