"""Structural time series: the subject's own counterfactual forecast (the CausalImpact class).

Fits a Bayesian structural time-series model to the days before the event
(local level or local linear trend, a fixed weekly pattern, and a regression
on control series that the event did not touch, with a spike-and-slab prior)
by Gibbs sampling, and draws what the series would have been after the event
from the posterior predictive (Brodersen et al. 2015, Ann. Appl. Stat. 9(1);
Scott & Varian 2014, Int. J. Math. Model. Numer. Optim. 5(1-2)).

What it adds to the ports users know (google/CausalImpact,
dafiti/causalimpact, WillianFuks/tfcausalimpact):

- missing days inside the pre-period carry no observation term in the state
  sampler (the Kalman-filter answer), never a zero and never a crash;
- counts: ``transform="log1p"`` models log(1 + y) and reports effects on the
  original scale, with counterfactual counts never below zero;
- relative effects divide by |counterfactual|, so their sign is the effect's
  sign even when the baseline is negative (:func:`butfor.results.summarise_draws`);
- several post-periods, one per event, in one fit;
- a guard that refuses a control series that itself moved at the event;
- the same seed gives the same draws.

Differences from CausalImpact's defaults, on purpose: the weekly pattern is
fixed (sum-to-zero day effects) rather than slowly drifting, which keeps the
state sampler to a tridiagonal band; the spike-and-slab prior precision is
the diagonal of CausalImpact's (its off-diagonal half is 0.005 observations'
worth of information, immaterial next to the data); the tail probability is
two-sided (see :func:`butfor.results.summarise_draws`); several chains
run side by side, so convergence is checked with split R-hat; and, unless
``expected_model_size`` is set, the controls' inclusion probability is not
fixed at 3 / K but has a Beta hyperprior with that mean, sampled with the rest
(George & McCulloch 1993; Scott & Berger 2010), so the number of controls kept
follows the data when more than three matter (see :mod:`butfor.methods._sts_slab`).
Setting ``expected_model_size = m`` fixes it at m / K, CausalImpact's prior.
The observation variance's prior expects R^2 0.5 (BoomSpikeSlab's default)
with 5 observations' worth, not CausalImpact's R^2 0.8 with 50: with little
pre-period data CausalImpact's pulled the noise sd towards 0.45 of the
series' sd, and the forecast band with it (issue 13; ``_sts_gibbs.Priors``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

from butfor import frequency as freq
from butfor.display import Displayable
from butfor.errors import AssumptionWarning, DataError, InputError
from butfor.inference.false_positive import FalsePositiveResult
from butfor.methods._convergence import effective_sample_size, split_rhat
from butfor.methods._sts_counts import (
    CountObservation,
    median_rate,
    predictive_counts,
)
from butfor.methods._sts_gibbs import (
    Priors,
    SdPrior,
    gibbs,
)
from butfor.methods._sts_slab import InclusionBeta, inclusion_prior
from butfor.methods.sts_data import (
    ConstantSeriesError,
    ControlCheckResult,
    Prepared,
    as_counts,
    control_jump_check,
    prepare,
    season_design,
    standardise,
)
from butfor.results import EffectPath, summarise_draws
from butfor.settings import SettingsError, checked_settings

Trend = Literal["local_level", "local_linear_trend"]
Transform = Literal["none", "log1p"]
ControlCheck = Literal["error", "warn", "off"]
#: "poisson": counts on a latent log rate (see methods/_sts_counts.py)
Family = Literal["gaussian", "poisson"]

METHOD = "sts"
_OPTIONS: dict[str, tuple[str, Any]] = {
    # name: (kind, allowed) -- one error template serves every setting
    "trend": ("choice", ("local_level", "local_linear_trend")),
    "seasonal_period": ("int_or_none", (2, 366)),
    "n_draws": ("int", (10, 10**6)),
    "burn": ("int", (1, 10**6)),
    "chains": ("int", (1, 1000)),
    "prior_level_sd": ("float", (0.0, 1.0)),
    "expected_model_size": ("float_or_none", (0.0, 10**6)),
    "level": ("float", (0.0, 1.0)),
    "transform": ("choice", ("none", "log1p")),
    "check_controls": ("choice", ("error", "warn", "off")),
    "flips": ("int", (0, 10**3)),
    "family": ("choice", ("gaussian", "poisson")),
}


def _check_option(name: str, value: Any) -> None:
    kind, allowed = _OPTIONS[name]
    ok: bool
    if kind == "choice":
        ok = value in allowed
        want = "one of " + ", ".join(repr(a) for a in allowed)
    elif kind in ("int", "int_or_none"):
        lo, hi = allowed
        if value is None and kind == "int_or_none":
            return
        ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and (
            lo <= value <= hi)
        want = f"an integer in [{lo}, {hi}]" + (" or None" if kind == "int_or_none" else "")
    else:
        lo, hi = allowed
        if value is None and kind == "float_or_none":
            return
        ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool) and (
            lo < float(value) < hi)
        want = f"a number in ({lo}, {hi})" + (" or None" if kind == "float_or_none" else "")
    if not ok:
        raise SettingsError("StructuralTimeSeries", name, want, value)


# ---------------------------------------------------------------------------
# results
@dataclass(frozen=True)
class StsResult(Displayable):
    """A fitted structural time series: one effect path per post-period, and its posterior."""

    paths: tuple[EffectPath, ...]
    post_periods: tuple[tuple[int, int], ...]  # [start, stop) indices into the input
    control_names: tuple[str, ...]
    inclusion_probability: np.ndarray  # (n_controls,) posterior P(control in the model)
    coefficients: np.ndarray  # (n_controls,) posterior mean, per standardised control
    sigma_obs: np.ndarray  # (n_draws,) observation sd, original (transformed) scale
    sigma_level: np.ndarray  # (n_draws,) level innovation sd, same scale
    diagnostics: dict[str, Any]
    control_check: ControlCheckResult | None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def effect(self) -> EffectPath:
        """The first post-period's effect path."""
        return self.paths[0]

    @property
    def draws(self) -> tuple[np.ndarray, ...]:
        """Counterfactual draws of each post-period, each (n_draws, n_post), original scale."""
        return tuple(p.draws for p in self.paths)  # type: ignore[misc]

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics.get("converged", False))

    def to_dict(self) -> dict:
        """The fit as JSON-ready values: one effect path per post-period (draws left out)."""
        return {"effects": [p.to_dict() for p in self.paths],
                "post_periods": [list(p) for p in self.post_periods],
                "control_names": list(self.control_names),
                "inclusion_probability": self.inclusion_probability,
                "coefficients": self.coefficients, "diagnostics": self.diagnostics,
                "control_check": None if self.control_check is None
                else self.control_check.to_dict(),
                "settings": self.settings}

    def cumulative_effect(self, k: int = 0) -> dict[str, np.ndarray]:
        """Running cumulative effect over post-period ``k``, with its credible interval.

        Computed draw by draw (the interval of a sum is not the sum of
        pointwise intervals); missing observed days add nothing.
        """
        path = self.paths[k]
        obs = path.observed[path.event_index:]
        eff = np.where(np.isnan(obs)[None, :], 0.0, obs[None, :] - path.draws)
        running = np.cumsum(eff, axis=1)
        alpha = (1 - path.summary.level) / 2
        lo, hi = np.quantile(running, [alpha, 1 - alpha], axis=0)
        return {"dates": path.dates[path.event_index:], "point": running.mean(axis=0),
                "lower": lo, "upper": hi}


