"""Per-account effect kernels, vectorised over a block of accounts.

Every function here takes numpy arrays and returns numpy arrays: no files, no
pandas, no randomness. Arrays of accounts are shaped ``(accounts, days)``; a
"block" is whatever number of accounts the caller hands in at once (the audit
hands in one partition at a time, a few thousand accounts; peer_effects hands
in a subject and its peers). Nothing loops over accounts in Python.

**One effect per account** (:func:`account_effects`). Plain words: on the
log scale, an account's counterfactual after the event is its own pre-event
level, moved by what the reference accounts (the rest of the platform, the
rest of its group, or a named reference group) did over the same days, and,
when off-platform control series are given, by what its own controls did
(with a slope fitted on its own pre-event days). The effect is the mean gap
between observed and counterfactual over the post window. Its standard error
comes from the account's own pre-event residuals: their variance and
autocorrelation (an ARMA(1,1)-shaped autocovariance, ``gamma(k) = gamma1 *
phi**(k-1)``, corrected for the bias that centring on the window mean puts
into it), turned into the exact variance of a difference of two window means.
One account's autocorrelation is a noisy estimate, so that variance is never
taken below the one implied by the platform-typical (median) autocorrelation,
and p-values use a t distribution with the effective degrees of freedom of the
account's variance estimate. Pseudo-events placed inside the pre-period
(placebo in time), standardised the same way, check the size over all accounts
and inflate every standard error if they reject too often
(:func:`account_inference`). The test suite checks the size under no effect on
autocorrelated series (tests/test_audit_kernels.py).

The group-disproportion regression lives in :mod:`butfor.methods.kernels.twfe`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

PHI_MAX = 0.98  # cap on the autocorrelation decay, keeps the variance formula finite
DEBIAS_ITERATIONS = 8  # fixed-point steps of the autocovariance bias correction


# ---------------------------------------------------------------------------
# alignment and reference paths
# ---------------------------------------------------------------------------

def align_to_event(values: np.ndarray, event_index: np.ndarray, n_pre: int,
                   n_post: int) -> np.ndarray:
    """Cut each account's window ``[event - n_pre, event + n_post)`` out of calendar arrays.

    ``values`` is ``(accounts, days)`` or ``(accounts, p, days)``; days outside
    the calendar come back as NaN. Column ``n_pre`` of the result is the event day.
    """
    T = values.shape[-1]
    idx = event_index[:, None] - n_pre + np.arange(n_pre + n_post)[None, :]
    valid = (idx >= 0) & (idx < T)
    safe = np.clip(idx, 0, T - 1)
    if values.ndim == 2:
        out = np.take_along_axis(values, safe, axis=1)
        return np.where(valid, out, np.nan)
    out = np.take_along_axis(values, safe[:, None, :].repeat(values.shape[1], 1), axis=2)
    return np.where(valid[:, None, :], out, np.nan)


def leave_one_out_reference(y: np.ndarray, ref_sum: np.ndarray, ref_count: np.ndarray,
                            ref_row: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Mean path of each account's reference set, leaving the account itself out.

    ``ref_sum``/``ref_count`` are ``(sets, days)`` sums and counts of observed
    values; ``ref_row[i]`` is the set account ``i`` is compared with and
    ``member[i]`` says whether ``i`` itself is in that set (then its own value
    is taken out). Days where no other account is observed are NaN.
    """
    s = ref_sum[ref_row]
    c = ref_count[ref_row]
    own = np.isfinite(y) & member[:, None]
    s = s - np.where(own, y, 0.0)
    c = c - own
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.where(c > 0, c, 1.0), np.nan)


# ---------------------------------------------------------------------------
# the per-account effect
# ---------------------------------------------------------------------------

