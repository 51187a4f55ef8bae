"""The gates the verdict study (docs/verdict-study.md) added, on hand-made results whose figures
are chosen to hit each rule: a subject already drifting from its peers, a decline dated before
the event, and a known error rate the data could not measure each give `inconclusive`."""

from __future__ import annotations

from test_verdicts import changepoint, effect_analysis, judge, placebo_analysis

# the event is 2022-01-10 (test_verdicts.case_with); with 14 days' tolerance the limit is
# 2021-12-27
EARLY = changepoint("slope", "2021-11-20", "2021-11-01", "2021-12-10", -0.3, 0.2)
AFTER = changepoint("level", "2022-01-11", "2022-01-09", "2022-01-13", -0.3, 0.2)
UNCLEAR = changepoint("level", "2021-12-28", "2021-12-01", "2022-01-12", -0.3, 0.2)


def prepost(pretrend_p: float, slope: float = -0.002) -> dict:
    a = effect_analysis(method="prepost")
    a["pretrend"] = {"p_value": pretrend_p, "slope": slope}
    return a


def test_a_peer_method_without_a_pretrend_reads_the_runs_one():
    # study, pre_decline: peer_effects has no pre-trend test, and a subject falling since 60
    # days before an event that did nothing was supported as targeted in 40 of 40 runs
    peers = placebo_analysis(40, method="peer_effects")
    v = judge("beyond_platform_trend", [peers, prepost(0.01)])
    assert v.verdict == "inconclusive"
    assert "rejects parallel paths" in v.sentence and "in the prepost analysis" in v.sentence
    assert judge("beyond_platform_trend", [peers, prepost(0.4)]).verdict == "supported"


def test_a_decline_dated_before_the_event_stops_the_effect_claims():
    sts = effect_analysis()  # -25% (-35% to -15%), p = 0.001: supported on its own
    assert judge("declined_after", [sts, AFTER]).verdict == "supported"
    v = judge("declined_after", [sts, EARLY])
    assert v.verdict == "inconclusive"
    assert "a decline began before the e" in v.sentence
    assert "pretrend" in v.figures["failed_gates"]
    peers = placebo_analysis(40, method="peer_effects")
    assert judge("targeted", [peers, EARLY]).verdict == "inconclusive"


def test_a_dating_that_cannot_place_the_decline_after_the_event_is_inconclusive():
    v = judge("declined_after", [effect_analysis(), UNCLEAR])
    assert v.verdict == "inconclusive"
    assert "cannot place the change after the event" in v.sentence


def test_an_error_rate_the_data_could_not_measure_is_inconclusive():
    # study, little_data_null: 21 days before the event leave no room for pseudo-events, and
    # the structural time series was supported on false claims in 13% of runs
    a = effect_analysis(warnings=["no false-positive check: the pre-period (21 days) is too "
                                  "short for pseudo-events"])
    v = judge("declined_after", [a])
    assert v.verdict == "inconclusive"
    assert "could not be measured on this data (the pre-period (21 days)" in v.sentence
    assert v.figures["failed_gates"] == ["known_error_rate"]
