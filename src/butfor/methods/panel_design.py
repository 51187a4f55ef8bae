"""The panel regressions' shared core: array kernels, the design and the regression engine.

The design (:func:`build_design`) turns a long panel into integer-coded units and
periods, the outcome on its fitted scale and the covariates; :func:`fit_twfe` is
one pyfixest call with account (and period) fixed effects and standard errors
clustered by account, read once into :class:`Fitted`. Kernels such as
:func:`wald_test` and :func:`linear_combination` are pure functions of arrays.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from butfor import transforms
from butfor.errors import AssumptionWarning, DataError
from butfor.methods.panel_results import (
    Coefficient,
    CovariateTransform,
    WaldTest,
)
from butfor.transforms import Transform

#: clustered standard errors need many treated clusters; below this we warn
MIN_TREATED_CLUSTERS = 10


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
    from scipy import stats  # here: a case with no panel regression never imports it

    w = np.asarray(weights, dtype=float)
    est = float(w @ beta)
    se = float(math.sqrt(max(float(w @ vcov @ w), 0.0)))
    crit = float(stats.t.ppf(0.5 + level / 2, df))
    p = float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else math.nan
    return Coefficient(name, est, se, est - crit * se, est + crit * se, p, level)


def wald_test(beta: np.ndarray, vcov: np.ndarray, R: np.ndarray, df_denominator: int,
              hypothesis: str = "R b = 0") -> WaldTest:
    """Wald test of ``R b = 0`` (same statistic as pyfixest's ``Feols.wald_test``)."""
    from scipy import stats

    R = np.atleast_2d(np.asarray(R, dtype=float))
    rb = R @ beta
    W = float(rb @ np.linalg.pinv(R @ vcov @ R.T) @ rb)
    q = R.shape[0]
    p_f = float(stats.f.sf(W / q, q, df_denominator))
    return WaldTest(
        hypothesis=hypothesis,
        statistic=W,
        df=q,
        df_denominator=int(df_denominator),
        p_value=p_f,
        p_value_chi2=float(stats.chi2.sf(W, q)),
        test="F",
        p_value_f=p_f,
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


def event_label(k: int) -> str:
    return f"m{-k}" if k < 0 else f"p{k}"


# ---------------------------------------------------------------------------
# the design: built once per fit, owned by us (pyfixest may reindex it in place)
@dataclass(frozen=True)
class PanelDesign:
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


def build_design(panel, outcome: str, *, transform: Transform, posts_metric: str,
                  covariates: Sequence[str], covariate_transform: CovariateTransform,
                  units: Sequence[str] | None = None, start=None, end=None) -> PanelDesign:
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
    return PanelDesign(pd.DataFrame(columns, copy=False), np.asarray(unit_labels, dtype=object),
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
    layout = grid_layout(data)
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


def grid_layout(data: pd.DataFrame) -> tuple[np.ndarray, pd.DatetimeIndex] | None:
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


def adoption_codes(design: PanelDesign, adoption: Mapping[str, Any]) -> np.ndarray:
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


def as_adoption(treated: Sequence[str] | None, event: Any) -> dict[str, Any]:
    if treated is None and not isinstance(event, Mapping):
        raise DataError("say which accounts are treated: pass treated=[...] with one event "
                        "date, or a mapping account -> date")
    if isinstance(event, Mapping):
        return {str(u): d for u, d in event.items() if treated is None or u in set(treated)}
    return {str(u): event for u in treated}


# ---------------------------------------------------------------------------
# the regression engine: one pyfixest call, read once
@dataclass(frozen=True)
class Fitted:
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


def fit_twfe(frame: pd.DataFrame, regressors: Sequence[str], *, time_effects: bool = True
           ) -> tuple[Fitted, str]:
    """y on regressors with account (and day) fixed effects, CRV1 clustered by account."""
    from butfor.methods._regression import fit_feols

    raw = fit_feols(frame, regressors, fixed_effects=("unit", "time") if time_effects
                    else ("unit",), cluster="unit", design="two-way fixed-effects regression",
                    must_vary=())
    fitted = Fitted(names=raw.names, beta=raw.beta, vcov=raw.vcov, df_t=raw.df_t,
                     n_obs=raw.n_obs, n_clusters=raw.n_clusters)
    return fitted, raw.formula


def covariate_coefficients(fitted: Fitted, design: PanelDesign, level: float
                            ) -> tuple[Coefficient, ...]:
    return tuple(fitted.coefficient(c, n, level)
                 for c, n in zip(design.covariates, design.covariate_labels, strict=True))


def warn_few_treated(n_treated: int, what: str) -> None:
    if n_treated < MIN_TREATED_CLUSTERS:
        warnings.warn(
            f"{what}: only {n_treated} treated account(s); standard errors clustered by "
            f"account are unreliable with fewer than {MIN_TREATED_CLUSTERS} treated clusters "
            "(Conley & Taber 2011); use inference=\"placebo\" or more treated accounts",
            AssumptionWarning, stacklevel=3)


def check_comparison(adopt: np.ndarray) -> None:
    if not np.any(adopt >= 0):
        raise DataError("no account is treated within the data; check the event date and the "
                        "treated accounts")
    if np.all(adopt >= 0) and len(np.unique(adopt)) == 1:
        raise DataError("every account is treated on the same date, so nothing shows what "
                        "would have happened without the event; add comparison accounts")
