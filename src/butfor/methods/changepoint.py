"""Change points: when did the subject's level or slope change, and how sure is the date?

Answers the objection "her decline predates the takeover" by dating the onset
of a change in one series, with an interval on the date, so a report can say
"the decline began around D, N days before the event".

Two steps:

1. **How many changes, roughly where**: penalised segmentation by PELT (exact
   under the penalty; ruptures' search, run on prefix sums in ``_pelt``).
   ``model="level"`` fits a constant per segment (cost ``l2``); ``model="slope"``
   a straight line per segment (cost ``linear``). The penalty follows the Bayesian information criterion: each
   extra segment costs ``(p + 1) * log(n) * sigma^2`` in residual sum of squares
   (``p`` parameters per segment, plus its start date), with ``sigma``
   estimated robustly from differences of the series (median absolute
   deviation), so a change in level or slope does not inflate it.
2. **When exactly, and how sure**: for the change nearest the event, the
   exact posterior of its date between the neighbouring changes, under a
   one-change regression model with Gaussian noise, flat priors on the
   coefficients and ``1/sigma`` on the noise scale:
   ``p(tau | y) ∝ |X_tau'X_tau|^(-1/2) RSS(tau)^(-(m - k)/2)``. For ``"slope"``
   this model is a continuous kink (the line bends at ``tau``), the shape of "a
   decline began". The interval is the equal-tailed credible interval.

What fools it: autocorrelated noise (daily attention wanders; the iid noise
model then finds too many changes and too narrow intervals), weekly cycles
(removed first for daily series with ``weekly=True``), and several changes
close together (the posterior assumes one change between its neighbours).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.display import Displayable
from butfor.errors import DataError
from butfor.settings import checked_settings

Model = Literal["level", "slope"]

_PARAMS = {"level": 1, "slope": 2}  # parameters per segment
_MAD = 0.6744897501960817  # median absolute deviation of a standard normal


# ---------------------------------------------------------------------------
# kernels: pure functions of arrays
def noise_sd(y: np.ndarray, model: Model) -> float:
    """Robust noise scale: MAD of first (level) or second (slope) differences.

    A first difference of iid noise has variance 2 sigma^2, a second
    difference 6 sigma^2; the median ignores the few differences a change
    point disturbs.
    """
    y = np.asarray(y, dtype=float)
    d = np.diff(y, n=1 if model == "level" else 2)
    if d.size == 0:
        return math.nan
    mad = float(np.median(np.abs(d - np.median(d))))
    return mad / _MAD / math.sqrt(2.0 if model == "level" else 6.0)


def bic_penalty(sigma: float, n: int, model: Model) -> float:
    """Penalty per extra segment, in residual-sum-of-squares units (BIC)."""
    return (_PARAMS[model] + 1) * math.log(n) * sigma**2


def detect_breaks(y: np.ndarray, t: np.ndarray, model: Model, penalty: float,
                  min_size: int) -> list[int]:
    """Positions where a new segment starts (PELT, every position allowed).

    The search is ruptures' ``Pelt(jump=1)`` with its ``l2`` (level) or
    ``linear`` on ``[y, 1, t]`` (slope) cost, run on prefix sums (``_pelt``).
    """
    from butfor.methods._pelt import pelt

    y = np.asarray(y, dtype=float)
    return pelt(y, None if model == "level" else np.asarray(t, dtype=float),
                max(penalty, 1e-12), min_size)


def break_posterior(y: np.ndarray, t: np.ndarray, model: Model, min_size: int) -> np.ndarray:
    """Posterior probability that the one change in ``y`` starts at each position.

    Position ``tau`` means observations ``tau, tau+1, ...`` follow the new
    regime. Positions closer than ``min_size`` to either end get zero.
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(t, dtype=float)
    m = len(y)
    logp = np.full(m, -np.inf)
    if model == "level":
        k = 2
        c1 = np.concatenate([[0.0], np.cumsum(y)])
        c2 = np.concatenate([[0.0], np.cumsum(y**2)])
        for tau in range(min_size, m - min_size + 1):
            n1, n2 = tau, m - tau
            rss = (c2[tau] - c1[tau] ** 2 / n1) + ((c2[m] - c2[tau]) - (c1[m] - c1[tau]) ** 2 / n2)
            logp[tau] = -0.5 * (m - k) * math.log(max(rss, 1e-300)) - 0.5 * math.log(n1 * n2)
    else:
        k = 3
        tc = t - t.mean()
        for tau in range(min_size, m - min_size + 1):
            X = np.column_stack([np.ones(m), tc, np.maximum(t - t[tau], 0.0)])
            xtx = X.T @ X
            beta = np.linalg.solve(xtx, X.T @ y)
            rss = float(np.sum((y - X @ beta) ** 2))
            _, logdet = np.linalg.slogdet(xtx)
            logp[tau] = -0.5 * (m - k) * math.log(max(rss, 1e-300)) - 0.5 * logdet
    if not np.isfinite(logp).any():
        return np.zeros(m)
    p = np.exp(logp - np.max(logp))
    return p / p.sum()


