"""The structural time series' data: arrays checked, post-periods, the model's scale, the design.

What :meth:`butfor.methods.sts.StructuralTimeSeries.fit` and the batched
pseudo-events (:mod:`butfor.methods.sts_pseudo`) both do before sampling: the
outcome on the model's scale (log1p, a count's starting log rate, or as given),
the days to fit on, the controls standardised on those days, the seasonal
dummies, and the check that no control itself moved at the event.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.errors import AssumptionWarning, DataError, InputError, ParameterError
from butfor.methods._sts_counts import latent_start


# ---------------------------------------------------------------------------
# results
class ConstantSeriesError(DataError):
    """The outcome does not vary before the event: nothing to model, no honest interval."""


@dataclass(frozen=True)
class ControlCheckResult:
    """How far each control moved at each event, against its own pre-period moves.

    ``ratio`` is the control's jump at the event (mean over ``window`` days
    after minus before) divided by the root mean square of such jumps at
    pre-period dates; above ``threshold`` the control moved at the event.
    """

    names: tuple[str, ...]
    event_indices: tuple[int, ...]
    window: int
    ratio: np.ndarray  # (n_controls, n_events)
    threshold: float
    moved: np.ndarray  # (n_controls, n_events) bool

    def to_dict(self) -> dict:
        return {"controls": list(self.names), "event_indices": list(self.event_indices),
                "window_days": self.window, "jump_ratio": self.ratio,
                "threshold": self.threshold, "moved": self.moved}


# ---------------------------------------------------------------------------
# helpers
@dataclass(frozen=True)
class Prepared:
    y_raw: np.ndarray  # the outcome as given
    z: np.ndarray  # on the model's scale (log1p or as given), NaN where missing
    X: np.ndarray  # controls, gaps carried forward
    dates: np.ndarray
    names: tuple[str, ...]
    periods: list[tuple[int, int]]
    in_post: np.ndarray
    fit_days: np.ndarray  # observed, outside every post-period, controls present
    n_dropped_for_controls: int


def prepare(y, X, dates, event_index, post_periods, control_names, *, transform: str,
             seasonal_period: int | None, metric: str) -> Prepared:
    """Arrays, post-periods, the model's scale and the days to fit on; checks the data."""
    y_raw, dates_idx, names, Xraw = as_arrays(y, X, dates, control_names)
    T = len(y_raw)
    periods = post_periods_of(T, event_index, post_periods)
    in_post = np.zeros(T, dtype=bool)
    for a, b in periods:
        in_post[a:b] = True
    if transform == "log1p":
        if (y_raw[np.isfinite(y_raw)] < 0).any():
            raise DataError(
                f"{metric} has negative values, so it cannot be modelled as a count "
                "(log1p); use transform = \"none\""
            )
        z = np.log1p(y_raw)
    else:
        z = y_raw.copy()
    z[~np.isfinite(z)] = np.nan
    # controls: days without them leave the fit; in the post-periods they are carried forward
    fit_days = ~in_post & np.isfinite(z)
    n_dropped = 0
    if Xraw.shape[1]:
        x_missing = ~np.isfinite(Xraw).all(axis=1)
        n_dropped = int((fit_days & x_missing).sum())
        fit_days &= ~x_missing
        if (in_post & x_missing).any():
            warnings.warn(
                f"controls are missing on {int((in_post & x_missing).sum())} post-period "
                "days; they were carried forward from the last day with data",
                AssumptionWarning, stacklevel=3,
            )
        Xraw = pd.DataFrame(Xraw).ffill().bfill().to_numpy()
    n_fit = int(fit_days.sum())
    need = max(10, 3 * (seasonal_period or 1))
    if n_fit < need:
        raise DataError(
            f"only {n_fit} usable days before the event; the structural time series needs "
            f"at least {need}: lengthen the pre-period"
        )
    return Prepared(y_raw, z, Xraw, dates_idx, names, periods, in_post, fit_days, n_dropped)


