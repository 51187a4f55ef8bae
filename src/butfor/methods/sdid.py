"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

SDID reweights both units and periods, then runs a weighted two-way fixed
effects regression; with the weights below, its estimate is

    τ = (ȳ_treated,post − ω'y_control,post) − Σ_t λ_t (ȳ_treated,t − ω'y_control,t)

- Unit weights ω (Algorithm 1, step 2) make the controls' pre-period paths,
  up to a constant, track the treated units' average path. They minimise
  ‖ω₀ + Y_co,preᵀω − ȳ_tr,pre‖² + ζ²·T_pre·‖ω‖² on the simplex, with the
  paper's ridge ζ = (N_tr·T_post)^{1/4}·σ̂, σ̂ the standard deviation of the
  controls' first differences over the pre-period.
- Time weights λ (step 3) make the weighted pre-period, up to a constant,
  predict each control's post-period average; the ridge is 10⁻⁶·σ̂.
- The same code gives synthetic control (ω without intercept, ζ = 10⁻⁶·σ̂, no
  time weights) and plain DiD (uniform ω and λ), as the paper's Table 1.

The weights are found by Frank–Wolfe with exact line search, run exactly as
the authors' R package runs it (100 iterations, then weights below a quarter
of the largest set to zero, then up to 10,000 iterations, stopping when the
objective falls by less than (10⁻⁵σ̂)²): the paper's numbers depend on that
stopping rule, because FW stops before the exact optimum. ``solver="exact"``
solves the same regularised problems exactly (active set) instead.

Standard errors (section 5 of the paper), each only where it is valid:

- placebo (Algorithm 4): controls reassigned as pseudo-treated at random;
  the only choice with one treated unit; assumes the errors are alike across
  units (homoskedastic);
- bootstrap (Algorithm 2): units resampled; needs more than one treated unit
  and is meant for many;
- jackknife (Algorithm 3), with the weights held fixed: needs more than one
  treated unit, and is not justified for synthetic control.

Replications of all three run batched (every replication's Frank–Wolfe
iterates in lockstep), so their cost is paid in numpy, not in Python.

Several treated units with their own adoption dates: each adoption cohort is
estimated against the never-treated units on its own pre-period, and the
cohort estimates are averaged with weights N_tr,c·T_post,c, as in Clarke,
Pailañir, Athey & Imbens (2023); the placebo standard error reassigns the
whole cohort structure to never-treated units.

What fools it: controls that the event also moved (the effect is then
relative to them), and a treated path whose difference from every weighted
combination of controls was changing anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from butfor.errors import DataError, EstimationError
from butfor.methods.sdid_core import (
    METHOD,
    Estimator,
    Options,
    SEMethod,
    Solver,
    curves,
    fit_weights,
    noise_level,
    weighted_tau,
)
from butfor.methods.sdid_result import SDIDResult, period_label
from butfor.settings import checked_settings

__all__ = ["METHOD", "SDIDResult", "SyntheticDiD"]


