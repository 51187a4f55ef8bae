"""Sense checks at ingest: values that parse but cannot be true.

A value that reads as a number or a date is not yet a fact. Each check below
either raises an :class:`~butfor.errors.InputError` naming file, line, column
and the fix, or leaves a line in the :class:`~butfor.ingest_report.IngestReport`:

=====================  =====================================================
check                  treatment
=====================  =====================================================
date outside window    error; the window (default 1900-01-01 to 2100-12-31)
                       is stated in the message and changed with ``--dates``.
                       Dates are checked before they become nanosecond
                       timestamps, so the year 2999 is refused, not wrapped
                       round to 1829.
count above ceiling    error: no account has 10^12 of anything (``COUNT_CEILING``)
fractional count       a count metric (``COUNT_METRICS``) off a whole number
                       by a rounding error (1234.0000001) is rounded, note
                       ``repaired``; a real fraction (1234.56) is an error
jump of 10^3 or more   between one value and the unit's next is kept and
                       flagged (note ``flagged``): a viral day is real, a
                       typo is not, and only the user can tell
rounded counts         a unit's ``subscribers`` all at three significant
                       figures or fewer (YouTube's public counts: 1,230,000)
                       are flagged as rounded, and the unit gets the
                       attribute ``subscribers_rounded = true``
=====================  =====================================================

Every ingest's report states the checks applied and their limits (``checks``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._table import sort_stable

if TYPE_CHECKING:
    from butfor.readers._parse import Table

DEFAULT_DATE_WINDOW = (pd.Timestamp("1900-01-01"), pd.Timestamp("2100-12-31"))
# nanosecond timestamps, which the panel uses, reach from 1677-09-21 to 2262-04-11
HOLDABLE = (pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31"))
COUNT_CEILING = 1e12
JUMP_ORDERS = 3.0  # flag a change by this many powers of ten between consecutive values
JUMP_FLOOR = 1000.0  # ... when the larger of the two is at least this big
_NEAR_WHOLE = 1e-6  # relative distance from a whole number that is a rounding error

# metrics that count things (whole, non-negative). Other metrics (revenue,
# watch time, rates, search interest, unknown names) may be fractional.
COUNT_METRICS = frozenset({
    "followers", "following", "posts", "impressions", "likes", "engagements", "bookmarks",
    "shares", "new_follows", "unfollows", "replies", "reposts", "profile_visits",
    "video_views", "media_views", "media_engagements", "pageviews", "views", "quotes",
    "detail_expands", "url_clicks", "hashtag_clicks", "permalink_clicks", "app_opens",
    "app_installs", "email_tweet", "dial_phone", "comments", "saves", "reach", "follows",
    "subscribers", "subscribers_gained", "subscribers_lost",
})


def parse_window(text: str | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``--dates 2004-01-01:2030-12-31`` as a pair of days (the default when None)."""
    if text is None:
        return DEFAULT_DATE_WINDOW
    start, sep, end = str(text).partition(":")
    try:
        if not sep:
            raise ValueError
        window = (pd.Timestamp(start.strip()), pd.Timestamp(end.strip()))
    except ValueError:
        raise InputError(None, f"--dates '{text}' is not START:END",
                         "write it as --dates 1990-01-01:2030-12-31") from None
    if window[0] > window[1]:
        raise InputError(None, f"--dates '{text}' ends before it starts",
                         "put the earlier date first") from None
    if window[0] < HOLDABLE[0] or window[1] > HOLDABLE[1]:
        raise InputError(None, f"--dates '{text}' reaches beyond the days butfor can hold "
                         f"({window_text(HOLDABLE)})", "choose a window inside those days")
    return window


def window_text(window: tuple[pd.Timestamp, pd.Timestamp]) -> str:
    return f"{window[0]:%Y-%m-%d} to {window[1]:%Y-%m-%d}"


def checked_days(table: Table, column: str, parsed: pd.Series) -> np.ndarray:
    """Parsed dates as ``datetime64[ns]``, after checking each lies in the table's window.

    ``parsed`` may hold any datetime resolution; pandas 3 parses into
    microseconds, where the year 2999 fits, and a cast to nanoseconds would
    wrap it round silently. The window check comes first, so it cannot.
    """
    window = table.date_window or DEFAULT_DATE_WINDOW
    values = parsed.to_numpy()
    if values.dtype.kind == "M":
        lo, hi = (np.datetime64(w.to_datetime64(), "us") for w in window)
        as_us = values.astype("datetime64[us]")
        outside = ((as_us < lo) | (as_us > hi + np.timedelta64(1, "D"))) & ~np.isnat(as_us)
    else:  # objects (dates beyond pandas' range): compare one by one
        outside = np.array([v is not pd.NaT and v is not None and not
                            (window[0] <= pd.Timestamp(v) <= window[1]) for v in values])
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        shown = table.text(column).iloc[row] if column in table.frame else str(values[row])
        raise table.error(
            f"the date '{shown}' lies outside the plausible window {window_text(window)}",
            "correct the date, or widen the window with --dates START:END if it is right",
            row=row, column=column)
    return values.astype("datetime64[ns]")


