"""The structural time series' known error rate where the series wanders (issue 13).

References: simulations with known truth, nothing injected at any date, so every
pseudo-event the model flags is a false positive and every interval should hold zero.

- The model class (``butfor.methods._sts_sim``) without controls, 200 days before the
  event: the pseudo-events are fitted on 56 to 152 days, where the observation noise is
  most of the series and its prior matters most. Measured on seeds 7000-7059 (the CI
  size): 33 of 600 flagged (5.5%) with the observation prior of ``_sts_gibbs.Priors``;
  51 of 600 (8.5%) with CausalImpact's (expected R^2 0.8, 50 observations' worth), which
  the tolerance (48) refuses.
- The verdict study's subject (``tests/verdict_study.py``, scenario ``no_effect``:
  ``butfor.simulate``, attention an AR(1) with coefficient 0.95, pageviews as the
  control; 300 days, event on day 200), fitted as ``butfor run`` fits it (the case's
  settings, 10 pseudo-events of 250 draws in 5 chains).

Tolerances are one-sided binomial at 0.1%: a count beyond ``binom.ppf(0.999, n, p)`` is
evidence that the rate is above p. The pseudo-events of one series share its data, so
they are not independent: the binomial spread is a floor, not the exact spread.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from scipy.stats import binom

from butfor.methods._sts_sim import simulate_sts_series
from butfor.methods.sts import StructuralTimeSeries
from butfor.methods.sts_pseudo import sts_pseudo_event_check

NOMINAL = 0.05


def _flags(y, X, dates, event_index, seed, **settings):
    model = StructuralTimeSeries(seed=seed, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is not what is counted here
        return sts_pseudo_event_check(model, y, X, dates=dates, event_index=event_index,
                                      n_events=10, n_draws=250, chains=5).false_positive


@pytest.mark.slow
def test_pseudo_events_without_controls_flag_at_nominal(slow_size):
    # Reference: simulation with known truth (model class, no controls, level sd from the
    # prior, seeds from 7000), 10 pseudo-events each; about 20 s at CI size
    n_series, flagged = slow_size(ci=60, full_size=200), 0
    for i in range(n_series):
        s = simulate_sts_series(np.random.default_rng(7000 + i), T=300, n_pre=200, p=0,
                                n_active=0)
        flagged += _flags(s.y, None, s.dates, s.event_index, i).n_flagged
    n = 10 * n_series
    assert flagged <= binom.ppf(0.999, n, NOMINAL), (flagged, n)


@functools.cache
def _wander(n_seeds: int = 20) -> tuple[int, int, int]:
    """(pseudo-events flagged, post-period intervals holding zero, seeds) on the subject."""
    from verdict_study import SCENARIOS, case_for, simulate

    from butfor.analyses.sts import sts_inputs

    s = SCENARIOS["no_effect"]
    flagged = covered = 0
    for seed in range(n_seeds):
        inputs = sts_inputs(case_for(s, seed), simulate(s, seed), seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = StructuralTimeSeries(**inputs.settings).fit(
                inputs.y, inputs.X, dates=inputs.dates, post_periods=inputs.periods)
        sm = fit.effect.summary
        covered += sm.cumulative_lower <= 0.0 <= sm.cumulative_upper
        settings = {k: v for k, v in inputs.settings.items() if k != "seed"}
        flagged += _flags(inputs.y, inputs.X, inputs.dates, inputs.periods[0][0], seed,
                          **settings).n_flagged
    return flagged, covered, n_seeds


def test_wander_post_period_interval_covers():
    # Reference: simulation with known truth (the verdict study's subject, no effect,
    # seeds 0-19): the 95% interval of the 100-day cumulative effect holds zero. Measured:
    # 18 of 20 (16 with CausalImpact's observation prior); seeds 0-59: 56 of 60 (53)
    _, covered, n = _wander()
    assert covered >= binom.ppf(0.001, n, 0.92), covered


def test_wander_pseudo_events_within_the_gate_bound():
    # Reference: as above. The known-error-rate gate (butfor.verdicts) allows twice
    # nominal; the rate on this subject must not be above it beyond binomial noise.
    # Measured: 25 of 200 (12.5%; 29 with CausalImpact's observation prior, which this
    # size cannot tell apart); seeds 0-59: 62 of 600 (10.3%; 93 of 600, 15.5%)
    flagged, _, n = _wander()
    assert flagged <= binom.ppf(0.999, 10 * n, 2 * NOMINAL), flagged


@pytest.mark.xfail(strict=True, reason="issue 13, open: a local level under-covers AR(0.95) "
                   "wander at the pseudo-events' horizon (10.3% flagged over seeds 0-59; a "
                   "level prior guess of 0.02 gives 6.3% there but over-covers the model "
                   "class, 99 of 100)")
def test_wander_pseudo_events_at_nominal():
    # Reference: as above, at the nominal rate itself
    flagged, _, n = _wander()
    assert flagged <= binom.ppf(0.999, 10 * n, NOMINAL), flagged
