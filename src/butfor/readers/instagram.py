"""Instagram post export from Meta Business Suite.

Layout (one row per post, or per post and day)::

    Post ID,Account ID,Account username,Account name,Description,Duration (sec),
    Publish time,Permalink,Post type,Data comment,Date,Views,Reach,Likes,Shares,
    Follows,Comments,Saves

The unit is ``Account username`` (``--unit`` overrides it), its display name
``Account name``. ``Date`` is either a day or the word ``Lifetime``:

- rows with a **day** hold that post's counts on that day: summed over posts
  into account-days (``aggregated``);
- **Lifetime** rows hold a post's counts since it was published. They are not
  days: they are summed into the account's lifetime totals, kept as unit
  attributes (``lifetime_views``, ``lifetime_likes``, ...). A file with only
  Lifetime rows also gives the series of the days posts were *published*
  (each post's lifetime counts on its publish day, as the X content export
  is read), which needs ``--timezone`` because ``Publish time`` has no zone.

Since April 2025 Meta reports ``Views`` where it reported ``Impressions``;
both are read as ``views`` and the report notes which files used the older
name (the two are not defined identically: Views count repeat views).

Column mapping: ``Views``/``Impressions`` -> views, ``Reach``, ``Likes``,
``Shares``, ``Comments``, ``Saves`` as themselves, ``Follows`` ->
new_follows. Text and ids (``Description``, ``Permalink``, ``Post type``,
``Data comment``, ``Account ID``) and ``Duration (sec)`` are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._parse import Table, days, local_days, metric_values, snake, unit_ids
from butfor.readers.x_posts import aggregate_posts

COLUMNS = ("Post ID", "Account username", "Publish time", "Date", "Views")
LEFT_OUT = {"post_id", "account_id", "account_username", "account_name", "description",
            "duration_sec", "publish_time", "permalink", "post_type", "data_comment", "date"}


def detect(names) -> bool:
    return {"post_id", "publish_time"} <= names and bool(names & {"account_username",
                                                                  "account_id", "permalink"})


def read(tables: list[Table], report: IngestReport, opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    dated, lifetime_posts, units = [], [], []
    totals: dict[str, dict[str, float]] = {}
    for i, t in enumerate(tables):
        unit = _units(t, opts)
        names = _rename(t, report)
        dcol = t.require("date")
        is_lifetime = (t.text(dcol).str.casefold() == "lifetime").to_numpy()
        cols = [c for c in t.frame.columns if snake(c) not in LEFT_OUT and snake(c)]
        metrics = metric_values(t, cols, report, names)
        if is_lifetime.any():
            _lifetime_totals(t, unit, metrics, is_lifetime, totals, report)
        if (~is_lifetime).any():
            dated.append(_dated_rows(i, t, dcol, unit, metrics, ~is_lifetime, report))
        elif is_lifetime.all():
            lifetime_posts.append(_publish_day_posts(i, t, unit, metrics, opts, report))
        display = t.find("account_name")
        shown = t.text(display) if display else unit
        units.append(pd.DataFrame({"unit": unit, "display_name": shown.where(shown != "", unit)}))
    parts = dated
    if lifetime_posts:
        frame, _ = aggregate_posts(lifetime_posts, tables, report,
                                   f"Lifetime rows also summed into the days posts were "
                                   f"published (time zone {opts.timezone})")
        parts.append(frame)
    units = pd.concat(units, ignore_index=True).drop_duplicates("unit", keep="last")
    for unit, sums in totals.items():
        for name, value in sums.items():
            units.loc[units["unit"] == unit, f"lifetime_{name}"] = value
    return pd.concat(parts, ignore_index=True, sort=False), units


def _units(t: Table, opts) -> pd.Series:
    if opts.unit:
        return pd.Series([opts.unit] * len(t.frame))
    col = t.find("account_username") or t.find("account_id")
    if col is None:
        raise InputError(t.name, "is an Instagram export without an 'Account username' column",
                         "pass --unit NAME", line=1)
    return unit_ids(t, col)


def _rename(t: Table, report: IngestReport) -> dict[str, str]:
    names = {c: "new_follows" for c in t.frame.columns if snake(c) == "follows"}
    old = [c for c in t.frame.columns if snake(c) == "impressions"]
    if old and t.find("views") is None:
        names[old[0]] = "views"
        report.note(t.name, "repaired", "'Impressions' (Meta's name before April 2025) read as "
                    "views, the metric that replaced it (Views also count repeat views)",
                    [1] if t.has_lines else [], column=old[0], count=1)
    return names


def _lifetime_totals(t: Table, unit: pd.Series, metrics: dict[str, np.ndarray],
                     rows: np.ndarray, totals: dict, report: IngestReport) -> None:
    frame = pd.DataFrame({"unit": unit.to_numpy()[rows]})
    for name, values in metrics.items():
        frame[name] = values[rows]
    for u, sums in frame.groupby("unit")[list(metrics)].sum(min_count=1).iterrows():
        into = totals.setdefault(str(u), {})
        for name, value in sums.items():
            if pd.notna(value):
                into[name] = into.get(name, 0.0) + float(value)
    report.note(t.name, "aggregated", "Lifetime row (a post's counts since it was published, "
                "not a day): summed into the account's lifetime totals (unit attributes "
                "lifetime_views, ...)", t.lines[rows].tolist())


def _dated_rows(i: int, t: Table, dcol: str, unit: pd.Series, metrics: dict[str, np.ndarray],
                rows: np.ndarray, report: IngestReport) -> pd.DataFrame:
    sub = Table(path=t.path, kind=t.kind, frame=t.frame[rows].reset_index(drop=True),
                lines=t.lines[rows], sha256=t.sha256, label=t.label,
                date_window=t.date_window)
    date = days(sub, dcol)
    frame = pd.DataFrame({"unit": unit.to_numpy()[rows], "date": date})
    for name, values in metrics.items():
        frame[name] = values[rows]
    frame["_line"] = t.lines[rows]
    report.note(t.name, "aggregated", "post rows summed into account-days (the day each row "
                "names)", t.lines[rows].tolist())
    grouped = frame.groupby(["unit", "date"], sort=True)
    out = grouped[list(metrics)].sum(min_count=1)
    out["posts_with_data"] = grouped.size().astype("float64")
    out["_table"] = i
    out["_line"] = grouped["_line"].first()
    out["_rows"] = grouped.size()
    return out.reset_index()


def _publish_day_posts(i: int, t: Table, unit: pd.Series, metrics: dict[str, np.ndarray],
                       opts, report: IngestReport) -> pd.DataFrame:
    pcol = t.require("publish_time")
    day, _ = local_days(t, pcol, opts.timezone, report)
    ids = t.text(t.require("post_id"))
    frame = pd.DataFrame({"unit": unit.to_numpy(), "post_id": ids.to_numpy(), "date": day})
    for name, values in metrics.items():
        frame[name] = values
    frame["_table"] = i
    frame["_line"] = t.lines
    frame["_order"] = np.arange(len(frame))
    return frame