def credible_interval(prob: np.ndarray, level: float) -> tuple[int, int]:
    """Equal-tailed interval of positions holding ``level`` of the probability."""
    cdf = np.cumsum(prob)
    alpha = (1 - level) / 2
    lo = int(np.searchsorted(cdf, alpha, side="left"))
    hi = int(np.searchsorted(cdf, 1 - alpha, side="left"))
    return lo, min(hi, len(prob) - 1)


def remove_weekly(y: np.ndarray, weekday: np.ndarray, period: int = 7) -> np.ndarray:
    """Subtract each weekday's (each season's: ``period`` of them) mean deviation from the mean."""
    y = np.asarray(y, dtype=float)
    out = y.copy()
    centre = np.mean(y)
    for d in range(period):
        sel = weekday == d
        if sel.any():
            out[sel] -= np.mean(y[sel]) - centre
    return out


def segment_fit(y: np.ndarray, t: np.ndarray, breaks: list[int], model: Model) -> np.ndarray:
    """Fitted values of the segmented model (mean or line per segment)."""
    fitted = np.empty(len(y))
    edges = [0, *breaks, len(y)]
    for a, b in itertools.pairwise(edges):
        if model == "level":
            fitted[a:b] = np.mean(y[a:b])
        else:
            coef = np.polyfit(t[a:b], y[a:b], 1) if b - a >= 2 else np.array([0.0, y[a]])
            fitted[a:b] = np.polyval(coef, t[a:b])
    return fitted


# ---------------------------------------------------------------------------
# result
@dataclass(frozen=True)
class ChangePointResult(Displayable):
    """Detected changes and the dated onset of the one nearest the event.

    ``changes`` lists every detected change (date, interval, size and
    ``evidence``: the drop in residual sum of squares the change buys, in
    units of the noise variance). ``onset`` is the selected one's first day
    of the new regime (None when no change is detected); ``onset_lower``/``onset_upper`` bound it at ``level``;
    ``onset_probability`` is the posterior over ``dates`` (zero outside the
    stretch between the neighbouring changes). ``change`` is the new minus
    the old level (``"level"``) or slope per period (``"slope"``: per day of
    daily data, per month of monthly data) on the series' (transformed) scale.
    ``frequency`` is the series' own (``D``, ``W``, ``M``, ``Q``, ``Y``):
    distances from the event are counted and worded in its periods.
    """

    model: Model
    dates: np.ndarray
    values: np.ndarray  # the analysed series (transformed, weekly cycle removed)
    fitted: np.ndarray
    breaks: tuple[pd.Timestamp, ...]
    onset: pd.Timestamp | None
    onset_lower: pd.Timestamp | None
    onset_upper: pd.Timestamp | None
    onset_probability: np.ndarray
    change: float | None
    sigma: float
    penalty: float
    criterion: str
    level: float
    event_date: pd.Timestamp | None
    changes: tuple[dict, ...] = ()  # every detected change: date, lower, upper, change, evidence
    diagnostics: dict[str, Any] = field(default_factory=dict)
    frequency: str = "D"
    # BIC of the dated changes on the whole series (a step or a kink at each): what the
    # level and slope models are compared by (``dated_bic``)
    bic: float | None = None

    def periods_from_event(self) -> tuple[int, int, int] | None:
        """(onset, lower, upper) in the series' periods after the event (negative: before)."""
        if self.onset is None or self.event_date is None:
            return None
        return tuple(freq.periods_between(self.event_date, d, self.frequency)  # type: ignore
                     for d in (self.onset, self.onset_lower, self.onset_upper))

    def days_from_event(self) -> tuple[int, int, int] | None:
        """(onset, lower, upper) in days after the event (negative: before)."""
        if self.onset is None or self.event_date is None:
            return None
        return ((self.onset - self.event_date).days, (self.onset_lower - self.event_date).days,
                (self.onset_upper - self.event_date).days)

    def sentence(self, what: str = "the series") -> str:
        kind = "level" if self.model == "level" else "trend"
        if self.onset is None:
            return (f"No change in the {kind} of {what} was detected (penalty by the "
                    f"{self.criterion.upper()}).")
        direction = "fall" if (self.change or 0) < 0 else "rise"
        text = (f"A {direction} in the {kind} of {what} began around {self.onset:%Y-%m-%d} "
                f"({self.level:.0%} interval {self.onset_lower:%Y-%m-%d} to "
                f"{self.onset_upper:%Y-%m-%d})")
        periods = self.periods_from_event()
        if periods is not None:
            d, lo, hi = periods
            rel = "after" if d >= 0 else "before"
            unit = freq.PERIOD[self.frequency]
            text += (f", {freq.describe(self.frequency, abs(d))} {rel} the event ({lo:+d} to "
                     f"{hi:+d} {unit}s)")
        return text + "."

    def to_dict(self) -> dict:
        def day(x):
            return None if x is None else f"{x:%Y-%m-%d}"

        days = self.days_from_event()
        periods = self.periods_from_event()
        return {
            "model": self.model,
            "dates": [str(np.datetime64(d, "D")) for d in self.dates],
            "values": self.values,
            "fitted": self.fitted,
            "breaks": [day(b) for b in self.breaks],
            "onset": day(self.onset),
            "onset_lower": day(self.onset_lower),
            "onset_upper": day(self.onset_upper),
            "onset_probability": self.onset_probability,
            "days_from_event": None if days is None else days[0],
            "days_from_event_lower": None if days is None else days[1],
            "days_from_event_upper": None if days is None else days[2],
            # the same distances in the series' own periods (equal to the days off daily data)
            "frequency": self.frequency,
            "periods_from_event": None if periods is None else periods[0],
            "periods_from_event_lower": None if periods is None else periods[1],
            "periods_from_event_upper": None if periods is None else periods[2],
            "change": self.change,
            "sigma": self.sigma,
            "bic": self.bic,
            "penalty": self.penalty,
            "criterion": self.criterion,
            "level": self.level,
            "event_date": day(self.event_date),
            "changes": [
                {"date": day(c["date"]), "lower": day(c["lower"]), "upper": day(c["upper"]),
                 "change": c["change"], "evidence": c["evidence"],
                 "days_from_event": None if self.event_date is None
                 else int((c["date"] - self.event_date).days),
                 "periods_from_event": None if self.event_date is None
                 else freq.periods_between(self.event_date, c["date"], self.frequency)}
                for c in self.changes],
            "sentence": self.sentence(),
            "diagnostics": self.diagnostics,
        }


