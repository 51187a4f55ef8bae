"""Inference for the synthetic control: placebo in space, placebo in time, leave-one-out.

Each is a function of a fitted estimator (Abadie, Diamond & Hainmueller 2010, 2015).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from butfor.errors import DataError
from butfor.inference.placebo import (
    PlaceboTest,
    permutation_p_value,
    permutation_rank,
    placebo_draws,
)
from butfor.methods.synth import (
    METHOD,
    SyntheticControl,
    SyntheticControlResult,
    fit_units,
    period_dates,
    period_label,
    prepare_data,
)
from butfor.results import EffectPath, summarise_draws


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
        return EffectPath(METHOD, s.unit, s.metric, period_dates(s.observed.index), obs, syn, lower,
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
    data = prepare_data(estimator, outcome, treated, event, donors, covariates, metric)
    if subject is None:
        subject = fit_units(estimator, data, [data.unit_index(treated)],
                             [data.donor_index(treated)])[0]
    if len(data.pool) < 3:
        raise DataError("a placebo test needs at least three donors")
    placebo_units = list(data.pool)
    fits = fit_units(estimator, data, [data.unit_index(u) for u in placebo_units],
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
        return {"fake_event": period_label(self.fit.event),
                "real_event": period_label(self.real_event),
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
    data = prepare_data(estimator, outcome, treated, event, donors, covariates, metric)
    if subject is None:
        subject = fit_units(estimator, data, [data.unit_index(treated)],
                             [data.donor_index(treated)])[0]
    dropped = [str(d) for d in subject.weights[subject.weights > 0].index]
    if not dropped:
        return {}
    ti = data.unit_index(treated)
    fits = fit_units(estimator, data, [ti] * len(dropped),
                      [data.donor_index(treated, exclude=(d,)) for d in dropped])
    return dict(zip(dropped, fits, strict=True))