# ---------------------------------------------------------------------------
# the estimator
class StructuralTimeSeries:
    """Bayesian structural time series with spike-and-slab regression on controls.

    ``fit(y, X, dates=..., event_index=...)`` returns a :class:`StsResult`.
    Settings are stored as given and checked when ``fit`` is called.

    ``expected_model_size``: None (the default) samples the controls' shared
    inclusion probability under a Beta hyperprior whose mean is 3 / K for K
    controls (Beta(2m/K, 2(K-m)/K), m = 3; Scott & Berger 2010), so how many
    controls the model keeps adapts to the data; a number m fixes the
    probability at m / K, CausalImpact's prior (Brodersen et al. 2015). The
    result's ``diagnostics["inclusion_prior"]`` records which, and the
    posterior mean of the probability.
    """

    @checked_settings
    def __init__(
        self,
        trend: Trend = "local_level",
        seasonal_period: int | None = 7,
        n_draws: int = 1000,
        burn: int = 40,
        chains: int = 10,
        prior_level_sd: float = 0.01,
        expected_model_size: float | None = None,
        level: float = 0.95,
        transform: Transform = "none",
        check_controls: ControlCheck = "error",
        flips: int = 2,
        family: Family = "gaussian",
        seed: int = 0,
    ) -> None:
        self.trend = trend
        self.seasonal_period = seasonal_period
        self.n_draws = n_draws
        self.burn = burn
        self.chains = chains
        self.prior_level_sd = prior_level_sd
        self.expected_model_size = expected_model_size
        self.level = level
        self.transform = transform
        self.check_controls = check_controls
        self.flips = flips
        self.family = family
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _OPTIONS} | {"seed": self.seed}

    # -- fit ---------------------------------------------------------------
    def fit(
        self,
        y: np.ndarray | pd.Series,
        X: np.ndarray | pd.DataFrame | None = None,
        *,
        dates: Sequence[Any] | pd.DatetimeIndex | None = None,
        event_index: int | Sequence[int] | None = None,
        post_periods: Sequence[tuple[int, int]] | None = None,
        control_names: Sequence[str] | None = None,
        unit: str = "subject",
        metric: str = "outcome",
    ) -> StsResult:
        """Fit on the days outside every post-period; forecast inside them.

        ``event_index`` gives the first post-period day of each event (an int
        or a list); each post-period then runs to the next event, the last to
        the end of the series. ``post_periods`` gives explicit ``[start, stop)``
        ranges instead, and days between them count as pre-period data.
        """
        for name in _OPTIONS:
            _check_option(name, getattr(self, name))
        if not isinstance(self.seed, int | np.integer):
            raise InputError(None, f"the 'seed' setting must be an integer; got {self.seed!r}",
                             "pass seed=<int>")
        data = prepare(y, X, dates, event_index, post_periods, control_names,
                        transform=self.transform, seasonal_period=self.seasonal_period,
                        metric=metric)
        counting = self.family == "poisson"
        if counting:
            data = as_counts(data, self.transform, metric)
        y_raw, dates_idx, names, periods = data.y_raw, data.dates, data.names, data.periods
        in_post, T, p = data.in_post, len(data.y_raw), len(data.names)

        # guard: a control that moved at the event is not a control
        check = None
        if p and self.check_controls != "off":
            check = control_jump_check(data.X, data.fit_days, periods, names)
            if check.moved.any():
                (i, k), unit = np.argwhere(check.moved)[0], freq.PERIOD[freq.infer(dates_idx)]
                message = (
                    f"control {names[i]!r} itself moved at the event starting at {unit} "
                    f"{periods[k][0]} (its {check.window}-{unit} jump is {check.ratio[i, k]:.1f} "
                    "times its typical jump before the event), so it cannot show what the "
                    "subject would have done; remove it from the controls, or set "
                    "check_controls='warn' to keep it"
                )
                if self.check_controls == "error":
                    raise DataError(message)
                warnings.warn(message, AssumptionWarning, stacklevel=2)

        ys, W, keep, y_mean, y_sd = standardise(data, self.seasonal_period, metric)
        n_fixed = W.shape[2] - int(keep.sum())
        p_kept = int(keep.sum())
        # None: a Beta hyperprior on the inclusion probability, mean 3 / K (methods/_sts_slab.py)
        pi = inclusion_prior(self.expected_model_size, p_kept)

        priors = Priors(level=SdPrior(self.prior_level_sd, 32.0, 1.0))
        C = self.chains
        per_chain = math.ceil(self.n_draws / C)
        rng = np.random.default_rng(self.seed)
        draws = gibbs(
            np.tile(ys, (C, 1)), W, n_fixed=n_fixed, prior_inclusion=pi, trend=self.trend,
            priors=priors, n_keep=per_chain, burn=self.burn, rng=rng, flips=self.flips,
            counts=CountObservation(np.tile(np.where(data.fit_days, data.y_raw, np.nan),
                                            (C, 1)), y_mean, y_sd) if counting else None,
        )

        # posterior predictive of y on every day, standardised scale
        signal = draws.signal  # (C, K, T)
        sigma = draws.sigma_obs  # (C, K)
        post_idx = np.flatnonzero(in_post)
        noise = rng.standard_normal((C, per_chain, post_idx.size)) * sigma[..., None]
        pred_post = signal[:, :, post_idx] + noise  # (C, K, n_post_days)
        # pre-period band: mean and variance of the posterior predictive
        flat_signal = signal.reshape(C * per_chain, T)
        mean_std = flat_signal.mean(axis=0)
        var_std = flat_signal.var(axis=0) + float(np.mean(sigma**2))

        def back(v: np.ndarray) -> np.ndarray:
            if counting:  # a quantile of the latent log rate, as a rate
                return median_rate(v, y_mean, y_sd)
            out = v * y_sd + y_mean
            if self.transform == "log1p":
                out = np.maximum(np.expm1(out), 0.0)
            return out

        # outside the post-periods the band is the fitted posterior predictive (normal
        # approximation, mapped through the inverse transform: for log1p its centre is
        # the median, not the mean); inside, everything comes from the draws
        # the normal quantile as scipy.stats.norm.ppf computes it (ndtri; the same bits),
        # without importing scipy.stats, a second of a small case's start-up
        zq = float(ndtri(0.5 + self.level / 2))
        counterfactual = back(mean_std)
        lower = back(mean_std - zq * np.sqrt(var_std))
        upper = back(mean_std + zq * np.sqrt(var_std))
        # (C, K, n_post_days), original scale; counts are drawn at the predicted rate
        pred_all = (predictive_counts(rng, pred_post, y_mean, y_sd) if counting
                    else back(pred_post))
        pred_flat = pred_all.reshape(C * per_chain, -1)[: self.n_draws]  # (D, n_post_days)
        alpha = (1 - self.level) / 2
        counterfactual[post_idx] = pred_flat.mean(axis=0)
        lower[post_idx], upper[post_idx] = np.quantile(pred_flat, [alpha, 1 - alpha], axis=0)

        # diagnostics: split R-hat and ESS across chains
        position = np.cumsum(in_post) - 1  # day -> column among post-period days
        sigma_scale = y_sd
        cum_chains = []
        for a, b in periods:
            obs_window = y_raw[a:b]
            ok = np.isfinite(obs_window)
            cf_window = pred_all[:, :, position[a:b]]
            cum_chains.append((obs_window[ok][None, None, :] - cf_window[:, :, ok]).sum(axis=2))
        diag = _diagnostics(draws, cum_chains, C)
        diag["days_fitted"] = int(data.fit_days.sum())
        diag["inclusion_prior"] = _inclusion_record(pi, draws.inclusion)
        if counting:
            diag["latent_acceptance"] = draws.latent_acceptance
        diag["days_missing_in_fit"] = int((~in_post & ~np.isfinite(data.z)).sum())
        diag["days_dropped_for_missing_controls"] = data.n_dropped_for_controls
        if not diag["converged"]:
            warnings.warn(
                f"the sampler may not have converged (largest split R-hat "
                f"{diag['max_rhat']:.3f} > 1.1); raise burn or n_draws",
                AssumptionWarning, stacklevel=2,
            )

        paths = []
        start = 0
        for k, (a, b) in enumerate(periods):
            window_draws = pred_flat[:, position[a:b]]
            summary = summarise_draws(y_raw[a:b], window_draws, self.level)
            path_diag = {
                "rhat_cumulative": diag["rhat_cumulative"][k],
                "ess_cumulative": diag["ess_cumulative"][k],
                "converged": diag["converged"],
                "post_period": [a, b],
            }
            paths.append(EffectPath(
                method=METHOD, unit=unit, metric=metric, dates=dates_idx[start:b],
                observed=y_raw[start:b], counterfactual=counterfactual[start:b],
                lower=lower[start:b], upper=upper[start:b], event_index=a - start,
                summary=summary, draws=window_draws, diagnostics=path_diag,
            ))

        gamma = draws.gamma[:, :, n_fixed:].reshape(C * per_chain, -1)[: self.n_draws]
        beta = draws.beta[:, :, n_fixed:].reshape(C * per_chain, -1)[: self.n_draws]
        incl = np.full(p, np.nan)
        coef = np.full(p, np.nan)
        incl[keep] = gamma.mean(axis=0)
        coef[keep] = beta.mean(axis=0)
        return StsResult(
            paths=tuple(paths),
            post_periods=tuple(periods),
            control_names=tuple(names),
            inclusion_probability=incl,
            coefficients=coef,
            sigma_obs=sigma.reshape(-1)[: self.n_draws] * sigma_scale,
            sigma_level=draws.sigma_level.reshape(-1)[: self.n_draws] * sigma_scale,
            diagnostics=diag,
            control_check=check,
            settings=self.get_params(),
        )


