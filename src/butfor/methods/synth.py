"""Synthetic control (Abadie, Diamond & Hainmueller 2010; Abadie 2021).

The counterfactual of a treated unit is a weighted average of donor units,
with weights W on the simplex (non-negative, summing to one), chosen so the
synthetic unit resembles the treated one before the event:

    W(V) = argmin_W  (X1 − X0 W)ᵀ V (X1 − X0 W)        (inner problem)
    V    = argmin_V  ‖Z1 − Z0 W(V)‖²                   (outer problem)

X holds the predictors (a variable averaged over a stated window of periods,
for instance income averaged 1980–1988, or the outcome in one year), each
row divided by its standard deviation across units as the Synth package
does; Z holds the pre-period outcomes; V is diagonal and non-negative. With
no predictors given, the outcome-only variant fits W to the pre-period
outcomes directly (Abadie 2021, section 3.2), which is V = I on the
pre-period outcomes themselves.

The V search. The outer problem has many local minima and the optimum often
sits where some predictor weights are orders of magnitude smaller than
others, so a single start of a general-purpose optimiser (what Synth,
pysyncon and most ports do) lands in whichever basin is nearest. Here V is
searched in log space, log v_k ∈ [log v_floor, 0], in two stages, and every
W(V) is the exact simplex least-squares solution (an active-set method,
warm-started, in :mod:`butfor.methods._simplex`):

1. coordinate sweeps from several starts (equal weights, the regression-based
   start of Synth, and seeded random ones): each sweep tries a grid of values
   for one log v_k at a time, holding the rest, and keeps the best; sweeps
   repeat until none improves;
2. a pattern search from the best distinct results: each step tries moves
   along every coordinate and a few random directions, doubling the step on
   success and halving it on failure, until the step is below ``step_tol``;
3. while the best loss has been reached from only one start, another round
   of fresh random starts (up to ``max_rounds``): an optimum found twice from
   different starts is the stopping rule, so hard problems get more effort.

Every candidate of a step is solved in one batched call, and the placebo
test batches all placebo units too, so the Python cost is paid per step, not
per candidate. The final W is re-solved from a cold start, so the answer
does not depend on the order of the donors.

Placebo in space (every donor in turn treated, with the other donors as its
pool), placebo in time (the event moved into the pre-period) and
leave-one-out (each donor with positive weight dropped in turn) are
functions of a fitted estimator.

What fools it: a treated unit outside the donors' range (no convex
combination can match it, and the pre-period fit says so), donors that the
event also touched (the effect is then relative to them), and donors whose
path would have diverged from the treated unit's anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from butfor.display import Displayable
from butfor.errors import DataError, EstimationError
from butfor.inference.placebo import (
    rmspe,
)
from butfor.methods import _flags
from butfor.methods._simplex import simplex_lsq_batch
from butfor.methods.synth_weights import clean_weights, predictor_fit, scaled_predictors, search_v
from butfor.results import EffectPath, summarise_draws
from butfor.settings import checked_settings

METHOD = "synthetic_control"
VMode = Literal["search", "equal", "regression"]

__all__ = [
    "Predictor",
    "SyntheticControl",
    "SyntheticControlResult",
    "search_v",
]


# ---------------------------------------------------------------------------
# specification
@dataclass(frozen=True)
class Predictor:
    """A predictor: ``variable`` averaged over the periods ``start`` to ``end`` (inclusive).

    ``variable`` names a covariate frame, or the outcome by its metric name.
    ``end`` defaults to ``start`` (one period, e.g. cigarette sales in 1988).
    Missing values are left out of the average, as Synth does.
    """

    variable: str
    start: Any
    end: Any = None
    name: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        end = self.start if self.end is None else self.end
        a, b = period_label(self.start), period_label(end)
        return f"{self.variable} ({a})" if a == b else f"{self.variable} ({a}–{b})"


def period_label(x: Any) -> str:
    if isinstance(x, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(x)
        return str(ts.year) if (ts.month, ts.day) == (1, 1) else f"{ts:%Y-%m-%d}"
    return str(x)


class SyntheticControl:
    """Synthetic control with predictor weights chosen by a nested search.

    Parameters (stored, not checked, until :meth:`fit`):

    - ``predictors``: list of :class:`Predictor`, or None for the
      outcome-only variant (W fitted to the pre-period outcomes directly).
    - ``v``: ``"search"`` (minimise the pre-period prediction error),
      ``"equal"``, ``"regression"`` (Synth's regression-based V), or an
      explicit array of predictor weights.
    - ``block``: fit on means over consecutive blocks of this many
      pre-period periods (7 turns daily data into weeks); the counterfactual
      is still computed for every period.
    - ``fit_start``: first period of the pre-period fit (default: all).
    - ``intercept``: the demeaned synthetic control (Doudchenko & Imbens
      2016; Ferman & Pinto 2021), outcome-only: weights fitted to each unit's
      pre-period deviations from its own pre-period mean, and the
      counterfactual shifted by the difference in pre-period means, so a
      subject larger or smaller than every donor can still be matched in
      shape. Off by default (Abadie's synthetic control has no intercept).
    - ``n_random_starts``, ``v_floor``, ``grid_size``, ``n_polish``,
      ``step_tol``, ``max_rounds``: the V search (see the module docstring).
    - ``seed``: the random starts and directions of the V search.
    - ``level``: of the placebo intervals.
    """

    @checked_settings
    def __init__(
        self,
        predictors: list[Predictor] | None = None,
        *,
        v: VMode | np.ndarray = "search",
        block: int = 1,
        fit_start: Any = None,
        intercept: bool = False,
        n_random_starts: int = 6,
        v_floor: float = 1e-6,
        grid_size: int = 21,
        n_polish: int = 3,
        step_tol: float = 2e-3,
        max_rounds: int = 2,
        seed: int = 0,
        level: float = 0.95,
    ) -> None:
        self.predictors = predictors
        self.v = v
        self.block = block
        self.fit_start = fit_start
        self.intercept = intercept
        self.n_random_starts = n_random_starts
        self.v_floor = v_floor
        self.grid_size = grid_size
        self.n_polish = n_polish
        self.step_tol = step_tol
        self.max_rounds = max_rounds
        self.seed = seed
        self.level = level

    # -- public ------------------------------------------------------------
    def fit(
        self,
        outcome: pd.DataFrame,
        treated: str,
        event: Any,
        *,
        donors: list[str] | None = None,
        covariates: dict[str, pd.DataFrame] | None = None,
        metric: str = "outcome",
    ) -> SyntheticControlResult:
        """Fit the synthetic control of ``treated`` from ``donors`` (default: every other column).

        ``outcome`` is a periods × units table (``Panel.wide``); ``event`` the
        first treated period; ``covariates`` maps variable names to tables of
        the same shape, for the predictors.
        """
        data = prepare_data(self, outcome, treated, event, donors, covariates, metric)
        return fit_units(self, data, [data.unit_index(treated)], [data.donor_index(treated)])[0]

    # -- settings checks ---------------------------------------------------
    def _check(self) -> None:
        if self.predictors is not None and not self.predictors:
            raise EstimationError("give at least one predictor, or predictors=None for the "
                                  "outcome-only synthetic control")
        if isinstance(self.v, str) and self.v not in ("search", "equal", "regression"):
            raise EstimationError(f"the 'v' setting must be 'search', 'equal', 'regression' "
                                  f"or an array of weights; got {self.v!r}")
        if not (isinstance(self.block, int) and self.block >= 1):
            raise EstimationError(f"the 'block' setting must be a whole number ≥ 1; "
                                  f"got {self.block!r}")
        if self.intercept and self.predictors is not None:
            raise EstimationError("the demeaned synthetic control (intercept=True) is "
                                  "outcome-only; set predictors=None")
        if not 0 < self.v_floor < 1:
            raise EstimationError(f"the 'v_floor' setting must lie in (0, 1); got {self.v_floor}")
        if not 0 < self.level < 1:
            raise EstimationError(f"the 'level' setting must lie in (0, 1); got {self.level}")


@dataclass(frozen=True)
class SyntheticControlResult(Displayable):
    """One treated unit's synthetic control."""

    unit: str
    metric: str
    event: Any
    weights: pd.Series  # donor -> weight, summing to one
    predictor_weights: pd.Series | None  # predictor label -> v, summing to one
    predictor_balance: pd.DataFrame | None  # predictor rows: treated, synthetic, donor mean
    observed: pd.Series
    synthetic: pd.Series
    fit_loss: float  # mean squared pre-period error the weights minimise
    search: dict[str, Any] = field(default_factory=dict)
    block: int = 1  # RMSPEs are taken over means of this many periods, as the fit

    # The statistics below are computed once per result (cached on the instance; the
    # fields they read are frozen): a placebo test reads each placebo's ratio, RMSPEs
    # and sign many times over, which recomputed them hundreds of thousands of times.
    @cached_property
    def gaps(self) -> pd.Series:
        return self.observed - self.synthetic

    @cached_property
    def post(self) -> np.ndarray:
        return np.asarray(self.observed.index >= self.event)

    @cached_property
    def _blocked_gaps(self) -> tuple[np.ndarray, np.ndarray]:
        """Gap means over blocks that end before the event and start at it."""
        g = self.gaps.to_numpy(dtype=float)
        post = self.post
        pre_g = block_means(g[~post][:, None], self.block)[:, 0]
        post_part = g[post]
        post_g = np.array([nanmean_rows(post_part[a:a + self.block])
                           for a in range(0, post_part.size, self.block)])
        return pre_g, post_g

    @cached_property
    def pre_rmspe(self) -> float:
        pre_g, _ = self._blocked_gaps
        return float(rmspe(pre_g, np.ones(pre_g.size, bool)))

    @cached_property
    def post_rmspe(self) -> float:
        _, post_g = self._blocked_gaps
        return float(rmspe(post_g, np.ones(post_g.size, bool)))

    @cached_property
    def rmspe_ratio(self) -> float:
        return self.post_rmspe / self.pre_rmspe if self.pre_rmspe > 0 else math.inf

    @cached_property
    def average_effect(self) -> float:
        return float(np.nanmean(self.gaps.to_numpy()[self.post]))

    @cached_property
    def signed_ratio(self) -> float:
        """The post/pre RMSPE ratio with the sign of the average post-period gap."""
        return math.copysign(self.rmspe_ratio, self.average_effect)

    def effect(self) -> EffectPath:
        """The effect path with no interval (see :func:`placebo_in_space` for one)."""
        obs = self.observed.to_numpy(dtype=float)
        syn = self.synthetic.to_numpy(dtype=float)
        post = self.post
        summary = summarise_draws(obs[post], syn[post][None, :])
        summary = replace(summary, p_value=None)
        return EffectPath(METHOD, self.unit, self.metric, period_dates(self.observed.index), obs, syn,
                          syn.copy(), syn.copy(), int(np.argmax(post)), summary, None,
                          self._diagnostics())

    def to_dict(self) -> dict:
        """The fit as JSON-ready values: the effect path, its weights and RMSPEs in it."""
        return {"unit": self.unit, "metric": self.metric, "event": self.event,
                "block": self.block, "effect": self.effect().to_dict()}

    def _diagnostics(self) -> dict[str, Any]:
        positive = self.weights[self.weights > 0].sort_values(ascending=False)
        out = {
            "donor_weights": {str(k): float(v) for k, v in positive.items()},
            "pre_rmspe": self.pre_rmspe,
            "post_rmspe": self.post_rmspe,
            "rmspe_ratio": self.rmspe_ratio,
            "fit_loss": self.fit_loss,
        }
        if self.predictor_weights is not None:
            out["predictor_weights"] = {str(k): float(v)
                                        for k, v in self.predictor_weights.items()}
        if self.predictor_balance is not None:
            out["predictor_balance"] = {
                str(k): {c: float(x) for c, x in row.items()}
                for k, row in self.predictor_balance.iterrows()
            }
        out["search"] = self.search
        return out


# ---------------------------------------------------------------------------
# data preparation
def fit_flags(fit: SyntheticControlResult, window: pd.DataFrame, event_date: pd.Timestamp,
              block: int, frequency: str) -> list[_flags.Flag | None]:
    """An exact fit that is a construction, and periods the comparison cannot use.

    ``fit`` is one unit's :class:`SyntheticControlResult` and ``window`` the
    table it saw (that unit first). The fit uses the
    pre-event periods every unit is observed in, in means over ``block`` of them.
    """
    pre = np.asarray(window.index < event_date)
    complete = window.notna().all(axis=1).to_numpy() & pre
    subject = window.iloc[:, 0].to_numpy(dtype=float)
    exact = _flags.exact_fit(pre_rmspe=fit.pre_rmspe, subject_pre=subject[complete],
                             fitted_periods=math.ceil(int(complete.sum()) / max(block, 1)),
                             weights=fit.weights,
                             observed_share=float(window.notna().to_numpy().mean()))
    # usable: the subject and its synthetic control (every donor it weights) observed
    usable = (fit.observed.notna() & fit.synthetic.notna()).to_numpy()
    return [exact, *_flags.coverage(usable, np.asarray(fit.post), dates=window.index,
                                    frequency=frequency,
                                    what="the subject and its synthetic control observed")]


@dataclass(frozen=True)
class SynthData:
    units: list[str]
    periods: pd.Index
    Y: np.ndarray  # (T, N) outcome
    pre: np.ndarray  # (T,) bool, before the event
    fit_rows: np.ndarray  # (T,) bool, periods the fit uses
    X: np.ndarray | None  # (K, N) raw predictors; None = outcome-only
    labels: list[str]
    pool: list[str]  # donor pool (units that may serve as donors)
    treated: str
    event: Any
    metric: str

    def unit_index(self, unit: str) -> int:
        return self.position[unit]

    def donor_index(self, unit: str, exclude: tuple[str, ...] = ()) -> np.ndarray:
        return np.array([self.position[u] for u in self.pool
                         if u != unit and u not in exclude], dtype=int)

    @cached_property
    def position(self) -> dict[str, int]:
        # built once: donor_index looks every pool member up, for every placebo unit
        return {u: i for i, u in enumerate(self.units)}


def prepare_data(est: SyntheticControl, outcome: pd.DataFrame, treated: str, event: Any,
             donors: list[str] | None, covariates: dict[str, pd.DataFrame] | None,
             metric: str, *, extra_units: tuple[str, ...] = ()) -> SynthData:
    est._check()
    if treated not in outcome.columns:
        raise DataError(f"the treated unit {treated!r} is not in the outcome table")
    outcome = outcome.sort_index()
    pool = [c for c in outcome.columns if c != treated and c not in extra_units] \
        if donors is None else [d for d in donors if d != treated]
    missing = [d for d in pool if d not in outcome.columns]
    if missing:
        raise DataError(f"donor {missing[0]!r} is not in the outcome table")
    if len(pool) < 2:
        raise DataError("a synthetic control needs at least two donors")
    units = [treated, *extra_units, *pool]
    periods = outcome.index
    Y = outcome[units].to_numpy(dtype=float)
    pre = np.asarray(periods < event)
    if not pre.any() or pre.all():
        raise DataError(f"the event {period_label(event)} leaves no pre-period or no "
                        "post-period in the data")
    fit_rows = pre.copy()
    if est.fit_start is not None:
        fit_rows &= np.asarray(periods >= est.fit_start)
    # a period the fit uses must be observed for every unit
    fit_rows &= ~np.isnan(Y).any(axis=1)
    if fit_rows.sum() < 2:
        raise DataError("fewer than two pre-event periods are observed for every unit; "
                        "a synthetic control cannot be fitted")
    if est.predictors is None:
        X, labels = None, []
    else:
        frames = dict(covariates or {})
        frames.setdefault(metric, outcome)
        X, labels = _predictor_matrix(est.predictors, frames, units, event)
    return SynthData(units, periods, Y, pre, fit_rows, X, labels, pool, treated, event, metric)


def _predictor_matrix(predictors: list[Predictor], frames: dict[str, pd.DataFrame],
                      units: list[str], event: Any) -> tuple[np.ndarray, list[str]]:
    rows, labels = [], []
    for p in predictors:
        if p.variable not in frames:
            raise DataError(f"predictor {p.label!r} uses {p.variable!r}, which is neither the "
                            f"outcome nor a covariate ({', '.join(sorted(frames))})")
        frame = frames[p.variable].sort_index()
        end = p.start if p.end is None else p.end
        if not end < event:
            raise DataError(f"predictor {p.label!r} reaches into the post-event period; "
                            "predictors must be measured before the event")
        window = frame.loc[p.start:end]
        if window.empty:
            raise DataError(f"predictor {p.label!r}: no periods in its window")
        absent = [u for u in units if u not in window.columns]
        if absent:
            raise DataError(f"predictor {p.label!r}: unit {absent[0]!r} has no {p.variable!r}")
        values = window[units].mean(axis=0, skipna=True).to_numpy(dtype=float)
        if np.isnan(values).any():
            bad = units[int(np.flatnonzero(np.isnan(values))[0])]
            raise DataError(f"predictor {p.label!r}: unit {bad!r} has no observed value in "
                            "the window; widen the window or drop the predictor")
        rows.append(values)
        labels.append(p.label)
    return np.vstack(rows), labels


def period_dates(index: pd.Index) -> np.ndarray:
    if isinstance(index, pd.DatetimeIndex):
        return index.to_numpy(dtype="datetime64[ns]")
    return np.asarray(index)


def block_means(Z: np.ndarray, block: int) -> np.ndarray:
    """Means over consecutive blocks of rows, aligned on the last row (the first may be short).

    Missing values are left out of each mean.
    """
    if block == 1:
        return Z
    n = Z.shape[0]
    edges = np.arange(n, 0, -block)[::-1]  # block ends, aligned on the last row
    starts = np.maximum(edges - block, 0)
    return np.stack([nanmean_rows(Z[a:b]) for a, b in zip(starts, edges, strict=True)])


def nanmean_rows(Z: np.ndarray) -> np.ndarray:
    """Mean over the first axis leaving out NaN (NaN where nothing is observed), no warning."""
    ok = ~np.isnan(Z)
    n = ok.sum(axis=0)
    total = np.where(ok, Z, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


# ---------------------------------------------------------------------------
# fitting several units at once (the subject, or every placebo)
def fit_units(est: SyntheticControl, data: SynthData, treated_idx: list[int],
               donor_idx: list[np.ndarray]) -> list[SyntheticControlResult]:
    """Fit one synthetic control per treated index, batched when the donor counts agree."""
    results: list[SyntheticControlResult | None] = [None] * len(treated_idx)
    by_size: dict[int, list[int]] = {}
    for i, d in enumerate(donor_idx):
        by_size.setdefault(d.size, []).append(i)
    for members in by_size.values():
        fits = fit_batch(est, data, [treated_idx[i] for i in members],
                          [donor_idx[i] for i in members])
        for i, r in zip(members, fits, strict=True):
            results[i] = r
    return [r for r in results if r is not None]


def fit_batch(est: SyntheticControl, data: SynthData, treated_idx: list[int],
               donor_idx: list[np.ndarray]) -> list[SyntheticControlResult]:
    t_idx = np.asarray(treated_idx)
    d_idx = np.stack(donor_idx)  # (U, J)
    Zall = block_means(data.Y[data.fit_rows], est.block)  # (T0, N)
    level = np.zeros(data.Y.shape[1])
    if est.intercept:
        level = data.Y[data.fit_rows].mean(axis=0)  # each unit's pre-period mean
        Zall = Zall - level
    Z1 = Zall[:, t_idx].T  # (U, T0)
    Z0 = np.transpose(Zall[:, d_idx], (1, 0, 2))  # (U, T0, J)
    search: list[dict[str, Any]]
    if data.X is None:
        # outcome-only: W minimises the pre-period error directly (V = I)
        w, ok = simplex_lsq_batch(Z0, Z1)
        if not ok.all():
            raise EstimationError("the donor weights did not converge; the donors may be "
                                  "degenerate (duplicated or constant series)")
        v = None
        loss = np.mean((Z1 - np.einsum("utj,uj->ut", Z0, w)) ** 2, axis=1)
        search = [{"variant": "outcome-only, demeaned" if est.intercept else "outcome-only"}
                  for _ in treated_idx]
    else:
        X1, X0 = scaled_predictors(data.X, t_idx, d_idx)
        v, w, loss, search = predictor_fit(est, X1, X0, Z1, Z0)
    results = []
    for u, (ti, di) in enumerate(zip(t_idx, d_idx, strict=True)):
        donors = [data.units[j] for j in di]
        weights = pd.Series(clean_weights(w[u]), index=donors, name="weight")
        synthetic = (data.Y[:, di] - level[di]) @ weights.to_numpy() + level[ti]
        unit = data.units[ti]
        pw = balance = None
        if data.X is not None and v is not None:
            if not np.isnan(v[u]).any():
                pw = pd.Series(v[u] / v[u].sum(), index=data.labels, name="v")
            balance = pd.DataFrame({
                "treated": data.X[:, ti],
                "synthetic": data.X[:, di] @ weights.to_numpy(),
                "donor mean": data.X[:, di].mean(axis=1),
            }, index=data.labels)
        results.append(SyntheticControlResult(
            unit=unit, metric=data.metric, event=data.event, weights=weights,
            predictor_weights=pw, predictor_balance=balance,
            observed=pd.Series(data.Y[:, ti], index=data.periods, name=unit),
            synthetic=pd.Series(synthetic, index=data.periods, name=f"synthetic {unit}"),
            fit_loss=float(loss[u]), search=search[u], block=est.block,
        ))
    return results
