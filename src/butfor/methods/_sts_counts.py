"""Counts in the structural time series: a Poisson observation on a latent log rate.

For a count outcome (replies, abusive mentions, posts) the model is::

    y_t | x_t ~ Poisson(exp(x_t)),     x_t = mu_t + w_t' beta + eps_t,   eps_t ~ N(0, sigma^2)

so the Gaussian model of :mod:`butfor.methods._sts_gibbs` describes the latent
log rate ``x_t`` and ``sigma`` doubles as the overdispersion (a Poisson-lognormal
mixture: variance ``m + m^2 (e^{sigma^2} - 1)``, as a negative binomial's grows
with the square of the mean). The Gibbs sampler gains one step: each observed
day's ``x_t`` given its count and the current signal, drawn by an independence
Metropolis-Hastings step whose proposal is the Laplace approximation of that
one-dimensional, log-concave conditional (a few Newton steps to its mode), so
acceptance stays high at any count. Zeros are observations like any other,
which ``log1p`` cannot honour at counts below a few a day.

Everything here works on the sampler's standardised scale ``(x - loc) / scale``
and is vectorised over the batch and the days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Newton steps to the conditional's mode (quadratic convergence from a close start)
_NEWTON_STEPS = 4
#: the largest log rate a draw may take: exp(35) is 1.6e15, far past any platform's counts
_MAX_LOG_RATE = 35.0


@dataclass(frozen=True)
class CountObservation:
    """The observed counts (B, T), NaN where unobserved, and the latent scale's loc and scale
    (numbers, or (B, 1) arrays when the batch holds series standardised apart)."""

    counts: np.ndarray
    loc: float | np.ndarray
    scale: float | np.ndarray


def latent_start(counts: np.ndarray) -> np.ndarray:
    """A starting log rate for each day: log(y + 1/2), finite at zero counts."""
    return np.log(np.asarray(counts, dtype=float) + 0.5)


def update_latent(rng: np.random.Generator, obs_model: CountObservation, x_std: np.ndarray,
                  signal_std: np.ndarray, sigma2_std: np.ndarray, observed: np.ndarray
                  ) -> tuple[np.ndarray, float]:
    """One Metropolis-Hastings sweep of every observed day's latent log rate.

    ``x_std``, ``signal_std`` (B, T) and ``sigma2_std`` (B,) are on the standardised
    scale. Returns the new ``x_std`` (unchanged where not observed) and the share of
    days whose proposal was accepted.
    """
    loc, scale, y = obs_model.loc, obs_model.scale, obs_model.counts
    y = np.where(observed, y, 0.0)
    m = loc + scale * signal_std
    v = np.asarray(scale) ** 2 * sigma2_std[:, None]
    x_old = loc + scale * x_std

    def log_target(x: np.ndarray) -> np.ndarray:
        return y * x - np.exp(x) - 0.5 * (x - m) ** 2 / v

    # mode of y x - e^x - (x - m)^2 / (2 v): concave. Newton starts from the precision-
    # weighted mean of the prior and the likelihood's own normal approximation in x
    # (centre log(y + 1/2), precision y + 1/2), which is already close to the mode
    prec_y = y + 0.5
    mode = np.minimum((prec_y * np.log(prec_y) + m / v) / (prec_y + 1.0 / v), _MAX_LOG_RATE)
    for _ in range(_NEWTON_STEPS):
        e = np.exp(mode)
        mode = mode + (y - e - (mode - m) / v) / (e + 1.0 / v)
        mode = np.minimum(mode, _MAX_LOG_RATE)
    prop_var = 1.0 / (np.exp(mode) + 1.0 / v)
    prop_sd = np.sqrt(prop_var)
    x_new = mode + prop_sd * rng.standard_normal(mode.shape)

    def log_proposal(x: np.ndarray) -> np.ndarray:
        return -0.5 * (x - mode) ** 2 / prop_var

    log_r = (log_target(x_new) - log_target(x_old)) - (log_proposal(x_new) - log_proposal(x_old))
    accept = observed & (np.log(rng.uniform(size=log_r.shape)) < log_r)
    x = np.where(accept, x_new, x_old)
    rate = float(accept.sum() / max(int(observed.sum()), 1))
    return (x - loc) / scale, rate


def predictive_counts(rng: np.random.Generator, latent_std: np.ndarray, loc: float,
                      scale: float) -> np.ndarray:
    """Counts drawn from the posterior predictive: Poisson at exp(latent log rate)."""
    log_rate = np.minimum(loc + scale * latent_std, _MAX_LOG_RATE)
    return rng.poisson(np.exp(log_rate)).astype(float)


def median_rate(latent_std: np.ndarray, loc: float, scale: float) -> np.ndarray:
    """exp of a latent value mapped back: the rate at that quantile of the latent scale."""
    return np.exp(np.minimum(loc + scale * latent_std, _MAX_LOG_RATE))
