"""The structural time series at pseudo-events: its known error rate and its power, from one set of fits.

The model is refitted at pre-period dates where nothing happened
(:mod:`butfor.inference.false_positive`), each fit on the days before its
pseudo-event only. The counterfactual draws of a pseudo post-period therefore
do not depend on what was observed in it: injecting a known relative change
there (observed values times 1 + effect) needs no refit. So one batched
Gibbs run gives both the known error rate (effect 0) and the power against
every effect on the grid, exactly as a refit would (same draws, same test).

Power is measured on pseudo post-periods of the same length as the error
rate's (shorter than the real one when the pre-period is short); the curve
says so in its ``how``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.errors import AssumptionWarning
from butfor.inference.false_positive import (
    FalsePositiveResult,
    false_positive_rate,
    pseudo_event_indices,
)
from butfor.inference.power import PowerCurve, effect_grid
from butfor.methods._sts_gibbs import Priors, SdPrior, gibbs
from butfor.methods._sts_slab import inclusion_prior
from butfor.results import summarise_draws

# the grid tried when the case gives none: 1% to 60% in 1% steps, then coarser, each way
STS_GRID = (*(round(0.01 * k, 2) for k in range(1, 61)), 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class PseudoForecast:
    """One pseudo-event: what was observed after it and the model's draws of what it expected."""

    index: int  # the pseudo-event's position in the series
    observed: np.ndarray  # (post_length,) original scale, NaN where missing
    draws: np.ndarray  # (n_draws, post_length) counterfactual draws, original scale


@dataclass(frozen=True)
class PseudoEventCheck:
    false_positive: FalsePositiveResult
    power: PowerCurve


def min_fit_days(model, frequency: str = "D") -> int:
    """Periods each pseudo-event fits on: eight weeks of daily data; of coarser data four
    seasons (48 months), at least 20 periods (weekly and annual data have no season)."""
    return max(56 if frequency == "D" else 20, 4 * (model.seasonal_period or 1))