def check_ceiling(table: Table, column: str, values: np.ndarray) -> None:
    big = np.abs(np.nan_to_num(values, nan=0.0)) >= COUNT_CEILING
    if big.any():
        row = int(np.flatnonzero(big)[0])
        raise table.error(
            f"the value {values[row]:.6g} is at or above butfor's ceiling of "
            f"{COUNT_CEILING:.0e} (no account has that many of anything)",
            "correct the value (a shifted decimal point or pasted id?) or leave the cell empty",
            row=row, column=column)


def whole_counts(table: Table, column: str, name: str, values: np.ndarray,
                 report: IngestReport) -> np.ndarray:
    """Counts are whole numbers: round rounding errors (noted), refuse real fractions."""
    if name not in COUNT_METRICS:
        return values
    present = ~np.isnan(values)
    whole = np.round(values)
    off = present & (values != whole)
    if not off.any():
        return values
    tiny = off & (np.abs(values - whole) <= _NEAR_WHOLE * np.maximum(1.0, np.abs(values)))
    real = off & ~tiny
    if real.any():
        row = int(np.flatnonzero(real)[0])
        raise table.error(
            f"the count {values[row]:.10g} of '{name}' is not a whole number",
            "counts are whole numbers: correct the value, or, if the column is not a count, "
            f"name it something other than '{name}' with --column",
            row=row, column=column)
    rows = np.flatnonzero(tiny)
    report.note(table.name, "repaired",
                f"count off a whole number by a rounding error, rounded ({name})",
                table.lines[rows].tolist(), column=column)
    table.mark_repaired(rows)
    return np.where(tiny, whole, values)


def flag_jumps(frame: pd.DataFrame, tables: list[Table], report: IngestReport) -> None:
    """Note (not drop) values that differ from the unit's previous value by 10^3 or more."""
    metrics = [c for c in frame.columns
               if c not in ("unit", "date", "_table", "_line", "_rows")]
    if len(frame) < 2 or not metrics:
        return
    big = [m for m in metrics if np.nanmax(np.abs(frame[m].to_numpy(dtype=float)),
                                           initial=0.0) >= JUMP_FLOOR]
    if not big:
        return  # nothing reaches the floor, so nothing can jump
    ordered = sort_stable(frame, ["unit", "date"])
    unit = ordered["unit"].to_numpy()
    for m in big:
        values = ordered[m].to_numpy(dtype=float)
        keep = values > 0
        v, u = values[keep], unit[keep]
        if len(v) < 2:
            continue
        same_unit = u[1:] == u[:-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            orders = np.abs(np.diff(np.log10(v)))
        jump = same_unit & (orders >= JUMP_ORDERS) & (np.fmax(v[1:], v[:-1]) >= JUMP_FLOOR)
        if not jump.any():
            continue
        rows = ordered[keep].iloc[1:][jump]
        for t_index, part in rows.groupby("_table"):
            t = tables[int(t_index)]
            lines = [int(x) for x in part["_line"] if x]
            report.note(t.name, "flagged",
                        f"{m} changes by a factor of 1,000 or more from the unit's previous "
                        "value: kept, check it is not a typo", lines,
                        column=t.metric_columns.get(m, m), count=len(part))


def _three_figures(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        step = 10.0 ** (np.floor(np.log10(np.abs(values))) - 2)
    return np.isclose(np.round(values / step) * step, values)


def flag_rounded(frame: pd.DataFrame, tables: list[Table], report: IngestReport,
                 metric: str = "subscribers", least: int = 3) -> list[str]:
    """Flag units whose counts of ``metric`` are all rounded to 3 significant figures.

    Only counts of 1,000 or more say anything (below that three figures are
    exact); a unit needs ``least`` of them. Returns the units flagged.
    """
    if metric not in frame or frame.empty:
        return []
    flagged = []
    for unit, rows in frame.groupby("unit", sort=True):
        values = rows[metric].to_numpy(dtype=float)
        big = values[np.isfinite(values) & (values >= 1000)]
        if len(big) >= least and _three_figures(big).all():
            flagged.append(str(unit))
            t = tables[int(rows["_table"].iloc[0])]
            report.note(t.name, "flagged",
                        f"'{unit}': every {metric} count is rounded to three significant figures "
                        "(a platform's public count): changes smaller than the rounding step do "
                        "not show", [int(x) for x in rows["_line"] if x][:10],
                        column=t.metric_columns.get(metric, metric), count=len(rows))
    return flagged


def statement(window: tuple[pd.Timestamp, pd.Timestamp]) -> str:
    return (f"dates within {window_text(window)} (--dates to change); "
            f"values finite and below {COUNT_CEILING:.0e}; counts non-negative and whole; "
            "jumps of 1,000 times or more between consecutive values flagged")
