"""Axes for the figures: limits with a margin, nice ticks, date ticks, and their text.

Pure functions of numbers. Linear ticks step by 1, 2, 2.5 or 5 times a power of
ten (the steps people count in); date ticks fall on whole days, the 1st and 15th
of months, month starts, quarters or years, whichever gives at most ``most``
ticks, and a tick's text carries the year on a second line at the first tick and
wherever the year changes. Dates are days since 1970-01-01.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from butfor.report import fmt
from butfor.report.scene import Axis, Tick

_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def nice_step(span: float, count: int) -> float:
    """The smallest nice step that covers ``span`` in at most ``count`` steps."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for m in _STEPS:
        if m * power >= raw * (1 - 1e-9):
            return m * power
    return 10.0 * power  # pragma: no cover - _STEPS ends at 10


def nice_ticks(lo: float, hi: float, most: int = 7) -> list[float]:
    """The multiples of the smallest nice step that give at most ``most`` ticks inside
    ``[lo, hi]`` (the densest readable choice)."""
    if not hi > lo:
        return [float(lo)]
    step = nice_step(hi - lo, 2 * max(most, 1))
    while True:
        first = math.ceil(lo / step - 1e-9)
        last = math.floor(hi / step + 1e-9)
        if last - first + 1 <= most:
            break
        step = _next_step(step)
    out = []
    for k in range(first, last + 1):
        v = round(k * step, 12)
        out.append(0.0 if v == 0 else float(f"{v:.12g}"))
    return out


def _next_step(step: float) -> float:
    power = 10.0 ** math.floor(math.log10(step) + 1e-9)
    for m in _STEPS:
        if m * power > step * (1 + 1e-9):
            return m * power
    return 10.0 * power  # pragma: no cover


def compact(x: float, step: float) -> str:
    """Tick text: 1.2M / 350k for large numbers, else as many decimals as the step needs."""
    a = abs(x)
    if a >= 1e9:
        text = f"{x / 1e9:.3g}B"
    elif a >= 1e6:
        text = f"{x / 1e6:.3g}M"
    elif a >= 1e4:
        text = f"{x / 1e3:.3g}k"
    else:
        text = f"{x:.{decimals(step)}f}"
        if float(text) == 0:
            text = text.lstrip("-")
    return text.replace("-", fmt.MINUS)


def decimals(step: float) -> int:
    """The fewest decimals that write every multiple of ``step`` exactly (at most 6)."""
    if not step > 0 or not math.isfinite(step):
        return 0
    for d in range(7):
        scaled = step * 10 ** d
        if abs(scaled - round(scaled)) < 1e-6 * max(scaled, 1):
            return d
    return 6


def limits(values: Iterable[np.ndarray | float], margin: float = 0.05) -> tuple[float, float]:
    """The finite values' range widened by ``margin`` of it on each side (a flat series
    by one unit, or a tenth of its size)."""
    finite = [np.asarray(v, dtype=float).ravel() for v in values]
    flat = np.concatenate(finite) if finite else np.array([])
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 1.0
    lo, hi = float(flat.min()), float(flat.max())
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        pad = 0.1 * abs(lo) if lo != 0 else 1.0
        return lo - pad, hi + pad
    pad = margin * (hi - lo)
    return lo - pad, hi + pad


def number_axis(lo: float, hi: float, label: str = "", *, most: int = 7,
                text: Callable[[float, float], str] = compact, grid: bool = True) -> Axis:
    """A linear axis from ``lo`` to ``hi`` with nice ticks written by ``text(value, step)``."""
    values = nice_ticks(lo, hi, most)
    step = values[1] - values[0] if len(values) > 1 else 1.0
    return Axis(lo=lo, hi=hi, ticks=tuple(Tick(v, text(v, step)) for v in values), label=label,
                grid=grid)


def category_axis(labels: list[str], label: str = "", *, pad: float = 0.5,
                  grid: bool = False, small: bool = False,
                  colours: dict[int, str] | None = None, bold: frozenset[int] = frozenset()
                  ) -> Axis:
    """Ticks at 0, 1, ... with the labels' text; limits half a step beyond the ends."""
    colours = colours or {}
    ticks = tuple(Tick(float(i), t, colours.get(i), i in bold) for i, t in enumerate(labels))
    return Axis(lo=-pad, hi=len(labels) - 1 + pad, ticks=ticks, label=label, grid=grid,
                small=small)


# ---------------------------------------------------------------------------
# dates

# (unit, step): finest first
_DATE_STEPS = (("day", 1), ("day", 2), ("day", 3), ("day", 7), ("day", 14), ("month", 1),
               ("month", 2), ("month", 3), ("month", 4), ("month", 6), ("year", 1),
               ("year", 2), ("year", 5), ("year", 10), ("year", 20), ("year", 50))
_UNIT_DAYS = {"day": 1.0, "month": 30.44, "year": 365.25}


def _ymd(day: int) -> tuple[int, int, int]:
    d = np.datetime64(int(day), "D").astype(object)
    return d.year, d.month, d.day


def _day(year: int, month: int, dom: int = 1) -> int:
    return int(np.datetime64(f"{year:04d}-{month:02d}-{dom:02d}", "D").astype(np.int64))


def _candidates(lo: float, hi: float, unit: str, step: int) -> list[int]:
    start, end = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    y0, m0, _ = _ymd(start)
    y1, m1, _ = _ymd(end)
    if unit == "day" and step < 7:
        return [d for d in range(start, end + 1) if d % step == 0]
    out: list[int] = []
    if unit == "day":  # weeks: the 1st, 8th, 15th, 22nd; fortnights: the 1st and 15th
        doms = (1, 8, 15, 22) if step == 7 else (1, 15)
        for k in range(y0 * 12 + m0 - 1, y1 * 12 + m1):
            out.extend(_day(k // 12, k % 12 + 1, dom) for dom in doms)
    elif unit == "month":
        for k in range(y0 * 12 + m0 - 1, y1 * 12 + m1):
            if (k % 12) % step == 0:
                out.append(_day(k // 12, k % 12 + 1))
    else:
        for y in range(y0 - y0 % step, y1 + 1, step):
            out.append(_day(y, 1))
    return [d for d in out if start <= d <= end]


def date_ticks(lo: float, hi: float, most: int = 9) -> tuple[Tick, ...]:
    """Date ticks between days ``lo`` and ``hi``: the finest calendar step giving at most
    ``most`` of them (and at least two where the range allows)."""
    span = max(hi - lo, 1.0)
    days: list[int] = []
    unit = "day"
    for unit, step in _DATE_STEPS:
        if span / (step * _UNIT_DAYS[unit]) > 1.5 * most + 2:
            continue
        days = _candidates(lo, hi, unit, step)
        if len(days) <= most:
            break
    ticks = []
    last_year = None
    for d in days:
        y, m, dom = _ymd(d)
        if unit == "year":
            text = str(y)
        else:
            text = _MONTHS[m - 1] if unit == "month" else f"{dom} {_MONTHS[m - 1]}"
            if y != last_year:
                text += f"\n{y}"
        last_year = y
        ticks.append(Tick(float(d), text))
    return tuple(ticks)


def date_axis(lo: float, hi: float, label: str = "date", *, most: int = 9) -> Axis:
    return Axis(lo=lo, hi=hi, ticks=date_ticks(lo, hi, most), label=label)


def days(dates: np.ndarray) -> np.ndarray:
    """numpy dates as days since 1970-01-01 (floats; NaT as NaN)."""
    d = np.asarray(dates).astype("datetime64[D]")
    out = d.astype(np.int64).astype(float)
    out[np.isnat(d)] = np.nan
    return out
