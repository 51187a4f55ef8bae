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

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from butfor import frequency as freq
from butfor import transforms
from butfor.display import Displayable
from butfor.errors import AssumptionWarning, DataError, EstimationError
from butfor.results import EffectPath, EffectSummary, summarise_draws
from butfor.settings import checked_settings
from butfor.transforms import Transform

#: one scale for every covariate, or one per covariate (unnamed ones: log1p)
CovariateTransform = Transform | Mapping[str, Transform] | tuple
Endpoints = Literal["bin", "trim"]
Inference = Literal["cluster", "placebo"]
Baseline = Literal["reference", "pre_mean"]

#: clustered standard errors need many treated clusters; below this we warn
MIN_TREATED_CLUSTERS = 10


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
    restrictions; ``p_value`` refers ``statistic / df`` to F(df, clusters - 1),
    which keeps its size with a few dozen clusters where the chi-square
    over-rejects; ``p_value_chi2`` is the large-sample version. With
    ``inference="placebo"`` ``p_value`` is the placebo rank instead.
    """

    hypothesis: str
    statistic: float
    df: int
    df_denominator: int
    p_value: float
    p_value_chi2: float

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


# ---------------------------------------------------------------------------
# kernels: pure functions of arrays
def event_time(time_index: np.ndarray, adoption_index: np.ndarray) -> np.ndarray:
    """Periods since adoption (0 = first treated period); meaningless where never treated."""
    return np.asarray(time_index, dtype=np.int64) - np.asarray(adoption_index, dtype=np.int64)


def transform_outcome(y: np.ndarray, transform: Transform, posts: np.ndarray | None = None,
                      name: str = "outcome") -> np.ndarray:
    """The outcome on the scale the model is fitted on (see :mod:`butfor.transforms`)."""
    return transforms.apply(y, transform, posts=posts, name=name)


def back_transform(z: np.ndarray, transform: Transform, posts: np.ndarray | None = None
                   ) -> np.ndarray:
    """Inverse of :func:`transform_outcome` (counts are not clipped)."""
    return transforms.back(z, transform, posts)


def linear_combination(beta: np.ndarray, vcov: np.ndarray, weights: np.ndarray, df: int,
                       level: float = 0.95, name: str = "combination") -> Coefficient:
    """``w'b`` with standard error ``sqrt(w'Vw)``, t interval and p-value on ``df``."""
    w = np.asarray(weights, dtype=float)
    est = float(w @ beta)
    se = float(math.sqrt(max(float(w @ vcov @ w), 0.0)))
    crit = float(stats.t.ppf(0.5 + level / 2, df))
    p = float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else math.nan
    return Coefficient(name, est, se, est - crit * se, est + crit * se, p, level)


def wald_test(beta: np.ndarray, vcov: np.ndarray, R: np.ndarray, df_denominator: int,
              hypothesis: str = "R b = 0") -> WaldTest:
    """Wald test of ``R b = 0`` (same statistic as pyfixest's ``Feols.wald_test``)."""
    R = np.atleast_2d(np.asarray(R, dtype=float))
    rb = R @ beta
    W = float(rb @ np.linalg.pinv(R @ vcov @ R.T) @ rb)
    q = R.shape[0]
    return WaldTest(
        hypothesis=hypothesis,
        statistic=W,
        df=q,
        df_denominator=int(df_denominator),
        p_value=float(stats.f.sf(W / q, q, df_denominator)),
        p_value_chi2=float(stats.chi2.sf(W, q)),
    )


def cohort_share_weights(counts: np.ndarray) -> np.ndarray:
    """Sun & Abraham's weights: column-normalised cohort × event-time observation counts.

    ``counts`` has shape (n_cohorts, n_event_times); each column of the result
    sums to one where any cohort is observed at that event time, else zero.
    """
    counts = np.asarray(counts, dtype=float)
    total = counts.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts / total, 0.0)


def _event_label(k: int) -> str:
    return f"m{-k}" if k < 0 else f"p{k}"


