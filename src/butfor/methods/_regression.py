"""The one pyfixest call every panel regression makes, with its preconditions checked first.

pyfixest's demeaning runs in Rust; on some inputs it panics, and a Rust panic
aborts the Python process (exit 134), past any ``except``. So the inputs that
are known to reach it are refused here first, each with a sentence naming the
design and the fix: no usable rows, a regressor that is all missing or never
varies, a fixed effect or a cluster with a single level, values that are not
finite. Anything pyfixest still raises becomes an :class:`EstimationError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from butfor.errors import DataError, EstimationError, ParameterError


@dataclass(frozen=True)
class RawFit:
    names: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    df_t: float  # inf: a likelihood model's normal (z) intervals, as fixest gives them
    n_obs: int
    n_clusters: int  # 0 without clustering
    formula: str
    vcov_kind: str


def formula_for(regressors: Sequence[str], fixed_effects: Sequence[str]) -> str:
    rhs = " + ".join(regressors)
    return f"y ~ {rhs}" + (f" | {' + '.join(fixed_effects)}" if fixed_effects else "")


def check_design(frame: pd.DataFrame, regressors: Sequence[str], fixed_effects: Sequence[str],
                 cluster: str | None, design: str, must_vary: Sequence[str] | None = None
                 ) -> None:
    """Refuse, in one sentence, inputs the regression cannot fit (before pyfixest sees them).

    ``must_vary`` are the regressors whose effect is the point (default: all); others
    that never vary are left to pyfixest, which drops them and reports NaN.
    """
    cols = ["y", *regressors]
    values = frame[cols].to_numpy(dtype=float)
    if np.isinf(values).any():
        bad = cols[int(np.argmax(np.isinf(values).any(axis=0)))]
        raise DataError(f"the {design} has infinite values in {_what(bad)}; check the "
                        "transform (a log of a count needs log1p) and the data")
    ok = np.isfinite(values).all(axis=1)
    if ok.sum() < 2:
        raise DataError(f"the {design} has {int(ok.sum())} usable observation(s) (the outcome "
                        "and every covariate present); check the window, the units and the "
                        "covariates' coverage")
    for name in regressors if must_vary is None else must_vary:
        x = frame[name].to_numpy(dtype=float)[ok]
        if np.nanmax(x) == np.nanmin(x):
            raise DataError(f"the {design}: {_what(name)} never varies over the "
                            f"{int(ok.sum())} usable observations, so its effect cannot be "
                            "estimated; check the event date against the data's dates and "
                            "the covariates")
    ok = _without_singletons(frame, fixed_effects, ok)
    if ok.sum() < 2:
        raise ParameterError(
            design, "frequency",
            f"the {design} has no unit and period with more than one usable observation (each "
            "is alone in its fixed effect), so nothing is left to compare within",
            "check that the data fall inside the window (data observed less often than the "
            "grid need their {frequency}) and the covariates' coverage")
    for fe in sorted({*fixed_effects, *([cluster] if cluster else [])}):
        levels = pd.unique(frame[fe].to_numpy()[ok])
        if len(levels) < 2:
            absorbed = "it cannot be clustered" if fe == cluster else \
                "its fixed effects absorb everything"
            raise ParameterError(
                design, "frequency",
                f"the {design} has a single {_level(fe)} with usable data, so {absorbed}",
                "add units or periods with data (data observed less often than the grid need "
                "their {frequency})")


def _without_singletons(frame: pd.DataFrame, fixed_effects: Sequence[str], ok: np.ndarray
                        ) -> np.ndarray:
    """``ok`` less the rows alone in a fixed effect, repeated until none is (as fixest drops)."""
    ok = ok.copy()
    codes = [pd.factorize(frame[fe].to_numpy())[0] for fe in fixed_effects]
    while True:
        alone = np.zeros(len(ok), dtype=bool)
        for c in codes:
            counts = np.bincount(c[ok], minlength=int(c.max()) + 1 if len(c) else 0)
            alone |= ok & (counts[c] == 1)
        if not alone.any():
            return ok
        ok &= ~alone


def fit_feols(frame: pd.DataFrame, regressors: Sequence[str], *, fixed_effects: Sequence[str],
              cluster: str | None = "unit", design: str = "regression",
              must_vary: Sequence[str] | None = None) -> RawFit:
    """OLS of ``y`` on ``regressors`` absorbing ``fixed_effects``; CRV1 by ``cluster`` or HC1."""
    return _fit("ols", frame, regressors, fixed_effects, cluster, design, must_vary)


def fit_fepois(frame: pd.DataFrame, regressors: Sequence[str], *, fixed_effects: Sequence[str],
               cluster: str | None = "unit", design: str = "regression",
               must_vary: Sequence[str] | None = None) -> RawFit:
    """Poisson pseudo-maximum likelihood of the count ``y`` (log link), same errors as OLS.

    A coefficient ``b`` multiplies the expected count by ``exp(b)``. The Poisson
    *pseudo*-likelihood needs only the mean to be right, not the variance, so with
    clustered errors it is consistent for overdispersed counts too (Santos Silva &
    Tenreyro 2006; Wooldridge 1999), and, unlike OLS on ``log1p``, it keeps the
    zeros and does not bend the effect at small counts.
    """
    y = frame["y"].to_numpy(dtype=float)
    bad = np.isfinite(y) & ((y < 0) | (y != np.round(y)))
    if bad.any():
        raise ParameterError(
            design, "family",
            f"the {design} models a count ({{family}} = \"poisson\"), but {int(bad.sum())} "
            f"value(s) of the outcome are negative or fractional (e.g. {y[bad][0]:g})",
            "use {family} = \"gaussian\" for a measure that is not a count", suggest="gaussian")
    return _fit("poisson", frame, regressors, fixed_effects, cluster, design, must_vary)


def _fit(kind: str, frame: pd.DataFrame, regressors: Sequence[str],
         fixed_effects: Sequence[str], cluster: str | None, design: str,
         must_vary: Sequence[str] | None) -> RawFit:
    # pyfixest with the fixed effects demeaned in the formula's order (issue 20)
    from butfor.methods import _fixest

    check_design(frame, regressors, fixed_effects, cluster, design, must_vary)
    formula = formula_for(regressors, fixed_effects)
    vcov: dict | str = {"CRV1": cluster} if cluster else "hetero"
    estimate = _fixest.feols if kind == "ols" else _fixest.fepois
    try:
        with warnings.catch_warnings():
            # a unit or a period with one observation says nothing within; pyfixest drops
            # it (estimates unchanged, as fixest does) and says so: expected, not a problem
            warnings.filterwarnings("ignore", message=r".*singleton fixed effect",
                                    category=UserWarning)
            # a column the fixed effects absorb is dropped; its coefficient is reported
            # as missing (NaN)
            warnings.filterwarnings("ignore", message=r"(?s).*dropped due to multicollinearity",
                                    category=UserWarning)
            # a unit whose count is zero throughout has no Poisson fixed effect (separation):
            # fepois drops it, as fixest does, and says so
            warnings.filterwarnings("ignore", message=r"(?s).*separat", category=UserWarning)
            fit = estimate(formula, frame, vcov=vcov, copy_data=False, store_data=False,
                           lean=True)
    except Exception as err:  # pyfixest raises many kinds; report one sentence
        raise EstimationError(f"the {design} failed inside pyfixest ({err}); check its "
                              "units, dates and covariates") from err
    return RawFit(
        names=[str(n) for n in fit._coefnames],
        beta=np.asarray(fit._beta_hat, dtype=float),
        vcov=np.asarray(fit._vcov, dtype=float),
        # fixest (and pyfixest) give a Poisson model's coefficients normal (z) intervals and
        # p-values, a linear one's t on df_t: df = inf makes the t distribution the normal
        df_t=int(fit._df_t) if kind == "ols" else math.inf,
        n_obs=int(fit._N),
        n_clusters=int(np.min(fit._G)) if cluster else 0,
        formula=formula,
        vcov_kind=f"CRV1 clustered by {cluster}" if cluster else "HC1 (heteroskedasticity-robust)",
    )


def _what(column: str) -> str:
    if column == "y":
        return "the outcome"
    if column.startswith("cov"):
        return f"covariate {int(column[3:]) + 1}"
    return f"the term {column!r}"


def _level(fe: str) -> str:
    return {"unit": "unit", "time": "period"}.get(fe, fe)