def as_counts(data: Prepared, transform: str, metric: str) -> Prepared:
    """The prepared data for the count model: counts checked, a starting latent log rate."""
    if transform != "none":
        raise InputError(None, "family=\"poisson\" models the count on its own log scale; "
                         f"use transform=\"none\", not {transform!r}", "change that setting")
    y = data.y_raw[np.isfinite(data.y_raw)]
    bad = (y < 0) | (y != np.round(y))
    if bad.any():
        raise ParameterError(
            "StructuralTimeSeries", "family",
            f"{metric} is modelled as a count ({{family}} = \"poisson\"), but {int(bad.sum())} "
            f"value(s) are negative or fractional (e.g. {y[bad][0]:g})",
            "use {family} = \"gaussian\" for a measure that is not a count", suggest="gaussian")
    return dataclasses.replace(data, z=latent_start(data.z))


def standardise(data: Prepared, seasonal_period: int | None, metric: str):
    """Scale y and the controls on the fit days (as CausalImpact does); build the design.

    Returns ``(ys, W, keep, y_mean, y_sd)``: ``ys`` NaN off the fit days, ``W``
    (1, T, q) with the season dummies first, ``keep`` the controls kept (a
    control constant before the event is dropped with a warning).
    """
    z, fit_days, Xraw = data.z, data.fit_days, data.X
    T, p = Xraw.shape
    y_mean = float(np.mean(z[fit_days]))
    y_sd = float(np.std(z[fit_days], ddof=1))
    # relative: log1p(123457) repeated has a standard deviation of 2e-15 from rounding alone,
    # and dividing by it would turn that rounding into the whole signal
    if not np.isfinite(y_sd) or y_sd <= 1e-9 * max(1.0, abs(y_mean)):
        raise ConstantSeriesError(
            f"{metric} is constant before the event (every value is "
            f"{float(np.nanmedian(data.y_raw[fit_days])):g}), so a forecast has no variation to "
            "learn from and no interval to give; the structural time series is left out")
    ys = np.where(fit_days, (z - y_mean) / y_sd, np.nan)
    keep = np.ones(p, dtype=bool)
    Xs = np.zeros((T, 0))
    if p:
        x_mean = Xraw[fit_days].mean(axis=0)
        x_sd = Xraw[fit_days].std(axis=0, ddof=1)
        keep = x_sd > 1e-12 * np.maximum(1.0, np.abs(x_mean))
        if not keep.all():
            dropped = [n for n, k in zip(data.names, keep, strict=True) if not k]
            warnings.warn(
                f"control(s) {', '.join(dropped)} are constant before the event and were "
                "left out", AssumptionWarning, stacklevel=3,
            )
        Xs = (Xraw[:, keep] - x_mean[keep]) / x_sd[keep]
    seasonal = season_design(data.dates, T, seasonal_period)
    W = np.concatenate([seasonal, Xs], axis=1)[None]
    return ys, W, keep, y_mean, y_sd


def as_arrays(y, X, dates, control_names):
    if isinstance(y, pd.Series) and dates is None and isinstance(y.index, pd.DatetimeIndex):
        dates = y.index
    y_raw = np.asarray(y, dtype=float).copy()
    if y_raw.ndim != 1:
        raise DataError("y must be one series (a 1-d array)")
    T = len(y_raw)
    if X is None:
        Xraw = np.zeros((T, 0))
        names: list[str] = []
    else:
        if isinstance(X, pd.DataFrame):
            names = [str(c) for c in X.columns]
        Xraw = np.asarray(X, dtype=float)
        if Xraw.ndim == 1:
            Xraw = Xraw[:, None]
        if not isinstance(X, pd.DataFrame):
            names = [f"x{i}" for i in range(Xraw.shape[1])]
        if Xraw.shape[0] != T:
            raise DataError(f"the controls have {Xraw.shape[0]} days but the outcome has {T}")
    if control_names is not None:
        names = [str(n) for n in control_names]
        if len(names) != Xraw.shape[1]:
            raise DataError("control_names must name every control column")
    if dates is None:
        # consecutive days from an arbitrary Monday: the weekly pattern is then by position
        dates_idx = (np.datetime64("2000-01-03", "D") + np.arange(T)).astype("datetime64[ns]")
    else:
        dates_idx = pd.DatetimeIndex(dates).to_numpy(dtype="datetime64[ns]")
        if len(dates_idx) != T:
            raise DataError(f"dates has {len(dates_idx)} entries but the outcome has {T}")
    return y_raw, dates_idx, tuple(names), Xraw


