"""Results of the panel regressions: coefficients, Wald tests and each estimator's frozen result.

Shared by :mod:`butfor.methods.event_study`, :mod:`butfor.methods.sun_abraham` and
:mod:`butfor.methods.before_after`; each result has ``to_dict()`` for results.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from butfor.display import Displayable
from butfor.transforms import Transform

#: one scale for every covariate, or one per covariate (unnamed ones: log1p)
CovariateTransform = Transform | Mapping[str, Transform] | tuple
Endpoints = Literal["bin", "trim"]
Inference = Literal["cluster", "placebo"]
Baseline = Literal["reference", "pre_mean"]
#: the clustered pre-trend test: bootstrapped (butfor.methods.wild_bootstrap) or analytic F
PretrendTest = Literal["wild_bootstrap", "F"]


# ---------------------------------------------------------------------------
# results
@dataclass(frozen=True)
class Coefficient:
    """One estimate with its clustered standard error, interval and two-sided p-value."""

    name: str
    estimate: float
    se: float
    lower: float
    upper: float
    p_value: float
    level: float = 0.95

    def excludes_zero(self) -> bool:
        return self.lower > 0 or self.upper < 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class WaldTest:
    """Joint test of ``R b = 0``.

    ``statistic`` is the Wald chi-square ``(Rb)'(RVR')^-1(Rb)`` with ``df``
    restrictions. ``test`` names what ``p_value`` (the one every verdict reads)
    comes from: ``"F"`` refers ``statistic / df`` to F(df, clusters - 1), which
    is right for a few restrictions and a few dozen clusters but over-rejects
    badly when ``df`` is not small against the clusters;
    ``"wild cluster bootstrap"`` is the restricted wild cluster bootstrap of the
    same statistic (:mod:`butfor.methods.wild_bootstrap`; its draws in
    ``bootstrap``); ``"placebo"`` the placebo rank (``inference="placebo"``);
    ``"untestable"``: too few clusters for the restrictions (``p_value`` NaN,
    ``bootstrap["skipped"]`` says why).
    ``p_value_f`` and ``p_value_chi2`` are the analytic F and large-sample
    chi-square p-values, kept for transparency whatever ``test`` is.
    """

    hypothesis: str
    statistic: float
    df: int
    df_denominator: int
    p_value: float
    p_value_chi2: float
    test: Literal["F", "wild cluster bootstrap", "placebo", "untestable"] = "F"
    p_value_f: float | None = None
    bootstrap: dict[str, Any] | None = None

    def rejects(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PrePostResult(Displayable):
    """Two-way fixed effects pre/post: the treated × post coefficient."""

    outcome: str
    effect: Coefficient
    covariates: tuple[Coefficient, ...]
    n_obs: int
    n_units: int
    n_treated: int
    n_clusters: int
    formula: str
    level: float

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "effect": self.effect.to_dict(),
            "covariates": [c.to_dict() for c in self.covariates],
            "n_obs": self.n_obs,
            "n_units": self.n_units,
            "n_treated": self.n_treated,
            "n_clusters": self.n_clusters,
            "formula": self.formula,
            "level": self.level,
            "vcov": "CRV1 clustered by account",
        }


@dataclass(frozen=True)
class EventStudyResult(Displayable):
    """Event-time coefficients, pre-trend test and average post-period effect.

    Arrays run over ``event_times`` (``window[0]`` .. ``window[1]``); the
    reference period has estimate 0 and NaN standard error. ``binned`` says
    whether each end point pools every period beyond it.
    """

    outcome: str
    event_times: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p_value: np.ndarray
    n_treated_obs: np.ndarray
    reference: int
    window: tuple[int, int]
    binned: tuple[bool, bool]
    pretrend: WaldTest | None
    average_post: Coefficient
    covariates: tuple[Coefficient, ...]
    n_obs: int
    n_units: int
    n_treated: int
    n_clusters: int
    formula: str
    level: float
    inference: Inference = "cluster"
    placebo: dict[str, Any] = field(default_factory=dict)
    baseline: Baseline = "reference"

    def baseline_value(self) -> float:
        """What the average post effect is measured from, on the coefficients' scale."""
        if self.baseline == "reference":
            return 0.0
        pre = (self.event_times < 0) & np.isfinite(self.estimate)
        return float(np.mean(self.estimate[pre]))

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({
            "event_time": self.event_times, "estimate": self.estimate, "se": self.se,
            "lower": self.lower, "upper": self.upper, "p_value": self.p_value,
            "n_treated_obs": self.n_treated_obs,
        })

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "event_times": self.event_times,
            "estimate": self.estimate,
            "se": self.se,
            "lower": self.lower,
            "upper": self.upper,
            "p_value": self.p_value,
            "n_treated_obs": self.n_treated_obs,
            "reference": self.reference,
            "window": list(self.window),
            "binned": list(self.binned),
            "pretrend": None if self.pretrend is None else self.pretrend.to_dict(),
            "average_post": self.average_post.to_dict(),
            "covariates": [c.to_dict() for c in self.covariates],
            "n_obs": self.n_obs,
            "n_units": self.n_units,
            "n_treated": self.n_treated,
            "n_clusters": self.n_clusters,
            "formula": self.formula,
            "level": self.level,
            "inference": self.inference,
            "placebo": self.placebo,
            "baseline": self.baseline,
        }


@dataclass(frozen=True)
class GroupDisproportionResult(Displayable):
    """Group A against group B: A × post, its event study, and the raw group means."""

    group_a: str
    group_b: str
    interaction: PrePostResult
    event_study: EventStudyResult
    means: pd.DataFrame  # index (group, period in {"pre", "post"}), column "mean", "n_obs"
    n_units_a: int
    n_units_b: int

    def to_dict(self) -> dict:
        means = [
            {"group": g, "period": p, "mean": float(r["mean"]), "n_obs": int(r["n_obs"])}
            for (g, p), r in self.means.iterrows()
        ]
        return {
            "group_a": self.group_a,
            "group_b": self.group_b,
            "interaction": self.interaction.to_dict(),
            "event_study": self.event_study.to_dict(),
            "group_means": means,
            "n_units_a": self.n_units_a,
            "n_units_b": self.n_units_b,
        }


@dataclass(frozen=True)
class SunAbrahamResult(Displayable):
    """Interaction-weighted event study (Sun & Abraham 2021) beside plain two-way FE.

    ``cohorts`` has one row per cohort × event time: ``cohort`` (adoption
    date), ``event_time``, ``estimate``, ``se``, ``n_obs``, ``weight`` (the
    cohort's share among treated observations at that event time).
    ``event_study`` holds the aggregated event-time estimates; ``att`` the
    observation-weighted average effect over every treated cohort × post cell;
    ``twfe_static`` the plain two-way fixed-effects coefficient on the same
    accounts, for contrast.
    """

    outcome: str
    cohorts: pd.DataFrame
    event_study: EventStudyResult
    att: Coefficient
    twfe_static: Coefficient
    control: Literal["never treated", "last treated"]
    n_cohorts: int
    dropped_always_treated: int

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "cohorts": {c: self.cohorts[c].to_numpy() for c in self.cohorts.columns},
            "event_study": self.event_study.to_dict(),
            "att": self.att.to_dict(),
            "twfe_static": self.twfe_static.to_dict(),
            "control": self.control,
            "n_cohorts": self.n_cohorts,
            "dropped_always_treated": self.dropped_always_treated,
        }
