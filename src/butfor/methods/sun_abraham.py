"""Staggered adoption: the interaction-weighted event study of Sun & Abraham (2021).

See :mod:`butfor.methods.event_study` for the design it shares with the other panel regressions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from butfor.errors import DataError, EstimationError
from butfor.methods.event_study import PrePost
from butfor.methods.panel_design import (
    adoption_codes,
    build_design,
    check_comparison,
    cohort_share_weights,
    covariate_coefficients,
    event_label,
    event_time,
    fit_twfe,
    linear_combination,
    wald_test,
)
from butfor.methods.panel_results import (
    CovariateTransform,
    EventStudyResult,
    PretrendTest,
    SunAbrahamResult,
)
from butfor.methods.wild_bootstrap import bootstrapped
from butfor.settings import checked_settings
from butfor.transforms import Transform


class SunAbraham:
    """Interaction-weighted event study for staggered adoption (Sun & Abraham 2021).

    One coefficient per cohort (accounts sharing an adoption date) × event time
    in ``window`` (reference period left out), against never-treated accounts,
    or, when every account is eventually treated, against the last cohort
    before it is treated. Treated observations outside the window are dropped
    (cohort-specific binning would leak heterogeneous effects into the time
    fixed effects). Event-time effects average the cohorts' coefficients with
    their shares of treated observations; standard errors treat those shares
    as fixed (pyfixest's clustered covariance, delta method).

    The pre-trend test (every aggregated pre-period effect zero) takes its p-value
    from the restricted wild cluster bootstrap (``pretrend_test="wild_bootstrap"``,
    ``n_boot`` replicates, ``seed``; :mod:`butfor.methods.wild_bootstrap`), as the
    event study's does: referred to F, the clustered Wald statistic of 13
    pre-period effects on 40 accounts rejected in 10 of 40 simulated panels with
    parallel paths (``tests/test_sun_abraham_pretrend.py``).
    """

    @checked_settings
    def __init__(self, *, window: tuple[int, int] = (-14, 14), reference: int = -1,
                 covariates: Sequence[str] = (), covariate_transform:
                 CovariateTransform = "log1p", transform: Transform = "none",
                 posts_metric: str = "posts", level: float = 0.95,
                 pretrend_test: PretrendTest = "wild_bootstrap", n_boot: int = 999,
                 seed: int = 0) -> None:
        self.window = window
        self.reference = reference
        self.covariates = covariates
        self.covariate_transform = covariate_transform
        self.transform = transform
        self.posts_metric = posts_metric
        self.level = level
        self.pretrend_test = pretrend_test
        self.n_boot = n_boot
        self.seed = seed

    def fit(self, panel, outcome: str, *, adoption: Mapping[str, Any],
            units: Sequence[str] | None = None, start=None, end=None) -> SunAbrahamResult:
        """``adoption`` maps treated accounts to their first treated date; others never."""
        lo, hi = (int(v) for v in self.window)
        ref = int(self.reference)
        if not (lo <= ref <= hi) or lo > -1 or hi < 0:
            raise DataError(f"the event window {self.window} must run from a negative to a "
                            f"non-negative event time and contain the reference period {ref}")
        kw = dict(transform=self.transform, posts_metric=self.posts_metric,
                  covariates=self.covariates, covariate_transform=self.covariate_transform,
                  units=units, start=start, end=end)
        design = build_design(panel, outcome, **kw)
        adopt = adoption_codes(design, adoption)
        always = adopt == 0
        n_always = int(always.sum())
        if n_always:
            keep_units = [str(u) for u, a in zip(design.unit_labels, adopt, strict=True)
                          if a != 0]
            design = build_design(panel, outcome, **{**kw, "units": keep_units})
            adopt = adoption_codes(design, adoption)
        control: Literal["never treated", "last treated"] = "never treated"
        if not np.any(adopt < 0):
            last = int(adopt.max())
            control = "last treated"
            cut = design.time_code >= last
            design.frame.loc[cut, "y"] = np.nan
            adopt = np.where(adopt == last, -1, adopt)
        check_comparison(adopt)
        cohorts = np.unique(adopt[adopt >= 0])
        if len(cohorts) == 0:
            raise DataError("no cohort is treated before the comparison accounts are")

        # plain two-way FE on the same sample (before trimming), for contrast
        static = PrePost(level=self.level).fit_design(
            design, adopt, outcome).effect
        static = dataclasses.replace(static, name="two-way FE (static)")
        del design.frame["treat_post"]

        a = adopt[design.unit_code]
        treated_row = a >= 0
        rel = event_time(design.time_code, a)
        outside = treated_row & ((rel < lo) | (rel > hi))
        design.frame.loc[outside, "y"] = np.nan
        ok = design.ok
        times = np.arange(lo, hi + 1)
        counts = np.zeros((len(cohorts), len(times)), dtype=np.int64)
        names: dict[tuple[int, int], str] = {}
        columns: dict[str, np.ndarray] = {}
        for c, code in enumerate(cohorts):
            in_c = treated_row & (a == code)
            for j, k in enumerate(times):
                hit = in_c & (rel == k)
                counts[c, j] = int(np.sum(hit & ok))
                if k == ref or counts[c, j] == 0:
                    continue
                name = f"sa_c{c}_{event_label(int(k))}"
                columns[name] = hit.astype(np.float64)
                names[(c, j)] = name
        # one concat: a column at a time fragments the frame (pandas warned once per column)
        frame = pd.concat([design.frame, pd.DataFrame(columns, index=design.frame.index)], axis=1)
        fitted, formula = fit_twfe(frame, [*names.values(), *design.covariates])
        weights = cohort_share_weights(counts)  # (C, K)

        rows = []
        W = np.zeros((len(times), len(fitted.beta)))
        for (c, j), name in names.items():
            i = fitted.index(name)
            if i is None:
                continue
            W[j, i] = weights[c, j]
        for c, code in enumerate(cohorts):
            for j, k in enumerate(times):
                name = names.get((c, j))
                coef = fitted.coefficient(name, name, self.level) if name else None
                rows.append({
                    "cohort": str(design.dates[code].date()), "event_time": int(k),
                    "estimate": 0.0 if k == ref else (coef.estimate if coef else math.nan),
                    "se": coef.se if coef else math.nan, "n_obs": int(counts[c, j]),
                    "weight": float(weights[c, j]),
                })
        table = pd.DataFrame(rows)
        K = len(times)
        est = np.zeros(K)
        se = np.full(K, np.nan)
        lower = np.zeros(K)
        upper = np.zeros(K)
        p = np.full(K, np.nan)
        estimable = np.zeros(K, dtype=bool)
        for j, k in enumerate(times):
            if k == ref or not W[j].any():
                if k != ref:
                    est[j] = lower[j] = upper[j] = math.nan
                continue
            estimable[j] = True
            cmb = linear_combination(fitted.beta, fitted.vcov, W[j], fitted.df_t, self.level)
            est[j], se[j], lower[j], upper[j], p[j] = (cmb.estimate, cmb.se, cmb.lower,
                                                       cmb.upper, cmb.p_value)
        post = estimable & (times >= 0)
        pre = estimable & (times < 0)
        if not post.any():
            raise EstimationError("no post-period cohort effect could be estimated")
        average = linear_combination(fitted.beta, fitted.vcov, W[post].mean(axis=0),
                                     fitted.df_t, self.level, "average post-period effect")
        pretrend = (wald_test(fitted.beta, fitted.vcov, W[pre], fitted.df_t,
                              "every aggregated pre-period coefficient is zero")
                    if pre.any() else None)
        if pretrend is not None and self.pretrend_test == "wild_bootstrap":
            pretrend = bootstrapped(pretrend, frame, fitted.names, W[pre], fitted.beta,
                                    replicates=self.n_boot, seed=self.seed)
        # ATT: every treated cohort × post cell weighted by its observations
        w_att = np.zeros(len(fitted.beta))
        total = 0
        for (c, j), name in names.items():
            i = fitted.index(name)
            if i is not None and times[j] >= 0:
                w_att[i] = counts[c, j]
                total += counts[c, j]
        att = linear_combination(fitted.beta, fitted.vcov, w_att / max(total, 1), fitted.df_t,
                                 self.level, "ATT (Sun & Abraham, observation-weighted)")
        es = EventStudyResult(
            outcome=outcome, event_times=times, estimate=est, se=se, lower=lower, upper=upper,
            p_value=p, n_treated_obs=counts.sum(axis=0), reference=ref, window=(lo, hi),
            binned=(False, False), pretrend=pretrend, average_post=average,
            covariates=covariate_coefficients(fitted, design, self.level),
            n_obs=fitted.n_obs, n_units=len(design.unit_labels),
            n_treated=int(np.sum(adopt >= 0)), n_clusters=fitted.n_clusters, formula=formula,
            level=self.level)
        return SunAbrahamResult(outcome, table, es, att, static, control, len(cohorts),
                                n_always)