def _inclusion_record(prior, pi_draws: np.ndarray | None) -> dict[str, Any]:
    """What the spike-and-slab prior on the controls was, and where the data took it."""
    if isinstance(prior, InclusionBeta):
        return {"kind": "beta", "a": prior.a, "b": prior.b, "prior_mean": prior.mean,
                "posterior_mean": float(np.mean(pi_draws))}
    return {"kind": "fixed", "probability": float(prior[0]) if prior.size else None}


def _diagnostics(draws, cum_chains: list[np.ndarray], C: int) -> dict[str, Any]:
    series = {"sigma_obs": draws.sigma_obs, "sigma_level": draws.sigma_level}
    if draws.sigma_slope is not None:
        series["sigma_slope"] = draws.sigma_slope
    rhat = {k: split_rhat(v) for k, v in series.items()}
    ess = {k: effective_sample_size(v) for k, v in series.items()}
    rhat_cum = [split_rhat(c) for c in cum_chains]
    ess_cum = [effective_sample_size(c) for c in cum_chains]
    values = [v for v in [*rhat.values(), *rhat_cum] if np.isfinite(v)]
    max_rhat = max(values) if values else float("nan")
    return {
        "chains": C,
        "draws_per_chain": int(draws.sigma_obs.shape[1]),
        "rhat": rhat,
        "ess": ess,
        "rhat_cumulative": rhat_cum,
        "ess_cumulative": ess_cum,
        "max_rhat": max_rhat,
        "level_variance_acceptance": float(np.mean(draws.acceptance)),
        "converged": bool(C < 2 or not values or max_rhat < 1.1),
    }


