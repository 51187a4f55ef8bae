"""The audit's numerical kernels: regression against pyfixest, variance formula, null size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

from butfor.methods.kernels.accounts import (
    account_effects,
    account_inference,
    align_to_event,
    diff_of_means_variance,
    leave_one_out_reference,
    typical_effect,
)
from butfor.methods.kernels.twfe import twfe_normal_equations, twfe_scores, twfe_solve, twfe_vcov


def _panel(seed: int, n: int = 80, T: int = 40, groups: int = 3, missing: float = 0.1):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    post = np.broadcast_to(np.arange(T) >= 25, (n, T))
    y = (rng.normal(size=(n, T)) + rng.normal(size=(n, 1)) + rng.normal(size=(1, T))
         + 0.3 * (g[:, None] == 1) * post)
    sample = rng.random((n, T)) > missing
    treat = np.stack([(g == j)[:, None] & post for j in range(1, groups)], axis=1)
    return y, sample, treat


def _twfe(y, sample, treat, blocks):
    k = treat.shape[1]
    parts = np.array_split(np.arange(len(y)), blocks)
    xtx = sum(twfe_normal_equations(y[i], sample[i], treat[i])[0] for i in parts)
    xty = sum(twfe_normal_equations(y[i], sample[i], treat[i])[1] for i in parts)
    keep = sample.sum(axis=0) > 0
    days, coef = twfe_solve(xtx, xty, keep, k)
    meat = sum(twfe_scores(y[i], sample[i], treat[i], days, coef)[0] for i in parts)
    vcov = twfe_vcov(xtx, meat, keep, k, int(sample.sum()), int((sample.sum(1) > 0).sum()))
    return coef, np.sqrt(np.diag(vcov))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_twfe_matches_pyfixest_crv1(seed):
    # Reference: pyfixest 0.60.0, feols("y ~ d1 + d2 | unit + day", vcov={"CRV1": "unit"}),
    # run on the same unbalanced panel in this test (10% of cells missing).
    import pyfixest as pf

    y, sample, treat = _panel(seed)
    coef, se = _twfe(y, sample, treat, blocks=3)  # summed over three blocks of accounts
    ii, tt = np.nonzero(sample)
    df = pd.DataFrame({"y": y[ii, tt], "unit": ii, "day": tt,
                       "d1": treat[ii, 0, tt].astype(float), "d2": treat[ii, 1, tt].astype(float)})
    fit = pf.feols("y ~ d1 + d2 | unit + day", df, vcov={"CRV1": "unit"})
    np.testing.assert_allclose(coef, fit.coef().to_numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(se, fit.se().to_numpy(), rtol=1e-9)


def test_twfe_blocks_do_not_change_the_answer():
    # Property: the sufficient statistics add up; one block or seven give the same fit.
    y, sample, treat = _panel(5)
    c1, s1 = _twfe(y, sample, treat, blocks=1)
    c7, s7 = _twfe(y, sample, treat, blocks=7)
    np.testing.assert_allclose(c1, c7, rtol=1e-10)
    np.testing.assert_allclose(s1, s7, rtol=1e-10)


def test_diff_of_means_variance_matches_brute_force():
    # Reference: a' Gamma a with the full Toeplitz autocovariance matrix, by hand.
    for g0, g1, phi, n1, n2 in [(1.0, 0.6, 0.9, 30, 12), (2.0, 0.0, 0.0, 5, 5),
                                (0.5, 0.4, 0.98, 200, 100), (1.0, 0.3, 0.5, 1, 1)]:
        n = n1 + n2
        lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
        gamma = np.where(lag == 0, g0, g1 * phi ** np.maximum(lag - 1, 0))
        a = np.r_[np.full(n1, -1.0 / n1), np.full(n2, 1.0 / n2)]
        got = diff_of_means_variance(np.array(g0), np.array(g1), np.array(phi), n1, n2)
        assert got == pytest.approx(a @ gamma @ a, rel=1e-10)


def test_leave_one_out_reference_excludes_the_account():
    y = np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0]])
    s = np.nansum(y, axis=0)[None]
    c = np.isfinite(y).sum(axis=0)[None].astype(float)
    ref = leave_one_out_reference(y, s, c, np.zeros(3, int), np.ones(3, bool))
    # hand computation: account 0 day 0 -> (3+5)/2; account 1 day 1 -> (2+6)/2
    np.testing.assert_allclose(ref, [[4.0, 6.0], [3.0, 4.0], [2.0, 2.0]])


def test_align_to_event_pads_with_nan():
    v = np.arange(10.0)[None].repeat(2, 0)
    a = align_to_event(v, np.array([2, 8]), 3, 3)
    np.testing.assert_array_equal(a[0], [np.nan, 0, 1, 2, 3, 4])
    np.testing.assert_array_equal(a[1], [5, 6, 7, 8, 9, np.nan])


def test_effect_recovers_a_known_shift_and_control_slope():
    # Simulation with known truth: no noise, so the effect is exact.
    T, e = 60, 40
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 1, T))
    shift = np.array([-0.3, 0.0, 0.2])
    y = 5 + 0.7 * x[:, 0] + (np.arange(T) >= e) * shift[:, None] + 1e-3 * rng.normal(size=(3, T))
    out = account_effects(y, None, x, e, min_days=5)
    np.testing.assert_allclose(out["effect"], shift, atol=2e-3)
    np.testing.assert_allclose(out["beta"][:, 0], 0.7, atol=5e-3)


def _ar_null(seed: int, n: int, phi, T: int = 365, sd: float = 0.06, noise: float = 0.12):
    rng = np.random.default_rng(seed)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), (n,))
    out = np.empty((n, T))
    for p in np.unique(phi):  # stationary start, one filter per distinct phi
        m = phi == p
        x0 = rng.normal(0, sd / np.sqrt(1 - p**2), m.sum())
        out[m] = lfilter([1.0], [1.0, -p], rng.normal(0, sd, (m.sum(), T)), axis=1,
                         zi=(p * x0)[:, None])[0]
    return 8 + rng.normal(0, 1, (n, 1)) + out + rng.normal(0, noise, (n, T))


@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.0, 0.8, 0.95, "mixed"])
def test_null_size_is_nominal_on_autocorrelated_series(slow_size, phi):
    # Simulation with known truth (no effect anywhere): the share of accounts with
    # p < 0.05 must be close to 5% even for AR(1) series with phi = 0.95, where a
    # naive iid standard error rejects in about a quarter of accounts.
    n = slow_size(ci=3000, full_size=20000)
    rng = np.random.default_rng(7)
    phis = rng.choice([0.3, 0.6, 0.9, 0.95], n) if phi == "mixed" else phi
    y = _ar_null(11, n, phis)
    o = account_effects(y, None, None, 250)
    inf = account_inference(o["effect"], o["gamma0"], o["rho1"], o["phi"], o["n_pre"],
                            o["n_post"], o["placebo_tau"], o["placebo_n1"], o["placebo_n2"])
    size = np.mean(inf.p_value < 0.05)
    se_binom = np.sqrt(0.05 * 0.95 / n)
    assert size <= 0.05 + 3 * se_binom + 0.01, size  # never much above nominal
    assert size >= 0.02, size  # and not uselessly conservative
    cover = np.mean((inf.lower < 0) & (inf.upper > 0))
    assert cover >= 0.93, cover


@pytest.mark.parametrize("share, noise_sd", [(0.1, None), (0.1, 0.06), (0.45, 0.06)])
def test_typical_effect_ignores_the_hit_minority_and_states_its_error(share, noise_sd):
    # Simulation with known truth: effects N(0.3, 0.06^2) for untouched accounts
    # (the reference's true centre 0.3), a share hit by about -0.4 more (as
    # butfor.audit_sim). With 10% hit the mean is pulled to ~0.26 and the median
    # to ~0.292 (0.3 + 0.06 * Phi^-1(0.4 / 0.9)); the bisquare centre stays
    # within 5% of one account's noise sd of 0.3 (0.003; measured 0.0001 at 10%,
    # 0.0015 at 45%: hits drawn within 3.5 sd of the bulk keep some weight), which
    # shifts an account's z by < 0.05; the mean of 400 centres has MC error
    # ~0.0001. With 45% hit the MAD grows with the gap, and only the scale capped
    # at the accounts' own noise (noise_sd) keeps the centre there. The stated
    # variance is checked
    # against the spread over 400 seeded draws (relative MC error of a variance
    # from 400 draws ~ sqrt(2/400) = 7%).
    centres, variances, medians = [], [], []
    for seed in range(400):
        rng = np.random.default_rng(seed)
        x = rng.normal(0.3, 0.06, 1000)
        hit = rng.random(1000) < share
        x[hit] += rng.normal(-0.4, 0.1, hit.sum())
        c, v = typical_effect(x, noise_sd=noise_sd)
        centres.append(c)
        variances.append(v)
        medians.append(np.median(x))
    centres = np.array(centres)
    se = np.sqrt(np.mean(variances))
    assert abs(centres.mean() - 0.3) < 0.05 * 0.06, (centres.mean(), se)
    assert abs(np.mean(medians) - 0.3) > 0.05 * 0.06  # the median's bias is larger
    assert np.var(centres, ddof=1) == pytest.approx(np.mean(variances), rel=0.2)


def test_typical_effect_without_the_noise_cap_slides_when_half_are_hit():
    # The same simulation, 45% hit, scale from the MAD alone: the window takes the
    # hit accounts in and the centre moves by more than 0.02 (a third of one
    # account's noise), which is why the audit caps the scale at the median se.
    rng = np.random.default_rng(0)
    x = rng.normal(0.3, 0.06, 1000)
    hit = rng.random(1000) < 0.45
    x[hit] += rng.normal(-0.4, 0.1, hit.sum())
    assert typical_effect(x)[0] < 0.28
    assert abs(typical_effect(x, noise_sd=0.06)[0] - 0.3) < 0.01


def test_typical_effect_degenerate_sets():
    # Hand computation: no finite effect gives no centre; more than half identical
    # gives the median with no scale to estimate a variance from.
    assert typical_effect(np.array([np.nan, np.nan])) == (0.0, 0.0)
    assert typical_effect(np.array([1.0, 1.0, 1.0, 5.0])) == (1.0, 0.0)
    c, v = typical_effect(np.array([0.0, 1.0, 2.0, np.nan]))
    assert c == pytest.approx(1.0) and v > 0
