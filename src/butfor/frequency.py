"""How often a panel is observed: daily, weekly, monthly, quarterly or annual.

A panel's grid is its own frequency, never a finer one: annual data holds one
row per unit and year, not 365 rows of which 364 are missing. Dates of a
monthly, quarterly or annual panel are the first day of their period
(``1970-01-01`` stands for 1970); a weekly panel's dates are seven days
apart, from its first date. The frequency is detected from the dates
(:func:`infer`) or stated (``[data] frequency``, ``butfor ingest
--frequency``); a stated one is checked against the dates.

Codes (``Panel.frequency``, kept in the store): ``D``, ``W``, ``M``, ``Q``,
``Y``. Names (case file, command line): ``daily``, ``weekly``, ``monthly``,
``quarterly``, ``annual`` (``yearly`` also), or ``auto``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

from butfor.errors import DataError

Frequency = Literal["D", "W", "M", "Q", "Y"]
FrequencyName = Literal["auto", "daily", "weekly", "monthly", "quarterly", "annual", "yearly"]
CODES: dict[str, Frequency] = {"daily": "D", "weekly": "W", "monthly": "M",
                               "quarterly": "Q", "annual": "Y", "yearly": "Y"}
NAMES: dict[str, str] = {"D": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly",
                         "Y": "annual"}
PERIOD: dict[str, str] = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
# pandas period aliases of the calendar frequencies
_PANDAS_PERIOD = {"M": "M", "Q": "Q", "Y": "Y"}
# how many of a panel's periods make a week: the weekly block and season of daily data
PERIODS_PER_WEEK = {"D": 7}
# the season a structural time series fits by default: the week of daily data, the year of
# monthly and quarterly data. Weekly data gets none: a week has no within-week pattern to
# fit, and a 52-week year needs 51 coefficients (and drifts 1.25 days a year off the
# calendar), which few weekly panels can pin down; ask for it with [sts] seasonal_period.
SEASON: dict[str, int] = {"D": 7, "M": 12, "Q": 4}
SEASON_WORDS: dict[str, str] = {"D": "weekly pattern", "M": "12-month season",
                                "Q": "4-quarter season"}
# the calendar length of a period in days (a month: 365.25 / 12): converting day counts
DAYS_PER_PERIOD: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12,
                                     "Q": 365.25 / 4, "Y": 365.25}


def code(name: str | None) -> Frequency | None:
    """The code of a frequency name (None for ``auto`` or None); codes pass through."""
    if name is None or name == "auto":
        return None
    if name in NAMES:
        return name  # type: ignore[return-value]
    try:
        return CODES[str(name).strip().lower()]
    except KeyError:
        raise DataError(f"frequency {name!r} is not one butfor knows; use auto, daily, weekly, "
                        "monthly, quarterly or annual") from None


_FINEST_FIRST = ["D", "W", "M", "Q", "Y"]


def coarser(a: str, b: str) -> bool:
    """Is frequency ``a`` coarser than ``b`` (monthly than daily)?"""
    return a in _FINEST_FIRST and b in _FINEST_FIRST and \
        _FINEST_FIRST.index(a) > _FINEST_FIRST.index(b)


def infer(dates: pd.DatetimeIndex | pd.Series | np.ndarray) -> Frequency:
    """The coarsest frequency the distinct dates are consistent with.

    Every date on 1 January: annual; on the first of a quarter's month:
    quarterly; on the first of a month: monthly; all seven days (or a
    multiple) apart: weekly; otherwise daily. A panel of one date is daily.
    """
    d = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(dates))).sort_values()
    if len(d) < 2:
        return "D"
    if (d.day == 1).all():
        if (d.month == 1).all():
            return "Y"
        if np.isin(d.month, (1, 4, 7, 10)).all():
            return "Q"
        return "M"
    steps = np.diff(d.to_numpy().astype("datetime64[D]").astype(np.int64))
    if (steps % 7 == 0).all():
        return "W"
    return "D"


def to_period_start(dates: pd.Series, frequency: Frequency) -> pd.Series:
    """Each date as the first day of its month, quarter or year (daily, weekly unchanged)."""
    if frequency not in _PANDAS_PERIOD:
        return dates
    return dates.dt.to_period(_PANDAS_PERIOD[frequency]).dt.start_time.astype("datetime64[ns]")


def grid(start: pd.Timestamp, end: pd.Timestamp, frequency: Frequency) -> pd.DatetimeIndex:
    """Every period from ``start`` to ``end`` at the panel's frequency."""
    step = {"D": "D", "W": "7D", "M": "MS", "Q": "QS-JAN", "Y": "YS"}[frequency]
    return pd.date_range(start, end, freq=step)


def shift(date: pd.Timestamp, periods: int, frequency: Frequency) -> pd.Timestamp:
    """``date`` moved by whole periods (negative: back)."""
    if frequency == "D":
        return date + pd.Timedelta(days=periods)
    if frequency == "W":
        return date + pd.Timedelta(days=7 * periods)
    months = {"M": 1, "Q": 3, "Y": 12}[frequency] * periods
    return date + pd.DateOffset(months=months)


def ordinal(dates, frequency: str) -> np.ndarray:
    """Each date as a whole number of the panel's periods since 1970 (days of daily data).

    Consecutive periods differ by one, so ``ordinal % 12`` is the month of
    the year on monthly data and ``ordinal % 7`` the weekday on daily data.
    """
    d = pd.DatetimeIndex(dates)
    if frequency in ("D", "W"):
        days = d.to_numpy().astype("datetime64[D]").astype(np.int64)
        return days if frequency == "D" else np.floor_divide(days, 7)
    months = (d.year.to_numpy() - 1970) * 12 + d.month.to_numpy() - 1
    return np.floor_divide(months, {"M": 1, "Q": 3, "Y": 12}[frequency]).astype(np.int64)


def periods_between(start, end, frequency: str) -> int:
    """Whole periods from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    a, b = ordinal([pd.Timestamp(start), pd.Timestamp(end)], frequency)
    return int(b - a)


def periods_in_days(days: float, frequency: str) -> int:
    """``days`` in whole periods of the panel, rounded up (14 days: 2 weeks, 1 month)."""
    return int(np.ceil(days / DAYS_PER_PERIOD[frequency] - 1e-9))


def before(date, days: int, frequency: str) -> tuple[dt.date, int]:
    """The date ``days`` before ``date`` in whole periods of the panel, and their number.

    ``days`` is rounded up to whole periods (14 days: 14 days, 2 weeks, 1 month,
    quarter or year): a coarser panel dates a change only to its period.
    """
    n = periods_in_days(days, frequency)
    return shift(pd.Timestamp(date), -n, frequency).date(), n


def describe(frequency: str, n: int) -> str:
    """``"31 years"``, ``"1 day"``."""
    word = PERIOD.get(frequency, "period")
    return f"{n:,} {word}{'' if n == 1 else 's'}"


__all__ = ["CODES", "DAYS_PER_PERIOD", "NAMES", "PERIOD", "PERIODS_PER_WEEK", "SEASON",
           "SEASON_WORDS", "Frequency", "FrequencyName", "before", "code", "describe", "grid",
           "infer",
           "ordinal", "periods_between", "periods_in_days", "shift", "to_period_start"]
