"""Panel regressions around an event: pre/post, event study, group gaps, staggered adoption.

Four estimators share one design and one regression engine (pyfixest, with
standard errors clustered by account; nothing here demeans or builds a
covariance matrix by hand):

- :class:`PrePost`: two-way fixed effects, ``y_it = a_i + g_t + b D_it + c'x_it``,
  ``D_it = 1`` for a treated account on and after its event date. ``b`` is the
  difference in differences: how much more the treated accounts moved than the
  others over the same days.
- :class:`EventStudy`: the same with one coefficient per period relative to
  the event (binned or trimmed at the ends of the window, one reference period
  left out), a joint Wald test that every pre-period coefficient is zero (the
  pre-trend test behind "her decline predates the takeover") and the average
  post-period effect.
- :class:`GroupDisproportion`: accounts of group A against accounts of group B
  only; the group A × post coefficient is "A lost ``b`` more than B" as one
  number with a standard error, plus its event-study version.
- :class:`SunAbraham`: staggered adoption (every account treated on its own
  date). Plain two-way fixed effects then compares late adopters with early
  ones already treated, and with effects that differ across cohorts or grow
  over time its coefficient can even take the wrong sign (Goodman-Bacon 2021;
  Sun & Abraham 2021). The interaction-weighted estimator of Sun & Abraham
  (2021, J. Econometrics 225(2)) fits one coefficient per cohort × relative
  period against never-treated (or last-treated) accounts and averages them
  with the cohorts' shares; the plain two-way figure is reported beside it.

What fools all of them: comparison accounts the event also touched (a
platform-wide change moves everyone, so these estimate only the difference
between the groups), trends that would have differed anyway (the pre-trend test
can detect only those that show before the event), and few treated accounts
(clustered standard errors need many clusters on both sides; with one treated
account, use ``inference="placebo"``).

Numerical kernels (:func:`event_time`, :func:`wald_test`,
:func:`linear_combination`, :func:`cohort_share_weights`) are pure functions
of arrays. Results are frozen dataclasses with ``to_dict()``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from butfor.errors import DataError, EstimationError
from butfor.methods.panel_design import (
    Fitted,
    PanelDesign,
    adoption_codes,
    as_adoption,
    back_transform,
    build_design,
    check_comparison,
    covariate_coefficients,
    event_label,
    event_time,
    fit_twfe,
    linear_combination,
    transform_outcome,
    wald_test,
    warn_few_treated,
)
from butfor.methods.panel_results import (
    Baseline,
    Coefficient,
    CovariateTransform,
    Endpoints,
    EventStudyResult,
    GroupDisproportionResult,
    Inference,
    PrePostResult,
    PretrendTest,
    WaldTest,
)
from butfor.methods.wild_bootstrap import bootstrapped
from butfor.results import EffectPath, EffectSummary, summarise_draws
from butfor.settings import checked_settings
from butfor.transforms import Transform


# ---------------------------------------------------------------------------
# estimators
class PrePost:
    """Two-way fixed-effects pre/post comparison with clustered standard errors.

    ``covariates`` are panel metrics (activity such as posts per day) entered
    as ``log1p`` unless ``covariate_transform="none"``.
    """

    @checked_settings
    def __init__(self, *, covariates: Sequence[str] = (), covariate_transform:
                 CovariateTransform = "log1p", transform: Transform = "none",
                 posts_metric: str = "posts", level: float = 0.95) -> None:
        self.covariates = covariates
        self.covariate_transform = covariate_transform
        self.transform = transform
        self.posts_metric = posts_metric
        self.level = level

    def fit(self, panel, outcome: str, *, treated: Sequence[str] | None = None,
            event: Any, units: Sequence[str] | None = None, start=None, end=None
            ) -> PrePostResult:
        """``event`` is one date for every treated account or a mapping unit -> date.

        ``units`` restricts the sample (default: every unit); ``start``/``end``
        the dates.
        """
        design = build_design(panel, outcome, transform=self.transform,
                               posts_metric=self.posts_metric, covariates=self.covariates,
                               covariate_transform=self.covariate_transform, units=units,
                               start=start, end=end)
        treated = list(event) if treated is None and isinstance(event, Mapping) else treated
        adopt = adoption_codes(design, as_adoption(treated, event))
        return self.fit_design(design, adopt, outcome)

    def fit_design(self, design: PanelDesign, adopt: np.ndarray, outcome: str) -> PrePostResult:
        """Fit on a design already built (the group comparison and Sun–Abraham share one)."""
        check_comparison(adopt)
        a = adopt[design.unit_code]
        design.frame["treat_post"] = ((a >= 0) & (design.time_code >= a)).astype(np.float64)
        n_treated = int(np.sum(adopt >= 0))
        warn_few_treated(n_treated, "pre/post")
        fitted, formula = fit_twfe(design.frame, ["treat_post", *design.covariates])
        effect = fitted.coefficient("treat_post", "treated × post", self.level)
        if not np.isfinite(effect.estimate):
            raise EstimationError("the treated × post term is collinear with the fixed effects; "
                                  "the data need treated and untreated accounts before and after")
        return PrePostResult(
            outcome=outcome, effect=effect,
            covariates=covariate_coefficients(fitted, design, self.level),
            n_obs=fitted.n_obs, n_units=len(design.unit_labels), n_treated=n_treated,
            n_clusters=fitted.n_clusters, formula=formula.replace("treat_post", "treated:post"),
            level=self.level)




class EventStudy:
    """Event-time coefficients relative to a reference period, with a pre-trend test.

    ``window = (lo, hi)`` are the first and last event times estimated
    (``lo < reference <= hi``; 0 is the first treated period). With
    ``endpoints="bin"`` the end points pool every period beyond them
    (Schmidheiny & Siegloch 2023); with ``"trim"`` treated observations outside
    the window are dropped. ``inference="placebo"`` replaces clustered
    standard errors by placebo in space: each untreated account in turn (up to
    ``n_placebo``, drawn with ``seed``) is treated as if it were the subject,
    and the spread of its coefficients gives intervals and p-values (for a
    single treated account, where clustering fails).

    With clustered errors the pre-trend test's p-value
    (``pretrend_test="wild_bootstrap"``) is the restricted wild cluster
    bootstrap's of the Wald statistic, ``n_boot`` replicates drawn with
    ``seed`` (:mod:`butfor.methods.wild_bootstrap`): referred to
    F(q, clusters - 1), a Wald test of q = 27 pre-period coefficients with 40
    clusters rejected parallel paths in three runs of four where they held by
    construction. ``"F"`` keeps the analytic test, whose p-value is kept beside
    the bootstrap's in any case (``p_value_f``).

    The average post-period effect is the mean of the post-period coefficients
    (``baseline="reference"``: relative to the reference period alone) or that
    mean minus the mean of the pre-period coefficients, the reference counting
    as zero (``baseline="pre_mean"``: relative to the whole pre-window, which
    for one account's noisy daily series is far less noisy than one day).
    """

    @checked_settings
    def __init__(self, *, window: tuple[int, int] = (-14, 14), reference: int = -1,
                 endpoints: Endpoints = "bin", covariates: Sequence[str] = (),
                 covariate_transform: CovariateTransform = "log1p",
                 transform: Transform = "none", posts_metric: str = "posts",
                 level: float = 0.95, inference: Inference = "cluster", n_placebo: int = 50,
                 baseline: Baseline = "reference", seed: int = 0,
                 pretrend_test: PretrendTest = "wild_bootstrap", n_boot: int = 999) -> None:
        self.window = window
        self.reference = reference
        self.endpoints = endpoints
        self.covariates = covariates
        self.covariate_transform = covariate_transform
        self.transform = transform
        self.posts_metric = posts_metric
        self.level = level
        self.inference = inference
        self.n_placebo = n_placebo
        self.baseline = baseline
        self.seed = seed
        self.pretrend_test = pretrend_test
        self.n_boot = n_boot

    def fit(self, panel, outcome: str, *, treated: Sequence[str] | None = None,
            event: Any, units: Sequence[str] | None = None, start=None, end=None
            ) -> EventStudyResult:
        design = build_design(panel, outcome, transform=self.transform,
                               posts_metric=self.posts_metric, covariates=self.covariates,
                               covariate_transform=self.covariate_transform, units=units,
                               start=start, end=end)
        treated = list(event) if treated is None and isinstance(event, Mapping) else treated
        adopt = adoption_codes(design, as_adoption(treated, event))
        return self.fit_design(design, adopt, outcome)

    # -- internals ------------------------------------------------------------
    def _check_window(self) -> tuple[int, int, int]:
        lo, hi = (int(v) for v in self.window)
        ref = int(self.reference)
        if not (lo <= ref <= hi) or lo > -1 or hi < 0:
            raise DataError(f"the event window {self.window} must run from a negative to a "
                            f"non-negative event time and contain the reference period {ref}")
        return lo, hi, ref

    def _dummies(self, design: PanelDesign, adopt: np.ndarray, lo: int, hi: int, ref: int
                 ) -> tuple[list[str], np.ndarray, np.ndarray, tuple[bool, bool]]:
        """Add event-time columns to the frame; return names, times, counts, binned flags."""
        a = adopt[design.unit_code]
        treated_row = a >= 0
        rel = event_time(design.time_code, a)
        ok = design.ok
        binned = (bool(np.any(treated_row & (rel < lo))), bool(np.any(treated_row & (rel > hi))))
        if self.endpoints == "bin":
            rel = np.clip(rel, lo, hi)
        else:
            outside = treated_row & ((rel < lo) | (rel > hi))
            if outside.any():
                design.frame.loc[outside, "y"] = np.nan
                ok = ok & ~outside
            binned = (False, False)
        times = np.arange(lo, hi + 1)
        counts = np.zeros(len(times), dtype=np.int64)
        names = []
        for j, k in enumerate(times):
            hit = treated_row & (rel == k)
            counts[j] = int(np.sum(hit & ok))
            if k == ref or counts[j] == 0:  # nothing observed there: no coefficient
                continue
            name = f"evt_{event_label(int(k))}"
            design.frame[name] = hit.astype(np.float64)
            names.append(name)
        return names, times, counts, binned

    def fit_design(self, design: PanelDesign, adopt: np.ndarray, outcome: str
                   ) -> EventStudyResult:
        """Fit on a design already built (the group comparison shares one with pre/post)."""
        lo, hi, ref = self._check_window()
        check_comparison(adopt)
        n_treated = int(np.sum(adopt >= 0))
        if self.inference == "cluster":
            warn_few_treated(n_treated, "event study")
        names, times, counts, binned = self._dummies(design, adopt, lo, hi, ref)
        fitted, formula = fit_twfe(design.frame, [*names, *design.covariates])
        est, se, lower, upper, p, beta_idx = _event_table(fitted, times, ref, self.level)
        pre = [j for j, k in enumerate(times) if k < 0 and k != ref and beta_idx[j] is not None]
        post = [j for j, k in enumerate(times) if k >= 0 and beta_idx[j] is not None]
        if not post:
            raise EstimationError("no post-period event-time coefficient could be estimated")
        w_post = np.zeros(len(fitted.beta))
        for j in post:
            w_post[beta_idx[j]] = 1.0 / len(post)
        if self.baseline == "pre_mean":
            for j in pre:
                w_post[beta_idx[j]] -= 1.0 / (len(pre) + 1)  # + 1: the reference, fixed at 0
        average = linear_combination(fitted.beta, fitted.vcov, w_post, fitted.df_t, self.level,
                                     _average_name(self.baseline))
        pretrend = None
        if pre:
            R = np.zeros((len(pre), len(fitted.beta)))
            for r, j in enumerate(pre):
                R[r, beta_idx[j]] = 1.0
            pretrend = wald_test(fitted.beta, fitted.vcov, R, fitted.df_t,
                                 "every pre-period event-time coefficient is zero")
            if self.inference == "cluster" and self.pretrend_test == "wild_bootstrap":
                pretrend = bootstrapped(pretrend, design.frame, fitted.names,
                                        [fitted.names[beta_idx[j]] for j in pre], fitted.beta,
                                        replicates=self.n_boot, seed=self.seed)
        result = EventStudyResult(
            outcome=outcome, event_times=times, estimate=est, se=se, lower=lower, upper=upper,
            p_value=p, n_treated_obs=counts, reference=ref, window=(lo, hi), binned=binned,
            pretrend=pretrend, average_post=average,
            covariates=covariate_coefficients(fitted, design, self.level),
            n_obs=fitted.n_obs, n_units=len(design.unit_labels), n_treated=n_treated,
            n_clusters=fitted.n_clusters, formula=formula, level=self.level,
            baseline=self.baseline)
        if self.inference == "placebo":
            result = self._placebo(design, adopt, result, names)
        return result

    def _placebo(self, design: PanelDesign, adopt: np.ndarray, result: EventStudyResult,
                 names: list[str]) -> EventStudyResult:
        """Placebo in space: each never-treated account in turn as the treated one."""
        treated_codes = np.flatnonzero(adopt >= 0)
        controls = np.flatnonzero(adopt < 0)
        if len(controls) < 3:
            raise DataError("placebo inference needs at least three comparison accounts")
        rng = np.random.default_rng(self.seed)
        chosen = np.sort(rng.choice(controls, size=min(self.n_placebo, len(controls)),
                                    replace=False))
        dates = np.unique(adopt[treated_codes])
        lo, hi, ref = self._check_window()
        keep_rows = ~np.isin(design.unit_code, treated_codes)
        base = design.frame.loc[keep_rows, ["y", "unit", "time", *design.covariates]]
        sub = PanelDesign(base.reset_index(drop=True), design.unit_labels, design.dates,
                      design.unit_code[keep_rows], design.time_code[keep_rows],
                      design.covariates, design.covariate_names, design.covariate_transform)
        draws = []
        for u in chosen:
            fake = np.full(len(adopt), -1, dtype=np.int64)
            fake[u] = dates[0]
            frame = sub.frame.copy()
            d = PanelDesign(frame, sub.unit_labels, sub.dates, sub.unit_code, sub.time_code,
                        sub.covariates, sub.covariate_names, sub.covariate_transform)
            pnames, times, _, _ = self._dummies(d, fake, lo, hi, ref)
            fitted, _ = fit_twfe(d.frame, [*pnames, *d.covariates])
            est, *_ = _event_table(fitted, times, ref, self.level)
            draws.append(est)
        placebo = np.vstack(draws)  # (n_placebo, K)
        return _placebo_inference(result, placebo, [str(design.unit_labels[u]) for u in chosen])


def _average_name(baseline: Baseline) -> str:
    if baseline == "pre_mean":
        return "average post-period effect (relative to the pre-period mean)"
    return "average post-period effect"


def _event_table(fitted: Fitted, times: np.ndarray, ref: int, level: float):
    K = len(times)
    est = np.zeros(K)
    se = np.full(K, np.nan)
    lower = np.zeros(K)
    upper = np.zeros(K)
    p = np.full(K, np.nan)
    beta_idx: list[int | None] = []
    for j, k in enumerate(times):
        if k == ref:
            beta_idx.append(None)
            continue
        name = f"evt_{event_label(int(k))}"
        i = fitted.index(name)
        beta_idx.append(i)
        c = fitted.coefficient(name, name, level)
        est[j], se[j], lower[j], upper[j], p[j] = c.estimate, c.se, c.lower, c.upper, c.p_value
    return est, se, lower, upper, p, beta_idx


def _placebo_inference(result: EventStudyResult, placebo: np.ndarray, units: list[str]
                       ) -> EventStudyResult:
    """Intervals, p-values, average and pre-trend test from placebo coefficients."""
    times, ref, level = result.event_times, result.reference, result.level
    alpha = (1 - level) / 2
    est = result.estimate
    n = placebo.shape[0]
    # event times with no coefficient (nothing observed) stay NaN
    seen = np.sum(np.isfinite(placebo), axis=0) >= 2
    sd = np.full(len(times), np.nan)
    q_lo = np.full(len(times), np.nan)
    q_hi = np.full(len(times), np.nan)
    sd[seen] = np.nanstd(placebo[:, seen], axis=0, ddof=1)
    q_lo[seen], q_hi[seen] = np.nanquantile(placebo[:, seen], [alpha, 1 - alpha], axis=0)
    p = (1 + np.sum(np.abs(placebo) >= np.abs(est)[None, :], axis=0)) / (n + 1)
    is_ref = times == ref
    lower = np.where(is_ref, 0.0, est - q_hi)
    upper = np.where(is_ref, 0.0, est - q_lo)
    se = np.where(is_ref, np.nan, sd)
    p = np.where(is_ref | ~seen, np.nan, p)
    post = (times >= 0) & np.isfinite(est) & seen
    pre_all = (times < 0) & np.isfinite(est) & (seen | is_ref)
    avg_sub = float(np.mean(est[post]))
    with np.errstate(invalid="ignore"):
        avg_pl = np.nanmean(placebo[:, post], axis=1) if post.any() else np.zeros(n)
        if result.baseline == "pre_mean":
            avg_sub -= float(np.mean(est[pre_all]))
            avg_pl = avg_pl - np.nanmean(np.where(is_ref[pre_all], 0.0, placebo[:, pre_all]),
                                         axis=1)
    avg_pl = avg_pl[np.isfinite(avg_pl)]
    n_avg = len(avg_pl)
    a_lo, a_hi = np.quantile(avg_pl, [alpha, 1 - alpha])
    average = Coefficient(_average_name(result.baseline), avg_sub,
                          float(np.std(avg_pl, ddof=1)),
                          avg_sub - float(a_hi), avg_sub - float(a_lo),
                          float((1 + np.sum(np.abs(avg_pl) >= abs(avg_sub))) / (n_avg + 1)),
                          level)
    pretrend = result.pretrend
    pre = (times < 0) & ~is_ref & seen & np.isfinite(est)
    if pre.any():
        # Wald-type distance with the placebo covariance, shrunk towards its diagonal
        # (weight p / n) so that it stays invertible with few placebo accounts
        pl_pre = np.nan_to_num(placebo[:, pre])
        cov = np.atleast_2d(np.cov(pl_pre, rowvar=False))
        lam = min(1.0, pre.sum() / n)
        cov = (1 - lam) * cov + lam * np.diag(np.diag(cov))
        inv = np.linalg.pinv(cov)

        def stat(b: np.ndarray) -> float:
            v = np.nan_to_num(b[pre])
            return float(v @ inv @ v)

        s_sub = stat(est)
        s_pl = np.array([stat(b) for b in placebo])
        pretrend = WaldTest(
            hypothesis="every pre-period event-time coefficient is zero (placebo rank of the "
                       "Wald distance under the placebo accounts' covariance)",
            statistic=s_sub, df=int(pre.sum()), df_denominator=n,
            p_value=float((1 + np.sum(s_pl >= s_sub)) / (n + 1)),
            p_value_chi2=float(stats.chi2.sf(s_sub, int(pre.sum()))), test="placebo")
    return EventStudyResult(**{
        **result.__dict__, "se": se, "lower": lower, "upper": upper, "p_value": p,
        "average_post": average, "pretrend": pretrend, "inference": "placebo",
        "placebo": {"units": units, "estimates": placebo}})


class GroupDisproportion:
    """Did group A move more than group B around one date? One coefficient, one SE.

    Fits, on the accounts of A and B only, the A × post coefficient of
    :class:`PrePost` and the A-vs-B :class:`EventStudy` (B is the reference
    group: a negative coefficient means A fell further than B). The event
    study's pre-trend test is bootstrapped (``pretrend_test``, ``n_boot``,
    ``seed``: see :class:`EventStudy`).
    """

    @checked_settings
    def __init__(self, *, window: tuple[int, int] = (-14, 14), reference: int = -1,
                 endpoints: Endpoints = "bin", covariates: Sequence[str] = (),
                 covariate_transform: CovariateTransform = "log1p",
                 transform: Transform = "none", posts_metric: str = "posts",
                 level: float = 0.95, pretrend_test: PretrendTest = "wild_bootstrap",
                 n_boot: int = 999, seed: int = 0) -> None:
        self.window = window
        self.reference = reference
        self.endpoints = endpoints
        self.covariates = covariates
        self.covariate_transform = covariate_transform
        self.transform = transform
        self.posts_metric = posts_metric
        self.level = level
        self.pretrend_test = pretrend_test
        self.n_boot = n_boot
        self.seed = seed

    def fit(self, panel, outcome: str, *, group_a: Sequence[str], group_b: Sequence[str],
            event: Any, labels: tuple[str, str] = ("A", "B"), start=None, end=None
            ) -> GroupDisproportionResult:
        a, b = [str(u) for u in group_a], [str(u) for u in group_b]
        both = set(a) & set(b)
        if both:
            raise DataError(f"account {sorted(both)[0]!r} is in both groups {labels[0]!r} and "
                            f"{labels[1]!r}; put each account in one group")
        present = set(panel.unit_ids)
        a = [u for u in a if u in present]
        b = [u for u in b if u in present]
        if len(a) < 2 or len(b) < 2:
            raise DataError(f"a group comparison needs at least two accounts in each group; "
                            f"{labels[0]!r} has {len(a)} and {labels[1]!r} has {len(b)} in the "
                            "panel")
        pp = PrePost(covariates=self.covariates, covariate_transform=self.covariate_transform,
                     transform=self.transform, posts_metric=self.posts_metric, level=self.level)
        es = EventStudy(window=self.window, reference=self.reference, endpoints=self.endpoints,
                        covariates=self.covariates, covariate_transform=self.covariate_transform,
                        transform=self.transform, posts_metric=self.posts_metric,
                        level=self.level, pretrend_test=self.pretrend_test,
                        n_boot=self.n_boot, seed=self.seed)
        kw = dict(panel=panel, outcome=outcome, transform=self.transform,
                  posts_metric=self.posts_metric, covariates=self.covariates,
                  covariate_transform=self.covariate_transform, units=a + b,
                  start=start, end=end)
        design = build_design(kw.pop("panel"), kw.pop("outcome"), **kw)
        adopt = adoption_codes(design, as_adoption(a, event))
        means = _group_means(design, adopt, set(a), labels)
        interaction = pp.fit_design(design, adopt, outcome)
        interaction = dataclasses.replace(interaction, effect=dataclasses.replace(
            interaction.effect, name=f"{labels[0]} × post (vs {labels[1]})"))
        event_study = es.fit_design(design, adopt, outcome)
        return GroupDisproportionResult(labels[0], labels[1], interaction, event_study, means,
                                        len(a), len(b))


def _group_means(design: PanelDesign, adopt: np.ndarray, group_a: set[str],
                 labels: tuple[str, str]) -> pd.DataFrame:
    in_a = np.isin(design.unit_labels, list(group_a))[design.unit_code]
    event_code = int(adopt[adopt >= 0].min())
    post = design.time_code >= event_code
    y = design.frame["y"].to_numpy()
    ok = design.ok
    rows = []
    for g, gm in ((labels[0], in_a), (labels[1], ~in_a)):
        for p, pm in (("pre", ~post), ("post", post)):
            sel = gm & pm & ok
            rows.append((g, p, float(np.mean(y[sel])) if sel.any() else math.nan,
                         int(sel.sum())))
    return pd.DataFrame(rows, columns=["group", "period", "mean", "n_obs"]).set_index(
        ["group", "period"])


# ---------------------------------------------------------------------------
# effect path for one treated account
def subject_effect_path(panel, result: EventStudyResult, *, subject: str, outcome: str,
                        event_date: Any, transform: Transform = "none",
                        posts_metric: str = "posts", start=None, end=None, n_draws: int = 1000,
                        seed: int = 0) -> EffectPath:
    """The subject's observed series and its counterfactual: observed minus the event-time effect.

    On the fitted scale the counterfactual is ``z_t - b_k(t)`` (the reference
    period and event times beyond a trimmed window carry no effect); it is
    mapped back to the metric's own units. Post-period draws come from the
    placebo coefficients (``inference="placebo"``) or from a normal
    approximation with the estimated standard errors (correlation between
    event times ignored).
    """
    series = panel.series(subject, outcome)
    if start is not None:
        series = series[series.index >= pd.Timestamp(start)]
    if end is not None:
        series = series[series.index <= pd.Timestamp(end)]
    dates = series.index
    posts = None
    if transform == "per_post":
        posts = panel.series(subject, posts_metric).reindex(dates).to_numpy(dtype=float)
    observed = series.to_numpy(dtype=float)
    z = transform_outcome(observed, transform, posts, outcome)
    if transform == "pct_change":
        observed = z  # growth has no level to map back to: the path is shown as growth
    event_code = int(np.searchsorted(dates.to_numpy(), np.datetime64(pd.Timestamp(event_date))))
    rel = np.arange(len(dates)) - event_code
    lo, hi = result.window
    pos = np.clip(rel, lo, hi) - lo
    shift = result.baseline_value()
    beta = np.nan_to_num(result.estimate[pos]) - shift
    b_lo = np.nan_to_num(result.lower[pos]) - shift
    b_hi = np.nan_to_num(result.upper[pos]) - shift
    cf = back_transform(z - beta, transform, posts)
    lower = back_transform(z - b_hi, transform, posts)
    upper = back_transform(z - b_lo, transform, posts)
    post = rel >= 0
    rng = np.random.default_rng(seed)
    if result.inference == "placebo" and "estimates" in result.placebo:
        pl_all = np.asarray(result.placebo["estimates"])
        pl = pl_all[:, pos[post]]
        if result.baseline == "pre_mean":
            pl = pl - np.nanmean(pl_all[:, result.event_times < 0], axis=1, keepdims=True)
        effect_draws = beta[post][None, :] - pl
    else:
        sd = np.nan_to_num(result.se[pos[post]])
        effect_draws = beta[post][None, :] + rng.standard_normal((n_draws, int(post.sum()))) * sd
    draws = back_transform(z[post][None, :] - effect_draws, transform,
                           None if posts is None else posts[post][None, :])
    summary = summarise_draws(observed[post], draws, result.level)
    # the test of "no effect" is the estimator's own: clustered t or placebo rank
    summary = EffectSummary(**{**summary.to_dict(), "p_value": result.average_post.p_value})
    return EffectPath(
        method="event_study", unit=subject, metric=outcome,
        dates=dates.to_numpy().astype("datetime64[D]"), observed=observed, counterfactual=cf,
        lower=lower, upper=upper, event_index=event_code, summary=summary, draws=draws,
        diagnostics={
            "pretrend_p_value": None if result.pretrend is None else result.pretrend.p_value,
            "inference": result.inference, "scale": transform,
        })
