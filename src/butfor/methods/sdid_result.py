"""The synthetic difference-in-differences result: estimate, weights, standard error."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from butfor.display import Displayable
from butfor.methods.sdid_core import METHOD
from butfor.results import EffectPath, EffectSummary


# ---------------------------------------------------------------------------
# result
def period_label(period: Any) -> str:
    if isinstance(period, pd.Timestamp):
        return f"{period:%Y-%m-%d}"
    return str(period)


@dataclass(frozen=True)
class SDIDResult(Displayable):
    """An SDID (or SC, or DiD) estimate with its weights and standard error."""

    estimator: str
    metric: str
    treated: tuple[str, ...]
    controls: tuple[str, ...]
    event: Any
    periods: pd.Index
    estimate: float
    se: float | None
    se_method: str | None
    se_note: str | None
    level: float
    replicates: np.ndarray | None
    replicate_curves: np.ndarray | None  # (R, T_post) placebo effect curves
    replicate_units: tuple[str, ...] | None  # pseudo-treated unit of each "each" replicate
    omega: pd.Series
    lambda_: pd.Series
    observed: np.ndarray  # treated average, every period
    curve: np.ndarray  # gap minus its λ-weighted pre-period level, every period
    noise_level: float
    zeta_omega: float
    zeta_lambda: float
    cohorts: dict[str, Any] | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.se is None:
            return None
        z = norm.ppf(0.5 + self.level / 2)
        return self.estimate - z * self.se, self.estimate + z * self.se

    @property
    def p_value(self) -> float | None:
        if self.se is None or self.se == 0:
            return None
        return float(2 * norm.sf(abs(self.estimate) / self.se))

    @property
    def counterfactual(self) -> np.ndarray:
        """What the treated average would have been: observed minus the effect curve."""
        return self.observed - self.curve

    def effect(self) -> EffectPath:
        """The treated average's effect path; intervals by the normal approximation.

        Counterfactual draws, where the placebo gives them, are the
        counterfactual plus each placebo replication's effect curve: what the
        estimator reports for a unit where nothing happened.
        """
        T0 = int(np.sum(np.asarray(self.periods < self.event)))
        obs = np.asarray(self.observed, dtype=float)
        cf = self.counterfactual
        post = np.arange(obs.size) >= T0
        n_post = int(post.sum())
        draws = None
        if self.replicate_curves is not None:
            draws = cf[post][None, :] + self.replicate_curves
        z = norm.ppf(0.5 + self.level / 2)
        lower, upper = cf.copy(), cf.copy()
        if draws is not None:
            alpha = (1 - self.level) / 2
            lo, hi = np.quantile(draws, [alpha, 1 - alpha], axis=0)
            lower[post], upper[post] = lo, hi
        elif self.se is not None:
            lower[post], upper[post] = cf[post] - z * self.se, cf[post] + z * self.se
        se = self.se if self.se is not None else math.nan
        avg = self.estimate
        cum = avg * n_post
        base = abs(float(np.sum(cf[post])))
        rel = cum / base if base > 0 else math.nan
        half = z * se
        summary = EffectSummary(
            average=avg, average_lower=avg - half, average_upper=avg + half,
            cumulative=cum, cumulative_lower=cum - half * n_post,
            cumulative_upper=cum + half * n_post,
            relative=rel, relative_lower=(cum - half * n_post) / base if base > 0 else math.nan,
            relative_upper=(cum + half * n_post) / base if base > 0 else math.nan,
            p_value=self.p_value, level=self.level,
        )
        unit = self.treated[0] if len(self.treated) == 1 else "treated average"
        dates = (self.periods.to_numpy(dtype="datetime64[ns]")
                 if isinstance(self.periods, pd.DatetimeIndex) else np.asarray(self.periods))
        return EffectPath(METHOD, unit, self.metric, dates, obs, cf, lower, upper, T0, summary,
                          draws, self._diagnostics())

    def to_dict(self) -> dict:
        """The estimate as JSON-ready values; a staggered fit (cohorts) has no one effect path.

        The staggered estimate averages cohorts with their own pre-periods, so no
        single path of the treated average matches it; its cohorts are given instead.
        """
        return {"estimator": self.estimator, "metric": self.metric,
                "treated": list(self.treated), "controls": list(self.controls),
                "event": self.event, "estimate": self.estimate, "standard_error": self.se,
                "standard_error_method": self.se_method, "interval": self.interval,
                "p_value": self.p_value, "level": self.level, "cohorts": self.cohorts,
                "effect": None if self.cohorts is not None else self.effect().to_dict()}

    def _diagnostics(self) -> dict[str, Any]:
        top = self.omega[self.omega > 0].sort_values(ascending=False)
        lam = self.lambda_[self.lambda_ > 0]
        return {
            "estimator": self.estimator,
            "estimate": self.estimate,
            "standard_error": self.se,
            "standard_error_method": self.se_method,
            "standard_error_note": self.se_note,
            "unit_weights": {str(k): float(v) for k, v in top.items()},
            "time_weights": {period_label(k): float(v) for k, v in lam.items()},
            "noise_level": self.noise_level,
            "zeta_omega": self.zeta_omega,
            "zeta_lambda": self.zeta_lambda,
            "cohorts": self.cohorts,
        }