def default_post_length(model, T: int, event_index: int, frequency: str = "D") -> int:
    """The real post-period's length, shortened to leave room for the pseudo-events."""
    return min(T - event_index, max(7, (event_index - min_fit_days(model, frequency)) // 3))


def sts_pseudo_event_check(
    model,
    y: np.ndarray | pd.Series,
    X: np.ndarray | pd.DataFrame | None = None,
    *,
    dates: Sequence | pd.DatetimeIndex | None = None,
    event_index: int,
    post_length: int | None = None,
    n_events: int = 12,
    n_draws: int | None = 500,
    chains: int | None = None,
    alpha: float = 0.05,
    effects: Sequence[float] | None = None,
    progress: Callable[[], None] | None = None,
) -> PseudoEventCheck:
    """Refit ``model`` at pseudo-events before ``event_index``: error rate and power curve.

    ``effects`` are relative changes (sizes; both directions are tried),
    default :data:`STS_GRID`. ``progress`` is called after each fit when the
    pseudo-events are fitted one by one (once when they share a batch).
    """
    from butfor.methods.sts import StructuralTimeSeries

    y_arr = np.asarray(y, dtype=float)
    if isinstance(y, pd.Series) and dates is None and isinstance(y.index, pd.DatetimeIndex):
        dates = y.index
    X_arr = None if X is None else np.asarray(X, dtype=float)
    names = list(X.columns) if isinstance(X, pd.DataFrame) else None
    dates_arr = None if dates is None else pd.DatetimeIndex(dates)
    frequency = "D" if dates_arr is None else freq.infer(dates_arr)
    min_fit = min_fit_days(model, frequency)
    if post_length is None:
        post_length = default_post_length(model, len(y_arr), event_index, frequency)
    settings = model.get_params() | {"check_controls": "off"}  # they test the model
    if n_draws is not None:
        settings["n_draws"] = n_draws
    if chains is not None:
        settings["chains"] = chains
    pseudo = StructuralTimeSeries(**settings)
    indices = pseudo_event_indices(event_index, post_length, n_events=n_events,
                                   min_fit=min_fit, unit=freq.PERIOD[frequency])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        forecasts = pseudo_event_forecasts(pseudo, y_arr, X_arr, dates_arr, names, indices,
                                           post_length)
        if forecasts is None:  # cannot share a batch: one fit per pseudo-event
            forecasts = []
            for k in indices:
                stop = int(k) + post_length
                path = pseudo.fit(y_arr[:stop], None if X_arr is None else X_arr[:stop],
                                  dates=None if dates_arr is None else dates_arr[:stop],
                                  event_index=int(k), control_names=names).effect
                forecasts.append(PseudoForecast(int(k), y_arr[int(k):stop], path.draws))
                if progress is not None:
                    progress()
        elif progress is not None:
            progress()
    lookup = {f.index: summarise_draws(f.observed, f.draws, pseudo.level) for f in forecasts}
    fp = false_positive_rate(lambda k, _length: lookup[k], event_index, post_length,
                             n_events=n_events, min_fit=min_fit, alpha=alpha)
    grid = effect_grid(effects if effects else STS_GRID)
    grid = grid[grid > -1]  # a fall of 100% or more is not a relative change
    curve = injected_power(forecasts, grid, alpha=alpha,
                           how=f"at {len(forecasts)} pseudo-events before the real one, each "
                               f"judged on {freq.describe(frequency, post_length)} with the "
                               "change injected")
    return PseudoEventCheck(fp, curve)


def injected_power(forecasts: Sequence[PseudoForecast], effects: np.ndarray, *, alpha: float,
                   how: str) -> PowerCurve:
    """Share of pseudo-events whose test reports each injected change, in its direction.

    The test is :func:`butfor.results.summarise_draws`'s: the cumulative effect's
    two-sided tail probability (twice the share of draws on the other side of
    zero from the point estimate) below ``alpha``; the sign is the point's.
    With the observed days scaled by 1 + e, the cumulative effect of draw d is
    (1 + e) * sum(observed) - sum(draws_d), so every effect costs one vector sum.
    """
    effects = np.asarray(effects, dtype=float)
    hits = np.zeros((len(effects), len(forecasts)), dtype=bool)
    for j, f in enumerate(forecasts):
        ok = np.isfinite(f.observed)
        obs_sum = float(f.observed[ok].sum())
        draw_sums = f.draws[:, ok].sum(axis=1)
        cum = (1 + effects)[:, None] * obs_sum - draw_sums[None, :]  # (E, D)
        point = cum.mean(axis=1)
        one_sided = np.where(point >= 0, (cum <= 0).mean(axis=1), (cum >= 0).mean(axis=1))
        p = np.minimum(1.0, 2 * one_sided)
        hits[:, j] = (p < alpha) & (np.sign(point) == np.sign(effects))
    power = hits.mean(axis=1) if forecasts else np.zeros(len(effects))
    return PowerCurve(effects, power, alpha, len(forecasts), how)


def pseudo_event_forecasts(model, y, X, dates, names, indices,
                           post_length: int) -> list[PseudoForecast] | None:
    """Every pseudo-event fitted in one batched kernel call (chains x events).

    Each pseudo-event is prepared and standardised on its own days, exactly as
    :meth:`StructuralTimeSeries.fit` would, then padded to a common length
    (padding is unobserved and never summarised). Returns None when the
    events cannot share a batch (a control constant before one of them), in
    which case the caller fits them one by one.
    """
    from butfor.methods._sts_counts import CountObservation, predictive_counts
    from butfor.methods.sts import _OPTIONS, _check_option
    from butfor.methods.sts_data import as_counts, prepare, standardise

    for name in _OPTIONS:
        _check_option(name, getattr(model, name))
    counting = model.family == "poisson"
    prepared = []
    for k in indices:
        stop = int(k) + post_length
        data = prepare(y[:stop], None if X is None else X[:stop],
                        None if dates is None else dates[:stop], int(k), None, names,
                        transform=model.transform, seasonal_period=model.seasonal_period,
                        metric="outcome")
        if counting:
            data = as_counts(data, model.transform, "outcome")
        ys, W, keep, y_mean, y_sd = standardise(data, model.seasonal_period, "outcome")
        if not keep.all():
            return None
        prepared.append((int(k), stop, ys, W[0], y_mean, y_sd,
                         np.where(data.fit_days, data.y_raw, np.nan)))
    C = model.chains
    per_chain = math.ceil(model.n_draws / C)
    T_max = max(stop for _, stop, *_ in prepared)
    q = prepared[0][3].shape[1]
    n_fixed = q - (0 if X is None else X.shape[1])
    Y = np.full((len(prepared) * C, T_max), np.nan)
    Wb = np.zeros((len(prepared) * C, T_max, q))
    counts = np.full_like(Y, np.nan)
    for i, (_, stop, ys, W, _, _, c) in enumerate(prepared):
        Y[i * C:(i + 1) * C, :stop] = ys
        Wb[i * C:(i + 1) * C, :stop] = W
        counts[i * C:(i + 1) * C, :stop] = c
    # each pseudo-event's latent scale, one row per chain
    loc = np.repeat([pr[4] for pr in prepared], C)[:, None]
    scale = np.repeat([pr[5] for pr in prepared], C)[:, None]
    p = q - n_fixed
    pi = inclusion_prior(model.expected_model_size, p)  # as the model's own fit
    rng = np.random.default_rng(model.seed)
    draws = gibbs(Y, Wb, n_fixed=n_fixed, prior_inclusion=pi, trend=model.trend,
                  priors=Priors(level=SdPrior(model.prior_level_sd, 32.0, 1.0)),
                  n_keep=per_chain, burn=model.burn, rng=rng, flips=model.flips,
                  counts=CountObservation(counts, loc, scale) if counting else None)
    out = []
    for i, (k, stop, _, _, y_mean, y_sd, _) in enumerate(prepared):
        rows = slice(i * C, (i + 1) * C)
        signal = draws.signal[rows, :, k:stop]
        noise = rng.standard_normal(signal.shape) * draws.sigma_obs[rows][..., None]
        latent = (signal + noise).reshape(C * per_chain, -1)[: model.n_draws]
        if counting:
            out.append(PseudoForecast(k, np.asarray(y[k:stop], dtype=float),
                                      predictive_counts(rng, latent, y_mean, y_sd)))
            continue
        pred = latent * y_sd + y_mean
        if model.transform == "log1p":
            pred = np.maximum(np.expm1(pred), 0.0)
        out.append(PseudoForecast(k, np.asarray(y[k:stop], dtype=float), pred))
    return out
