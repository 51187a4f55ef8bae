"""Flags an estimator puts on a result that cannot mean what it says (issue #12, item 5).

A flag does not stop the run: the estimate is still written, with the flag
beside it in ``results.json`` (``analyses[].flags``), and the verdict policy's
``degenerate`` gate (:func:`butfor.verdicts.degenerate_gate`) turns every claim
that relies on a flagged analysis into ``inconclusive``, naming the flag and
its values. Each flag has a name, one clause saying what was found and why it
empties the estimate, and the values it was decided on. The bounds, and why
each is where it is (also in ``docs/verdict-policy.md``):

- ``edge_estimate``: a relative change at or beyond a factor of 100 (-99% or
  less, or +9,900% or more: ``|log(1 + r)| >= log 100``) while at least half
  the placebo units show one as extreme (p >= 0.5). A near-total collapse can
  be real (an account removed), but then the peers compared the same way do
  not collapse; when the typical placebo, where nothing happened, is as
  extreme, the comparison itself manufactures collapses (on a panel filled to
  a finer grid than its data, for one) and its figure says nothing.
- ``no_pre_period``: fewer than two pre-event periods in which the comparison
  can be made (the subject and its reference both observed). One period gives
  a level but no slope, so the comparison's own check of parallel paths (the
  pre-trend test) cannot be run; none gives no baseline at all.
- ``sparse_pre_period`` / ``sparse_post_period``: fewer than half the periods
  on that side of the event usable. The averages then stand for a minority of
  the periods they claim to cover and the cumulative figures sum only the
  observed ones; missing that widespread is not at random (a grid finer than
  the data, a unit that stopped reporting). Half is the bar the weighting
  methods' pre-period check uses (:mod:`butfor.analyses.coverage`).
- ``exact_fit``: a synthetic control whose pre-period RMSPE is at most 1e-6 of
  the subject's own pre-period spread, when the fit could interpolate (no more
  fitted periods than donors), rests on one or two donors (effective number of
  donors 1/sum(w^2) at most 2), or the window is mostly missing (under half its
  cells observed). Real measurements carry noise and rounding far above a
  millionth of their spread (and solver round-off sits far below it), so such a
  fit is a construction: the weights had the freedom to hit every point, or the
  subject is a copy of a donor or two. It looks perfect and means nothing
  (issue #12: Colorado 0.92 / New Hampshire 0.07, loss about 1e-23).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from butfor import frequency as freq

EDGE_FACTOR = 100.0  # a relative change beyond a factor of 100 either way is at the edge
EDGE_P = 0.5  # ... and no more extreme than the median placebo unit's
MIN_PRE_PERIODS = 2  # the fewest usable pre-event periods from which a pre-trend slope exists
MIN_USABLE_SHARE = 0.5  # the same bar as analyses.coverage.MIN_OBSERVED_SHARE
EXACT_FIT_TOL = 1e-6  # pre-period RMSPE relative to the subject's pre-period spread
CONCENTRATED_DONORS = 2.0  # effective number of donors (1 / sum of squared weights)


@dataclass(frozen=True)
class Flag:
    """A named reason a result cannot mean what it says, with the values it was decided on."""

    name: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "message": self.message, "values": dict(self.values)}


def edge_estimate(relative: float | None, p_value: float | None,
                  test: str = "placebo") -> Flag | None:
    """A relative change beyond a factor of 100 that its own test calls ordinary (p >= 0.5).

    ``test`` is ``placebo`` (a rank among placebo units) or ``regression`` (a
    coefficient's t-test), for the words.
    """
    if relative is None or p_value is None or not math.isfinite(relative):
        return None
    ratio = 1 + relative  # observed over counterfactual
    # (a hair of slack: 1 - 0.99 is 0.010000000000000009 in floating point)
    at_edge = ratio <= 1 / EDGE_FACTOR + 1e-12 or ratio >= EDGE_FACTOR * (1 - 1e-12)
    if not at_edge or p_value < EDGE_P:
        return None
    return Flag("edge_estimate",
                f"the estimate is a {100 * abs(relative):.1f}% "
                f"{'fall' if relative < 0 else 'rise'} (beyond a factor of "
                f"{EDGE_FACTOR:g}) with p = {p_value:.3f}: "
                + ("at least half the placebo units, where nothing happened, show a change as "
                   "extreme, so the comparison itself produces such changes"
                   if test == "placebo" else
                   "the fit cannot tell a change that large from none, so the regression, "
                   "not the data, produced its size"),
                {"relative_effect": float(relative), "p_value": float(p_value),
                 "bound_factor": EDGE_FACTOR, "bound_p": EDGE_P})


def coverage(usable: np.ndarray, post: np.ndarray, *, dates: pd.Index, frequency: str,
             what: str) -> list[Flag]:
    """No usable pre-period, or either side of the event mostly unusable.

    ``usable`` marks the periods in which the comparison can be made (the
    subject and its reference both observed); ``what`` names them in words.
    """
    usable, post = np.asarray(usable, bool), np.asarray(post, bool)
    period = freq.PERIOD.get(frequency, "period")
    flags: list[Flag] = []
    found = _coarser_found(dates[usable], frequency)
    hint = frequency_hint(found) if found else ""
    said = {"observed_frequency": found} if found else {}  # the hint's value, for the case
    n_pre, total_pre = int((usable & ~post).sum()), int((~post).sum())
    if n_pre < MIN_PRE_PERIODS:
        flags.append(Flag("no_pre_period",
                          f"only {n_pre} of {total_pre:,} pre-event {period}s have {what}, "
                          f"fewer than the {MIN_PRE_PERIODS} a baseline and a pre-trend "
                          "check need" + hint,
                          {"usable_pre_periods": n_pre, "pre_periods": total_pre,
                           "bound": MIN_PRE_PERIODS, **said}))
    for side, mask in (("pre", ~post), ("post", post)):
        if side == "pre" and flags:
            continue  # no usable pre-period says it already
        n, total = int((usable & mask).sum()), int(mask.sum())
        share = n / total if total else 0.0
        if share < MIN_USABLE_SHARE:
            flags.append(Flag(f"sparse_{side}_period",
                              f"only {n:,} of {total:,} {side}-event {period}s "
                              f"({share:.1%}) have {what}, under half, so the averages "
                              "stand for a minority of the period and the sums leave the "
                              "rest out" + ("" if flags else hint),
                              {"usable_periods": n, "periods": total, "share": share,
                               "bound_share": MIN_USABLE_SHARE, **({} if flags else said)}))
    return flags


def exact_fit(*, pre_rmspe: float, subject_pre: np.ndarray, fitted_periods: int,
              weights: pd.Series, observed_share: float) -> Flag | None:
    """A synthetic control that matches the pre-period exactly where that is a construction."""
    x = np.asarray(subject_pre, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0 or not math.isfinite(pre_rmspe):
        return None
    spread = float(np.std(x)) or float(np.abs(x).mean()) or 1.0
    relative = pre_rmspe / spread
    if relative > EXACT_FIT_TOL:
        return None
    w = weights[weights > 0].sort_values(ascending=False)
    effective = float(1 / np.sum(w.to_numpy() ** 2)) if len(w) else 0.0
    why = []
    if fitted_periods <= len(weights):
        why.append(f"it was fitted on {fitted_periods} periods with {len(weights)} donors to "
                   "weight, enough to hit every point")
    if effective <= CONCENTRATED_DONORS:
        top = ", ".join(f"{k} {v:.2f}" for k, v in w.head(2).items())
        why.append(f"it rests on {effective:.2f} effective donors ({top})")
    if observed_share < MIN_USABLE_SHARE:
        why.append(f"only {observed_share:.1%} of the window's cells are observed")
    if not why:
        return None
    return Flag("exact_fit",
                f"the synthetic control matches the pre-period exactly (RMSPE {pre_rmspe:.3g}, "
                f"{relative:.1e} of the subject's spread), but " + "; and ".join(why)
                + ": a fit that close is a construction, not a resemblance",
                {"pre_rmspe": float(pre_rmspe), "relative_rmspe": relative,
                 "fitted_periods": int(fitted_periods), "donors": len(weights),
                 "effective_donors": effective, "observed_share": float(observed_share),
                 "top_weights": {str(k): float(v) for k, v in w.head(2).items()},
                 "bound_relative_rmspe": EXACT_FIT_TOL,
                 "bound_effective_donors": CONCENTRATED_DONORS})


def _coarser_found(observed: pd.Index, frequency: str) -> str | None:
    """The observed dates' frequency (its name) when coarser than the grid's, else None."""
    if len(observed) < 2 or not isinstance(observed, pd.DatetimeIndex):
        return None
    found = freq.infer(observed)
    return freq.NAMES[found] if freq.coarser(found, frequency) else None


def frequency_hint(found: str, key: str = "frequency") -> str:
    """The fix when the observed dates are coarser than the grid (annual data on days).

    ``key`` names the setting to state: the frequency the method was given; the
    analyses layer writes the case file's key (``[data] frequency``) instead.
    """
    return f" (the observed dates are {found}: state {key} = \"{found}\")"


def to_dicts(flags: list[Flag | None]) -> list[dict]:
    return [f.to_dict() for f in flags if f is not None]


__all__ = ["Flag", "coverage", "edge_estimate", "exact_fit", "to_dicts"]