# ---------------------------------------------------------------------------
# estimator
class SyntheticDiD:
    """SDID, SC or DiD from one code path, with the paper's standard errors.

    Settings: ``estimator`` ("sdid", "sc", "did"); ``se`` ("auto" = placebo
    with one treated unit, bootstrap otherwise; "placebo", "bootstrap",
    "jackknife", "none"); ``replications`` (placebo and bootstrap);
    ``placebo`` ("random": Algorithm 4 as the R package runs it, a random
    permutation of the controls per replication; "each": with one treated
    unit, every control once as the pseudo-treated one, or a seeded sample of
    ``replications`` of them without replacement, which also gives the
    placebo-in-space test); ``solver`` ("frank_wolfe" as the paper, or
    "exact"); ``block`` (fit the
    weights on means over blocks of this many periods, e.g. 7 for daily data,
    then apply them to every period); ``seed``; ``level``.
    """

    @checked_settings
    def __init__(
        self,
        estimator: Estimator = "sdid",
        *,
        se: SEMethod = "auto",
        replications: int = 200,
        solver: Solver = "frank_wolfe",
        block: int = 1,
        eta_omega: float | None = None,
        eta_lambda: float = 1e-6,
        max_iter: int = 10_000,
        max_iter_pre_sparsify: int = 100,
        sparsify: bool = True,
        placebo: Literal["random", "each"] = "random",
        seed: int = 0,
        level: float = 0.95,
    ) -> None:
        self.estimator = estimator
        self.placebo = placebo
        self.se = se
        self.replications = replications
        self.solver = solver
        self.block = block
        self.eta_omega = eta_omega
        self.eta_lambda = eta_lambda
        self.max_iter = max_iter
        self.max_iter_pre_sparsify = max_iter_pre_sparsify
        self.sparsify = sparsify
        self.seed = seed
        self.level = level

    def _check(self) -> None:
        if self.estimator not in ("sdid", "sc", "did"):
            raise EstimationError(f"the 'estimator' setting must be 'sdid', 'sc' or 'did'; "
                                  f"got {self.estimator!r}")
        if self.se not in ("auto", "placebo", "bootstrap", "jackknife", "none"):
            raise EstimationError(f"the 'se' setting must be 'auto', 'placebo', 'bootstrap', "
                                  f"'jackknife' or 'none'; got {self.se!r}")
        if self.placebo not in ("random", "each"):
            raise EstimationError(f"the 'placebo' setting must be 'random' or 'each'; "
                                  f"got {self.placebo!r}")
        if self.solver not in ("frank_wolfe", "exact"):
            raise EstimationError(f"the 'solver' setting must be 'frank_wolfe' or 'exact'; "
                                  f"got {self.solver!r}")
        if not (isinstance(self.replications, int) and self.replications >= 2):
            raise EstimationError(f"the 'replications' setting must be a whole number ≥ 2; "
                                  f"got {self.replications!r}")
        if not (isinstance(self.block, int) and self.block >= 1):
            raise EstimationError(f"the 'block' setting must be a whole number ≥ 1; "
                                  f"got {self.block!r}")
        if not 0 < self.level < 1:
            raise EstimationError(f"the 'level' setting must lie in (0, 1); got {self.level}")

    # -- public ------------------------------------------------------------
    def fit(
        self,
        outcome: pd.DataFrame,
        treated: str | list[str] | dict[str, Any],
        event: Any = None,
        *,
        donors: list[str] | None = None,
        metric: str = "outcome",
    ) -> SDIDResult:
        """Estimate the effect on ``treated`` from ``event`` on (a periods × units table).

        ``treated`` is one unit, a list of units sharing ``event``, or a dict
        unit → event for staggered adoption. ``donors`` defaults to every unit
        never treated.
        """
        self._check()
        events = _events(treated, event)
        outcome = outcome.sort_index()
        units = list(outcome.columns)
        absent = [u for u in events if u not in units]
        if absent:
            raise DataError(f"the treated unit {absent[0]!r} is not in the outcome table")
        controls = [c for c in (donors if donors is not None else units) if c not in events]
        missing = [c for c in controls if c not in units]
        if missing:
            raise DataError(f"control {missing[0]!r} is not in the outcome table")
        if len(controls) < 2:
            raise DataError("SDID needs at least two control units")
        cohorts: dict[Any, list[str]] = {}
        for u, e in events.items():
            cohorts.setdefault(e, []).append(u)
        if len(cohorts) > 1:
            return self._fit_staggered(outcome, cohorts, controls, metric)
        (ev, tr), = cohorts.items()
        design = _Design.build(outcome, tr, controls, ev, self.block)
        return self._fit_block(design, metric)

    # -- one adoption date -------------------------------------------------
    def _opts(self, Yfit: np.ndarray, N0: int, T0: int) -> tuple[Options, float]:
        N, T = Yfit.shape
        noise = noise_level(Yfit, N0, T0)
        if self.estimator == "sdid":
            eta_omega = ((N - N0) * (T - T0)) ** 0.25 if self.eta_omega is None \
                else self.eta_omega
        else:
            eta_omega = 1e-6 if self.eta_omega is None else self.eta_omega
        return Options(self.estimator, eta_omega * noise, self.eta_lambda * noise,
                     1e-5 * noise, self.max_iter, self.max_iter_pre_sparsify, self.sparsify,
                     self.solver), noise

    def _fit_block(self, d: _Design, metric: str) -> SDIDResult:
        N0, T0 = d.N0, d.T0_fit
        opts, noise = self._opts(d.Yfit, N0, T0)
        n0 = np.array([N0])
        omega, lam_fit = fit_weights(d.Yfit[None], n0, T0, opts, None, None)
        lam = d.expand_lambda(lam_fit[0])
        tau = float(weighted_tau(d.Y[None], n0, d.T0, omega, lam[None])[0])
        curve = curves(d.Y[None], n0, d.T0, omega, lam[None])[0]
        method = self._se_method(d.N1)
        se, reps, rep_curves, note, rep_units = None, None, None, None, None
        if method != "none":
            se, reps, rep_curves, note, rep_units = _standard_error(
                method, d, opts, omega[0], lam_fit[0], self.replications,
                np.random.default_rng(self.seed), self.placebo)
        return SDIDResult(
            estimator=self.estimator, metric=metric, treated=tuple(d.treated),
            controls=tuple(d.controls), event=d.event, periods=d.periods,
            estimate=tau, se=se, se_method=method if se is not None else None,
            se_note=note, level=self.level, replicates=reps, replicate_curves=rep_curves,
            replicate_units=rep_units,
            omega=pd.Series(omega[0, :N0], index=list(d.controls), name="omega"),
            lambda_=pd.Series(lam[:d.T0], index=d.periods[:d.T0], name="lambda"),
            observed=d.Y[N0:].mean(axis=0), curve=curve,
            noise_level=noise, zeta_omega=opts.zeta_omega, zeta_lambda=opts.zeta_lambda,
        )

    def _se_method(self, n_treated: int, staggered: bool = False) -> str:
        if self.se == "auto":
            return "placebo" if n_treated == 1 or staggered else "bootstrap"
        return self.se

    # -- staggered ---------------------------------------------------------
    def _fit_staggered(self, outcome: pd.DataFrame, cohorts: dict[Any, list[str]],
                       controls: list[str], metric: str) -> SDIDResult:
        designs = {ev: _Design.build(outcome, tr, controls, ev, self.block)
                   for ev, tr in sorted(cohorts.items())}
        fits = {ev: SyntheticDiD(**{**self.__dict__, "se": "none"})._fit_block(d, metric)
                for ev, d in designs.items()}
        shares = np.array([d.N1 * (d.T - d.T0) for d in designs.values()], dtype=float)
        shares /= shares.sum()
        tau = float(np.sum(shares * [f.estimate for f in fits.values()]))
        method = self._se_method(sum(d.N1 for d in designs.values()), staggered=True)
        se = reps = None
        note = None
        if method == "placebo":
            reps = _staggered_placebo(self, designs, shares, controls, outcome,
                                      np.random.default_rng(self.seed))
            r = reps.size
            se = float(math.sqrt((r - 1) / r) * np.std(reps, ddof=1))
        elif method != "none":
            note = (f"{method} standard errors are not implemented for staggered adoption; "
                    "use se='placebo'")
        first = next(iter(fits.values()))
        return SDIDResult(
            estimator=self.estimator, metric=metric,
            treated=tuple(u for tr in cohorts.values() for u in tr),
            controls=tuple(controls), event=min(cohorts), periods=first.periods,
            estimate=tau, se=se, se_method=method if se is not None else None, se_note=note,
            level=self.level, replicates=reps, replicate_curves=None, replicate_units=None,
            omega=first.omega,
            lambda_=first.lambda_, observed=first.observed, curve=first.curve,
            noise_level=first.noise_level, zeta_omega=first.zeta_omega,
            zeta_lambda=first.zeta_lambda,
            cohorts={period_label(ev): {"treated": list(f.treated), "estimate": f.estimate,
                               "share": float(s)}
                     for (ev, f), s in zip(fits.items(), shares, strict=True)},
        )




