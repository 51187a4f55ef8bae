"""YouTube Studio advanced-mode export: the zip and each of its CSVs.

The zip holds ``Table data.csv``, ``Chart data.csv`` and ``Totals.csv``; any
of them may also be given alone. None names the channel, so ``--unit`` is
required. Layouts:

- ``Table data.csv`` by **Date**: ``Date, Views, Watch time (hours), ...``,
  one row per day: channel-days as they are.
- ``Table data.csv`` by **Content**: ``Content, Video title, Video publish
  time, Duration, Views, ...``, one row per video with its counts over the
  export's range; summed to the day each video was published (as the X
  content export is), so a day's value says how the videos *published that
  day* fared. Ratios and averages of a video do not add up over videos and
  are left out with a note.
- ``Chart data.csv``: ``Date, Content, Video title, ..., Views``, one row per
  video and day, summed to channel-days. It holds the videos the chart
  showed; when ``Totals.csv`` or a by-Date table is read in the same ingest,
  those are the channel's figures and the chart's rows are left out (noted),
  rather than two different "views" for one day.
- ``Totals.csv``: ``Date, Views``: the channel's daily totals.

The first data row of ``Table data.csv`` is ``Total``: it is set apart, not
summed in (dropped with a note), and the note says whether it equals the sum
of the other rows (it need not: the table lists at most 500 videos).

Column mapping (header -> metric): ``Views`` -> views; ``Watch time
(hours)`` -> watch_time_hours; ``Subscribers`` -> subscribers_net (the net
change, which may be negative); ``Subscribers gained`` / ``lost`` ->
subscribers_gained / subscribers_lost; ``Estimated revenue (USD)`` ->
estimated_revenue_usd; ``Impressions`` and the newer ``Thumbnail
impressions`` -> impressions (the rename noted); ``Impressions
click-through rate (%)`` and ``Thumbnail click-through rate (%)`` ->
impressions_ctr_pct; ``Average view duration`` (``0:03:12``) ->
average_view_duration_s; ``Average percentage viewed (%)`` ->
average_percentage_viewed_pct; ``RPM (USD)`` / ``CPM (USD)`` -> rpm_usd /
cpm_usd. ``Duration`` (a video's length) is a video attribute, left out.
Public subscriber *counts* are rounded to three significant figures; a
column of them is flagged as rounded by the sense checks.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._parse import Table, days, numbers, part, snake
from butfor.readers._sense import whole_counts
from butfor.readers.x_posts import aggregate_posts

COLUMNS = ("Date", "Content", "Video title", "Views", "Watch time (hours)")
FILE_NAMES = ("table data.csv", "chart data.csv", "totals.csv")
RENAMES = {
    "views": "views",
    "watch_time_hours": "watch_time_hours",
    "subscribers": "subscribers_net",
    "subscribers_gained": "subscribers_gained",
    "subscribers_lost": "subscribers_lost",
    "estimated_revenue_usd": "estimated_revenue_usd",
    "impressions": "impressions",
    "thumbnail_impressions": "impressions",
    "impressions_click_through_rate": "impressions_ctr_pct",
    "thumbnail_click_through_rate": "impressions_ctr_pct",
    "average_view_duration": "average_view_duration_s",
    "average_percentage_viewed": "average_percentage_viewed_pct",
    "rpm_usd": "rpm_usd",
    "cpm_usd": "cpm_usd",
}
# may be negative (net change, revenue adjustments) or fractional
SIGNED = {"subscribers_net", "estimated_revenue_usd"}
# a video's ratio or average: does not add up over videos
NOT_SUMMABLE = {"impressions_ctr_pct", "average_view_duration_s",
                "average_percentage_viewed_pct", "rpm_usd", "cpm_usd"}
VIDEO_COLUMNS = {"content", "video_title", "video_publish_time", "duration"}
_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")


def detect(names) -> bool:
    file_name = getattr(names, "file_name", "").lower()
    if {"content", "video_title"} <= names or "watch_time_hours" in names:
        return True
    if "thumbnail_impressions" in names or "impressions_click_through_rate" in names:
        return True
    return file_name in FILE_NAMES and bool(names & {"date", "content"}) and "views" in names


def read(tables: list[Table], report: IngestReport, opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not opts.unit:
        raise InputError(tables[0].name, "is a YouTube Studio export, which does not name the "
                         "channel", "pass --unit NAME (the channel's handle)")
    daily, videos, charts = [], [], []
    for i, t in enumerate(tables):
        names = {snake(c) for c in t.frame.columns}
        if "date" in names and "content" not in names:
            daily.append((i, t))
        elif "date" in names:
            charts.append((i, t))
        else:
            videos.append((i, t))
    parts = [_daily(i, t, report, opts.unit) for i, t in daily]
    for i, t in charts:
        if daily:  # the channel's own daily figures are read: the chart's subset is not needed
            report.note(t.name, "dropped", "chart rows (the charted videos only) left out: the "
                        "channel's daily totals are read in this ingest", t.lines.tolist())
            t.source.rows_dropped += len(t.frame)
            continue
        parts.append(_chart(i, t, report, opts.unit))
    if videos:
        posts = [_videos(i, t, report, opts.unit) for i, t in videos]
        frame, _ = aggregate_posts(
            posts, tables, report, "videos summed into the days they were published",
            counts="each video's counts over the export's range go to the day it was published")
        parts.append(frame)
    parts = [p for p in parts if len(p)]
    if not parts:
        raise InputError(tables[0].name, "holds no rows butfor can use (only a Total row, or "
                         "chart rows already covered)", "export the table by Date or by Content")
    frame = pd.concat(parts, ignore_index=True, sort=False)
    return frame, pd.DataFrame({"unit": [opts.unit], "display_name": [opts.unit]})


# ---------------------------------------------------------------------------
def _metrics(t: Table, report: IngestReport, *, summing: bool) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for col in t.frame.columns:
        if snake(col) in VIDEO_COLUMNS | {"date"} or not snake(col):
            continue
        name = RENAMES.get(snake(col), snake(col))
        if summing and name in NOT_SUMMABLE:
            present = (t.text(col) != "").to_numpy()
            report.note(t.name, "dropped", f"values of '{col}' not kept (rows are): a video's "
                        "ratio or average, which does not add up over videos",
                        t.lines[present].tolist(), column=col)
            continue
        if name in out:
            raise t.error(f"the columns '{t.metric_columns[name]}' and '{col}' both hold the "
                          f"metric '{name}'", "remove one of them", column=col)
        if snake(col) == "thumbnail_impressions" or snake(col).startswith("thumbnail_click"):
            report.note(t.name, "repaired", f"'{col}' (YouTube's name since 2025) read as "
                        f"{name}, the older 'Impressions' metric", [1], column=col)
        t.metric_columns[name] = col
        if name == "average_view_duration_s":
            out[name] = _durations(t, col)
        else:
            values = numbers(t, col, report, count=name not in SIGNED)
            out[name] = whole_counts(t, col, name, values, report)
    return out


def _durations(t: Table, col: str) -> np.ndarray:
    """``0:03:12`` or ``3:12`` (or plain seconds) as seconds."""
    text = t.text(col)
    out = np.full(len(text), np.nan)
    for row, cell in enumerate(text):
        if cell in ("", "-"):
            continue
        match = _DURATION.match(cell)
        if match:
            h, m, s = (int(g) if g else 0 for g in match.groups())
            out[row] = 3600 * h + 60 * m + s
            continue
        try:
            out[row] = float(cell)
        except ValueError:
            raise t.error(f"'{cell}' is not a duration", "write it as H:MM:SS", row=row,
                          column=col) from None
    if (out < 0).any():
        raise t.error("a duration is negative", "correct it", column=col)
    return out


def _set_total_apart(t: Table, key_col: str, report: IngestReport) -> pd.Series:
    """Drop the 'Total' row(s) with a note saying whether they equal the sum of the rest."""
    total = (t.text(key_col).str.casefold() == "total").to_numpy()
    if not total.any():
        return pd.Series(np.ones(len(t.frame), dtype=bool))
    rest = t.frame[~total]
    agrees = []
    for col in t.frame.columns:
        if snake(col) in ("views", "impressions", "thumbnail_impressions"):
            try:
                told = float(t.text(col)[total].iloc[0].replace(",", ""))
                summed = pd.to_numeric(rest[col].astype(str).str.replace(",", ""),
                                       errors="coerce").sum()
            except ValueError:
                continue
            agrees.append(f"{col} {_fmt(told)} against {_fmt(summed)} summed"
                          + ("" if told == summed else " (the table may list only the top rows)"))
    check = "; ".join(agrees) if agrees else "no count to check"
    report.note(t.name, "dropped", "the 'Total' row set apart (the export's own sum of the "
                f"other rows, not summed in): {check}", t.lines[total].tolist(), column=key_col)
    t.source.rows_dropped += int(total.sum())
    t.frame = t.frame[~total].reset_index(drop=True)
    t.lines = t.lines[~total]
    if len(t.frame) == 0:
        raise t.error("holds only the 'Total' row", "export the table with its rows")
    return pd.Series(np.ones(len(t.frame), dtype=bool))


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _daily(i: int, t: Table, report: IngestReport, unit: str) -> pd.DataFrame:
    dcol = t.require("date")
    _set_total_apart(t, dcol, report)
    date = days(t, dcol)
    return part(i, t, unit, date, _metrics(t, report, summing=False))


def _chart(i: int, t: Table, report: IngestReport, unit: str) -> pd.DataFrame:
    dcol = t.require("date")
    _set_total_apart(t, dcol, report)
    date = days(t, dcol)
    metrics = _metrics(t, report, summing=True)
    rows = part(i, t, unit, date, metrics)
    report.note(t.name, "aggregated", "chart rows (one per video and day) summed into "
                "channel-days; they cover the videos the chart showed, which may not be all",
                t.lines.tolist())
    grouped = rows.groupby(["unit", "date"], sort=True)
    out = grouped[list(metrics)].sum(min_count=1)
    out["_table"] = i
    out["_line"] = grouped["_line"].first()
    out["_rows"] = grouped.size()
    return out.reset_index()


def _videos(i: int, t: Table, report: IngestReport, unit: str) -> pd.DataFrame:
    ccol = t.require("content")
    _set_total_apart(t, ccol, report)
    pcol = t.require("video publish time", fix="export the table by Content with the "
                     "'Video publish time' column, or by Date")
    ids = t.text(ccol)
    empty = (ids == "").to_numpy()
    if empty.any():
        raise t.error("the video id is empty", "fill it in or remove the row",
                      row=int(np.flatnonzero(empty)[0]), column=ccol)
    day = days(t, pcol)
    frame = pd.DataFrame({"unit": unit, "post_id": ids.to_numpy(), "date": day})
    for name, values in _metrics(t, report, summing=True).items():
        frame[name] = values
    frame["_table"] = i
    frame["_line"] = t.lines
    frame["_order"] = np.arange(len(frame))
    return frame