def post_periods_of(T, event_index, post_periods) -> list[tuple[int, int]]:
    if post_periods is not None:
        periods = sorted((int(a), int(b)) for a, b in post_periods)
    else:
        if event_index is None:
            raise DataError("give event_index (the first day after each event) or post_periods")
        starts = sorted({int(e) for e in np.atleast_1d(event_index)})
        periods = [(s, starts[i + 1] if i + 1 < len(starts) else T) for i, s in enumerate(starts)]
    if not periods:
        raise DataError("no post-period was given")
    prev = 0
    for a, b in periods:
        if not (0 < a < b <= T):
            raise DataError(
                f"the post-period [{a}, {b}) is not inside the series of {T} days with at "
                "least one day before it; check the event dates"
            )
        if a < prev:
            raise DataError("post-periods overlap; give each event its own days")
        prev = b
    return periods


def season_design(dates: np.ndarray, T: int, period: int | None) -> np.ndarray:
    """Effect-coded season dummies (1 on season j, -1 on the last), phased by the series' periods."""
    if period is None or period < 2:
        return np.zeros((T, 0))
    phase = np.mod(freq.ordinal(dates, freq.infer(dates)), period)
    D = (phase[:, None] == np.arange(period - 1)[None, :]).astype(float)
    D[phase == period - 1] = -1.0
    return D


def control_jump_check(
    X: np.ndarray, fit_days: np.ndarray, periods: Sequence[tuple[int, int]],
    names: Sequence[str], *, window: int = 28, threshold: float = 5.0,
) -> ControlCheckResult:
    """Compare each control's jump at each event with its jumps at pre-period dates.

    The jump at day k is the mean over the ``w`` days from k minus the mean
    over the ``w`` days before k. Its size at an event is measured in units of
    the root mean square of the jumps at every date where both windows lie in
    the fit period; above ``threshold`` (5 by default) the control has moved
    with the event. On 300 simulated series with 10 untouched random-walk
    controls each, the largest ratio was 3.6 (``tests/test_sts.py``). ``w`` is
    the shorter of ``window`` and the post-period, and at most a quarter of the
    pre-period.
    """
    p = X.shape[1]
    first = periods[0][0]
    w = int(max(1, min(window, min(b - a for a, b in periods), first // 4)))
    Xf = np.where(fit_days[:, None], X, np.nan)
    ratios = np.zeros((p, len(periods)))
    csum = np.vstack([np.zeros((1, p)), np.cumsum(np.nan_to_num(Xf, nan=0.0), axis=0)])
    cnt = np.vstack([np.zeros((1, p)), np.cumsum(np.isfinite(Xf), axis=0)])

    def window_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (csum[b] - csum[a]) / (cnt[b] - cnt[a])

    ks = np.arange(w, first - w + 1)
    placebo = window_mean(ks, ks + w) - window_mean(ks - w, ks) if ks.size else None
    for j, (a, b) in enumerate(periods):
        before = np.flatnonzero(fit_days[:a])[-w:]
        after = np.arange(a, min(b, a + w))
        jump = np.abs(X[after].mean(axis=0) - X[before].mean(axis=0))
        if placebo is None or placebo.shape[0] < 10:
            continue  # too little history to judge: the check passes
        scale = np.sqrt(np.nanmean(placebo**2, axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios[:, j] = np.where(scale > 0, jump / scale, np.where(jump > 0, np.inf, 0.0))
    return ControlCheckResult(tuple(names), tuple(a for a, _ in periods), w, ratios, threshold,
                              ratios > threshold)
