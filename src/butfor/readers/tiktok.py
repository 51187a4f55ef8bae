"""TikTok Studio exports: the overview and the follower history, dates without a year.

Layouts::

    "Date","Video Views","Profile Views","Likes","Comments","Shares"
    "Date","Followers","Difference in followers from previous day"

Dates look like ``23 August``. Their year is resolved, never guessed:

1. ``--year YYYY``, the year of the export's **latest** date: the export
   covers at most a year, so the dates after the widest gap in the calendar
   (the days outside the export) come first; where the range runs over New
   Year, the dates before it belong to the year before. When the calendar
   shows no single widest gap (sparse dates, a whole year), that is an error.
2. otherwise a date range in the file's name or its zip's name
   (``..._2024-08-24_2025-08-23.csv`` or ``20240824-20250823``): each date
   takes the one year that puts it inside the range.
3. otherwise: an error that says to pass ``--year``.

The report notes how the year was found. Dates that carry a year are read as
written. The files do not name the account, so ``--unit`` is required.

Column mapping: ``Video Views`` -> video_views, ``Profile Views`` ->
profile_visits, ``Likes``, ``Comments``, ``Shares``, ``Followers`` as
themselves; ``Difference in followers from previous day`` is left out (it is
derived from followers, which the panel holds).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._parse import Table, days, metric_values, part, snake
from butfor.readers._sense import checked_days

COLUMNS = ("Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares")
DERIVED = "difference_in_followers_from_previous_day"
_NO_YEAR = ("%d %B", "%B %d", "%d %b", "%b %d")
_RANGE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})\D{1,4}(\d{4})-?(\d{2})-?(\d{2})")
_DAYS_IN_LEAP_YEAR = 366


def detect(names) -> bool:
    overview = {"date", "video_views", "profile_views"} <= names
    followers = {"date", "followers", DERIVED} <= names
    return overview or followers


def read(tables: list[Table], report: IngestReport, opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not opts.unit:
        raise InputError(tables[0].name, "is a TikTok Studio export, which does not name the "
                         "account", "pass --unit NAME (the account's handle)")
    parts = []
    for i, t in enumerate(tables):
        dcol = t.require("date")
        date = _dates(t, dcol, opts.year, report)
        derived = [c for c in t.frame.columns if snake(c) == DERIVED]
        for col in derived:
            present = (t.text(col) != "").to_numpy()
            report.note(t.name, "dropped", f"values of '{col}' not kept (rows are): derived "
                        "from followers, which the panel holds", t.lines[present].tolist(),
                        column=col)
        metric_cols = [c for c in t.frame.columns
                       if c != dcol and c not in derived and snake(c)]
        parts.append(part(i, t, opts.unit, date, metric_values(t, metric_cols, report)))
    units = pd.DataFrame({"unit": [opts.unit], "display_name": [opts.unit]})
    return pd.concat(parts, ignore_index=True), units


# ---------------------------------------------------------------------------
def _dates(t: Table, col: str, year: int | None, report: IngestReport) -> np.ndarray:
    text = t.text(col)
    month_day = _month_days(text)
    if month_day is None:
        return days(t, col)  # the dates carry their year
    missing = month_day.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise t.error(f"'{text.iloc[row]}' is not a date like '23 August'",
                      "write every date in one form", row=row, column=col)
    if year is not None:
        years, how = _years_before(t, col, month_day, int(year)), f"--year {year}"
    else:
        span = _name_range(t)
        if span is None:
            raise t.error(
                f"the dates (such as '{text.iloc[0]}') have no year, and neither --year nor the "
                "file name says which", "pass --year YYYY (the year of the export's latest "
                "date), or keep the export's file name with its date range", row=0, column=col)
        years, how = _years_in(t, col, month_day, span), f"the date range in '{span[2]}'"
    out = pd.to_datetime(pd.DataFrame({"year": years, "month": month_day.dt.month,
                                       "day": month_day.dt.day}), errors="coerce")
    bad = out.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise t.error(f"'{text.iloc[row]}' does not exist in {years[row]}",
                      "check --year, or the export's date range", row=row, column=col)
    report.note(t.name, "repaired", f"dates without a year: the year taken from {how} "
                f"({out.min():%Y-%m-%d} to {out.max():%Y-%m-%d})", t.lines.tolist(), column=col)
    t.mark_repaired(range(len(out)))
    return checked_days(t, col, pd.Series(out.astype("datetime64[us]")))


def _month_days(text: pd.Series) -> pd.Series | None:
    """Month and day in the leap year 2000 (so 29 February reads), or None if years are given."""
    first = text.iloc[0]
    for fmt in _NO_YEAR:
        if pd.notna(pd.to_datetime(f"2000 {first}", format=f"%Y {fmt}", errors="coerce")):
            return pd.to_datetime("2000 " + text, format=f"%Y {fmt}", errors="coerce")
    return None


def _years_before(t: Table, col: str, md: pd.Series, latest_year: int) -> np.ndarray:
    """Years for month-days whose latest lies in ``latest_year``, cut at the widest gap."""
    position = md.dt.day_of_year.to_numpy()
    distinct = np.unique(position)
    if len(distinct) >= _DAYS_IN_LEAP_YEAR - 1:
        raise t.error("the dates cover a whole year, so where the export starts is unclear",
                      "keep the export's file name with its date range instead of --year",
                      row=0, column=col)
    gaps = np.diff(np.concatenate([distinct, [distinct[0] + _DAYS_IN_LEAP_YEAR]]))
    order = np.sort(gaps)
    if len(gaps) > 1 and order[-1] < 2 * order[-2]:
        raise t.error("the dates are too sparse to tell where the export's year starts",
                      "keep the export's file name with its date range instead of --year",
                      row=0, column=col)
    start = distinct[(int(np.argmax(gaps)) + 1) % len(distinct)]  # first day after the gap
    crosses = start > distinct.min()  # the range runs from `start` over New Year
    years = np.full(len(position), latest_year)
    if crosses:
        years[position >= start] = latest_year - 1
    return years


def _name_range(t: Table) -> tuple[pd.Timestamp, pd.Timestamp, str] | None:
    for name in (t.file_name, t.container or ""):
        match = _RANGE.search(str(name).rsplit("/", 1)[-1])
        if match:
            g = match.groups()
            try:
                start = pd.Timestamp(f"{g[0]}-{g[1]}-{g[2]}")
                end = pd.Timestamp(f"{g[3]}-{g[4]}-{g[5]}")
            except ValueError:
                continue
            if start <= end:
                return start, end, str(name).rsplit("/", 1)[-1]
    return None


def _years_in(t: Table, col: str, md: pd.Series,
              span: tuple[pd.Timestamp, pd.Timestamp, str]) -> np.ndarray:
    start, end, name = span
    years = np.zeros(len(md), dtype=np.int64)
    for row, value in enumerate(md):
        fits = []
        for year in range(start.year, end.year + 1):
            try:
                day = pd.Timestamp(year=year, month=value.month, day=value.day)
            except ValueError:
                continue
            if start <= day <= end:
                fits.append(year)
        if len(fits) != 1:
            shown = t.text(col).iloc[row]
            problem = (f"the date '{shown}' lies outside the range {start:%Y-%m-%d} to "
                       f"{end:%Y-%m-%d} that '{name}' names" if not fits else
                       f"the date '{shown}' fits the range in '{name}' in more than one year")
            raise t.error(problem, "pass --year YYYY (the year of the export's latest date)",
                          row=row, column=col)
        years[row] = fits[0]
    return years