# ---------------------------------------------------------------------------
# the method's error rate on this data
def sts_false_positive_check(
    model: StructuralTimeSeries,
    y: np.ndarray | pd.Series,
    X: np.ndarray | pd.DataFrame | None = None,
    *,
    dates: Sequence[Any] | pd.DatetimeIndex | None = None,
    event_index: int,
    post_length: int | None = None,
    n_events: int = 12,
    n_draws: int | None = 500,
    chains: int | None = None,
    alpha: float = 0.05,
) -> FalsePositiveResult:
    """Refit ``model`` at pseudo-events before ``event_index``; count the effects it finds.

    Each pseudo-event is fitted on the days before it and judged on the
    ``post_length`` days after it (default: the real post-period's length,
    shortened to leave room for the pseudo-events), all before the real
    event. The control check is off for pseudo-events (they test the model,
    not the controls). ``n_draws`` and ``chains`` trade precision for speed.
    The same fits also give the power curve
    (:func:`butfor.methods.sts_pseudo.sts_pseudo_event_check`).
    """
    from butfor.methods.sts_pseudo import sts_pseudo_event_check

    return sts_pseudo_event_check(model, y, X, dates=dates, event_index=event_index,
                                  post_length=post_length, n_events=n_events,
                                  n_draws=n_draws, chains=chains, alpha=alpha).false_positive


__all__ = ["ConstantSeriesError", "ControlCheckResult", "Prepared", "StructuralTimeSeries",
           "StsResult", "as_counts", "control_jump_check", "prepare", "season_design",
           "standardise", "sts_false_positive_check"]
