"""Two-way fixed effects from sufficient statistics, summed over blocks of accounts.

The audit's group-disproportion regression (:func:`twfe_normal_equations`,
:func:`twfe_scores`, :func:`twfe_solve`, :func:`twfe_vcov`): two-way fixed
effects (account and day) with one ``group x post`` indicator per non-base
group, computed from sufficient statistics per block and summed across blocks,
with standard errors clustered by account (CRV1, the small-sample factors of
pyfixest's defaults). The day effects are explicit columns and the account
effects are absorbed by within-account demeaning, which is exact for
unbalanced panels (Frisch-Waugh-Lovell), so no iteration is needed.
"""

from __future__ import annotations

import numpy as np


def _design(y: np.ndarray, sample: np.ndarray, treat: np.ndarray):
    obs = sample.astype(float)
    n_i = obs.sum(axis=1)
    w = np.where(n_i > 0, 1.0 / np.maximum(n_i, 1.0), 0.0)
    yo = np.where(sample, y, 0.0)
    ybar = yo.sum(axis=1) * w
    ydm = (yo - ybar[:, None]) * obs
    D = treat.astype(float) * obs[:, None, :]  # (n, k, T)
    return obs, w, ydm, D


def twfe_normal_equations(y: np.ndarray, sample: np.ndarray, treat: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Within-account-demeaned normal equations for ``y ~ treat | account + day``.

    ``y`` and ``sample`` are ``(accounts, days)``; ``treat`` is ``(accounts, k, days)``
    (the ``group x post`` indicators). The regressors are one dummy per day
    followed by the k treatment columns; the account effects are absorbed by
    demeaning. Returns ``(XtX, Xty)`` of size ``days + k``; sum them across blocks.
    """
    obs, w, ydm, D = _design(y, sample, treat)
    T = y.shape[1]
    k = treat.shape[1]
    Ow = obs * w[:, None]
    dsum = D.sum(axis=2)  # (n, k)
    xtx = np.zeros((T + k, T + k))
    xtx[:T, :T] = np.diag(obs.sum(axis=0)) - Ow.T @ obs
    td = D.sum(axis=0).T - Ow.T @ dsum  # (T, k)
    xtx[:T, T:] = td
    xtx[T:, :T] = td.T
    xtx[T:, T:] = np.einsum("ikt,ilt->kl", D, D) - (dsum * w[:, None]).T @ dsum
    xty = np.concatenate([ydm.sum(axis=0), np.einsum("ikt,it->k", D, ydm)])
    return xtx, xty


def twfe_scores(y: np.ndarray, sample: np.ndarray, treat: np.ndarray, day_effects: np.ndarray,
                coef: np.ndarray) -> tuple[np.ndarray, float]:
    """Sum over accounts of score outer products (the CRV1 meat) and of squared residuals.

    ``day_effects`` (days,) and ``coef`` (k,) are the solved parameters. The
    score of account i is ``X_i' e_i`` on the demeaned design: its day part is
    the residual path itself (demeaned residuals sum to zero within account).
    """
    obs, w, ydm, D = _design(y, sample, treat)
    fit = day_effects[None, :] * obs + np.einsum("k,ikt->it", coef, D)
    fbar = fit.sum(axis=1) * w
    e = ydm - (fit - fbar[:, None]) * obs
    scores = np.concatenate([e, np.einsum("ikt,it->ik", D, e)], axis=1)
    return scores.T @ scores, float((e * e).sum())


def twfe_solve(xtx: np.ndarray, xty: np.ndarray, keep_days: np.ndarray, k: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Solve the summed normal equations; one kept day is the baseline (its effect is 0).

    ``keep_days`` is a boolean mask over days with observations; the first kept
    day is dropped as the baseline. Returns ``(day_effects, coef)``.
    """
    T = xtx.shape[0] - k
    cols = _columns(keep_days, k)
    theta = np.linalg.solve(xtx[np.ix_(cols, cols)], xty[cols])
    day_effects = np.zeros(T)
    nd = len(cols) - k
    day_effects[cols[:nd]] = theta[:nd]
    return day_effects, theta[nd:]


def twfe_vcov(xtx: np.ndarray, meat: np.ndarray, keep_days: np.ndarray, k: int, n_obs: int,
              n_clusters: int) -> np.ndarray:
    """CRV1 covariance of the treatment coefficients.

    Small-sample factors as pyfixest's defaults (``ssc(k_adj=True,
    k_fixef="nonnested", G_adj=True)``): ``G/(G-1) * (N-1)/(N-K)`` where K counts
    the treatment columns and the day effects, the account effects being nested
    in the account clusters (plus one, as fixest counts it).
    """
    cols = _columns(keep_days, k)
    bread = np.linalg.inv(xtx[np.ix_(cols, cols)])
    m = meat[np.ix_(cols, cols)]
    v = bread @ m @ bread
    n_days = int(keep_days.sum())
    df_k = k + n_days
    adj = (n_clusters / (n_clusters - 1)) * ((n_obs - 1) / (n_obs - df_k))
    return adj * v[-k:, -k:]


def _columns(keep_days: np.ndarray, k: int) -> np.ndarray:
    T = keep_days.shape[0]
    days = np.flatnonzero(keep_days)[1:]  # first kept day is the baseline
    return np.concatenate([days, T + np.arange(k)])
