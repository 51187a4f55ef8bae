"""The structural time series' prior on how many controls matter (issue 18 item 3).

References: the Beta posterior of the inclusion probability by hand
computation (conjugacy: pi ~ Beta(a, b) and K Bernoulli(pi) indicators with s
of them on give pi | gamma ~ Beta(a + s, b + K - s)); simulations with known
truth (``butfor.methods._sts_sim``) for coverage and selection.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import beta as beta_dist
from scipy.stats import binom, kstest

from butfor.methods._sts_gibbs import Priors, gibbs
from butfor.methods._sts_sim import simulate_sts_series
from butfor.methods._sts_slab import (
    InclusionBeta,
    draw_inclusion_probability,
    inclusion_prior,
)
from butfor.methods.sts import StructuralTimeSeries


def _fit(s, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return StructuralTimeSeries(**kw).fit(s.y, s.X, dates=s.dates,
                                              event_index=s.event_index)


def test_default_prior_mean_is_three_controls_and_a_number_fixes_it():
    # Reference: hand computation. a + b = 2 (Scott & Berger's Beta(1, 1) weight) and
    # mean 3 / K: for K = 10, a = 0.6, b = 1.4
    prior = inclusion_prior(None, 10)
    assert isinstance(prior, InclusionBeta)
    assert np.isclose(prior.a, 0.6) and np.isclose(prior.b, 1.4)
    assert np.isclose(prior.mean, 0.3)
    assert np.allclose(inclusion_prior(4.0, 10), 0.4)  # fixed, as CausalImpact
    assert np.allclose(inclusion_prior(None, 3), 1.0)  # no more controls than expected
    assert inclusion_prior(None, 0).size == 0


def test_inclusion_probability_draw_is_the_beta_posterior():
    # Reference: hand computation, Beta(0.6 + s, 1.4 + 10 - s) for s = 0, 4, 10
    prior = InclusionBeta(0.6, 1.4)
    rng = np.random.default_rng(1)
    for s in (0, 4, 10):
        draws = draw_inclusion_probability(rng, prior, np.full(4000, s), 10)
        a, b = 0.6 + s, 1.4 + 10 - s
        assert kstest(draws, beta_dist(a, b).cdf).pvalue > 0.001
        assert abs(draws.mean() - a / (a + b)) < 4 * np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))
                                                             / 4000)


def test_sampler_draws_pi_from_its_conditional_given_the_indicators():
    # Reference: hand computation. Each kept pi was drawn after the indicator scan whose
    # result is the kept gamma of the same draw, so Beta(a + s, b + K - s).cdf(pi) must be
    # uniform (probability integral transform) over all kept draws
    rng = np.random.default_rng(4)
    T, K = 300, 6
    W = rng.normal(size=(1, T, K))
    y = np.cumsum(rng.normal(0, 0.02, T)) + W[0] @ np.array([0.6, -0.4, 0.3, 0, 0, 0])
    y = (y + rng.normal(0, 0.5, T))[None].repeat(8, axis=0)
    prior = InclusionBeta(1.0, 1.0)
    draws = gibbs(y, W, n_fixed=0, prior_inclusion=prior, trend="local_level",
                  priors=Priors(), n_keep=150, burn=20, rng=np.random.default_rng(0),
                  flips=3)
    s = draws.gamma.sum(axis=2)
    u = beta_dist(prior.a + s, prior.b + K - s).cdf(draws.inclusion)
    assert draws.inclusion.shape == (8, 150)
    assert kstest(u.ravel(), "uniform").pvalue > 0.001


def test_dense_controls_intervals_cover():
    # Reference: simulation with known truth, all 10 controls drive the outcome
    # (coefficients 0.5-2 per unit of a control of sd about 5). At a 92% coverage rate
    # 12 series cover at least binom.ppf(0.001, 12, 0.92) times
    n, covered, sizes = 12, 0, []
    for i in range(n):
        s = simulate_sts_series(np.random.default_rng(8100 + i), n_active=10,
                                effect_size=0.5 if i % 2 else 0.0)
        res = _fit(s, seed=i)
        sm = res.effect.summary
        covered += sm.cumulative_lower <= s.true_cumulative <= sm.cumulative_upper
        sizes.append(np.nansum(res.inclusion_probability))
        assert res.diagnostics["inclusion_prior"]["kind"] == "beta"
        # the posterior of pi leaves its prior mean of 0.3 when all ten matter
        assert res.diagnostics["inclusion_prior"]["posterior_mean"] > 0.6
    assert covered >= binom.ppf(0.001, n, 0.92), covered
    assert np.mean(sizes) > 9


def test_sparse_controls_still_select_few():
    # Reference: simulation with known truth, 3 of 10 controls drive the outcome
    for i in range(4):
        s = simulate_sts_series(np.random.default_rng(8200 + i))
        res = _fit(s, seed=i)
        active = s.beta != 0
        assert (res.inclusion_probability[active] > 0.9).all()
        assert res.inclusion_probability[~active].mean() < 0.25
        assert np.nansum(res.inclusion_probability) < 5
        assert res.diagnostics["inclusion_prior"]["posterior_mean"] < 0.55


def test_hyperprior_fit_is_deterministic_and_fixed_prior_records_no_pi():
    # Reference: same inputs and seed give the same draws (determinism, DESIGN.md)
    s = simulate_sts_series(np.random.default_rng(8300), T=300, n_pre=250, p=5)
    a, b = _fit(s, seed=3, n_draws=200), _fit(s, seed=3, n_draws=200)
    assert np.array_equal(a.effect.draws, b.effect.draws)
    fixed = _fit(s, seed=3, n_draws=200, expected_model_size=3.0)
    assert fixed.diagnostics["inclusion_prior"] == {"kind": "fixed", "probability": 0.6}
    assert not np.array_equal(a.effect.draws, fixed.effect.draws)


def test_count_model_samples_pi_too():
    # Reference: simulation with known truth (Poisson on a latent log rate, all 6 controls
    # drive it); the hyperprior runs in the count path and leaves its prior mean of 0.5
    from butfor.methods._sts_sim import simulate_count_series

    s = simulate_count_series(np.random.default_rng(11), p=6, log_ratio=0.3)
    res = _fit(s, family="poisson", seed=0, n_draws=300)
    record = res.diagnostics["inclusion_prior"]
    assert record["kind"] == "beta" and np.isclose(record["prior_mean"], 0.5)
    assert record["posterior_mean"] > 0.5
    assert np.isfinite(res.effect.draws).all() and (res.effect.draws >= 0).all()