# ---------------------------------------------------------------------------
# the design: built once per fit, owned by us (pyfixest may reindex it in place)
@dataclass(frozen=True)
class _Design:
    frame: pd.DataFrame  # columns y, unit (int codes), time (int codes), cov_* ...
    unit_labels: np.ndarray  # label of each unit code
    dates: pd.DatetimeIndex  # date of each time code
    unit_code: np.ndarray  # per row
    time_code: np.ndarray  # per row
    covariates: tuple[str, ...]  # column names in frame
    covariate_names: tuple[str, ...]  # metric names
    covariate_transform: tuple[str, ...] = ()  # each covariate's scale

    @property
    def covariate_labels(self) -> tuple[str, ...]:
        return tuple(transforms.label(n, t)
                     for n, t in zip(self.covariate_names, self.covariate_transform, strict=True))

    @property
    def ok(self) -> np.ndarray:
        """Rows pyfixest will use: outcome and covariates present."""
        cols = ["y", *self.covariates]
        return np.isfinite(self.frame[cols].to_numpy()).all(axis=1)


def _build_design(panel, outcome: str, *, transform: Transform, posts_metric: str,
                  covariates: Sequence[str], covariate_transform: CovariateTransform,
                  units: Sequence[str] | None = None, start=None, end=None) -> _Design:
    data = panel.data
    for m in [outcome, *covariates]:
        if m not in data.columns:
            raise DataError(f"the panel has no metric {m!r}; choose one of "
                            f"{', '.join(c for c in data.columns if c not in ('unit', 'date'))}")
    rows = _grid_rows(data, units, start, end)
    if rows is None:
        rows = _hashed_rows(data, units, start, end)
    col, unit_code, time_code, unit_labels, dates = rows
    if len(unit_labels) == 0:
        raise DataError("no rows are left for the regression (check units and dates)")
    scales = _covariate_scales(covariates, covariate_transform)
    wants_posts = "per_post" in (transform, *scales) and posts_metric in data
    posts = col(posts_metric) if wants_posts else None
    coded = dict(unit_code=unit_code, time_code=time_code, n_units=len(unit_labels),
                 n_times=len(dates), posts=posts)
    y = transforms.apply_panel(col(outcome), transform, name=outcome, **coded)
    # estimators blank out rows of y and add columns: the frame must never share memory
    # with the panel (the codes are read-only and shared by the design and the frame)
    columns: dict[str, np.ndarray] = {
        "y": _own(y, data[outcome]),
        "unit": unit_code,
        "time": time_code,
    }
    cov_cols = []
    for i, (c, scale) in enumerate(zip(covariates, scales, strict=True)):
        x = transforms.apply_panel(col(c), scale, name=f"covariate {c!r}",
                                   key=f"covariate_transforms.{c}", **coded)
        name = f"cov{i}"
        columns[name] = _own(x, data[c])
        cov_cols.append(name)
    return _Design(pd.DataFrame(columns, copy=False), np.asarray(unit_labels, dtype=object),
                   dates, unit_code, time_code, tuple(cov_cols), tuple(covariates), scales)


def _covariate_scales(covariates: Sequence[str], covariate_transform: CovariateTransform
                      ) -> tuple[str, ...]:
    """Each covariate's transform: one for all, per name (default log1p), or already a tuple."""
    if isinstance(covariate_transform, str):
        return tuple(covariate_transform for _ in covariates)
    if isinstance(covariate_transform, tuple):
        return covariate_transform
    return tuple(covariate_transform.get(c, "log1p") for c in covariates)


def _own(values: np.ndarray, source: pd.Series) -> np.ndarray:
    """float64 ``values``, copied only if they may share memory with ``source``."""
    values = np.asarray(values, dtype=np.float64)
    if np.may_share_memory(values, source.to_numpy()):
        values = values.copy()
    return values


def _read_only(codes: np.ndarray) -> np.ndarray:
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    codes.flags.writeable = False
    return codes


