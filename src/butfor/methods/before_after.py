"""Before/after on a panel: how much did the outcome change after one date, within units?

Without a comparison group every unit is exposed on the same date::

    y_it = a_i + b post_t + c'x_it + e_it

``a_i`` are unit fixed effects, ``post_t = 1`` on and after the date, ``x_it``
the covariates on their own scales; standard errors are clustered by unit
(CRV1). Time fixed effects cannot be added: every unit is exposed at once, so
they absorb ``post_t`` exactly, and the case refuses them. ``b`` is then the
mean within-unit change after the date beyond what the covariates explain:
anything else that changed on that date (a holiday, a news event, a trend)
is in it too, which only a comparison group can take out.

With a comparison group (group a exposed more than group b)::

    y_it = a_i + b (a_i × post_t) + d post_t + c'x_it + e_it   (time effects off)
    y_it = a_i + g_t + b (a_i × post_t) + c'x_it + e_it        (time effects on)

``b`` is group a's change beyond group b's: a difference in differences. It is
fooled by anything else that moved the two groups differently on that date.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from butfor import transforms
from butfor.display import Displayable
from butfor.errors import DataError, ParameterError
from butfor.methods._regression import fit_feols, fit_fepois
from butfor.methods.panel_design import Fitted, build_design
from butfor.methods.panel_results import Coefficient, CovariateTransform
from butfor.settings import SettingsError, checked_settings
from butfor.transforms import Transform


@dataclass(frozen=True)
class BeforeAfterResult(Displayable):
    """The post (or group a × post) coefficient, with the design it came from."""

    outcome: str
    transform: str
    effect: Coefficient
    covariates: tuple[Coefficient, ...]
    n_obs: int
    n_units: int
    n_clusters: int
    n_pre_periods: int
    n_post_periods: int
    formula: str
    vcov: str
    unit_effects: bool
    time_effects: bool
    comparison: tuple[str, str] | None = None  # (exposed group, comparison group)
    n_units_a: int | None = None
    n_units_b: int | None = None
    level: float = 0.95
    family: str = "gaussian"  # "poisson": b is a log rate ratio

    @property
    def relative(self) -> tuple[float, float, float] | None:
        """exp(b) - 1 and its interval, when the outcome is on a log scale (or a count)."""
        if self.family != "poisson" and not transforms.is_log(self.transform):
            return None
        e = self.effect
        return (math.expm1(e.estimate), math.expm1(e.lower), math.expm1(e.upper))

    def to_dict(self) -> dict:
        rel = self.relative
        return {
            "outcome": self.outcome, "transform": self.transform,
            "effect": self.effect.to_dict(),
            "relative_effect": None if rel is None else
            {"estimate": rel[0], "lower": rel[1], "upper": rel[2]},
            "covariates": [c.to_dict() for c in self.covariates],
            "n_obs": self.n_obs, "n_units": self.n_units, "n_clusters": self.n_clusters,
            "n_pre_periods": self.n_pre_periods, "n_post_periods": self.n_post_periods,
            "formula": self.formula, "vcov": self.vcov, "unit_effects": self.unit_effects,
            "time_effects": self.time_effects,
            "comparison": None if self.comparison is None else list(self.comparison),
            "n_units_a": self.n_units_a, "n_units_b": self.n_units_b, "level": self.level,
            "family": self.family,
        }


class BeforeAfter:
    """The before/after regression; ``fit`` returns a frozen :class:`BeforeAfterResult`.

    ``time_effects=None`` takes them where a comparison group exists and leaves
    them out where it does not; ``True`` without a comparison group is refused.
    ``cluster="none"`` gives heteroskedasticity-robust (HC1) errors instead.
    ``family="poisson"`` fits a count by Poisson pseudo-maximum likelihood (log
    link, the outcome untransformed); ``b`` is then the log of the rate ratio.
    """

    @checked_settings
    def __init__(self, *, covariates: Sequence[str] = (),
                 covariate_transform: CovariateTransform = "log1p", transform: Transform = "none",
                 posts_metric: str = "posts", unit_effects: bool = True,
                 time_effects: bool | None = None, cluster: str = "unit",
                 level: float = 0.95, family: Literal["gaussian", "poisson"] = "gaussian"
                 ) -> None:
        if family == "poisson" and transform != "none":  # a rule between two settings
            raise SettingsError("BeforeAfter", "transform",
                                "'none' when family is 'poisson' (the count is fitted on its "
                                "own log scale)", transform)
        self.family = family
        self.covariates = tuple(covariates)
        self.covariate_transform = covariate_transform
        self.transform = transform
        self.posts_metric = posts_metric
        self.unit_effects = unit_effects
        self.time_effects = time_effects
        self.cluster = None if cluster == "none" else cluster
        self.level = level

    def fit(self, panel, outcome: str, *, event: Any, units: Sequence[str] | None = None,
            group_a: Sequence[str] | None = None, group_b: Sequence[str] | None = None,
            labels: tuple[str, str] = ("a", "b"), start=None, end=None) -> BeforeAfterResult:
        """``units`` all exposed on ``event``; or ``group_a`` against ``group_b``."""
        compare = group_a is not None
        if compare:
            a, b = [str(u) for u in group_a], [str(u) for u in group_b or []]
            if set(a) & set(b):
                raise DataError(f"unit {sorted(set(a) & set(b))[0]!r} is in both groups "
                                f"{labels[0]!r} and {labels[1]!r}; put each unit in one group")
            units = a + b
        time_effects = compare if self.time_effects is None else self.time_effects
        if time_effects and not compare:
            raise ParameterError(
                "BeforeAfter", "time_effects",
                "a before/after with every unit exposed on one date cannot have time fixed "
                "effects (they absorb the exposure exactly)",
                "set {time_effects} = false, or compare two groups with {group_a} and {group_b}",
                suggest=False)
        design = build_design(panel, outcome, transform=self.transform,
                               posts_metric=self.posts_metric, covariates=self.covariates,
                               covariate_transform=self.covariate_transform, units=units,
                               start=start, end=end)
        event_code = int(np.searchsorted(design.dates.to_numpy(),
                                         np.datetime64(pd.Timestamp(event)), side="left"))
        post = (design.time_code >= event_code).astype(np.float64)
        frame = design.frame
        frame["post"] = post
        regressors = ["post"]
        in_a = None
        if compare:
            in_a = np.isin(design.unit_labels, a)[design.unit_code]
            frame["a_post"] = post * in_a
            regressors = ["a_post"] if time_effects else ["a_post", "post"]
            n_a = int(np.isin(design.unit_labels, a).sum())
            n_b = len(design.unit_labels) - n_a
            if n_a < 2 or n_b < 2:
                raise DataError(f"a before/after comparison needs at least two units in each "
                                f"group; {labels[0]!r} has {n_a} and {labels[1]!r} has {n_b} "
                                "in the panel")
        ok = design.ok
        n_pre = int(np.unique(design.time_code[ok & (post == 0)]).size)
        n_post = int(np.unique(design.time_code[ok & (post == 1)]).size)
        if n_pre == 0 or n_post == 0:
            side = "before" if n_pre == 0 else "on or after"
            raise ParameterError(
                "BeforeAfter", "window",
                f"the before/after has no usable observation {side} "
                f"{pd.Timestamp(event):%Y-%m-%d} (the outcome and every covariate present)",
                "move the {event} date or widen the {window}")
        fe = [*(["unit"] if self.unit_effects else []), *(["time"] if time_effects else [])]
        fit = fit_fepois if self.family == "poisson" else fit_feols
        raw = fit(frame, [*regressors, *design.covariates], fixed_effects=fe,
                        cluster=self.cluster, design="before/after regression",
                        must_vary=regressors)
        fitted = Fitted(raw.names, raw.beta, raw.vcov, raw.df_t, raw.n_obs, raw.n_clusters)
        name = f"{labels[0]} × post (vs {labels[1]})" if compare else "post"
        effect = fitted.coefficient(regressors[0], name, self.level)
        covs = tuple(fitted.coefficient(c, n, self.level)
                     for c, n in zip(design.covariates, design.covariate_labels, strict=True))
        formula = raw.formula.replace("a_post", f"{labels[0]}:post") if compare else raw.formula
        for column, label in zip(design.covariates, design.covariate_labels, strict=True):
            formula = formula.replace(f" {column}", f" {label}")
        return BeforeAfterResult(
            outcome=outcome, transform=self.transform, effect=effect, covariates=covs,
            n_obs=raw.n_obs, n_units=len(design.unit_labels), n_clusters=raw.n_clusters,
            n_pre_periods=n_pre, n_post_periods=n_post, formula=formula, vcov=raw.vcov_kind,
            unit_effects=self.unit_effects, time_effects=time_effects,
            comparison=tuple(labels) if compare else None,
            n_units_a=n_a if compare else None, n_units_b=n_b if compare else None,
            level=self.level, family=self.family)

