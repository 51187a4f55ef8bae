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
    PlaceboTest,
    permutation_p_value,
    permutation_rank,
    placebo_draws,
    rmspe,
)
from butfor.methods._simplex import simplex_lsq_batch, simplex_lsq_eq
from butfor.results import EffectPath, summarise_draws
from butfor.settings import checked_settings

METHOD = "synthetic_control"
VMode = Literal["search", "equal", "regression"]

__all__ = [
    "Predictor",
    "SpacePlacebo",
    "StaggeredSyntheticControl",
    "SyntheticControl",
    "SyntheticControlResult",
    "TimePlacebo",
    "leave_one_out",
    "placebo_in_space",
    "placebo_in_time",
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
        a, b = _period_label(self.start), _period_label(end)
        return f"{self.variable} ({a})" if a == b else f"{self.variable} ({a}–{b})"


def _period_label(x: Any) -> str:
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
        data = _prepare(self, outcome, treated, event, donors, covariates, metric)
        return _fit_units(self, data, [data.unit_index(treated)], [data.donor_index(treated)])[0]

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
        pre_g = _block_means(g[~post][:, None], self.block)[:, 0]
        post_part = g[post]
        post_g = np.array([_nanmean(post_part[a:a + self.block])
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
        return EffectPath(METHOD, self.unit, self.metric, _dates(self.observed.index), obs, syn,
                          syn.copy(), syn.copy(), int(np.argmax(post)), summary, None,
                          self._diagnostics())

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
@dataclass(frozen=True)
class _Data:
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


def _prepare(est: SyntheticControl, outcome: pd.DataFrame, treated: str, event: Any,
             donors: list[str] | None, covariates: dict[str, pd.DataFrame] | None,
             metric: str, *, extra_units: tuple[str, ...] = ()) -> _Data:
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
        raise DataError(f"the event {_period_label(event)} leaves no pre-period or no "
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
    return _Data(units, periods, Y, pre, fit_rows, X, labels, pool, treated, event, metric)


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


def _dates(index: pd.Index) -> np.ndarray:
    if isinstance(index, pd.DatetimeIndex):
        return index.to_numpy(dtype="datetime64[ns]")
    return np.asarray(index)


def _block_means(Z: np.ndarray, block: int) -> np.ndarray:
    """Means over consecutive blocks of rows, aligned on the last row (the first may be short).

    Missing values are left out of each mean.
    """
    if block == 1:
        return Z
    n = Z.shape[0]
    edges = np.arange(n, 0, -block)[::-1]  # block ends, aligned on the last row
    starts = np.maximum(edges - block, 0)
    return np.stack([_nanmean(Z[a:b]) for a, b in zip(starts, edges, strict=True)])


def _nanmean(Z: np.ndarray) -> np.ndarray:
    """Mean over the first axis leaving out NaN (NaN where nothing is observed), no warning."""
    ok = ~np.isnan(Z)
    n = ok.sum(axis=0)
    total = np.where(ok, Z, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


# ---------------------------------------------------------------------------
# fitting several units at once (the subject, or every placebo)
def _fit_units(est: SyntheticControl, data: _Data, treated_idx: list[int],
               donor_idx: list[np.ndarray]) -> list[SyntheticControlResult]:
    """Fit one synthetic control per treated index, batched when the donor counts agree."""
    results: list[SyntheticControlResult | None] = [None] * len(treated_idx)
    by_size: dict[int, list[int]] = {}
    for i, d in enumerate(donor_idx):
        by_size.setdefault(d.size, []).append(i)
    for members in by_size.values():
        fits = _fit_batch(est, data, [treated_idx[i] for i in members],
                          [donor_idx[i] for i in members])
        for i, r in zip(members, fits, strict=True):
            results[i] = r
    return [r for r in results if r is not None]


def _fit_batch(est: SyntheticControl, data: _Data, treated_idx: list[int],
               donor_idx: list[np.ndarray]) -> list[SyntheticControlResult]:
    t_idx = np.asarray(treated_idx)
    d_idx = np.stack(donor_idx)  # (U, J)
    Zall = _block_means(data.Y[data.fit_rows], est.block)  # (T0, N)
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
        X1, X0 = _scaled_predictors(data.X, t_idx, d_idx)
        v, w, loss, search = _predictor_fit(est, X1, X0, Z1, Z0)
    results = []
    for u, (ti, di) in enumerate(zip(t_idx, d_idx, strict=True)):
        donors = [data.units[j] for j in di]
        weights = pd.Series(_clean(w[u]), index=donors, name="weight")
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


def _predictor_fit(est: SyntheticControl, X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray,
                   Z0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """V and W for a batch of units with predictors; v rows are NaN where V is moot."""
    U, K, J = X0.shape
    v = np.full((U, K), np.nan)
    w = np.zeros((U, J))
    loss = np.zeros(U)
    search: list[dict[str, Any]] = [{} for _ in range(U)]
    inside, matching = _inside_hull(X1, X0)
    if inside.any():
        # every V matches the predictors exactly, so W(V) is not unique: take the
        # exact match that best fits the pre-period outcomes
        w[inside], loss[inside] = _exact_match_weights(X1[inside], X0[inside], Z1[inside],
                                                       Z0[inside], matching[inside])
        for u in np.flatnonzero(inside):
            search[u] = {"variant": "inside the donors' range: every V matches the predictors "
                         "exactly, so W is the exact match that best fits the pre-period "
                         "outcomes", "loss": float(loss[u])}
    out = ~inside
    if not out.any():
        return v, w, loss, search
    a, b, c, d = X1[out], X0[out], Z1[out], Z0[out]
    idx = np.flatnonzero(out)
    if isinstance(est.v, str) and est.v == "search":
        res = search_v(a, b, c, d, rng=np.random.default_rng(est.seed),
                       n_random=est.n_random_starts, v_floor=est.v_floor,
                       grid_size=est.grid_size, n_polish=est.n_polish, step_tol=est.step_tol,
                       max_rounds=est.max_rounds)
        v[out], w[out], loss[out] = res.v, res.w, res.loss
        for i, u in enumerate(idx):
            search[u] = {"variant": "nested V search", **res.info(i)}
        return v, w, loss, search
    if isinstance(est.v, str) and est.v == "equal":
        vv = np.full(a.shape, 1.0 / K)
    elif isinstance(est.v, str):
        vv = np.stack([_regression_v(a[i], b[i], c[i], d[i]) for i in range(idx.size)])
    else:
        given = np.asarray(est.v, dtype=float)
        if given.shape != (K,) or (given < 0).any() or given.sum() <= 0:
            raise EstimationError(f"'v' needs {K} non-negative predictor weights, not all zero")
        vv = np.tile(given / given.sum(), (idx.size, 1))
    v[out] = vv
    w[out], loss[out] = _solve_w(vv, a, b, c, d)
    for u in idx:
        search[u] = {"variant": f"V {est.v if isinstance(est.v, str) else 'given'}"}
    return v, w, loss, search


def _clean(w: np.ndarray) -> np.ndarray:
    w = np.where(w < 1e-12, 0.0, w)
    return w / w.sum()


def _scaled_predictors(X: np.ndarray, t_idx: np.ndarray, d_idx: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Each predictor row divided by its sd across the fit's units (treated and donors)."""
    X1 = X[:, t_idx].T  # (U, K)
    X0 = np.transpose(X[:, d_idx], (1, 0, 2))  # (U, K, J)
    both = np.concatenate([X1[:, :, None], X0], axis=2)
    sd = both.std(axis=2, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    return X1 / sd, X0 / sd[:, :, None]


def _inside_hull(X1: np.ndarray, X0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(U,) bool: the treated unit's predictors are a convex combination of the donors'.

    Then every V with positive weights gives an exact match, and the nested
    problem cannot choose among the matches. Also returns the matching
    weights (U, J), a feasible start for :func:`_exact_match_weights`.
    """
    w, _ = simplex_lsq_batch(X0, X1)
    resid = np.einsum("ukj,uj->uk", X0, w) - X1
    return np.sum(resid**2, axis=1) <= 1e-12 * (1.0 + np.sum(X1**2, axis=1)), w


def _exact_match_weights(X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray, Z0: np.ndarray,
                         start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Among weights that match the predictors exactly, the best pre-period fit."""
    w = np.stack([simplex_lsq_eq(Z0[u], Z1[u], X0[u], X1[u], start[u])
                  for u in range(X1.shape[0])])
    resid = Z1 - np.einsum("utj,uj->ut", Z0, w)
    return w, np.mean(resid**2, axis=1)


def _regression_v(X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray, Z0: np.ndarray) -> np.ndarray:
    """Synth's regression-based V: squared coefficients of the outcomes on the predictors.

    Each pre-period outcome is regressed across units on an intercept and the
    (scaled) predictors; a predictor's weight is the sum over periods of its
    squared coefficient, normalised to sum to one.
    """
    Xu = np.column_stack([np.ones(X0.shape[1] + 1), np.column_stack([X1[:, None], X0]).T])
    Zu = np.column_stack([Z1[:, None], Z0]).T  # (units, T0)
    beta = np.linalg.lstsq(Xu, Zu, rcond=None)[0][1:]  # (K, T0)
    v = (beta**2).sum(axis=1)
    return v / v.sum() if v.sum() > 0 else np.full(v.size, 1.0 / v.size)


def _solve_w(v: np.ndarray, X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray, Z0: np.ndarray,
             w0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inner problem for a batch of (V, unit) pairs: W(V) and its pre-period loss."""
    sv = np.sqrt(v / v.max(axis=1, keepdims=True))
    w, ok = simplex_lsq_batch(sv[:, :, None] * X0, sv * X1, x0=w0)
    if not ok.all():
        raise EstimationError("the donor weights did not converge for some predictor weights; "
                              "the donors may be degenerate (duplicated or constant units)")
    resid = Z1 - np.einsum("utj,uj->ut", Z0, w)
    return w, np.mean(resid**2, axis=1)


# ---------------------------------------------------------------------------
# the V search (pure numpy kernel, batched over units)
@dataclass(frozen=True)
class VSearchResult:
    v: np.ndarray  # (U, K), each row summing to one
    w: np.ndarray  # (U, J)
    loss: np.ndarray  # (U,) pre-period MSPE at the solution
    start_losses: list[list[float]]  # per unit: loss each start reached after the sweeps
    polished: list[list[float]]  # per unit: loss after the pattern search, best starts
    rounds: np.ndarray  # (U,) rounds of starts each unit needed
    confirmed: np.ndarray  # (U,) the best loss was reached from two or more starts
    evaluations: int
    steps: int

    def info(self, u: int) -> dict[str, Any]:
        return {"loss": float(self.loss[u]),
                "start_losses": [float(x) for x in self.start_losses[u]],
                "polished_losses": [float(x) for x in self.polished[u]],
                "rounds": int(self.rounds[u]), "confirmed": bool(self.confirmed[u]),
                "evaluations": self.evaluations, "batched_steps": self.steps}


def search_v(X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray, Z0: np.ndarray, *,
             rng: np.random.Generator, n_random: int = 6, v_floor: float = 1e-6,
             grid_size: int = 21, n_polish: int = 3, step_tol: float = 2e-3,
             max_rounds: int = 2, max_sweeps: int = 10, max_steps: int = 300
             ) -> VSearchResult:
    """Nested V search for U problems at once.

    ``X1`` (U, K) and ``X0`` (U, K, J) are scaled predictors, ``Z1`` (U, T0)
    and ``Z0`` (U, T0, J) the pre-period outcomes. Returns the best V, W and
    loss found for each problem; see the module docstring for the method.

    The search runs in rounds: the first from equal weights, the
    regression-based V and ``n_random`` random points; a unit whose best loss
    was reached from only one start gets another round of ``n_random`` fresh
    random starts, up to ``max_rounds``, so hard problems get more effort
    and easy ones none.
    """
    U, K, _ = X0.shape
    lo = math.log(v_floor)
    if K == 1:
        v = np.ones((U, 1))
        w, loss = _solve_w(v, X1, X0, Z1, Z0)
        return VSearchResult(v, w, loss, [[float(x)] for x in loss],
                             [[float(x)] for x in loss], np.ones(U, int), np.ones(U, bool),
                             U, 1)
    counter = {"evaluations": 0, "steps": 0}

    def evaluate(theta: np.ndarray, unit: np.ndarray, w0: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
        counter["evaluations"] += theta.shape[0]
        counter["steps"] += 1
        v = np.exp(theta - theta.max(axis=1, keepdims=True))
        return _solve_w(v, X1[unit], X0[unit], Z1[unit], Z0[unit], w0)

    reg = np.stack([np.log(np.clip(_regression_v(X1[u], X0[u], Z1[u], Z0[u]), 1e-300, None))
                    for u in range(U)])
    reg = np.clip(reg - reg.max(axis=1, keepdims=True), lo, 0.0)
    best_theta = np.zeros((U, K))
    best_f = np.full(U, np.inf)
    support = np.zeros(U, dtype=int)  # starts whose search ended at the best loss
    start_losses: list[list[float]] = [[] for _ in range(U)]
    polished: list[list[float]] = [[] for _ in range(U)]
    rounds = np.zeros(U, dtype=int)
    pending = np.arange(U)
    for r in range(max_rounds):
        random = rng.uniform(lo, 0.0, size=(n_random, K))
        if r == 0:
            starts = np.concatenate([np.zeros((U, 1, K)), reg[:, None, :],
                                     np.broadcast_to(random, (U, n_random, K))], axis=1)
        else:
            starts = np.broadcast_to(random, (pending.size, n_random, K))
        theta, f, mult, unit = _search_round(evaluate, starts, pending, lo, grid_size,
                                             n_polish, step_tol, max_sweeps, max_steps, rng,
                                             start_losses)
        for u in pending:
            rounds[u] += 1
            mine = unit == u
            for t_u, f_u, m_u in zip(theta[mine], f[mine], mult[mine], strict=True):
                polished[u].append(float(f_u))
                tol = 1e-4 * abs(min(f_u, best_f[u])) + 1e-12
                if f_u < best_f[u] - tol:
                    best_f[u], best_theta[u], support[u] = f_u, t_u, m_u
                elif abs(f_u - best_f[u]) <= tol:
                    support[u] += m_u
        pending = pending[support[pending] < 2]
        if pending.size == 0:
            break
    v = np.exp(best_theta - best_theta.max(axis=1, keepdims=True))
    # re-solve from a cold start: the answer must not depend on the search path
    w_final, loss = _solve_w(v, X1, X0, Z1, Z0)
    return VSearchResult(v / v.sum(axis=1, keepdims=True), w_final, loss, start_losses,
                         polished, rounds, support >= 2, counter["evaluations"],
                         counter["steps"])


def _search_round(evaluate, starts: np.ndarray, units: np.ndarray, lo: float,
                  grid_size: int, n_polish: int, step_tol: float, max_sweeps: int,
                  max_steps: int, rng: np.random.Generator, start_losses: list[list[float]]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One round of starts for the listed units: coordinate sweeps, then pattern search.

    Returns, for each polished chain, its log-V, loss, the number of starts
    that had reached the same point after the sweeps, and its unit.
    """
    n_units, S, K = starts.shape
    theta = starts.reshape(n_units * S, K).copy()
    unit = np.repeat(units, S)
    w, f = evaluate(theta, unit, None)
    J = w.shape[1]

    # stage 1: coordinate sweeps over a grid of log v_k
    grid = np.linspace(lo, 0.0, grid_size)
    active = np.ones(theta.shape[0], dtype=bool)
    for _ in range(max_sweeps):
        moved = np.zeros_like(active)
        for k in range(K):
            ids = np.flatnonzero(active)
            if ids.size == 0:
                break
            cand = np.repeat(theta[ids, None, :], grid_size, axis=1)
            cand[:, :, k] = grid[None, :]
            wc, fc = evaluate(cand.reshape(-1, K), np.repeat(unit[ids], grid_size),
                              np.repeat(w[ids], grid_size, axis=0))
            fc = fc.reshape(ids.size, grid_size)
            best = np.argmin(fc, axis=1)
            fb = fc[np.arange(ids.size), best]
            better = fb < f[ids] - 1e-12 * (1.0 + np.abs(f[ids]))
            sel = ids[better]
            theta[sel, k] = grid[best[better]]
            f[sel] = fb[better]
            w[sel] = wc.reshape(ids.size, grid_size, J)[np.flatnonzero(better), best[better]]
            moved[sel] = True
        active = moved
        if not active.any():
            break

    # stage 2: pattern search from the best distinct results of each unit
    picks, mult = [], []
    for i, u in enumerate(units):
        start_losses[u].extend(float(x) for x in f[i * S:(i + 1) * S])
        order = np.argsort(f[i * S:(i + 1) * S], kind="stable")
        chosen: list[int] = []
        count: list[int] = []
        for o in order:
            j = i * S + int(o)
            same = [c for c, ch in enumerate(chosen)
                    if abs(f[j] - f[ch]) <= 1e-9 * (1 + abs(f[ch]))
                    and np.abs(w[j] - w[ch]).max() <= 1e-6]
            if same:
                count[same[0]] += 1
            elif len(chosen) < n_polish:
                chosen.append(j)
                count.append(1)
        picks.extend(chosen)
        mult.extend(count)
    picks_arr = np.array(picks)
    theta, w, f = theta[picks_arr].copy(), w[picks_arr].copy(), f[picks_arr].copy()
    unit = unit[picks_arr]
    step = np.full(theta.shape[0], 1.0)
    eye = np.eye(K)
    for _ in range(max_steps):
        ids = np.flatnonzero(step >= step_tol)
        if ids.size == 0:
            break
        directions = rng.normal(size=(K, K))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        D = np.concatenate([eye, -eye, directions])
        nd = D.shape[0]
        cand = np.clip(theta[ids, None, :] + step[ids, None, None] * D[None], lo, 0.0)
        wc, fc = evaluate(cand.reshape(-1, K), np.repeat(unit[ids], nd),
                          np.repeat(w[ids], nd, axis=0))
        fc = fc.reshape(ids.size, nd)
        best = np.argmin(fc, axis=1)
        fb = fc[np.arange(ids.size), best]
        better = fb < f[ids] - 1e-12 * (1.0 + np.abs(f[ids]))
        sel = ids[better]
        theta[sel] = cand[np.flatnonzero(better), best[better]]
        f[sel] = fb[better]
        w[sel] = wc.reshape(ids.size, nd, J)[np.flatnonzero(better), best[better]]
        step[sel] = np.minimum(step[sel] * 2.0, 2.0)
        step[ids[~better]] *= 0.5
    return theta, f, np.array(mult), unit


# ---------------------------------------------------------------------------
# placebo in space
@dataclass(frozen=True)
class SpacePlacebo:
    """Every donor in turn treated: the subject's fit against the placebo distribution."""

    subject: SyntheticControlResult
    placebos: tuple[SyntheticControlResult, ...]
    level: float

    # computed once per placebo test, as each placebo's statistics are
    @cached_property
    def units(self) -> tuple[str, ...]:
        return tuple(p.unit for p in self.placebos)

    @cached_property
    def ratios(self) -> np.ndarray:
        return np.array([p.rmspe_ratio for p in self.placebos])

    @cached_property
    def p_value(self) -> float:
        """Permutation p-value of the post/pre RMSPE ratio (ADH 2010, section 4.2)."""
        return permutation_p_value(self.subject.rmspe_ratio, self.ratios)

    @cached_property
    def rank(self) -> int:
        """The subject's rank by post/pre RMSPE ratio among all units (1 = largest)."""
        return permutation_rank(self.subject.rmspe_ratio, self.ratios)

    @cached_property
    def gaps(self) -> pd.DataFrame:
        return pd.DataFrame({p.unit: p.gaps for p in self.placebos})

    def test(self) -> PlaceboTest:
        """The placebo record the claims read: signed ratios (sign = direction of change)."""
        return PlaceboTest(self.units, "post/pre RMSPE ratio, signed by the average post gap",
                           np.array([p.signed_ratio for p in self.placebos]),
                           self.subject.signed_ratio)

    def effect(self) -> EffectPath:
        """The subject's effect path with a placebo interval and counterfactual draws.

        Each placebo gap, rescaled by the subject's pre-period RMSPE over the
        placebo's, is one draw of what the comparison's error looks like when
        nothing happened; the counterfactual plus that gap is one draw of the
        counterfactual. The summary's p-value is the permutation p-value.
        """
        s = self.subject
        obs = s.observed.to_numpy(dtype=float)
        syn = s.synthetic.to_numpy(dtype=float)
        post = s.post
        pre_r = np.array([p.pre_rmspe for p in self.placebos])
        scale = np.where(pre_r > 0, s.pre_rmspe / np.where(pre_r > 0, pre_r, 1.0), 0.0)
        draws = placebo_draws(syn, self.gaps.to_numpy(), scale)  # (P, T)
        alpha = (1 - self.level) / 2
        lower, upper = np.nanquantile(draws, [alpha, 1 - alpha], axis=0)
        summary = summarise_draws(obs[post], draws[:, post], self.level)
        summary = replace(summary, p_value=self.p_value)
        diagnostics = s._diagnostics()
        diagnostics.update({"placebo_p_value": self.p_value, "placebo_rank": self.rank,
                            "placebo_units": len(self.placebos),
                            "interval": "placebo gaps rescaled to the subject's pre-period fit"})
        return EffectPath(METHOD, s.unit, s.metric, _dates(s.observed.index), obs, syn, lower,
                          upper, int(np.argmax(post)), summary, draws[:, post], diagnostics)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.test().to_dict(),
            "ratio_p_value": self.p_value,
            "ratio_rank": self.rank,
            "pre_rmspe": [p.pre_rmspe for p in self.placebos],
            "post_rmspe": [p.post_rmspe for p in self.placebos],
            "subject_pre_rmspe": self.subject.pre_rmspe,
            "subject_post_rmspe": self.subject.post_rmspe,
        }


def placebo_in_space(
    estimator: SyntheticControl,
    outcome: pd.DataFrame,
    treated: str,
    event: Any,
    *,
    donors: list[str] | None = None,
    covariates: dict[str, pd.DataFrame] | None = None,
    metric: str = "outcome",
    subject: SyntheticControlResult | None = None,
) -> SpacePlacebo:
    """Fit the subject, then every donor as if treated, with the other donors as its pool.

    The treated unit never serves as a donor to a placebo (its post-period is
    treated). All placebo fits run batched. Pass ``subject`` to reuse a fit.
    """
    data = _prepare(estimator, outcome, treated, event, donors, covariates, metric)
    if subject is None:
        subject = _fit_units(estimator, data, [data.unit_index(treated)],
                             [data.donor_index(treated)])[0]
    if len(data.pool) < 3:
        raise DataError("a placebo test needs at least three donors")
    placebo_units = list(data.pool)
    fits = _fit_units(estimator, data, [data.unit_index(u) for u in placebo_units],
                      [data.donor_index(u) for u in placebo_units])
    return SpacePlacebo(subject, tuple(fits), estimator.level)


# ---------------------------------------------------------------------------
# placebo in time and leave-one-out
@dataclass(frozen=True)
class TimePlacebo:
    """The event moved to ``fake_event``, fitted on data before the real event only."""

    fit: SyntheticControlResult
    real_event: Any

    @property
    def gap_ratio(self) -> float:
        """Post/pre RMSPE ratio between the fake and the real event (≈1 when nothing happened)."""
        return self.fit.rmspe_ratio

    def to_dict(self) -> dict[str, Any]:
        return {"fake_event": _period_label(self.fit.event),
                "real_event": _period_label(self.real_event),
                "pre_rmspe": self.fit.pre_rmspe, "post_rmspe": self.fit.post_rmspe,
                "rmspe_ratio": self.fit.rmspe_ratio, "average_gap": self.fit.average_effect}


def placebo_in_time(
    estimator: SyntheticControl,
    outcome: pd.DataFrame,
    treated: str,
    event: Any,
    fake_event: Any,
    *,
    donors: list[str] | None = None,
    covariates: dict[str, pd.DataFrame] | None = None,
    metric: str = "outcome",
) -> TimePlacebo:
    """Refit as if the event happened at ``fake_event``, using only periods before ``event``.

    The predictors' windows must end before ``fake_event`` (the estimator
    checks). A large gap between the fake and the real event says the
    synthetic control was already drifting before anything happened.
    """
    if not fake_event < event:
        raise DataError("a placebo in time needs a fake event before the real one")
    before = outcome.sort_index()
    before = before.loc[before.index < event]
    covs = None if covariates is None else {
        k: c.sort_index().loc[lambda f: f.index < event] for k, c in covariates.items()}
    fit = estimator.fit(before, treated, fake_event, donors=donors, covariates=covs,
                        metric=metric)
    return TimePlacebo(fit, event)


def leave_one_out(
    estimator: SyntheticControl,
    outcome: pd.DataFrame,
    treated: str,
    event: Any,
    *,
    donors: list[str] | None = None,
    covariates: dict[str, pd.DataFrame] | None = None,
    metric: str = "outcome",
    subject: SyntheticControlResult | None = None,
) -> dict[str, SyntheticControlResult]:
    """Refit without each donor that has positive weight, one at a time (ADH 2015)."""
    data = _prepare(estimator, outcome, treated, event, donors, covariates, metric)
    if subject is None:
        subject = _fit_units(estimator, data, [data.unit_index(treated)],
                             [data.donor_index(treated)])[0]
    dropped = [str(d) for d in subject.weights[subject.weights > 0].index]
    if not dropped:
        return {}
    ti = data.unit_index(treated)
    fits = _fit_units(estimator, data, [ti] * len(dropped),
                      [data.donor_index(treated, exclude=(d,)) for d in dropped])
    return dict(zip(dropped, fits, strict=True))


# ---------------------------------------------------------------------------
# several treated units, per-unit event dates
@dataclass(frozen=True)
class StaggeredResult:
    """One synthetic control per treated unit, and their average by event time."""

    fits: dict[str, SyntheticControlResult]
    event_time: np.ndarray  # periods since each unit's event
    average_gap: np.ndarray  # mean gap over treated units at each event time
    units_at: np.ndarray  # how many treated units contribute at each event time

    @property
    def average_effect(self) -> float:
        """Average post-event gap over treated units and post-event periods."""
        post = self.event_time >= 0
        weights = self.units_at[post]
        return float(np.sum(self.average_gap[post] * weights) / np.sum(weights))


class StaggeredSyntheticControl:
    """Synthetic control for several treated units with their own event dates.

    Each treated unit gets its own synthetic control from the never-treated
    donors, fitted on its own pre-period; gaps are then aligned on event time
    and averaged over units (the approach of Abadie & L'Hour 2021 and of
    Ben-Michael, Feller & Rothstein 2022 without the pooling penalty).
    """

    def __init__(self, estimator: SyntheticControl) -> None:
        self.estimator = estimator

    def fit(self, outcome: pd.DataFrame, events: dict[str, Any], *,
            donors: list[str] | None = None,
            covariates: dict[str, pd.DataFrame] | None = None,
            metric: str = "outcome") -> StaggeredResult:
        if not events:
            raise DataError("give at least one treated unit and its event date")
        treated = list(events)
        pool = [c for c in (donors if donors is not None else outcome.columns)
                if c not in events]
        fits = {u: self.estimator.fit(outcome, u, events[u], donors=pool,
                                      covariates=covariates, metric=metric) for u in treated}
        return _align(fits)


def _align(fits: dict[str, SyntheticControlResult]) -> StaggeredResult:
    offsets, gaps = [], []
    for f in fits.values():
        idx = f.observed.index
        e = int((~f.post).sum())  # periods before the unit's event (index sorted)
        offsets.append(np.arange(len(idx)) - e)
        gaps.append(f.gaps.to_numpy(dtype=float))
    lo = min(o.min() for o in offsets)
    hi = max(o.max() for o in offsets)
    event_time = np.arange(lo, hi + 1)
    total = np.zeros(event_time.size)
    count = np.zeros(event_time.size)
    for o, g in zip(offsets, gaps, strict=True):
        ok = ~np.isnan(g)
        np.add.at(total, o[ok] - lo, g[ok])
        np.add.at(count, o[ok] - lo, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
    return StaggeredResult(fits, event_time, average, count)