def _grid_rows(data: pd.DataFrame, units, start, end):
    """Rows of a panel laid out as :meth:`Panel.from_frame` lays them, coded arithmetically.

    ``Panel.from_frame`` sorts ``data`` by unit then date on a complete grid:
    block ``i`` of ``n_t`` consecutive rows holds unit ``i`` (in sorted order)
    on every date. Then the selected rows are whole blocks cut to one run of
    dates, unit codes are block numbers and time codes positions within a
    block, exactly the codes sorting the labels would give. Returns
    ``(column reader, unit codes, time codes, unit labels, dates)``, or None
    when ``data`` is not laid out that way (a Panel built by hand), for
    :func:`_hashed_rows`.
    """
    layout = _grid_layout(data)
    if layout is None:
        return None
    labels, grid = layout
    n_u, n_t = len(labels), len(grid)
    keep_u = np.arange(n_u) if units is None else np.flatnonzero(
        pd.Index(labels).isin(list(units)))
    keep_t = np.ones(n_t, dtype=bool)
    if start is not None:
        keep_t &= grid >= pd.Timestamp(start)
    if end is not None:
        keep_t &= grid <= pd.Timestamp(end)
    t = np.flatnonzero(keep_t)  # one run: the grid is sorted
    t0, t1 = (int(t[0]), int(t[-1]) + 1) if len(t) else (0, 0)
    if len(t) == 0:
        keep_u = keep_u[:0]
    whole = len(keep_u) == n_u and t0 == 0 and t1 == n_t

    def col(name: str) -> np.ndarray:
        values = data[name].to_numpy()
        if whole:
            return values
        return values.reshape(n_u, n_t)[keep_u, t0:t1].reshape(-1)

    n_su, n_st = len(keep_u), t1 - t0
    unit_code = _read_only(np.repeat(np.arange(n_su, dtype=np.int32), n_st))
    time_code = _read_only(np.tile(np.arange(n_st, dtype=np.int32), n_su))
    return col, unit_code, time_code, labels[keep_u], grid[t0:t1]


