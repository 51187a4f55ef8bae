"""Simulated series with a known effect, for checking the structural time series.

``simulate_sts_series`` draws from the model class the estimator fits (a
local level, a fixed weekly pattern, a sparse regression on controls, Gaussian
noise), with the level's sd drawn from the estimator's prior by default; a
fixed range of level sds (``level_sd=(lo, hi)``, in units of the noise sd)
can put it far outside what the prior expects and adds a known effect after the event, so "observed minus the
series without the effect" is the exact truth. ``misspecified=True`` breaks
the model's assumptions on purpose: the weekly pattern drifts, the noise is
Student-t with 4 degrees of freedom and autocorrelated (AR(1), 0.3), and the
level has occasional jumps. Used by the tests and ``benchmarks/sts_benchmark.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SimulatedSeries:
    y: np.ndarray  # observed, effect included
    y_no_effect: np.ndarray  # the exact counterfactual
    X: np.ndarray  # (T, p) controls
    dates: pd.DatetimeIndex
    event_index: int
    effect: np.ndarray  # (T,) injected effect, zero before the event
    beta: np.ndarray
    sigma_obs: float
    sigma_level: float

    @property
    def true_cumulative(self) -> float:
        return float(self.effect[self.event_index:].sum())


def simulate_sts_series(
    rng: np.random.Generator,
    *,
    T: int = 730,
    n_pre: int = 600,
    p: int = 10,
    n_active: int = 3,
    beta_range: tuple[float, float] = (0.5, 2.0),
    effect_size: float = 0.0,
    effect_shape: str = "step",
    sigma_obs: float = 1.0,
    level_sd: str | tuple[float, float] = "prior",
    misspecified: bool = False,
    start: str = "2022-01-01",
) -> SimulatedSeries:
    """One series; ``effect_size`` is the post-period daily effect in units of ``sigma_obs``.

    ``effect_shape`` is ``"step"`` (constant from the event) or ``"ramp"``
    (growing linearly to twice ``effect_size`` by the last day, so the mean is
    the same as the step's). ``n_active`` controls drive the outcome, each with a
    coefficient of size drawn uniformly from ``beta_range`` (per unit of the raw
    control, whose pre-period sd is about 5) and a random sign.
    """
    t = np.arange(T)
    # controls: a common factor plus each control's own drift and noise
    common = np.cumsum(rng.normal(0, 0.3, T))
    X = (50.0 + 5.0 * rng.standard_normal(p)[None, :]
         + common[:, None] * rng.uniform(0.5, 1.5, p)[None, :]
         + np.cumsum(rng.normal(0, 0.2, (T, p)), axis=0)
         + rng.normal(0, 1.0, (T, p)))
    beta = np.zeros(p)
    active = rng.choice(p, size=min(n_active, p), replace=False)
    beta[active] = rng.uniform(*beta_range, active.size) * rng.choice([-1.0, 1.0], active.size)
    weekly = rng.normal(0, 1.0, 7)
    weekly -= weekly.mean()
    dates = pd.date_range(start, periods=T, freq="D")
    dow = dates.day_of_week.to_numpy()
    season = weekly[dow]
    walk = np.cumsum(rng.normal(0, 1.0, T))
    noise = rng.normal(0, sigma_obs, T)
    if misspecified:
        drift = np.cumsum(rng.normal(0, 0.02, (T, 7)), axis=0)
        drift -= drift.mean(axis=1, keepdims=True)
        season = season + drift[t, dow]
        shocks = rng.standard_t(4, T) * sigma_obs / np.sqrt(2.0)
        noise = np.empty(T)
        noise[0] = shocks[0]
        for i in range(1, T):
            noise[i] = 0.3 * noise[i - 1] + shocks[i]
        jumps = (rng.uniform(size=T) < 0.005) * rng.normal(0, 3 * sigma_obs, T)
    else:
        jumps = np.zeros(T)
    other = season + X @ beta - (X[:n_pre] @ beta).mean() + noise + np.cumsum(jumps)
    if level_sd == "prior":
        # the level's sd relative to the pre-period sd of y, drawn from the estimator's
        # own prior (CausalImpact's: guess 0.01, 32 observations' worth); y's sd depends
        # on the level, so solve sigma_level = ratio * sd(y_pre) by fixed point
        ratio = 1.0 / np.sqrt(rng.gamma(16.0) / (32 * 0.01**2 / 2))
        sigma_level = ratio * float(np.std(other[:n_pre], ddof=1))
        for _ in range(50):
            sigma_level = ratio * float(np.std((other + sigma_level * walk)[:n_pre], ddof=1))
    else:
        sigma_level = float(rng.uniform(*level_sd)) * sigma_obs
    y0 = 100.0 + sigma_level * walk + other
    effect = np.zeros(T)
    n_post = T - n_pre
    if effect_shape == "step":
        effect[n_pre:] = effect_size * sigma_obs
    elif effect_shape == "ramp":
        effect[n_pre:] = effect_size * sigma_obs * 2 * np.arange(1, n_post + 1) / n_post
    else:
        raise ValueError(effect_shape)
    return SimulatedSeries(y=y0 + effect, y_no_effect=y0, X=X, dates=dates, event_index=n_pre,
                           effect=effect, beta=beta, sigma_obs=sigma_obs,
                           sigma_level=sigma_level)


@dataclass(frozen=True)
class SimulatedCounts:
    y: np.ndarray  # observed counts, effect included
    y_no_effect: np.ndarray  # the counts without the effect, from the same uniforms
    X: np.ndarray  # (T, p) controls
    dates: pd.DatetimeIndex
    event_index: int
    log_ratio: float  # the effect: the rate is multiplied by exp(log_ratio) from the event

    @property
    def true_cumulative(self) -> float:
        return float((self.y - self.y_no_effect)[self.event_index:].sum())


def simulate_count_series(
    rng: np.random.Generator,
    *,
    T: int = 400,
    n_pre: int = 300,
    p: int = 3,
    mean_count: float = 3.0,
    log_ratio: float = 0.0,
    sigma_latent: float = 0.3,
    level_sd: str | float = "prior",
    start: str = "2022-01-01",
) -> SimulatedCounts:
    """One count series from the model class the count model fits (Poisson on a latent
    log rate: local level, weekly pattern, controls, Gaussian noise of ``sigma_latent``).

    The counts with and without the effect share their uniforms (inverse-CDF
    draws), so "observed minus the counts without the effect" is the exact truth
    of that series, not an expectation. ``level_sd="prior"`` draws the level's sd
    from the estimator's own prior, relative to the latent series' pre-period sd
    (as :func:`simulate_sts_series` does); a number fixes it on the log scale.
    """
    from scipy.stats import poisson

    dates = pd.date_range(start, periods=T, freq="D")
    common = np.cumsum(rng.normal(0, 0.3, T))
    X = 50.0 + common[:, None] * rng.uniform(0.5, 1.5, p)[None, :] + rng.normal(0, 1.0, (T, p))
    Xs = (X - X[:n_pre].mean(axis=0)) / X[:n_pre].std(axis=0)
    beta = rng.uniform(0.1, 0.3, p) * rng.choice([-1.0, 1.0], p)
    weekly = rng.normal(0, 0.2, 7)
    weekly -= weekly.mean()
    other = (weekly[dates.day_of_week.to_numpy()] + Xs @ beta
             + rng.normal(0, sigma_latent, T))
    walk = np.cumsum(rng.normal(0, 1.0, T))
    u = rng.uniform(size=T)
    if level_sd == "prior":
        # relative to the sd the estimator standardises by: that of log(y + 1/2) before
        # the event, found by fixed point (the counts depend on the level)
        ratio = 1.0 / np.sqrt(rng.gamma(16.0) / (32 * 0.01**2 / 2))
        sd = 0.0
        for _ in range(50):
            counts = poisson.ppf(u, np.exp(np.log(mean_count) + sd * walk + other))
            sd = ratio * float(np.std(np.log(counts[:n_pre] + 0.5), ddof=1))
    else:
        sd = float(level_sd)
    latent = np.log(mean_count) + sd * walk + other
    effect = np.where(np.arange(T) >= n_pre, log_ratio, 0.0)
    y_no = poisson.ppf(u, np.exp(latent))
    y = poisson.ppf(u, np.exp(latent + effect))
    return SimulatedCounts(y=y, y_no_effect=y_no, X=X, dates=dates, event_index=n_pre,
                           log_ratio=log_ratio)