def _events(treated: str | list[str] | dict[str, Any], event: Any) -> dict[str, Any]:
    if isinstance(treated, dict):
        if not treated:
            raise DataError("give at least one treated unit")
        return dict(treated)
    if event is None:
        raise DataError("give the event (the first treated period)")
    units = [treated] if isinstance(treated, str) else list(treated)
    if not units:
        raise DataError("give at least one treated unit")
    return dict.fromkeys(units, event)


@dataclass(frozen=True)
class _Design:
    """One block design: controls first, then treated; pre-periods first."""

    Y: np.ndarray  # (N, T) every period
    Yfit: np.ndarray  # (N, T_fit) the periods the weights are fitted on (block means)
    N0: int
    T0: int  # pre-periods in Y
    T0_fit: int  # pre-periods in Yfit
    block_of: np.ndarray  # (T0,) which fit period each pre-period belongs to
    treated: list[str]
    controls: list[str]
    event: Any
    periods: pd.Index

    @property
    def N1(self) -> int:
        return self.Y.shape[0] - self.N0

    @property
    def T(self) -> int:
        return self.Y.shape[1]

    @staticmethod
    def build(outcome: pd.DataFrame, treated: list[str], controls: list[str], event: Any,
              block: int) -> _Design:
        periods = outcome.index
        pre = np.asarray(periods < event)
        if not pre.any() or pre.all():
            raise DataError(f"the event {event} leaves no pre-period or no post-period")
        Y = outcome[[*controls, *treated]].to_numpy(dtype=float).T
        if np.isnan(Y).any():
            bad = [*controls, *treated][int(np.flatnonzero(np.isnan(Y).any(axis=1))[0])]
            raise DataError(f"unit {bad!r} has missing values; SDID needs a balanced panel "
                            "(drop the unit or fill its gaps)")
        T0 = int(pre.sum())
        if T0 < 2:
            raise DataError("SDID needs at least two pre-event periods")
        if block == 1:
            block_of = np.arange(T0)
            Yfit = Y
        else:
            ends = np.arange(T0, 0, -block)[::-1]
            starts = np.maximum(ends - block, 0)
            block_of = np.repeat(np.arange(ends.size), ends - starts)
            pre_means = np.stack([Y[:, a:b].mean(axis=1) for a, b in
                                  zip(starts, ends, strict=True)], axis=1)
            post = Y[:, T0:]
            post_means = np.stack([post[:, a:a + block].mean(axis=1)
                                   for a in range(0, post.shape[1], block)], axis=1)
            Yfit = np.concatenate([pre_means, post_means], axis=1)
        return _Design(Y, Yfit, len(controls), T0, int(block_of.max()) + 1, block_of,
                       list(treated), list(controls), event, periods)

    def expand_lambda(self, lam_fit: np.ndarray) -> np.ndarray:
        """Time weights on fit periods spread evenly over the periods of each block."""
        counts = np.bincount(self.block_of, minlength=lam_fit.size)
        return lam_fit[self.block_of] / counts[self.block_of]