def _grid_layout(data: pd.DataFrame) -> tuple[np.ndarray, pd.DatetimeIndex] | None:
    """(unit of each block, dates) if ``data`` is sorted by unit then date on a full grid.

    Two vectorised passes over the rows check it: every block of ``n_t`` rows
    carries the same strictly increasing dates, and every row the unit of the
    row before it except at a block's first row; the blocks' units must be
    strictly increasing.
    """
    n = len(data)
    if n == 0 or "unit" not in data or "date" not in data:
        return None
    dates = data["date"].to_numpy()
    if dates.dtype.kind != "M" or np.isnat(dates[0]):
        return None
    ticks = dates.view(np.int64)
    down = ticks[1:] <= ticks[:-1]
    n_t = int(np.argmax(down)) + 1 if down.any() else n
    if n % n_t or not np.array_equal(ticks.reshape(-1, n_t), np.broadcast_to(
            ticks[:n_t], (n // n_t, n_t))):
        return None
    units = data["unit"]
    labels = units.iloc[::n_t].to_numpy(dtype=object)
    try:
        if not all(isinstance(u, str) for u in labels) or not np.all(labels[1:] > labels[:-1]):
            return None
    except TypeError:
        return None
    same = _same_as_previous(units)
    if same is None:
        return None
    # row r + 1 repeats row r's unit unless it starts a block
    within = np.ones(n - 1, dtype=bool)
    within[n_t - 1::n_t] = False
    if not np.array_equal(same, within):
        return None
    return labels, pd.DatetimeIndex(dates[:n_t])


def _same_as_previous(values: pd.Series) -> np.ndarray | None:
    """``values[r + 1] == values[r]`` for every row (pyarrow compares arrow strings in C)."""
    dtype = values.dtype
    if getattr(dtype, "storage", None) == "pyarrow" or isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        arrow = pa.array(values.array)
        if arrow.null_count:
            return None
        same = pc.equal(arrow[1:], arrow[:-1])
        return np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool)
    plain = values.to_numpy(dtype=object)
    return np.asarray(plain[1:] == plain[:-1], dtype=bool)


def _hashed_rows(data: pd.DataFrame, units, start, end):
    """Rows of a panel in any order: labels and dates coded by hashing (see :func:`_grid_rows`)."""
    mask = None
    if units is not None:
        mask = data["unit"].isin(list(units)).to_numpy()
    if start is not None or end is not None:
        d = data["date"]
        m = np.ones(len(data), dtype=bool)
        if start is not None:
            m &= (d >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            m &= (d <= pd.Timestamp(end)).to_numpy()
        mask = m if mask is None else mask & m

    def col(name: str) -> np.ndarray:
        values = data[name].to_numpy()
        return values if mask is None else values[mask]

    unit_code, unit_labels = pd.factorize(col("unit"), sort=True)
    date_values = col("date")
    dates = pd.DatetimeIndex(pd.unique(date_values)).sort_values()
    time_code = np.searchsorted(dates.to_numpy(), date_values)
    return col, _read_only(unit_code), _read_only(time_code), unit_labels, dates


def _adoption_codes(design: _Design, adoption: Mapping[str, Any]) -> np.ndarray:
    """Per unit code: index of its first treated period; -1 = never treated in the data.

    A date after the last day counts as never treated; a date on or before the
    first day gives 0 (always treated).
    """
    codes = np.full(len(design.unit_labels), -1, dtype=np.int64)
    position = {u: i for i, u in enumerate(design.unit_labels)}
    dates = design.dates.to_numpy()
    first_on_or_after: dict[Any, int] = {}  # one look-up per distinct date
    for unit, date in adoption.items():
        i = position.get(str(unit))
        if i is None:
            continue
        k = first_on_or_after.get(date)
        if k is None:
            k = int(np.searchsorted(dates, np.datetime64(pd.Timestamp(date)), side="left"))
            first_on_or_after[date] = k
        codes[i] = k if k < len(dates) else -1
    return codes


def _as_adoption(treated: Sequence[str] | None, event: Any) -> dict[str, Any]:
    if treated is None and not isinstance(event, Mapping):
        raise DataError("say which accounts are treated: pass treated=[...] with one event "
                        "date, or a mapping account -> date")
    if isinstance(event, Mapping):
        return {str(u): d for u, d in event.items() if treated is None or u in set(treated)}
    return {str(u): event for u in treated}


# ---------------------------------------------------------------------------
# the regression engine: one pyfixest call, read once
@dataclass(frozen=True)
class _Fitted:
    names: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    df_t: int
    n_obs: int
    n_clusters: int

    def index(self, name: str) -> int | None:
        try:
            return self.names.index(name)
        except ValueError:
            return None

    def coefficient(self, name: str, label: str, level: float) -> Coefficient:
        i = self.index(name)
        if i is None:
            return Coefficient(label, math.nan, math.nan, math.nan, math.nan, math.nan, level)
        w = np.zeros(len(self.beta))
        w[i] = 1.0
        return linear_combination(self.beta, self.vcov, w, self.df_t, level, label)


def _feols(frame: pd.DataFrame, regressors: Sequence[str], *, time_effects: bool = True
           ) -> tuple[_Fitted, str]:
    """y on regressors with account (and day) fixed effects, CRV1 clustered by account."""
    from butfor.methods._regression import fit_feols

    raw = fit_feols(frame, regressors, fixed_effects=("unit", "time") if time_effects
                    else ("unit",), cluster="unit", design="two-way fixed-effects regression",
                    must_vary=())
    fitted = _Fitted(names=raw.names, beta=raw.beta, vcov=raw.vcov, df_t=raw.df_t,
                     n_obs=raw.n_obs, n_clusters=raw.n_clusters)
    return fitted, raw.formula


def _covariate_coefficients(fitted: _Fitted, design: _Design, level: float
                            ) -> tuple[Coefficient, ...]:
    return tuple(fitted.coefficient(c, n, level)
                 for c, n in zip(design.covariates, design.covariate_labels, strict=True))


def _warn_few_treated(n_treated: int, what: str) -> None:
    if n_treated < MIN_TREATED_CLUSTERS:
        warnings.warn(
            f"{what}: only {n_treated} treated account(s); standard errors clustered by "
            f"account are unreliable with fewer than {MIN_TREATED_CLUSTERS} treated clusters "
            "(Conley & Taber 2011); use inference=\"placebo\" or more treated accounts",
            AssumptionWarning, stacklevel=3)


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
        design = _build_design(panel, outcome, transform=self.transform,
                               posts_metric=self.posts_metric, covariates=self.covariates,
                               covariate_transform=self.covariate_transform, units=units,
                               start=start, end=end)
        treated = list(event) if treated is None and isinstance(event, Mapping) else treated
        adopt = _adoption_codes(design, _as_adoption(treated, event))
        return self._fit_design(design, adopt, outcome)

    def _fit_design(self, design: _Design, adopt: np.ndarray, outcome: str) -> PrePostResult:
        _check_comparison(adopt)
        a = adopt[design.unit_code]
        design.frame["treat_post"] = ((a >= 0) & (design.time_code >= a)).astype(np.float64)
        n_treated = int(np.sum(adopt >= 0))
        _warn_few_treated(n_treated, "pre/post")
        fitted, formula = _feols(design.frame, ["treat_post", *design.covariates])
        effect = fitted.coefficient("treat_post", "treated × post", self.level)
        if not np.isfinite(effect.estimate):
            raise EstimationError("the treated × post term is collinear with the fixed effects; "
                                  "the data need treated and untreated accounts before and after")
        return PrePostResult(
            outcome=outcome, effect=effect,
            covariates=_covariate_coefficients(fitted, design, self.level),
            n_obs=fitted.n_obs, n_units=len(design.unit_labels), n_treated=n_treated,
            n_clusters=fitted.n_clusters, formula=formula.replace("treat_post", "treated:post"),
            level=self.level)


def _check_comparison(adopt: np.ndarray) -> None:
    if not np.any(adopt >= 0):
        raise DataError("no account is treated within the data; check the event date and the "
                        "treated accounts")
    if np.all(adopt >= 0) and len(np.unique(adopt)) == 1:
        raise DataError("every account is treated on the same date, so nothing shows what "
                        "would have happened without the event; add comparison accounts")


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
                 baseline: Baseline = "reference", seed: int = 0) -> None:
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

    def fit(self, panel, outcome: str, *, treated: Sequence[str] | None = None,
            event: Any, units: Sequence[str] | None = None, start=None, end=None
            ) -> EventStudyResult:
        design = _build_design(panel, outcome, transform=self.transform,
                               posts_metric=self.posts_metric, covariates=self.covariates,
                               covariate_transform=self.covariate_transform, units=units,
                               start=start, end=end)
        treated = list(event) if treated is None and isinstance(event, Mapping) else treated
        adopt = _adoption_codes(design, _as_adoption(treated, event))
        return self._fit_design(design, adopt, outcome)

    # -- internals ------------------------------------------------------------
    def _check_window(self) -> tuple[int, int, int]:
        lo, hi = (int(v) for v in self.window)
        ref = int(self.reference)
        if not (lo <= ref <= hi) or lo > -1 or hi < 0:
            raise DataError(f"the event window {self.window} must run from a negative to a "
                            f"non-negative event time and contain the reference period {ref}")
        return lo, hi, ref

    def _dummies(self, design: _Design, adopt: np.ndarray, lo: int, hi: int, ref: int
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
            name = f"evt_{_event_label(int(k))}"
            design.frame[name] = hit.astype(np.float64)
            names.append(name)
        return names, times, counts, binned

    def _fit_design(self, design: _Design, adopt: np.ndarray, outcome: str
                    ) -> EventStudyResult:
        lo, hi, ref = self._check_window()
        _check_comparison(adopt)
        n_treated = int(np.sum(adopt >= 0))
        if self.inference == "cluster":
            _warn_few_treated(n_treated, "event study")
        names, times, counts, binned = self._dummies(design, adopt, lo, hi, ref)
        fitted, formula = _feols(design.frame, [*names, *design.covariates])
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
        result = EventStudyResult(
            outcome=outcome, event_times=times, estimate=est, se=se, lower=lower, upper=upper,
            p_value=p, n_treated_obs=counts, reference=ref, window=(lo, hi), binned=binned,
            pretrend=pretrend, average_post=average,
            covariates=_covariate_coefficients(fitted, design, self.level),
            n_obs=fitted.n_obs, n_units=len(design.unit_labels), n_treated=n_treated,
            n_clusters=fitted.n_clusters, formula=formula, level=self.level,
            baseline=self.baseline)
        if self.inference == "placebo":
            result = self._placebo(design, adopt, result, names)
        return result

    def _placebo(self, design: _Design, adopt: np.ndarray, result: EventStudyResult,
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
        sub = _Design(base.reset_index(drop=True), design.unit_labels, design.dates,
                      design.unit_code[keep_rows], design.time_code[keep_rows],
                      design.covariates, design.covariate_names, design.covariate_transform)
        draws = []
        for u in chosen:
            fake = np.full(len(adopt), -1, dtype=np.int64)
            fake[u] = dates[0]
            frame = sub.frame.copy()
            d = _Design(frame, sub.unit_labels, sub.dates, sub.unit_code, sub.time_code,
                        sub.covariates, sub.covariate_names, sub.covariate_transform)
            pnames, times, _, _ = self._dummies(d, fake, lo, hi, ref)
            fitted, _ = _feols(d.frame, [*pnames, *d.covariates])
            est, *_ = _event_table(fitted, times, ref, self.level)
            draws.append(est)
        placebo = np.vstack(draws)  # (n_placebo, K)
        return _placebo_inference(result, placebo, [str(design.unit_labels[u]) for u in chosen])


def _average_name(baseline: Baseline) -> str:
    if baseline == "pre_mean":
        return "average post-period effect (relative to the pre-period mean)"
    return "average post-period effect"


def _event_table(fitted: _Fitted, times: np.ndarray, ref: int, level: float):
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
        name = f"evt_{_event_label(int(k))}"
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
            p_value_chi2=float(stats.chi2.sf(s_sub, int(pre.sum()))))
    return EventStudyResult(**{
        **result.__dict__, "se": se, "lower": lower, "upper": upper, "p_value": p,
        "average_post": average, "pretrend": pretrend, "inference": "placebo",
        "placebo": {"units": units, "estimates": placebo}})


class GroupDisproportion:
    """Did group A move more than group B around one date? One coefficient, one SE.

    Fits, on the accounts of A and B only, the A × post coefficient of
    :class:`PrePost` and the A-vs-B :class:`EventStudy` (B is the reference
    group: a negative coefficient means A fell further than B).
    """

    @checked_settings
    def __init__(self, *, window: tuple[int, int] = (-14, 14), reference: int = -1,
                 endpoints: Endpoints = "bin", covariates: Sequence[str] = (),
                 covariate_transform: CovariateTransform = "log1p",
                 transform: Transform = "none", posts_metric: str = "posts",
                 level: float = 0.95) -> None:
        self.window = window
        self.reference = reference
        self.endpoints = endpoints
        self.covariates = covariates
        self.covariate_transform = covariate_transform
        self.transform = transform
        self.posts_metric = posts_metric
        self.level = level

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
                        level=self.level)
        kw = dict(panel=panel, outcome=outcome, transform=self.transform,
                  posts_metric=self.posts_metric, covariates=self.covariates,
                  covariate_transform=self.covariate_transform, units=a + b,
                  start=start, end=end)
        design = _build_design(kw.pop("panel"), kw.pop("outcome"), **kw)
        adopt = _adoption_codes(design, _as_adoption(a, event))
        means = _group_means(design, adopt, set(a), labels)
        interaction = pp._fit_design(design, adopt, outcome)
        interaction = PrePostResult(**{
            **interaction.__dict__,
            "effect": Coefficient(**{**interaction.effect.__dict__,
                                     "name": f"{labels[0]} × post (vs {labels[1]})"})})
        event_study = es._fit_design(design, adopt, outcome)
        return GroupDisproportionResult(labels[0], labels[1], interaction, event_study, means,
                                        len(a), len(b))


def _group_means(design: _Design, adopt: np.ndarray, group_a: set[str],
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
    """

    @checked_settings
    def __init__(self, *, window: tuple[int, int] = (-14, 14), reference: int = -1,
                 covariates: Sequence[str] = (), covariate_transform:
                 CovariateTransform = "log1p", transform: Transform = "none",
                 posts_metric: str = "posts", level: float = 0.95) -> None:
        self.window = window
        self.reference = reference
        self.covariates = covariates
        self.covariate_transform = covariate_transform
        self.transform = transform
        self.posts_metric = posts_metric
        self.level = level

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
        design = _build_design(panel, outcome, **kw)
        adopt = _adoption_codes(design, adoption)
        always = adopt == 0
        n_always = int(always.sum())
        if n_always:
            keep_units = [str(u) for u, a in zip(design.unit_labels, adopt, strict=True)
                          if a != 0]
            design = _build_design(panel, outcome, **{**kw, "units": keep_units})
            adopt = _adoption_codes(design, adoption)
        control: Literal["never treated", "last treated"] = "never treated"
        if not np.any(adopt < 0):
            last = int(adopt.max())
            control = "last treated"
            cut = design.time_code >= last
            design.frame.loc[cut, "y"] = np.nan
            adopt = np.where(adopt == last, -1, adopt)
        _check_comparison(adopt)
        cohorts = np.unique(adopt[adopt >= 0])
        if len(cohorts) == 0:
            raise DataError("no cohort is treated before the comparison accounts are")

        # plain two-way FE on the same sample (before trimming), for contrast
        static = PrePost(level=self.level)._fit_design(
            design, adopt, outcome).effect
        static = Coefficient(**{**static.__dict__, "name": "two-way FE (static)"})
        del design.frame["treat_post"]

        a = adopt[design.unit_code]
        treated_row = a >= 0
        rel = event_time(design.time_code, a)
        outside = treated_row & ((rel < lo) | (rel > hi))
        design.frame.loc[outside, "y"] = np.nan
        ok = design.ok
        times = np.arange(lo, hi + 1)
        cohort_of_row = np.searchsorted(cohorts, a)
        counts = np.zeros((len(cohorts), len(times)), dtype=np.int64)
        names: dict[tuple[int, int], str] = {}
        for c, code in enumerate(cohorts):
            in_c = treated_row & (a == code)
            for j, k in enumerate(times):
                hit = in_c & (rel == k)
                counts[c, j] = int(np.sum(hit & ok))
                if k == ref or counts[c, j] == 0:
                    continue
                name = f"sa_c{c}_{_event_label(int(k))}"
                design.frame[name] = hit.astype(np.float64)
                names[(c, j)] = name
        del cohort_of_row
        fitted, formula = _feols(design.frame, [*names.values(), *design.covariates])
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
            covariates=_covariate_coefficients(fitted, design, self.level),
            n_obs=fitted.n_obs, n_units=len(design.unit_labels),
            n_treated=int(np.sum(adopt >= 0)), n_clusters=fitted.n_clusters, formula=formula,
            level=self.level)
        return SunAbrahamResult(outcome, table, es, att, static, control, len(cohorts),
                                n_always)


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


# ---------------------------------------------------------------------------
# the pipeline's entry point
#: most event times estimated on each side of an event (longer windows are binned)
MAX_EVENT_TIMES = 28
#: placebo accounts for a single treated account's event study


def resolve_groups(case, panel) -> tuple[str, str, list[str], list[str]] | None:
    """The two groups to compare: ``[groups] members`` or the panel's ``group`` labels.

    ``[groups] compare = [a, b]`` picks them (a is the group whose extra change
    is estimated); without it, exactly two labelled groups are taken in sorted
    order. None when the case and the panel define fewer than two groups.
    """
    members = {k: [str(u) for u in v] for k, v in case.groups.members.items()}
    if not members:
        members = panel.groups()
    compare = list(case.groups.compare)
    if compare:
        missing = [g for g in compare if g not in members]
        if missing:
            raise DataError(f"[groups] compare names group {missing[0]!r}, which has no "
                            f"accounts; the groups are {', '.join(sorted(members)) or 'none'}")
        if len(compare) != 2:
            raise DataError("[groups] compare takes exactly two group labels, e.g. "
                            "compare = [\"left\", \"right\"]")
    elif len(members) == 2:
        compare = sorted(members)
    else:
        return None
    a, b = compare
    return a, b, members[a], members[b]


def _window_for(n_pre: int, n_post: int) -> tuple[int, int]:
    return (-max(2, min(MAX_EVENT_TIMES, n_pre)), max(0, min(MAX_EVENT_TIMES, n_post - 1)))


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """Event-study analyses the case supports, as result dicts.

    For each dated event: the subject against its peers (event study with
    placebo-in-space inference, and its effect path), and, where the case or
    the panel defines two groups, the group A × post comparison with its event
    study. For each staggered event (per-account dates): Sun & Abraham beside
    plain two-way fixed effects.
    """
    from butfor.methods._case import event_windows, peer_units

    metric = case.outcome.metric
    transform = case.outcome.transform
    posts_metric = case.outcome.posts_metric
    covariates = list(case.covariates)
    covariate_transform = {c: case.covariate_transform(c) for c in covariates}
    subject = case.subject.unit if case.subject is not None else None  # None: groups only
    if subject is None and resolve_groups(case, panel) is None and not any(
            e.dates for e in case.events):
        raise DataError("event_study without a [subject] compares two groups: set [groups] "
                        "compare = [\"a\", \"b\"] (or give the panel two group labels), or "
                        "add [subject] unit")
    out: list[dict] = []
    dates, period = panel.dates, freq.PERIOD[panel.frequency]  # "day", "month": the wording's
    options = case.event_study
    for event_name, start, event_date, end in event_windows(case, panel, "event_study"):
        if options.events and event_name not in options.events:
            continue
        n_pre = int(np.sum((dates >= start) & (dates < event_date)))
        n_post = int(np.sum((dates >= event_date) & (dates <= end)))
        window = _window_for(n_pre, n_post)
        # 1. the subject against its peers, on the days of the event window only (one
        #    regression per placebo account: keep each small)
        peers = peer_units(case, panel) if subject is not None else []
        if len(peers) >= 3:
            lo_k, hi_k = window
            # event time counts the panel's periods (years of annual data), not days
            start_s = max(start, freq.shift(event_date, lo_k, panel.frequency))
            end_s = min(end, freq.shift(event_date, hi_k, panel.frequency))
            est = EventStudy(window=window, covariates=covariates, transform=transform,
                             covariate_transform=covariate_transform,
                             posts_metric=posts_metric, inference="placebo",
                             n_placebo=options.n_placebo, baseline="pre_mean", seed=seed)
            res = est.fit(panel, metric, treated=[subject], event=event_date,
                          units=[subject, *peers], start=start_s, end=end_s)
            path = subject_effect_path(panel, res, subject=subject, outcome=metric,
                                       event_date=event_date, transform=transform,
                                       posts_metric=posts_metric, start=start_s, end=end_s,
                                       seed=seed)
            out.append({
                "id": f"event_study:{metric}:{event_name}",
                "method": "event_study",
                "title": f"Event study: {case.subject.display_name or subject} against "
                         f"{len(peers)} peers around the {event_name}",
                "metric": metric,
                "event": event_name,
                "description": (
                    f"Estimates, {period} by {period} around the event, how far the subject's "
                    f"outcome moved beyond what her peers' moved, with account and {period} "
                    f"fixed effects; the {period}s before the event test whether a gap was "
                    "already opening (the pre-trend test), and each peer treated as if it were "
                    "the subject shows how big such gaps get by chance. Peers the event also "
                    "touched, or a trend that would have bent anyway after it, would fool it."
                ),
                "effect": path.to_dict(),
                "event_study": res.to_dict(),
            })
        # 2. one group against the other
        groups = resolve_groups(case, panel)
        if groups is not None:
            a, b, units_a, units_b = groups
            units_a = [u for u in units_a if u != subject]
            units_b = [u for u in units_b if u != subject]
            gd = GroupDisproportion(window=window, covariates=covariates, transform=transform,
                                    covariate_transform=covariate_transform,
                                    posts_metric=posts_metric)
            res_g = gd.fit(panel, metric, group_a=units_a, group_b=units_b, event=event_date,
                           labels=(a, b), start=start, end=end)
            out.append(_group_analysis(res_g, metric, event_name))
    # 3. staggered events
    for ev in case.events:
        if not ev.dates:
            continue
        n_pre = n_post = len(dates)
        sa = SunAbraham(window=_window_for(n_pre, n_post), covariates=covariates,
                        covariate_transform=covariate_transform,
                        transform=transform, posts_metric=posts_metric)
        res_s = sa.fit(panel, metric, adoption=dict(ev.dates), start=case.window.start,
                       end=case.window.end)
        out.append({
            "id": f"staggered:{metric}:{ev.name}",
            "method": "sun_abraham",
            "title": f"Staggered adoption ({res_s.n_cohorts} cohorts): {ev.name}",
            "metric": metric,
            "event": ev.name,
            "description": (
                "Each account is compared from its own adoption date against accounts not "
                f"(yet) adopting ({res_s.control}), cohort by cohort, and the cohorts' "
                "effects are averaged with their shares (Sun & Abraham 2021); plain two-way "
                "fixed effects is shown beside it because it can be badly biased when effects "
                "differ across cohorts or grow over time. Accounts choosing their date because "
                "of how they were doing would fool both."
            ),
            "sun_abraham": res_s.to_dict(),
        })
    return out


def _group_analysis(res: GroupDisproportionResult, metric: str, event_name: str) -> dict:
    c = res.interaction.effect
    return {
        "id": f"group_disproportion:{metric}:{event_name}",
        "method": "group_disproportion",
        "title": f"Did {res.group_a} accounts move more than {res.group_b} accounts around "
                 f"the {event_name}?",
        "metric": metric,
        "event": event_name,
        "description": (
            f"Compares the change in the outcome from before to after the event for "
            f"{res.n_units_a} {res.group_a} accounts with the change for {res.n_units_b} "
            f"{res.group_b} accounts (two-way fixed effects, standard errors clustered by "
            "account); the day-by-day version shows whether the groups were already drifting "
            "apart before. Anything else that hit one group on the same days, or groups that "
            "differ in how they respond to any platform-wide change, would fool it."
        ),
        "estimate": c.to_dict(),
        "group_disproportion": res.to_dict(),
    }
