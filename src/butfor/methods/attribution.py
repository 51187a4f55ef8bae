"""Which of several dated changes does a break in the series point to?

A case often names several candidate changes (the ownership change, legacy
verification removed, a ranking change). The question "which one cut her
reach?" is a question about *when* the series broke, asked of a short list of
dates. This estimator answers it in two parts:

1. **Where is the break, among the candidates?** Under a one-change model of
   the level (Gaussian noise, flat priors on the two levels, ``1/sigma`` on the
   noise scale) the posterior of the break position ``tau`` is
   ``p(tau | y) ∝ (n1 n2)^(-1/2) RSS(tau)^(-(m - 2)/2)`` (the same model the
   change-point module dates onsets with). Daily attention wanders, so
   neighbouring days are not independent and that posterior is too sure of
   itself; the likelihood is tempered by ``w = (1 - rho) / (1 + rho)``, the
   effective share of independent observations under AR(1) residuals with
   lag-one autocorrelation ``rho`` (``m`` becomes ``w m``). A change's effect
   may take up to ``lag_days`` to appear (roll-outs take days; the sources
   date some changes only to a range), so candidate ``k`` owns the break
   positions from its first day to ``lag_days`` after its last. Its *share*
   is the posterior mass it owns over the mass all candidates own. A
   candidate cannot be ruled out when its share is at least ``1 -
   share_needed`` or when its window meets the ``level`` credible interval of
   the break date; when more than one cannot, the data cannot tell them apart.
2. **Is there a break at a candidate at all?** The strength of a break near
   candidate ``k`` is the log Bayes factor of "one change within its window"
   against "no change" on a stretch of ``half_window`` days either side. The
   same statistic at pseudo-dates before the first candidate, where nothing
   happened, gives its placebo distribution; the candidate's p-value is its
   rank there, ``(1 + #{placebo >= observed}) / (1 + n_placebo)``. The
   improper priors' constants are the same for every stretch of the same
   length, so they cancel in the rank.

What fools it: a real change close to a candidate that is not in the list
(the break is attributed to the nearest candidate: check the p-value and the
credible interval of the break date), a gradual decline with no break, and
several breaks inside one stretch.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from butfor.display import Displayable
from butfor.errors import DataError, ParameterError
from butfor.methods.changepoint import remove_weekly
from butfor.settings import checked_settings


# ---------------------------------------------------------------------------
# kernels: pure functions of arrays
def level_break_logpost(y: np.ndarray, weight: float, min_size: int = 3) -> np.ndarray:
    """Tempered log posterior (unnormalised) of a level break at each position.

    Position ``tau`` means ``y[tau:]`` follow the new level; positions closer
    than ``min_size`` to either end get ``-inf``. ``weight`` in (0, 1] scales
    the number of observations the likelihood counts.
    """
    y = np.asarray(y, dtype=float)
    m = len(y)
    out = np.full(m, -np.inf)
    if m < 2 * min_size + 1:
        return out
    c1 = np.concatenate([[0.0], np.cumsum(y)])
    c2 = np.concatenate([[0.0], np.cumsum(y**2)])
    tau = np.arange(min_size, m - min_size + 1)
    n1, n2 = tau.astype(float), (m - tau).astype(float)
    rss = (c2[tau] - c1[tau] ** 2 / n1) + ((c2[m] - c2[tau]) - (c1[m] - c1[tau]) ** 2 / n2)
    dof = max(weight * m - 2.0, 1.0)
    out[min_size:m - min_size + 1] = (-0.5 * dof * np.log(np.maximum(rss, 1e-300))
                                      - 0.5 * np.log(n1 * n2))
    return out


def no_break_logpost(y: np.ndarray, weight: float) -> float:
    """Tempered log marginal likelihood (unnormalised) of one level throughout."""
    y = np.asarray(y, dtype=float)
    m = len(y)
    rss = float(np.sum((y - y.mean()) ** 2))
    dof = max(weight * m - 1.0, 1.0)
    return -0.5 * dof * math.log(max(rss, 1e-300)) - 0.5 * math.log(m)


def break_strength(y: np.ndarray, owned: np.ndarray, weight: float, min_size: int = 3) -> float:
    """Log Bayes factor: one level break at an ``owned`` position, against none."""
    logp = level_break_logpost(y, weight, min_size)
    chosen = logp[owned & np.isfinite(logp)]
    if chosen.size == 0:
        return -math.inf
    top = float(chosen.max())
    return top + math.log(float(np.sum(np.exp(chosen - top)))) - no_break_logpost(y, weight)


def ar1_weight(y: np.ndarray, tau: int) -> tuple[float, float]:
    """(weight, rho): the AR(1) effective share of residuals around a break at ``tau``."""
    y = np.asarray(y, dtype=float)
    fitted = np.where(np.arange(len(y)) < tau, y[:tau].mean(), y[tau:].mean())
    r = y - fitted
    r = r - r.mean()
    denom = float(np.sum(r * r))
    rho = float(np.sum(r[1:] * r[:-1]) / denom) if denom > 0 else 0.0
    rho = min(max(rho, 0.0), 0.98)
    return max((1 - rho) / (1 + rho), 0.02), rho


# ---------------------------------------------------------------------------
# result
@dataclass(frozen=True)
class CandidateScore:
    name: str
    start: dt.date
    end: dt.date  # last day of the change itself (the start when the sources give one day)
    window_end: dt.date  # last day a break is attributed to it (end + lag)
    share: float  # posterior share of the break among the candidates
    strength: float | None  # log Bayes factor of a break in its window against none
    placebo_p: float | None
    placebo_as_strong: int | None  # placebo dates whose break was at least as strong
    rank: int

    def to_dict(self) -> dict:
        return {"name": self.name, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "window_end": self.window_end.isoformat(), "share": self.share,
                "strength": self.strength, "placebo_p": self.placebo_p,
                "placebo_as_strong": self.placebo_as_strong, "rank": self.rank}


@dataclass(frozen=True)
class AttributionResult(Displayable):
    """Candidates ranked by the share of the break they own, with their placebo p-values."""

    candidates: tuple[CandidateScore, ...]  # ranked, best first
    plausible: tuple[str, ...]  # candidates the data cannot rule out
    break_date: dt.date | None  # posterior mode of the break over the stretch analysed
    break_lower: dt.date | None
    break_upper: dt.date | None
    level: float
    share_needed: float
    lag_days: int
    half_window_days: int
    weight: float
    rho: float
    n_placebo: int
    dates: np.ndarray  # the stretch analysed
    probability: np.ndarray  # tempered posterior of the break over ``dates``
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def top(self) -> CandidateScore | None:
        return self.candidates[0] if self.candidates else None

    @property
    def distinguishable(self) -> bool:
        """True when exactly one candidate cannot be ruled out."""
        return len(self.plausible) == 1

    @property
    def smallest_p(self) -> float | None:
        """The smallest placebo p-value this many placebo dates can give."""
        return None if self.n_placebo == 0 else 1.0 / (self.n_placebo + 1)

    def score(self, name: str) -> CandidateScore | None:
        return next((c for c in self.candidates if c.name == name), None)

    def sentence(self) -> str:
        if not self.candidates:
            return "No candidate change could be scored."
        top = self.candidates[0]
        if self.distinguishable:
            text = (f"The break points to {top.name} ({top.share:.0%} of the break's "
                    f"probability among the {len(self.candidates)} candidates)")
        else:
            listed = ", ".join(f"{c.name} ({c.share:.0%})" for c in self.candidates
                               if c.name in self.plausible)
            text = f"The data cannot tell these changes apart: {listed}"
        if top.placebo_p is not None:
            text += (f"; {top.placebo_as_strong} of {self.n_placebo} dates where nothing "
                     f"happened showed a break as strong as the one at {top.name} "
                     f"(placebo p = {top.placebo_p:.3f})")
        else:
            text += "; too little data before the first change to form a placebo distribution"
        return text + "."

    def to_dict(self) -> dict:
        def day(x):
            return None if x is None else x.isoformat()

        top = self.top
        return {
            "candidates": [c.to_dict() for c in self.candidates],
            "top": None if top is None else top.name,
            "plausible": list(self.plausible),
            "distinguishable": self.distinguishable,
            "break_date": day(self.break_date),
            "break_lower": day(self.break_lower),
            "break_upper": day(self.break_upper),
            "level": self.level,
            "share_needed": self.share_needed,
            "lag_days": self.lag_days,
            "half_window_days": self.half_window_days,
            "weight": self.weight,
            "rho": self.rho,
            "n_placebo": self.n_placebo,
            "smallest_p": self.smallest_p,
            "dates": [str(np.datetime64(d, "D")) for d in self.dates],
            "probability": self.probability,
            "sentence": self.sentence(),
            "diagnostics": self.diagnostics,
        }


# ---------------------------------------------------------------------------
# estimator
class ChangeAttribution:
    """Rank candidate changes by how well each explains a break in one series.

    ``lag_days``: how long after its last day a change may take to show (a
    break up to then is attributed to it). ``half_window_days``: the stretch
    either side of a candidate on which its break strength is measured (at
    most; shortened to half the gap to a neighbouring candidate). ``share_needed``:
    the posterior share a candidate needs for the others to be ruled out.
    ``placebo_step_days``: spacing of the pseudo-dates. ``weekly`` removes a
    day-of-week cycle first (daily series).
    """

    @checked_settings
    def __init__(self, *, lag_days: int = 14, half_window_days: int = 90,
                 share_needed: float = 0.95, level: float = 0.95,
                 placebo_step_days: int = 1, weekly: bool = False) -> None:
        self.lag_days = lag_days
        self.half_window_days = half_window_days
        self.share_needed = share_needed
        self.level = level
        self.placebo_step_days = placebo_step_days
        self.weekly = weekly

    def fit(self, series: pd.Series,
            candidates: Mapping[str, tuple[dt.date, dt.date | None]]) -> AttributionResult:
        """``series`` indexed by date (NaN days left out); ``candidates``: name -> (first, last day)."""
        if not 0.5 < self.share_needed < 1:
            raise DataError("share_needed must lie between 0.5 and 1")
        if len(candidates) < 2:
            raise ParameterError("ChangeAttribution", "candidates",
                                 "attributing a break needs at least two candidate changes",
                                 "name two or more {candidates}")
        s = series.dropna().sort_index()
        dates = pd.DatetimeIndex(s.index)
        y = s.to_numpy(dtype=float)
        if self.weekly:
            y = remove_weekly(y, dates.day_of_week.to_numpy())
        spans = {name: (pd.Timestamp(a), pd.Timestamp(b or a)) for name, (a, b) in
                 sorted(candidates.items(), key=lambda kv: (kv[1][0], kv[0]))}
        starts = sorted(a for a, _ in spans.values())
        gaps = [(b - a).days for a, b in itertools.pairwise(starts)]
        half = self.half_window_days
        if gaps and min(gaps) >= 2 * self.lag_days:
            half = min(half, min(gaps) // 2)
        first, last = starts[0], max(b for _, b in spans.values())
        lag = pd.Timedelta(days=self.lag_days)

        # 1. the break's posterior over the stretch holding every candidate
        lo_t, hi_t = first - pd.Timedelta(days=half), last + lag + pd.Timedelta(days=half)
        seg = (dates >= lo_t) & (dates <= hi_t)
        if seg.sum() < 20 or (dates[seg] < first).sum() < 7 or (dates[seg] >= first).sum() < 7:
            raise DataError(f"the series has too few observed days around the candidate "
                            f"changes ({int(seg.sum())}); attribution needs data on both sides")
        ys, ds = y[seg], dates[seg]
        flat = level_break_logpost(ys, 1.0)
        weight, rho = ar1_weight(ys, int(np.nanargmax(np.where(np.isfinite(flat), flat, -np.inf))))
        logp = level_break_logpost(ys, weight)
        prob = np.exp(logp - np.max(logp))
        prob /= prob.sum()
        owned = {name: (ds >= a) & (ds <= b + lag) for name, (a, b) in spans.items()}
        mass = {name: float(prob[m].sum()) for name, m in owned.items()}
        total = sum(mass.values())
        share = {name: (m / total if total > 0 else 1.0 / len(mass)) for name, m in mass.items()}

        # 2. break strength at each candidate, against pseudo-dates where nothing happened
        span_days = int(pd.Timedelta(days=half).days)
        strength, placebo = {}, []
        for name, (a, b) in spans.items():
            strength[name] = self._strength(y, dates, a, b, span_days, weight)
        pre_end = first - pd.Timedelta(days=span_days + self.lag_days)
        d = dates[0] + pd.Timedelta(days=span_days)
        while d <= pre_end:
            value = self._strength(y, dates, d, d, span_days, weight)
            if value is not None:
                placebo.append(value)
            d += pd.Timedelta(days=self.placebo_step_days)
        placebo_arr = np.array(placebo)
        as_strong = {name: (None if not placebo or v is None else int(np.sum(placebo_arr >= v)))
                     for name, v in strength.items()}
        pvals = {name: (None if k is None else float((1 + k) / (1 + placebo_arr.size)))
                 for name, k in as_strong.items()}

        ranked = sorted(spans, key=lambda n: (-share[n], spans[n][0]))
        scores = tuple(CandidateScore(
            name=n, start=spans[n][0].date(), end=spans[n][1].date(),
            window_end=(spans[n][1] + lag).date(), share=share[n], strength=strength[n],
            placebo_p=pvals[n], placebo_as_strong=as_strong[n], rank=i + 1) for i, n in enumerate(ranked))
        mode = int(np.argmax(prob))
        lower, upper = _hpd(prob, self.level)
        # a candidate stays in play when it owns enough of the break, or when its window
        # meets the credible interval of the break date: the data then cannot date the
        # break finely enough to rule it out
        plausible = tuple(n for n in ranked if share[n] >= 1 - self.share_needed
                          or (spans[n][0] <= ds[upper] and spans[n][1] + lag >= ds[lower]))
        return AttributionResult(
            candidates=scores, plausible=plausible, break_date=ds[mode].date(),
            break_lower=ds[lower].date(), break_upper=ds[upper].date(), level=self.level,
            share_needed=self.share_needed, lag_days=self.lag_days, half_window_days=span_days,
            weight=float(weight), rho=float(rho), n_placebo=int(placebo_arr.size),
            dates=ds.to_numpy().astype("datetime64[D]"), probability=prob,
            diagnostics={"n": int(seg.sum()), "weekly_removed": self.weekly,
                         "placebo_step_days": self.placebo_step_days,
                         "mass_owned_by_candidates": float(total)})

    def _strength(self, y: np.ndarray, dates: pd.DatetimeIndex, a: pd.Timestamp,
                  b: pd.Timestamp, span_days: int, weight: float) -> float | None:
        """Break strength in [a, b + lag] on the stretch span_days either side."""
        lag = pd.Timedelta(days=self.lag_days)
        span = pd.Timedelta(days=span_days)
        sel = (dates >= a - span) & (dates <= b + lag + span)
        if sel.sum() < 20 or (dates[sel] < a).sum() < 7:
            return None
        owned = (dates[sel] >= a) & (dates[sel] <= b + lag)
        value = break_strength(y[sel], owned, weight)
        return value if math.isfinite(value) else None


def _hpd(prob: np.ndarray, level: float) -> tuple[int, int]:
    """First and last position of the smallest set holding ``level`` of the probability."""
    order = np.argsort(-prob, kind="stable")
    keep = order[: int(np.searchsorted(np.cumsum(prob[order]), level)) + 1]
    return int(keep.min()), int(keep.max())