# ---------------------------------------------------------------------------
# standard errors
def _standard_error(method: str, d: _Design, opts: Options, omega: np.ndarray,
                    lam: np.ndarray, replications: int, rng: np.random.Generator,
                    placebo: str = "random") -> tuple:
    """(se, replicate estimates, replicate effect curves, note on why there is none,
    pseudo-treated units of an "each" placebo)."""
    N0, N1 = d.N0, d.N1
    if method == "placebo":
        if N0 <= N1:
            return None, None, None, "placebo needs more controls than treated units", None
        units = None
        if placebo == "each" and N1 == 1:
            chosen = np.arange(N0) if replications >= N0 else \
                np.sort(rng.choice(N0, size=replications, replace=False))
            perms = np.stack([np.r_[np.delete(np.arange(N0), i), i] for i in chosen])
            units = tuple(d.controls[i] for i in chosen)
        else:
            perms = np.stack([rng.permutation(N0) for _ in range(replications)])
        taus, curves = _placebo_replicates(d, opts, omega, lam, perms)
        r = taus.size
        return float(math.sqrt((r - 1) / r) * np.std(taus, ddof=1)), taus, curves, None, units
    if method == "bootstrap":
        if N1 == 1:
            return None, None, None, ("the bootstrap is not valid with one treated unit "
                                      "(Arkhangelsky et al. 2021, section 5); use placebo"), None
        taus = _bootstrap_replicates(d, opts, omega, lam, replications, rng)
        r = taus.size
        return float(math.sqrt((r - 1) / r) * np.std(taus, ddof=1)), taus, None, None, None
    if method == "jackknife":
        if N1 == 1:
            return None, None, None, "the jackknife is not defined with one treated unit", None
        if opts.estimator == "sc":
            return None, None, None, ("the jackknife is not justified for synthetic control "
                                      "(Arkhangelsky et al. 2021, section 5)"), None
        if np.count_nonzero(omega[:N0]) == 1:
            return None, None, None, ("the jackknife needs more than one control with "
                                      "weight"), None
        taus = _jackknife_replicates(d, omega, lam)
        n = taus.size
        return float(math.sqrt((n - 1) / n * np.sum((taus - taus.mean()) ** 2))), taus, \
            None, None, None
    raise EstimationError(f"unknown standard error method {method!r}")


