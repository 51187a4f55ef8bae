"""Post-level exports, summed to account-days: X content, legacy per-tweet, generic posts.

Three layouts, one treatment:

1. read each post's id (exact, as text; ids rounded to ``1.23457E+18`` by a
   spreadsheet are recovered from the permalink, or rejected);
2. find the day it belongs to (``x_content`` dates are X's own calendar days;
   ``x_legacy`` and ``posts`` timestamps are converted to ``--timezone``,
   and timestamps without a zone need one);
3. remove posts that appear in several overlapping files (the same post id
   for the same account): an exact repeat is dropped with a note; a repeat
   with different counts (a later export of the same post) keeps the row
   from the file given last, and the other is dropped with a note;
4. sum each metric over the account's posts of a day (``aggregated`` notes),
   add ``posts`` = the number of posts that day, and write explicit zeros for
   days between an account's first and last post with no post (``filled``).

Each post's counts are its lifetime totals up to the export, so summed by
day they say how the posts *made that day* fared, not what happened on that
day; the account overview export measures the latter.

Column mapping (header -> metric), content export ``account_analytics_content_*.csv``:
``Post id`` (id), ``Date`` (day), ``Post Link`` (permalink), ``Post text``
(left out), ``Impressions`` -> impressions, ``Likes`` -> likes,
``Engagements`` -> engagements, ``Bookmarks`` -> bookmarks, ``Shares`` ->
shares, ``New follows`` -> new_follows, ``Replies`` -> replies, ``Reposts``
-> reposts, ``Profile visits`` -> profile_visits, ``Detail Expands`` ->
detail_expands, ``URL Clicks`` -> url_clicks, ``Hashtag Clicks`` ->
hashtag_clicks, ``Permalink Clicks`` -> permalink_clicks.

Legacy export ``tweet_activity_metrics_<handle>_<start>_<end>_<lang>.csv``:
``Tweet id`` (id), ``Tweet permalink``, ``Tweet text`` (left out), ``time``
(``2021-12-28 16:45 +0000``), ``impressions``, ``engagements``,
``engagement rate`` (left out: a ratio of two columns kept), ``retweets`` ->
reposts, ``replies``, ``likes``, ``user profile clicks`` -> profile_visits,
``url clicks`` -> url_clicks, ``hashtag clicks``, ``detail expands``,
``permalink clicks``, ``app opens``, ``app installs``, ``follows`` ->
new_follows, ``email tweet``, ``dial phone``, ``media views``, ``media
engagements``. The ``promoted ...`` columns (paid reach, ``-`` when the tweet
was not promoted) are left out, with a note counting the promoted posts.

Generic ``posts``: ``id`` (or ``post_id``), ``created_at`` (or ``timestamp``),
optional ``unit``/``username``, optional ``url``/``permalink``, and metric
columns (``views``, ``likes``, ``reposts``, ``replies``, ``quotes``, ...).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._parse import (
    Table,
    days,
    handles_from_links,
    local_days,
    metric_values,
    post_ids,
    snake,
    unit_ids,
)
from butfor.readers._table import sort_stable

_LEGACY_NAME = re.compile(r"tweet_activity_metrics_(?P<handle>[A-Za-z0-9_]+)_\d{8}_\d{8}")
TEXT_COLUMNS = {"post_text", "tweet_text", "text", "post_link", "tweet_permalink", "permalink",
                "url", "link", "username", "unit", "display_name"}
LEFT_OUT = {"engagement_rate"}


def detect_legacy(names: set[str]) -> bool:
    return {"tweet_id", "time"} <= names


def detect_content(names: set[str]) -> bool:
    return {"post_id", "date"} <= names


def detect_posts(names: set[str]) -> bool:
    return bool(names & {"id", "post_id"}) and bool(names & {"created_at", "timestamp"})


# ---------------------------------------------------------------------------
def read_content(tables, report, opts):
    posts = []
    for i, t in enumerate(tables):
        id_col = t.require("post id")
        link = t.find("post link", "permalink")
        day = days(t, t.require("date"))
        posts.append(_posts(i, t, id_col, link, day, report, opts))
    days_note = "posts summed into account-days (the days X gave them)"
    return aggregate_posts(posts, tables, report, days_note)


def read_legacy(tables, report, opts):
    posts, zones = [], set()
    for i, t in enumerate(tables):
        id_col = t.require("tweet id")
        link = t.find("tweet permalink", "permalink")
        day, zone = local_days(t, t.require("time"), opts.timezone, report)
        zones.add(zone)
        posts.append(_posts(i, t, id_col, link, day, report, opts))
    days_note = f"posts summed into account-days in time zone {', '.join(sorted(zones))}"
    return aggregate_posts(posts, tables, report, days_note)


def read_posts(tables, report, opts):
    posts, zones = [], set()
    for i, t in enumerate(tables):
        id_col = t.require("id", "post_id")
        link = t.find("url", "permalink", "link")
        day, zone = local_days(t, t.require("created_at", "timestamp"), opts.timezone, report)
        zones.add(zone)
        posts.append(_posts(i, t, id_col, link, day, report, opts))
    days_note = f"posts summed into account-days in time zone {', '.join(sorted(zones))}"
    return aggregate_posts(posts, tables, report, days_note)


# ---------------------------------------------------------------------------
def _posts(i: int, t: Table, id_col: str, link: str | None, day: np.ndarray,
           report: IngestReport, opts) -> pd.DataFrame:
    """One row per post: unit, id, day, metrics, and where it came from."""
    ids = post_ids(t, id_col, link, report)
    unit = _units(t, link, opts)
    skip = {id_col, link, *[c for c in t.frame.columns
                            if snake(c) in TEXT_COLUMNS | {"date", "time", "created_at",
                                                           "timestamp"}]}
    promoted = [c for c in t.frame.columns if snake(c).startswith("promoted_")]
    left_out = [c for c in t.frame.columns if snake(c) in LEFT_OUT]
    for col in left_out:
        present = (t.text(col) != "").to_numpy()
        report.note(t.name, "dropped",
                    f"values of '{col}' not kept (rows are): a ratio of columns kept",
                    t.lines[present].tolist(), column=col)
    if promoted:
        # '-' (not promoted) everywhere loses nothing; otherwise say which posts were paid for
        text = pd.concat([t.text(c) for c in promoted], axis=1)
        paid = ~(text.isin(["-", ""]) | (text == "0")).all(axis=1).to_numpy()
        report.note(t.name, "dropped",
                    f"values of the {len(promoted)} 'promoted ...' columns (paid reach) not kept "
                    f"(rows are); {int(paid.sum())} posts had promoted values",
                    t.lines[paid].tolist(), column=promoted[0])
    metric_cols = [c for c in t.frame.columns
                   if c not in skip and c not in promoted and c not in left_out and snake(c)]
    metrics = metric_values(t, metric_cols, report)
    frame = pd.DataFrame({"unit": unit, "post_id": ids.to_numpy(), "date": day})
    for name, values in metrics.items():
        frame[name] = values
    frame["_table"] = i
    frame["_line"] = t.lines
    frame["_order"] = np.arange(len(frame))
    return frame


def _units(t: Table, link: str | None, opts) -> np.ndarray:
    if opts.unit:
        return np.full(len(t.frame), opts.unit, dtype=object)
    col = t.find("unit", "username")
    if col is not None:
        return unit_ids(t, col).to_numpy()
    handles = handles_from_links(t, link)
    if handles is not None and handles.notna().all():
        found = sorted(set(handles))
        if len(found) > 1:
            raise InputError(t.name, f"the permalinks name several accounts ({', '.join(found)})",
                             "pass --unit NAME to say whose posts these are",
                             line=1, column=link)
        return np.full(len(t.frame), found[0], dtype=object)
    match = _LEGACY_NAME.search(t.file_name)
    if match:
        return np.full(len(t.frame), match.group("handle"), dtype=object)
    raise InputError(t.name, "does not say whose posts these are (no permalink or unit column)",
                     "pass --unit NAME", line=1)


def aggregate_posts(posts: list[pd.DataFrame], tables: list[Table], report: IngestReport,
                    days_note: str, *,
                    counts: str = "each post's lifetime counts go to the day it was posted",
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.concat(posts, ignore_index=True, sort=False)
    metrics = [c for c in frame.columns
               if c not in ("unit", "post_id", "date", "_table", "_line", "_order")]
    frame = _deduplicate(frame, metrics, tables, report)
    for t_index, rows in frame.groupby("_table"):
        report.note(tables[int(t_index)].name, "aggregated",
                    f"{days_note}; {counts}",
                    rows["_line"].astype(int).tolist())
    grouped = frame.groupby(["unit", "date"], sort=True)
    daily = grouped[metrics].sum(min_count=1)
    daily["posts"] = grouped.size().astype("float64")
    first = grouped[["_table", "_line"]].first()
    daily = daily.join(first)
    daily["_rows"] = grouped.size()
    daily = daily.reset_index()
    daily = _fill_quiet_days(daily, metrics, tables, report)
    units = pd.DataFrame({"unit": sorted(daily["unit"].unique())})
    units["display_name"] = units["unit"]
    return daily, units


def _deduplicate(frame: pd.DataFrame, metrics: list[str], tables: list[Table],
                 report: IngestReport) -> pd.DataFrame:
    """Keep one row per (unit, post id): the one from the file given last."""
    key = ["unit", "post_id"]
    frame = sort_stable(frame, ["_table", "_order"]).reset_index(drop=True)
    dup = frame.duplicated(key, keep="last").to_numpy()
    if not dup.any():
        return frame.drop(columns="_order")
    kept = frame[~dup].set_index(key)
    values = ["date", *metrics]
    for idx in np.flatnonzero(dup):
        row = frame.iloc[idx]
        keep = kept.loc[(row["unit"], row["post_id"])]
        t = tables[int(row["_table"])]
        kt = tables[int(keep["_table"])]
        same = all(_equal(row[c], keep[c]) for c in values)
        if same:
            reason = (f"duplicate post id (same values as the row kept in {kt.name}, "
                      "an overlapping export)")
        else:
            reason = (f"duplicate post id with different counts (an earlier export of the "
                      f"same post); the row in {kt.name}, given later, was kept")
        report.note(t.name, "dropped", reason, [int(row["_line"])])
        t.source.rows_dropped += 1
    return frame[~dup].drop(columns="_order").reset_index(drop=True)


def _equal(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (np.isnan(a) and np.isnan(b)) or a == b
    return a == b


def _no_quiet_days(daily: pd.DataFrame) -> bool:
    """True when the rows run by unit, each unit's days one after another (nothing to fill).

    Conservative: rows out of order, a missing value or units numpy cannot compare
    give False, and the general path decides.
    """
    unit, day = daily["unit"].to_numpy(dtype=object), daily["date"].to_numpy()
    if len(daily) < 2:
        return True
    if day.dtype.kind != "M":
        return False
    try:
        next_unit = unit[1:] > unit[:-1]
        next_day = (unit[1:] == unit[:-1]) & (day[1:] - day[:-1] == np.timedelta64(1, "D"))
    except TypeError:
        return False
    return bool(np.all(next_unit | next_day))


def _fill_quiet_days(daily: pd.DataFrame, metrics: list[str], tables: list[Table],
                     report: IngestReport) -> pd.DataFrame:
    """Explicit zero rows for days between an account's first and last post with no post."""
    if _no_quiet_days(daily):
        return sort_stable(daily, ["unit", "date"]).reset_index(drop=True)
    filled = []
    for unit, rows in daily.groupby("unit", sort=True):
        span = pd.date_range(rows["date"].min(), rows["date"].max(), freq="D")
        quiet = span.difference(pd.DatetimeIndex(rows["date"]))
        if len(quiet) == 0:
            continue
        add = pd.DataFrame({"unit": unit, "date": quiet})
        for m in [*metrics, "posts"]:
            add[m] = 0.0
        t_index = int(rows["_table"].iloc[0])
        add["_table"] = t_index
        add["_line"] = 0
        add["_rows"] = 0
        report.note(tables[t_index].name, "filled",
                    "day with no posts between the account's first and last post: posts and "
                    "post metrics set to 0", count=len(quiet))
        filled.append(add)
    if filled:
        daily = pd.concat([daily, *filled], ignore_index=True)
    return sort_stable(daily, ["unit", "date"]).reset_index(drop=True)

