"""SDID's numerical core: unit and time weights and the weighted estimate for one design.

Pure numpy, batched over replications (placebo, bootstrap and jackknife draws
share one call); Arkhangelsky et al. (2021), Algorithm 1. The estimator in
:mod:`butfor.methods.sdid` builds the design and calls these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from butfor.errors import EstimationError
from butfor.methods._simplex import frank_wolfe_batch, simplex_lsq_batch

METHOD = "sdid"
Estimator = Literal["sdid", "sc", "did"]
SEMethod = Literal["auto", "placebo", "bootstrap", "jackknife", "none"]
Solver = Literal["frank_wolfe", "exact"]


# ---------------------------------------------------------------------------
# numerical core: one design, batched over replications
@dataclass(frozen=True)
class Options:
    estimator: Estimator
    zeta_omega: float
    zeta_lambda: float
    min_decrease: float
    max_iter: int
    max_iter_pre_sparsify: int
    sparsify: bool
    solver: Solver


def noise_level(Y: np.ndarray, N0: int, T0: int) -> float:
    """sd of the controls' first differences over the pre-period (all pooled)."""
    d = np.diff(Y[:N0, :T0], axis=1)
    return float(np.std(d, ddof=1)) if d.size > 1 else 0.0


def collapsed(Y: np.ndarray, N0: np.ndarray, T0: int) -> np.ndarray:
    """Batched collapsed form: (B, N0+1, T0+1) with treated rows and post columns averaged.

    ``Y`` is (B, N, T) with each batch's first N0[b] rows the controls; rows
    beyond must be the treated units (all batches share N and T here).
    """
    B, N, _ = Y.shape
    out = np.empty((B, N + 1, T0 + 1))
    ctrl = np.arange(N)[None, :] < N0[:, None]  # (B, N)
    post_mean = Y[:, :, T0:].mean(axis=2)  # (B, N)
    n1 = (N - N0).astype(float)
    tr_pre = np.einsum("bn,bnt->bt", ~ctrl, Y[:, :, :T0]) / n1[:, None]
    tr_post = np.einsum("bn,bn->b", ~ctrl, post_mean) / n1
    out[:, :N, :T0] = Y[:, :, :T0]
    out[:, :N, T0] = post_mean
    out[:, N, :T0] = tr_pre
    out[:, N, T0] = tr_post
    return out


def fit_weights(Y: np.ndarray, N0: np.ndarray, T0: int, opts: Options,
                 omega0: np.ndarray | None, lambda0: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Unit and time weights for B designs at once (Algorithm 1, steps 2-3).

    ``Y`` (B, N, T): rows [:N0[b]] are controls, the rest treated (rows of
    padding controls beyond N0[b] are allowed only when N0 varies, and are
    then treated rows: callers keep N0 fixed within a batch unless they pass
    ``omega0`` with zeros there). Returns omega (B, N) with zeros on treated
    rows, and lambda (B, T0).
    """
    B, N, _ = Y.shape
    ctrl = np.arange(N)[None, :] < N0[:, None]
    n0 = N0.astype(float)
    Yc = collapsed(Y, N0, T0)  # (B, N+1, T0+1); row N is the treated average
    est = opts.estimator
    # time weights: rows are controls, columns pre-periods (+ the post mean as target)
    if est == "sdid":
        rows = np.where(ctrl[:, :, None], Yc[:, :N, :], 0.0)
        mean = rows.sum(axis=1) / n0[:, None]
        centred = np.where(ctrl[:, :, None], rows - mean[:, None, :], 0.0)
        A, b = centred[:, :, :T0], centred[:, :, T0]
        lam = solve_weights(A, b, n0 * opts.zeta_lambda**2, lambda0, opts, n_rows=n0,
                       allowed=None)
    elif est == "sc":
        lam = np.zeros((B, T0))
    else:
        lam = np.full((B, T0), 1.0 / T0)
    # unit weights: rows are pre-periods, columns controls (+ the treated average as target)
    if est == "did":
        omega = np.where(ctrl, 1.0 / n0[:, None], 0.0)
    else:
        M = np.concatenate([np.swapaxes(Yc[:, :N, :T0], 1, 2), Yc[:, N, :T0][:, :, None]],
                           axis=2)  # (B, T0, N+1)
        M = np.where(np.concatenate([ctrl, np.ones((B, 1), bool)], axis=1)[:, None, :], M, 0.0)
        if est == "sdid":
            M = M - M.mean(axis=1, keepdims=True)
        zeta = opts.zeta_omega
        A, b = M[:, :, :N], M[:, :, N]
        start = omega0 if omega0 is not None else np.where(ctrl, 1.0 / n0[:, None], 0.0)
        omega = solve_weights(A, b, np.full(B, T0 * zeta**2), start, opts,
                         n_rows=np.full(B, float(T0)), allowed=ctrl)
    return omega, lam


def solve_weights(A: np.ndarray, b: np.ndarray, eta: np.ndarray, x0: np.ndarray | None,
             opts: Options, *, n_rows: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """One weight problem for B designs: FW as the R package runs it, or exact."""
    B, _, k = A.shape
    if x0 is None:
        x0 = np.full((B, k), 1.0 / k)
    if opts.solver == "exact":
        start = x0 if allowed is None else np.where(allowed, x0, 0.0)
        x, ok = simplex_lsq_batch(A, b, eta, start, allowed=allowed)
        if not ok.all():
            raise EstimationError("the SDID weights did not converge")
        return x
    md = opts.min_decrease
    if opts.sparsify:
        x = frank_wolfe_batch(A, b, eta, x0, min_decrease=md,
                              max_iter=opts.max_iter_pre_sparsify, n_rows=n_rows,
                              allowed=allowed)
        x = np.where(x <= x.max(axis=1, keepdims=True) / 4, 0.0, x)
        x /= x.sum(axis=1, keepdims=True)
    else:
        x = x0
    return frank_wolfe_batch(A, b, eta, x, min_decrease=md, max_iter=opts.max_iter,
                             n_rows=n_rows, allowed=allowed)


def weighted_tau(Y: np.ndarray, N0: np.ndarray, T0: int, omega: np.ndarray, lam: np.ndarray
         ) -> np.ndarray:
    """τ_b = (−ω, 1/N1)' Y (−λ, 1/T1) for each design."""
    B, N, T = Y.shape
    ctrl = np.arange(N)[None, :] < N0[:, None]
    n1 = (N - N0).astype(float)
    unit = np.where(ctrl, -omega, 1.0 / n1[:, None])
    time = np.concatenate([-lam, np.full((B, T - T0), 1.0 / (T - T0))], axis=1)
    return np.einsum("bn,bnt,bt->b", unit, Y, time)


def curves(Y: np.ndarray, N0: np.ndarray, T0: int, omega: np.ndarray, lam: np.ndarray
            ) -> np.ndarray:
    """Treated-minus-synthetic gap per period, less its λ-weighted pre-period level: (B, T)."""
    N = Y.shape[1]
    ctrl = np.arange(N)[None, :] < N0[:, None]
    n1 = (N - N0).astype(float)
    unit = np.where(ctrl, -omega, 1.0 / n1[:, None])
    gap = np.einsum("bn,bnt->bt", unit, Y)
    return gap - np.einsum("bt,bt->b", gap[:, :T0], lam)[:, None]