def _sum_normalize(x: np.ndarray) -> np.ndarray:
    s = x.sum(axis=-1, keepdims=True)
    return np.where(s != 0, x / np.where(s != 0, s, 1.0), 1.0 / x.shape[-1])


def _placebo_replicates(d: _Design, opts: Options, omega: np.ndarray, lam: np.ndarray,
                        perms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 4: the last N1 of each permutation of the controls play treated."""
    N0, N1 = d.N0, d.N1
    n0 = N0 - N1
    Yfit = d.Yfit[:N0][perms]  # (R, N0, T_fit)
    Y = d.Y[:N0][perms]
    R = perms.shape[0]
    omega0 = _sum_normalize(omega[perms[:, :n0]])
    omega0 = np.concatenate([omega0, np.zeros((R, N1))], axis=1)
    lam0 = np.tile(lam, (R, 1))
    n0s = np.full(R, n0)
    om, lf = fit_weights(Yfit, n0s, d.T0_fit, opts, omega0, lam0)
    lfull = np.stack([d.expand_lambda(x) for x in lf])
    return weighted_tau(Y, n0s, d.T0, om, lfull), curves(Y, n0s, d.T0, om, lfull)[:, d.T0:]


def _bootstrap_replicates(d: _Design, opts: Options, omega: np.ndarray, lam: np.ndarray,
                          replications: int, rng: np.random.Generator) -> np.ndarray:
    """Algorithm 2: units resampled with replacement, weights re-estimated.

    Draws with no control or no treated unit are redrawn. All replications
    are solved in one batch, each with its own number of controls.
    """
    N = d.Y.shape[0]
    draws: list[np.ndarray] = []
    while len(draws) < replications:
        ind = np.sort(rng.integers(0, N, size=N))
        if (ind < d.N0).all() or (ind >= d.N0).all():
            continue
        draws.append(ind)
    idx = np.stack(draws)  # (R, N), sorted: controls first
    n0s = (idx < d.N0).sum(axis=1)
    ctrl = np.arange(N)[None, :] < n0s[:, None]
    om0 = np.where(ctrl, omega[np.minimum(idx, d.N0 - 1)], 0.0)
    total = om0.sum(axis=1, keepdims=True)
    om0 = np.where(total > 0, om0 / np.where(total > 0, total, 1.0), ctrl / n0s[:, None])
    om, lf = fit_weights(d.Yfit[idx], n0s, d.T0_fit, opts, om0,
                          np.tile(lam, (replications, 1)))
    lfull = np.stack([d.expand_lambda(x) for x in lf])
    return weighted_tau(d.Y[idx], n0s, d.T0, om, lfull)


def _jackknife_replicates(d: _Design, omega: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Algorithm 3: each unit left out in turn, weights fixed (controls' renormalised)."""
    N = d.Y.shape[0]
    lfull = d.expand_lambda(lam)
    taus = np.empty(N)
    for i in range(N):
        keep = np.delete(np.arange(N), i)
        n0 = d.N0 - (1 if i < d.N0 else 0)
        om = omega[keep].copy()
        om[:n0] = om[:n0] / om[:n0].sum()
        om[n0:] = 0.0
        taus[i] = weighted_tau(d.Y[keep][None], np.array([n0]), d.T0, om[None], lfull[None])[0]
    return taus


def _staggered_placebo(est: SyntheticDiD, designs: dict[Any, _Design], shares: np.ndarray,
                       controls: list[str], outcome: pd.DataFrame,
                       rng: np.random.Generator) -> np.ndarray:
    """Placebo for staggered adoption: the cohort sizes reassigned to random controls.

    In each replication, as many never-treated units as there are treated
    ones play the cohorts (same sizes, same dates) and the rest are their
    controls; the replication's estimate is the share-weighted average of
    its cohort estimates. Replications are solved in one batch per cohort.
    """
    sizes = [d.N1 for d in designs.values()]
    total = sum(sizes)
    if total >= len(controls):
        raise DataError("a placebo test needs more never-treated units than treated ones")
    R = est.replications
    perms = np.stack([rng.permutation(len(controls)) for _ in range(R)])
    n_keep = len(controls) - total
    taus = np.zeros(R)
    data = outcome[controls].to_numpy(dtype=float).T  # (N_co, T)
    offset = n_keep
    for (ev, d), size, share in zip(designs.items(), sizes, shares, strict=True):
        rows = np.concatenate([perms[:, :n_keep], perms[:, offset:offset + size]], axis=1)
        offset += size
        pseudo = _Design.build(outcome, [controls[i] for i in rows[0, n_keep:]],
                               [controls[i] for i in rows[0, :n_keep]], ev, est.block)
        opts, _ = est._opts(pseudo.Yfit, pseudo.N0, pseudo.T0_fit)
        Y = data[rows]  # (R, n_keep + size, T)
        Yfit = np.stack([_block_rows(y, d, est.block) for y in Y])
        n0s = np.full(R, n_keep)
        om, lf = fit_weights(Yfit, n0s, d.T0_fit, opts, None, None)
        lfull = np.stack([d.expand_lambda(x) for x in lf])
        taus += share * weighted_tau(Y, n0s, d.T0, om, lfull)
    return taus


def _block_rows(Y: np.ndarray, d: _Design, block: int) -> np.ndarray:
    """The fit-period table of ``Y`` (N, T) with ``d``'s pre-period blocks."""
    if block == 1:
        return Y
    counts = np.bincount(d.block_of)
    pre = np.zeros((Y.shape[0], counts.size))
    np.add.at(pre.T, d.block_of, Y[:, :d.T0].T)
    pre /= counts
    post = Y[:, d.T0:]
    post_means = np.stack([post[:, a:a + block].mean(axis=1)
                           for a in range(0, post.shape[1], block)], axis=1)
    return np.concatenate([pre, post_means], axis=1)
