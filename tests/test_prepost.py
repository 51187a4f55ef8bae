"""The pre/post comparison against peers, on simulations with known truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from butfor.methods.prepost import PrePostComparison
from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

EVENT = dt.date(2022, 4, 1)


def config(subject_shock: float, platform_shock: float = -0.2) -> PlatformConfig:
    return PlatformConfig(n_peers=80, days=180, events=(
        EventSpec("e", EVENT, platform_shock=platform_shock, subject_shock=subject_shock),))


def fit(sim):
    peers = [u for u in sim.panel.unit_ids if u != "ava_sterling"]
    return PrePostComparison().fit(sim.panel.wide("impressions"), "ava_sterling", peers,
                                   pd.Timestamp(EVENT), "impressions")


def test_targeted_effect_is_found_and_its_interval_covers_the_truth():
    sim = simulate_platform(config(-0.5), seed=11)
    result = fit(sim)
    post = np.asarray(sim.truth.dates >= pd.Timestamp(EVENT))
    true_cumulative = sim.truth.subject_effect("no_targeting")[post].sum()
    s = result.effect.summary
    assert s.cumulative_lower <= true_cumulative <= s.cumulative_upper
    assert s.cumulative_upper < 0
    assert result.p_value <= 0.05
    assert result.rank <= 4


@pytest.mark.slow
def test_platform_wide_shock_alone_is_rarely_flagged(slow_size):
    # with no targeted shock, the placebo p-value should be roughly uniform: at the 5%
    # level we allow up to 3 rejections in 20 seeds (binomial(20, 0.05): P(X > 3) = 1.6%)
    n = slow_size(ci=20, full_size=100)
    rejections = sum(fit(simulate_platform(config(0.0), seed=s)).p_value <= 0.05
                     for s in range(n))
    limit = 3 if n == 20 else int(0.05 * n + 2.33 * np.sqrt(0.05 * 0.95 * n))
    assert rejections <= limit
