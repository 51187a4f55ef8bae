"""PELT (Killick, Fearnhead & Eckley 2012) with segment costs from prefix sums.

The same search as ruptures' ``Pelt(jump=1)`` (the admissible set, its pruning
rule, the first minimum on ties, the penalty added per segment), but each step
prices every admissible start at once from cumulative sums, where ruptures calls
one Python cost function per (start, end) pair: for the slope model that was a
``numpy.linalg.lstsq`` per pair, about 50,000 of them on a year and a half of
daily data. tests/test_changepoint.py checks the breaks agree with ruptures'.

Costs (residual sum of squares of the segment under its model):

- ``"level"``: a constant per segment, ``sum (y - mean)^2`` (ruptures' ``l2``);
- ``"slope"``: a straight line in ``t`` per segment (ruptures' ``linear`` on
  ``[y, 1, t]``), ``Syy - Sty^2 / Stt`` with sums centred in the segment.

The series and the time axis are centred on their overall means first, which
keeps the prefix sums small and the differences of them accurate.
"""

from __future__ import annotations

import numpy as np


def _prefix(x: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(x)])


class _SegmentCost:
    """Residual sum of squares of ``[starts, end)`` for many starts at once."""

    def __init__(self, y: np.ndarray, t: np.ndarray | None) -> None:
        y = np.asarray(y, dtype=float)
        y = y - y.mean()
        self.slope = t is not None
        self.cy, self.cyy = _prefix(y), _prefix(y * y)
        if t is not None:
            tc = np.asarray(t, dtype=float)
            tc = tc - tc.mean()
            self.ct, self.ctt, self.cty = _prefix(tc), _prefix(tc * tc), _prefix(tc * y)

    def __call__(self, starts: np.ndarray, end: int) -> np.ndarray:
        n = end - starts
        sy = self.cy[end] - self.cy[starts]
        syy = (self.cyy[end] - self.cyy[starts]) - sy * sy / n
        if not self.slope:
            return np.maximum(syy, 0.0)
        st = self.ct[end] - self.ct[starts]
        stt = (self.ctt[end] - self.ctt[starts]) - st * st / n
        sty = (self.cty[end] - self.cty[starts]) - st * sy / n
        with np.errstate(invalid="ignore", divide="ignore"):
            fit = np.where(stt > 0, sty * sty / np.where(stt > 0, stt, 1.0), 0.0)
        return np.maximum(syy - fit, 0.0)


def pelt(y: np.ndarray, t: np.ndarray | None, penalty: float, min_size: int) -> list[int]:
    """Start positions of the segments after the first (``t`` given: the slope model).

    ``min_size`` is the shortest segment (at least 2 for the slope model, as in
    ruptures). Returns ``[]`` when the series is shorter than ``min_size``.
    """
    n = len(y)
    min_size = max(int(min_size), 2 if t is not None else 1)
    if n < min_size:
        return []
    cost = _SegmentCost(y, t)
    best = np.full(n + 1, np.nan)  # optimal penalised cost of y[:end]
    best[0] = 0.0
    last = np.zeros(n + 1, dtype=int)  # start of the last segment of that optimum
    admissible = np.zeros(0, dtype=int)
    for end in [*range(min_size, n), n]:
        admissible = np.append(admissible, end - min_size)
        # starts with no optimum of their own (inside the first min_size) cannot begin
        # a segment (ruptures drops them the step they join)
        admissible = admissible[~np.isnan(best[admissible])]
        totals = best[admissible] + (cost(admissible, end) + penalty)
        k = int(np.argmin(totals))  # the first of equal minima, as min() in ruptures
        best[end], last[end] = totals[k], admissible[k]
        admissible = admissible[totals <= best[end] + penalty]
    starts = []
    end = n
    while end > 0:
        end = int(last[end])
        if end > 0:
            starts.append(end)
    return starts[::-1]
