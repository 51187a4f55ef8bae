"""Each account against its own off-platform controls, on simulations with known truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from butfor.analyses.peer_effects import analyses_for_case
from butfor.case import parse_case
from butfor.errors import DataError
from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

EVENT = dt.date(2022, 5, 1)


def run(subject_shock: float, platform_shock: float, seed: int, **case_extra):
    cfg = PlatformConfig(n_peers=80, days=200, events=(
        EventSpec("e", EVENT, platform_shock=platform_shock, subject_shock=subject_shock,
                  ramp_days=1),))
    sim = simulate_platform(cfg, seed=seed)
    case = parse_case({
        "subject": {"unit": "ava_sterling"}, "outcome": {"metric": "impressions"},
        "events": [{"name": "e", "date": EVENT}], "controls": {"metric": "pageviews"},
        **case_extra,
    })
    (analysis,) = analyses_for_case(case, sim.panel, seed=0)
    return analysis, sim


def test_recovers_the_targeted_shift_beyond_the_platform_wide_one():
    # truth: reach falls by 0.5 (log) for the subject on top of 0.2 for everyone; pageviews
    # share each account's attention and are untouched. The exact targeted effect is the
    # simulator's observed over no-targeting impressions (same noise), averaged on the log
    # scale over the post days; the platform-wide 0.2 is what the typical peer lost.
    analysis, sim = run(-0.5, -0.2, seed=3)
    t = sim.truth
    post = np.asarray(t.dates >= np.datetime64(EVENT))
    truth = np.mean(np.log1p(t.impressions[post]) - np.log1p(t.impressions_no_targeting[post]))
    placebo = analysis["placebo"]
    # 0.1 is one and a half standard deviations of the peers' own placebo effects here (0.066)
    assert placebo["subject_value"] == pytest.approx(truth, abs=0.1)
    assert placebo["p_value"] <= 0.05
    s = analysis["effect"]["summary"]
    assert s["cumulative_upper"] < 0


@pytest.mark.slow
def test_a_platform_wide_shock_alone_is_rarely_flagged(slow_size):
    # the placebo p-value is a rank among 80 peers: under no targeted shock it is uniform,
    # so at 5% at most 3 of 20 seeds may reject (binomial(20, 0.05): P(X > 3) = 1.6%)
    n = slow_size(ci=20, full_size=100)
    rejections = sum(run(0.0, -0.4, seed=s)[0]["placebo"]["p_value"] <= 0.05 for s in range(n))
    limit = 3 if n == 20 else int(0.05 * n + 2.33 * np.sqrt(0.05 * 0.95 * n))
    assert rejections <= limit


def test_needs_an_off_platform_control_metric():
    cfg = PlatformConfig(n_peers=5, days=60, events=())
    sim = simulate_platform(cfg, seed=1)
    case = parse_case({"subject": {"unit": "ava_sterling"}, "outcome": {"metric": "impressions"},
                       "events": [{"name": "e", "date": "2022-02-01"}]})
    with pytest.raises(DataError, match=r"\[controls\] metric"):
        analyses_for_case(case, sim.panel, seed=0)


def test_a_real_collapse_is_not_flagged_as_an_edge_estimate():
    # truth: the subject's reach falls by 6 (log), to 0.25% of what it was, and no one
    # else's does: beyond a factor of 100, but no peer's placebo comes near it (p = 1/81),
    # so it is evidence, not an artefact (butfor.methods._flags, edge_estimate)
    analysis, _ = run(-6.0, -0.2, seed=3)
    assert analysis["effect"]["summary"]["relative"] <= -0.99
    assert analysis["placebo"]["p_value"] == pytest.approx(1 / 81)
    assert "flags" not in analysis