def diff_of_means_variance(gamma0: np.ndarray, gamma1: np.ndarray, phi: np.ndarray,
                           n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Variance of mean(post window) - mean(pre window) for adjacent windows.

    The residual autocovariance is ``gamma0`` at lag 0 and ``gamma1 * phi**(k-1)``
    at lag ``k >= 1``; the pre window has ``n1`` days and is followed at once
    by the post window of ``n2`` days. Closed form of ``a' Gamma a`` with
    ``a = (-1/n1, ..., -1/n1, 1/n2, ..., 1/n2)``.
    """
    n1 = np.asarray(n1, dtype=float)
    n2 = np.asarray(n2, dtype=float)
    om = 1.0 - phi

    def within(n):  # sum over 0 <= s < t < n of phi**(t-s-1)
        m = np.maximum(n - 1.0, 0.0)
        return (m * om - phi * (1.0 - phi ** m)) / om**2

    def geo(n):  # sum over 0 <= u < n of phi**u
        return (1.0 - phi**n) / om

    with np.errstate(invalid="ignore", divide="ignore"):
        cross = within(n1) / n1**2 + within(n2) / n2**2 - geo(n1) * geo(n2) / (n1 * n2)
        var = gamma0 * (1.0 / n1 + 1.0 / n2) + 2.0 * gamma1 * cross
    return np.maximum(var, 0.0)


def _autocov(res: np.ndarray, obs: np.ndarray, lag: int, n: np.ndarray) -> np.ndarray:
    """Lag-``lag`` autocovariance over pairs where both days are observed, divided by n."""
    a = np.where(obs, res, 0.0)
    if lag == 0:
        prod = a * a
    else:
        prod = a[:, lag:] * a[:, :-lag] * (obs[:, lag:] & obs[:, :-lag])
    with np.errstate(invalid="ignore", divide="ignore"):
        return prod.sum(axis=1) / n


def _arma_params(g0, g1, g2):
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(g1 > 0, g2 / np.where(g1 > 0, g1, 1.0), 0.0)
    return np.clip(phi, 0.0, PHI_MAX), np.clip(g1, 0.0, g0)


def _debias_autocov(g0, g1, g2, n, iterations: int = DEBIAS_ITERATIONS):
    """Undo the downward bias that centring on the sample mean puts into autocovariances.

    Residuals measured from their own window mean have ``E[gamma_hat(k)] ~
    gamma(k) - Var(mean)``; for persistent series that bias makes the
    autocorrelation look shorter than it is and the standard errors too small.
    Add back the model's variance of the window mean, a few fixed-point steps.
    """
    phi, c1 = _arma_params(g0, g1, g2)
    c0 = g0
    for _ in range(iterations):
        vmean = _mean_variance(c0, c1, phi, n)
        c0 = g0 + vmean
        phi, c1 = _arma_params(c0, g1 + vmean, g2 + vmean)
    return c0, c1, phi


def _mean_variance(gamma0, gamma1, phi, n):
    """Variance of the mean of n consecutive days under the ARMA(1,1)-shaped autocovariance."""
    om = 1.0 - phi
    m = np.maximum(n - 1.0, 0.0)
    w = (m * om - phi * (1.0 - phi ** m)) / om**2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.maximum((gamma0 * n + 2.0 * gamma1 * w) / n**2, 0.0)


def account_effects(y: np.ndarray, ref: np.ndarray | None, controls: np.ndarray | None,
                    n_pre: int, *, n_placebo: int = 4, min_days: int = 14) -> dict[str, np.ndarray]:
    """Effect of the event on each account, with its model standard error and placebos.

    Parameters
    ----------
    y : (accounts, n_pre + n_post) outcome on the log scale, aligned so that
        column ``n_pre`` is the account's event day; NaN where missing.
    ref : same shape, the reference path (leave-one-out mean of the reference
        accounts), or None for no reference.
    controls : (accounts, p, n_pre + n_post) off-platform control series on the
        log scale, or None.
    n_pre : number of pre-event columns.
    n_placebo : pseudo-events placed inside the pre-period.
    min_days : windows with fewer observed days than this give NaN.

    Returns a dict of arrays: ``effect`` (mean post-window gap), ``gamma0``,
    ``rho1``, ``phi`` (bias-corrected residual variance, lag-1 autocorrelation
    and decay), ``n_pre``/``n_post`` (observed days), ``pre_level``,
    ``pre_rmse``, ``beta`` (accounts, p), ``placebo_tau``/``placebo_n1``/
    ``placebo_n2`` (accounts, n_placebo: pseudo-effects and their window sizes,
    NaN where a pseudo-event does not fit) and ``gap`` (observed minus
    counterfactual path, same shape as ``y``). :func:`account_inference` turns
    these into standard errors and p-values.
    """
    y = np.asarray(y, dtype=float)
    n, L = y.shape
    n_post_len = L - n_pre
    r = y - ref if ref is not None else y.copy()
    obs = np.isfinite(r)
    if controls is not None:
        obs &= np.isfinite(controls).all(axis=1)
    r = np.where(obs, r, np.nan)
    pre_obs = obs[:, :n_pre]
    n1 = pre_obs.sum(axis=1).astype(float)
    n2 = obs[:, n_pre:].sum(axis=1).astype(float)
    safe1 = np.maximum(n1, 1.0)

    p = 0 if controls is None else controls.shape[1]
    beta = np.zeros((n, p))
    adj = r
    if p:
        x = np.where(obs[:, None, :], controls, 0.0)
        xpre = x[:, :, :n_pre]
        rpre = np.where(pre_obs, r[:, :n_pre], 0.0)
        xm = xpre.sum(axis=2) / safe1[:, None]
        rm = rpre.sum(axis=1) / safe1
        xc = (xpre - xm[:, :, None]) * pre_obs[:, None, :]
        rc = (rpre - rm[:, None]) * pre_obs
        xtx = np.einsum("ipt,iqt->ipq", xc, xc)
        xtr = np.einsum("ipt,it->ip", xc, rc)
        beta = np.einsum("ipq,iq->ip", np.linalg.pinv(xtx, hermitian=True), xtr)
        adj = r - np.einsum("ip,ipt->it", beta, x)
        adj = np.where(obs, adj, np.nan)

    a0 = np.where(obs, adj, 0.0)
    pre_level = a0[:, :n_pre].sum(axis=1) / safe1
    gap = adj - pre_level[:, None]
    g0 = np.where(obs, gap, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        effect = g0[:, n_pre:].sum(axis=1) / n2

    res = g0[:, :n_pre]
    raw0 = _autocov(res, pre_obs, 0, safe1)
    gamma1 = _autocov(res, pre_obs, 1, safe1)
    gamma2 = _autocov(res, pre_obs, 2, safe1)
    gamma0, gamma1, phi = _debias_autocov(raw0, gamma1, gamma2, n1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho1 = np.where(gamma0 > 0, gamma1 / np.where(gamma0 > 0, gamma0, 1.0), 0.0)

    # placebo in time: pseudo-events inside the pre-period, the same statistic
    h = max(1, min(n_post_len, n_pre // 2))
    step = max(7, h // 4)
    placebo_tau = np.full((n, n_placebo), np.nan)
    placebo_n1 = np.zeros((n, n_placebo))
    placebo_n2 = np.zeros((n, n_placebo))
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(res, axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((n, 1)), np.cumsum(pre_obs, axis=1)], axis=1)
    for j in range(n_placebo):  # a handful of pseudo-dates, each vectorised over accounts
        s = n_pre - h - j * step
        if s < max(h, min_days):
            break
        m1, m2 = ccnt[:, s], ccnt[:, s + h] - ccnt[:, s]
        ok = (m1 >= min_days) & (m2 >= min(min_days, h))
        with np.errstate(invalid="ignore", divide="ignore"):
            tau = (csum[:, s + h] - csum[:, s]) / m2 - csum[:, s] / m1
        placebo_tau[:, j] = np.where(ok, tau, np.nan)
        placebo_n1[:, j] = m1
        placebo_n2[:, j] = m2

    bad = (n1 < min_days) | (n2 < 1) | ~(raw0 > 0)
    return {
        "effect": np.where(bad, np.nan, effect),
        "gamma0": np.where(bad, np.nan, gamma0),
        "rho1": rho1,
        "phi": phi,
        "n_pre": n1.astype(np.int64),
        "n_post": n2.astype(np.int64),
        "pre_level": np.where(n1 > 0, pre_level, np.nan),
        "pre_rmse": np.sqrt(raw0),
        "beta": beta,
        "placebo_tau": placebo_tau,
        "placebo_n1": placebo_n1,
        "placebo_n2": placebo_n2,
        "gap": gap,
    }


def _effective_df(n1, rho1, phi):
    """Degrees of freedom of a variance estimated from n1 autocorrelated days (Bartlett)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.maximum(n1 / (1.0 + 2.0 * rho1**2 / (1.0 - phi**2)), 2.0)


@dataclass(frozen=True)
class Inference:
    """Calibrated standard errors, intervals and p-values for every account."""

    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    df: np.ndarray
    platform_rho1: float  # the platform-typical dynamics used as a floor
    platform_phi: float
    calibration: float  # placebo-in-time inflation factor (>= 1)
    placebo_size: float  # share of placebo p-values below 0.05 before calibration
    placebo_z: np.ndarray  # (accounts, n_placebo) standardised pseudo-effects, uncalibrated


def account_inference(effect, gamma0, rho1, phi, n1, n2, placebo_tau, placebo_n1, placebo_n2,
                      *, level: float = 0.95) -> Inference:
    """Turn the kernel's per-account statistics into calibrated intervals and p-values.

    Run on all accounts at once (one row each; cheap). Three steps:

    1. Each account's variance is its own scale ``gamma0`` times a window factor
       from its autocorrelation, but never less than the factor implied by the
       platform-typical autocorrelation (medians over accounts). For persistent
       series one account's autocorrelation estimate is noisy, and an
       underestimate would make its standard error far too small; the floor
       stops that, while accounts that really are more persistent keep their
       larger factor.
    2. p-values come from a t distribution with the effective degrees of
       freedom of an autocorrelated variance estimate.
    3. The same rule is applied to the placebo-in-time pseudo-effects; if more
       than 5% of them are "significant" at 5%, every standard error is
       inflated by the factor that brings them back to 5% (never deflated).
    """
    ok = np.isfinite(gamma0) & (gamma0 > 0)
    prho = float(np.median(rho1[ok])) if ok.any() else 0.0
    pphi = float(np.median(phi[ok])) if ok.any() else 0.0

    def variance(a, b):
        own = diff_of_means_variance(gamma0, gamma0 * rho1, phi, a, b)
        floor = diff_of_means_variance(gamma0, gamma0 * prho, np.full_like(gamma0, pphi), a, b)
        df = np.minimum(_effective_df(n1, rho1, phi), _effective_df(n1, prho, pphi))
        return np.maximum(own, floor), df

    var, df = variance(n1, n2)
    pv = []
    pz = np.full(placebo_tau.shape, np.nan)
    for j in range(placebo_tau.shape[1]):
        v, d = variance(placebo_n1[:, j], placebo_n2[:, j])
        with np.errstate(invalid="ignore", divide="ignore"):
            pz[:, j] = placebo_tau[:, j] / np.sqrt(v)
        pj = 2.0 * stats.t.sf(np.abs(pz[:, j]), d)
        pv.append(pj[np.isfinite(pj)])
    pv = np.concatenate(pv) if pv else np.array([])
    if pv.size >= 20:
        size = float(np.mean(pv < 0.05))
        u = stats.norm.isf(np.quantile(pv, 0.05) / 2.0)  # |z| exceeded by 5% of placebos
        kappa = max(1.0, float(u / stats.norm.isf(0.025)))
    else:
        size, kappa = float("nan"), 1.0
    se = np.sqrt(var) * kappa
    with np.errstate(invalid="ignore", divide="ignore"):
        z = effect / se
    p = 2.0 * stats.t.sf(np.abs(z), df)
    q = stats.t.ppf(0.5 + level / 2.0, df)
    return Inference(se=se, lower=effect - q * se, upper=effect + q * se, z=z, p_value=p, df=df,
                     platform_rho1=prho, platform_phi=pphi, calibration=kappa, placebo_size=size,
                     placebo_z=pz)


# ---------------------------------------------------------------------------
# the reference's typical account
# ---------------------------------------------------------------------------

# Bisquare window in noise sd. Narrower than the usual 4.685 (95% efficiency at
# the normal): the centre's variance is ~0.1% of one account's, so efficiency
# (86% here) hardly matters, while hit accounts inside the window bias the
# centre (simulated, 45% hit by -0.4 +- 0.1 at noise sd 0.06: bias 0.025 sd at
# 3.5 against 0.087 at 4.685; tests/test_audit_kernels.py).
BISQUARE_C = 3.5
MAD_TO_SD = 0.6745  # MAD of a standard normal
BISQUARE_ITERATIONS = 50


def typical_effect(effect: np.ndarray, noise_sd: float | None = None) -> tuple[float, float]:
    """The typical account's effect among a reference set, and its sampling variance.

    Every effect is measured against the mean of the reference accounts, and
    that mean includes the accounts the event hit: when a tenth of a group
    lost 0.4, the group mean fell by 0.04 and every untouched account of the
    group looks like it gained 0.04. The audit asks which accounts were hit, so
    the counterfactual it needs is the path of an untouched account: the
    bisquare (Tukey biweight) M-estimate of location of the effects, started
    at the median, is that account as long as fewer than half of the set were
    hit, because effects more than 3.5 noise standard deviations from the bulk
    get weight zero and stop pulling the centre. Subtracting it from every
    account's effect is moving the reference's post period by one constant, so
    nothing else in the estimate changes.

    The scale is the effects' MAD, but never more than ``noise_sd`` (the
    typical account's own standard error) when given: when close to half the
    set were hit the MAD grows with the gap between the hit and the untouched
    accounts, the window would take the hit ones in, and the centre would
    slide towards them; the accounts' own noise does not grow so.

    The variance is the M-estimator's sandwich, sum psi^2 / (sum psi')^2 (its
    asymptotic variance); the centre's error is shared by every account
    measured against it, so the caller adds it to each account's variance.
    Returns ``(0.0, 0.0)`` for an empty set, ``(median, 0.0)`` when no scale
    is left (more than half the effects identical and no ``noise_sd``).
    """
    x = np.asarray(effect, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return 0.0, 0.0
    m = float(np.median(x))
    scale = float(np.median(np.abs(x - m))) / MAD_TO_SD
    if noise_sd is not None and np.isfinite(noise_sd) and noise_sd > 0:
        scale = min(scale, float(noise_sd)) if scale > 0 else float(noise_sd)
    if not scale > 0:
        return m, 0.0
    c = BISQUARE_C * scale
    for _ in range(BISQUARE_ITERATIONS):  # fixed-point steps, a few dozen at most
        u = (x - m) / c
        w = np.where(np.abs(u) < 1.0, (1.0 - u**2) ** 2, 0.0)
        if not w.sum() > 0:
            break
        step = float(np.sum(w * (x - m)) / np.sum(w))
        m += step
        if abs(step) < 1e-12 * scale:
            break
    r = x - m
    u = r / c
    k = np.abs(u) < 1.0
    psi = np.where(k, r * (1.0 - u**2) ** 2, 0.0)
    dpsi = np.where(k, (1.0 - u**2) * (1.0 - 5.0 * u**2), 0.0)
    den = float(dpsi.sum()) ** 2
    return m, float(np.sum(psi**2) / den) if den > 0 else 0.0
