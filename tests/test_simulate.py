"""The demo platform: seeded, with exact counterfactuals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

SMALL = PlatformConfig(n_peers=20, days=120, events=(
    EventSpec("e", dt.date(2022, 3, 1), platform_shock=-0.1, group_shocks={"left": -0.1},
              subject_shock=-0.3, ramp_days=1),
))


def test_same_seed_same_panel_other_seed_other_panel():
    a = simulate_platform(SMALL, seed=5).panel.data
    b = simulate_platform(SMALL, seed=5).panel.data
    c = simulate_platform(SMALL, seed=6).panel.data
    pd.testing.assert_frame_equal(a, b)
    assert not a["impressions"].equals(c["impressions"])


def test_panel_shape_and_fictional_accounts():
    sim = simulate_platform(SMALL, seed=1)
    p = sim.panel
    assert len(p.unit_ids) == 21 and len(p.dates) == 120
    assert set(p.metrics) == {"followers", "posts", "impressions", "engagements", "pageviews"}
    assert p.units.set_index("unit").loc["ava_sterling", "group"] == "left"
    assert (p.data[p.metrics] >= 0).all().all()


def test_truth_is_zero_before_the_event_and_the_injected_shift_after():
    sim = simulate_platform(SMALL, seed=2)
    t = sim.truth
    before = np.asarray(t.dates < pd.Timestamp("2022-03-01"))
    assert np.all(t.subject_effect("no_targeting")[before] == 0)
    assert np.all(t.subject_effect("no_events")[before] == 0)
    # on the event day the reach shift is -0.3 (targeted) on the log scale, and follower
    # growth that day is slowed by 0.01 * shift / 7 (simulate.run), so by hand the ratio is
    # exp(-0.3 - 0.3 * 0.01 / 7), up to rounding counts to whole numbers
    day = int(np.argmax(~before))
    ratio = t.impressions[day] / t.impressions_no_targeting[day]
    assert abs(ratio - np.exp(-0.3 * (1 + 0.01 / 7))) < 2e-5
    total = t.impressions[day] / t.impressions_no_events[day]
    # -0.1 platform, -0.1 group "left", -0.3 subject
    assert abs(total - np.exp(-0.5 * (1 + 0.01 / 7))) < 2e-5
    # the injected shift table agrees
    assert t.log_reach_effect.iloc[day]["ava_sterling"] == np.float64(-0.5)


def test_pageviews_do_not_move_at_the_event():
    cfg = PlatformConfig(n_peers=20, days=120, events=(
        EventSpec("e", dt.date(2022, 3, 1), platform_shock=-1.0, ramp_days=1),))
    quiet = PlatformConfig(n_peers=20, days=120, events=())
    a = simulate_platform(cfg, seed=3).panel.wide("pageviews")
    b = simulate_platform(quiet, seed=3).panel.wide("pageviews")
    pd.testing.assert_frame_equal(a, b)
