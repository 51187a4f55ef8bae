"""Convergence checks for batched Markov chains: split R-hat and effective sample size.

Pure functions of a (chains, draws) array (Gelman et al. 2013, BDA3 ch. 11;
Vehtari et al. 2021), used by the structural time series' Gibbs sampler.
"""

from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------------------
# convergence
def split_rhat(chains: np.ndarray) -> float:
    """Split R-hat (Gelman et al. 2013, BDA3 sec. 11.4) of draws shaped (chains, draws)."""
    chains = np.asarray(chains, dtype=float)
    n = chains.shape[1] // 2
    if n < 2:
        return float("nan")
    halves = np.concatenate([chains[:, :n], chains[:, n : 2 * n]], axis=0)
    means = halves.mean(axis=1)
    within = halves.var(axis=1, ddof=1).mean()
    between = n * means.var(ddof=1)
    if within <= 0:
        return float("nan") if between > 0 else 1.0
    var_plus = (n - 1) / n * within + between / n
    return float(np.sqrt(var_plus / within))


def effective_sample_size(chains: np.ndarray) -> float:
    """Multi-chain ESS with Geyer's initial positive sequence (BDA3 sec. 11.5)."""
    chains = np.asarray(chains, dtype=float)
    M, N = chains.shape
    if N < 4:
        return float("nan")
    centred = chains - chains.mean(axis=1, keepdims=True)
    f = np.fft.rfft(centred, n=2 * N, axis=1)
    acov = np.fft.irfft(f * np.conj(f), axis=1)[:, :N] / N
    within = acov[:, 0].mean() * N / (N - 1)
    if within <= 0:
        return float(M * N)
    means = chains.mean(axis=1)
    var_plus = within * (N - 1) / N + (means.var(ddof=1) if M > 1 else 0.0)
    rho = 1.0 - (within - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    total = 0.0
    for t in range(0, N - 1, 2):
        pair = rho[t] + rho[t + 1]
        if pair < 0:
            break
        total += pair
    tau = max(-1.0 + 2.0 * total, 1.0 / np.log10(M * N + 10))
    return float(M * N / tau)
