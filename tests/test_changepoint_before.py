"""The check for a decline begun before the event, and its power (methods/changepoint_before.py).

References: simulations with known truth (iid Gaussian noise of sd 0.1 on a log series, 300
days, the event on day 200, the claim's tolerance 14 days), and hand-built series for the
tolerance window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from butfor.methods.changepoint_before import before_event, onset_check

DATES = pd.date_range("2022-01-01", periods=300)
EVENT = DATES[200]
D = np.arange(300) - 200  # days from the event


def _series(seed: int, *, step: float = 0.0, ramp_from: int | None = None,
            per_day: float = 0.0, sd: float = 0.1) -> pd.Series:
    rng = np.random.default_rng(seed)
    y = 5 + rng.normal(0, sd, 300) + step * (D >= 0)
    if ramp_from is not None:
        y += per_day * np.clip(D - ramp_from, 0, None)
    return pd.Series(y, index=DATES)


T = np.arange(300.0)
LIMIT = int(np.searchsorted(DATES, EVENT - pd.Timedelta(days=14))) - 1  # last day before it


def _found(s: pd.Series) -> dict:
    return before_event(s, s.to_numpy(), EVENT, 14, "D", min_size=7)


def _check(s: pd.Series) -> dict:  # the check alone, without its power (fast)
    return onset_check(s.to_numpy(), T, 200, LIMIT, direction="fell")


def test_a_step_at_the_event_is_not_a_decline_before_it():
    # a 40% drop at the event (log -0.5, five noise sds): left to the event's own terms in
    # all 40 seeds (the BIC threshold flags iid noise rarely: 0 of 40 here)
    found = [_check(_series(seed, step=-0.5))["found"] for seed in range(40)]
    assert sum(found) <= 2, found


def test_a_ramp_begun_60_days_before_is_found_and_dated_before_the_limit():
    # 0.4% a day from day -60, going on after the event (the verdict study's pre_decline,
    # with a tenth of its noise): found in at least 38 of 40 seeds, dated before the limit
    hits = []
    for seed in range(40):
        c = _check(_series(seed, ramp_from=-60, per_day=-0.004, sd=0.05))
        hits.append(c["found"] and c["onset"] <= LIMIT)
    assert sum(hits) >= 38, hits


def test_a_drop_inside_the_tolerance_is_left_to_it():
    # hand-built: a 30% drop 7 days before the event, within the 14-day tolerance, no noise
    # beyond a tiny wobble: no onset before the limit is needed to explain it
    y = 5 + 0.001 * np.sin(np.arange(300)) - 0.36 * (D >= -7)
    c = onset_check(y, T, 200, LIMIT, direction="fell")
    assert not c["found"], c


def test_power_rises_with_the_size_of_the_decline_and_noise_costs_it():
    # the same design at two noise levels: the curve is read at pre-period pseudo-events with
    # nothing of the real event in them, so a quieter series has the smaller detectable decline
    quiet = _found(_series(1, sd=0.05))
    loud = _found(_series(1, sd=0.3))
    for out in (quiet, loud):
        p = out["power"]
        sizes = -np.asarray(p["effects"])  # declines, most negative first
        power = np.asarray(p["power"])[np.argsort(sizes)]
        assert power[-1] >= power[0]
    assert quiet["power"]["mde_fell"] is not None
    assert loud["power"]["mde_fell"] is None or \
        loud["power"]["mde_fell"] > quiet["power"]["mde_fell"]
    assert quiet["false_positive"]["runs"] == quiet["power"]["runs"]


def test_too_little_data_before_the_event_says_so():
    short = _series(0).iloc[180:]  # 20 days before the event
    out = before_event(short, short.to_numpy(), EVENT, 14, "D", min_size=7)
    assert out["check"] is None and out["power"] is None and "too few" in out["why"]