# ---------------------------------------------------------------------------
# estimator
class ChangePoint:
    """Date the onset of a change in level or slope of one series.

    ``min_size`` is the shortest segment in periods; ``penalty_scale``
    multiplies the BIC penalty (1 = the criterion as stated); ``weekly``
    removes a day-of-week cycle from daily series first; ``season`` a cycle of
    that many periods (12 months, 4 quarters) from coarser ones. ``frequency`` is the
    series' own (None: read off its dates); slopes are per period of it. ``select`` picks the
    change reported as the onset: the one with the most evidence
    (``"largest"``), the one nearest the event (``"nearest"``) or the first.
    Every detected change is listed in the result either way.
    """

    @checked_settings
    def __init__(self, *, model: Model = "level", min_size: int = 7, level: float = 0.95,
                 penalty_scale: float = 1.0, weekly: bool = False,
                 select: Literal["largest", "nearest", "first"] = "largest",
                 frequency: Literal["D", "W", "M", "Q", "Y"] | None = None,
                 season: int | None = None) -> None:
        self.select = select
        self.season = season
        self.frequency = frequency
        self.model = model
        self.min_size = min_size
        self.level = level
        self.penalty_scale = penalty_scale
        self.weekly = weekly

    def fit(self, series: pd.Series, event_date: Any = None) -> ChangePointResult:
        """``series`` is indexed by date (NaN days are left out)."""
        if self.model not in _PARAMS:
            raise DataError(f"unknown change-point model {self.model!r}; use level or slope")
        s = series.dropna().sort_index()
        n = len(s)
        dates = pd.DatetimeIndex(s.index)
        frequency = self.frequency or freq.infer(dates)
        if n < 2 * self.min_size + 1:
            raise DataError(f"the series has {n} observed {freq.PERIOD[frequency]}s; dating a "
                            f"change needs at least {2 * self.min_size + 1} (twice min_size, "
                            "plus one)")
        y = s.to_numpy(dtype=float)
        if self.weekly:
            y = remove_weekly(y, dates.day_of_week.to_numpy())
        if self.season:  # month (quarter) of the year: the calendar's, from the dates
            y = remove_weekly(y, np.mod(freq.ordinal(dates, frequency), self.season), self.season)
        # time in the series' own periods: days of daily data, months of monthly data
        t = (freq.ordinal(dates, frequency) - freq.ordinal(dates[:1], frequency)[0]).astype(float)
        sigma = noise_sd(y, self.model)
        if not np.isfinite(sigma) or sigma == 0:
            sigma = float(np.std(y)) or 1e-12
        penalty = self.penalty_scale * bic_penalty(sigma, n, self.model)
        breaks = detect_breaks(y, t, self.model, penalty, self.min_size)
        fitted = segment_fit(y, t, breaks, self.model)
        event = None if event_date is None else pd.Timestamp(event_date)
        prob = np.zeros(n)
        onset = lower = upper = None
        change = None
        changes = []
        edges = [0, *breaks, n]
        for i, b in enumerate(breaks):
            a, z = edges[i], edges[i + 2]
            local = break_posterior(y[a:z], t[a:z], self.model,
                                    max(1, min(self.min_size, (z - a - 1) // 2)))
            mode = a + int(np.argmax(local)) if local.any() else b
            lo, hi = credible_interval(local, self.level) if local.any() else (b - a, b - a)
            changes.append({
                "date": dates[mode], "lower": dates[a + lo], "upper": dates[a + hi],
                "change": _change_at(y[a:z], t[a:z], mode - a, self.model),
                "evidence": _evidence(y[a:z], t[a:z], b - a, self.model) / sigma**2,
                "posterior": (a, z, local),
            })
        if changes:
            if self.select == "largest":
                pick = int(np.argmax([c["evidence"] for c in changes]))
            elif self.select == "nearest" and event is not None:
                pick = int(np.argmin([abs((c["date"] - event).days) for c in changes]))
            else:
                pick = 0
            chosen = changes[pick]
            a, z, local = chosen["posterior"]
            prob[a:z] = local
            onset, lower, upper = chosen["date"], chosen["lower"], chosen["upper"]
            change = chosen["change"]
        listed = tuple({k: v for k, v in c.items() if k != "posterior"} for c in changes)
        return ChangePointResult(
            model=self.model, dates=dates.to_numpy().astype("datetime64[D]"), values=y,
            fitted=fitted, breaks=tuple(dates[b] for b in breaks), onset=onset,
            onset_lower=lower, onset_upper=upper, onset_probability=prob, change=change,
            sigma=float(sigma), penalty=float(penalty), criterion="bic", level=self.level,
            event_date=event, changes=listed, frequency=frequency,
            bic=dated_bic(y, t, [int(dates.get_loc(c["date"])) for c in changes], self.model),
            diagnostics={"n": n, "min_size": self.min_size, "weekly_removed": self.weekly,
                         "season_removed": self.season,
                         "select": self.select})


def dated_bic(y: np.ndarray, t: np.ndarray, taus: list[int], model: Model) -> float:
    """BIC of the dated changes (a step at each, or a kink for ``"slope"``) on the whole series.

    Both models' datings are fitted to the same series, so their BICs compare: the smaller
    one explains the series better for its parameters (each change costs a coefficient and
    its date). The noise scale ``sigma`` cannot decide it: it is read off first (level) or
    second (slope) differences, and on positively autocorrelated noise the second
    differences come out smaller, which picked the slope model for a step and dated the
    step weeks early (issue 13: 26% of the verdict study's ``effect`` runs). No change: a
    constant (level) or a straight line (slope).
    """
    n = len(y)
    cols = [np.ones(n)] if model == "level" else [np.ones(n), t - t.mean()]
    for tau in sorted(set(taus)):
        cols.append((np.arange(n) >= tau).astype(float) if model == "level"
                    else np.maximum(t - t[tau], 0.0))
    X = np.column_stack(cols)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    rss = max(float(np.sum((y - X @ beta) ** 2)), 1e-300)
    k = X.shape[1] + len(set(taus)) + 1  # coefficients, the dates, the noise scale
    return float(n * math.log(rss / n) + k * math.log(n))


def _evidence(y: np.ndarray, t: np.ndarray, tau: int, model: Model) -> float:
    """Residual sum of squares saved by splitting ``y`` at ``tau`` (segment model)."""
    whole = float(np.sum((y - segment_fit(y, t, [], model)) ** 2))
    split = float(np.sum((y - segment_fit(y, t, [tau], model)) ** 2))
    return whole - split


def _change_at(y: np.ndarray, t: np.ndarray, tau: int, model: Model) -> float:
    if model == "level":
        return float(np.mean(y[tau:]) - np.mean(y[:tau]))
    X = np.column_stack([np.ones(len(y)), t, np.maximum(t - t[tau], 0.0)])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(beta[2])
