"""The verdict policy (butfor.verdicts, docs/verdict-policy.md): every failure issue 13 measured
is a regression test here, on hand-made results whose figures are chosen to hit each rule,
and every sentence is checked against the figures of its own verdict."""

from __future__ import annotations

import math

import pytest

from butfor.case import parse_case
from butfor.claims import evaluate_claims
from butfor.verdicts import band_words, p_words
from record_fixtures import record


def case_with(kind: str, **claim):
    return parse_case({
        "subject": {"unit": "s"}, "outcome": {"metric": "m", "transform": "log1p"},
        "events": [{"name": "e", "date": "2022-01-10"}],
        "claims": [{"id": "c", "kind": kind, "allegation": "a", **claim}],
    })


def effect_analysis(method="sts", rel=(-0.25, -0.35, -0.15), p=0.001, **extra) -> dict:
    cum = [1000 * r for r in rel]
    summary = {"average": cum[0] / 10, "average_lower": cum[1] / 10,
               "average_upper": cum[2] / 10, "cumulative": cum[0], "cumulative_lower": cum[1],
               "cumulative_upper": cum[2], "relative": rel[0], "relative_lower": rel[1],
               "relative_upper": rel[2], "p_value": p, "level": 0.95}
    return {"id": method, "method": method, "title": method, "metric": "m", "event": "e",
            "description": "", "effect": {"unit": "s", "summary": summary,
                                          "event_date": "2022-01-10", "diagnostics": {}},
            **extra}


def judge(kind: str, analyses: list[dict], groups=None, **claim):
    (verdict,) = evaluate_claims(case_with(kind, **claim), [record(a) for a in analyses], None,
                                 groups)
    assert_sentence_agrees(verdict.to_dict())
    return verdict


def assert_sentence_agrees(v: dict) -> None:
    """No sentence contradicts its verdict: its interval, p and direction are the figures'."""
    f, sentence = v["figures"], v["sentence"]
    if v["kind"] in ("declined_after", "disproportionate") and f.get("relative_effect") is not None:
        band = band_words(f["relative_effect"], f["relative_lower"], f["relative_upper"],
                          f["p_value"])
        assert band in sentence, (band, sentence)
    if v["kind"] in ("beyond_platform_trend", "targeted") and f.get("p_value") is not None:
        assert p_words(f["p_value"]) in sentence
        assert f"ranks {f['rank']} of {f['placebo_units'] + 1}" in sentence
    if f.get("relative_upper") is not None and f.get("relative_lower") is not None:
        whole = ("lower" if f["relative_upper"] < 0 else
                 "higher" if f["relative_lower"] > 0 else None)
        # a supported verdict's interval lies wholly on the claimed side
        if v["verdict"] == "supported" and f.get("direction") == "fell":
            assert whole == "lower"
        if v["verdict"] == "supported" and f.get("direction") == "rose":
            assert whole == "higher"
    failed = [g for g in v.get("gates", []) if not g["passed"]]
    if failed:
        assert v["verdict"] == "inconclusive"
        for g in failed:
            assert g["reading"] in sentence
    if v["verdict"] == "supported":
        assert "inconclusive" not in sentence.lower() and "could not" not in sentence
        assert all(g["passed"] for g in v.get("gates", []))


# --- gates: a failed check makes the verdict inconclusive, naming the check and value ---
def test_non_convergence_gives_inconclusive_with_the_r_hat():
    # issue 13: sts with n_draws = 500 flagged R-hat 1.54 and the verdict stayed supported
    a = effect_analysis(convergence={"max_rhat": 1.54, "ess": {"sigma_level": 31.0},
                                     "converged": False})
    v = judge("declined_after", [a])
    assert v.verdict == "inconclusive"
    assert "R-hat 1.540" in v.sentence and "effective sample size 31" in v.sentence
    assert v.figures["failed_gates"] == ["convergence"]


def test_a_converged_sampler_passes_and_states_its_ess():
    a = effect_analysis(convergence={"max_rhat": 1.01, "ess": {"sigma_level": 400.0}})
    v = judge("declined_after", [a])
    assert v.verdict == "supported"
    (gate,) = [g for g in v.gates if g["name"] == "convergence"]
    assert gate["passed"] and "400" in gate["reading"]


def test_a_high_known_error_rate_gives_inconclusive():
    # issue 13: 3 of 5 pseudo-events flagged (60%, nominal 5%) and the verdict was supported
    a = effect_analysis(false_positive={"rate": 0.6, "n_flagged": 3, "runs": 5, "alpha": 0.05})
    v = judge("declined_after", [a])
    assert v.verdict == "inconclusive"
    assert "known error rate on this data is 60%, 3 of 5 pseudo-events" in v.sentence


def test_an_error_rate_at_twice_nominal_still_passes():
    a = effect_analysis(false_positive={"rate": 0.1, "n_flagged": 1, "runs": 10, "alpha": 0.05})
    assert judge("declined_after", [a]).verdict == "supported"


def disproportion(est=-0.043, lo=-0.066, hi=-0.020, p=0.0003, pretrend_p=0.41) -> dict:
    return {"id": "g", "method": "group_disproportion", "title": "g", "metric": "m",
            "event": "e", "description": "",
            "estimate": {"estimate": est, "lower": lo, "upper": hi, "p_value": p,
                         "level": 0.95},
            "group_disproportion": {"group_a": "left", "group_b": "right",
                                    "event_study": {"pretrend": {"p_value": pretrend_p},
                                                    "event_times": [], "estimate": []}}}


def test_a_rejected_pretrend_gives_inconclusive():
    # issue 13: on a real two-group panel the pre-trend test rejected (p = 6e-5) and the
    # disproportionate verdict was supported regardless
    v = judge("disproportionate", [disproportion(pretrend_p=6e-5)], group_a="left",
              group_b="right")
    assert v.verdict == "inconclusive"
    assert "pre-trend test rejects parallel paths" in v.sentence and "p < 0.001" in v.sentence


def test_disproportion_supported_states_a_percentage():
    v = judge("disproportionate", [disproportion()], group_a="left", group_b="right")
    assert v.verdict == "supported"
    # exp(-0.043) - 1 = -4.2%: the log-scale difference is stated as a percentage (#17 item 8)
    assert "4.2% lower" in v.sentence


def test_an_interval_spanning_zero_is_inconclusive_not_not_supported():
    # issue 13: claims._disproportionate returned "not supported" for an interval spanning 0
    v = judge("disproportionate", [disproportion(est=-0.05, lo=-0.2, hi=0.1, p=0.4)],
              group_a="left", group_b="right")
    assert v.verdict == "inconclusive"
    assert "too wide to rule out a decline of 10.0%" in v.sentence


def test_a_narrow_interval_around_zero_is_not_supported():
    # -0.02 to +0.03 on the log scale excludes any fall of 10% (log 0.9 = -0.105)
    v = judge("disproportionate", [disproportion(est=0.005, lo=-0.02, hi=0.03, p=0.7)],
              group_a="left", group_b="right")
    assert v.verdict == "not supported"
    assert "rules out a decline of 10.0% or more" in v.sentence


def test_a_degenerate_flag_gives_inconclusive():
    a = effect_analysis(flags=[{"name": "exact_fit", "values": {}, "message":
                                "synthetic control matches a mostly missing panel exactly"}])
    v = judge("declined_after", [a])
    assert v.verdict == "inconclusive" and "mostly missing panel" in v.sentence


def test_a_missing_interval_is_inconclusive_not_a_traceback():
    # issue 17: sts on an all-constant series gave cumulative_upper = None -> TypeError
    a = effect_analysis()
    a["effect"]["summary"].update(cumulative_upper=None, relative_upper=None)
    v = judge("declined_after", [a])
    assert v.verdict == "inconclusive" and "no finite estimate" in v.sentence


# --- direction ---------------------------------------------------------------------
def test_a_rise_claim_is_supported_by_a_rise_and_not_by_a_fall():
    rise = effect_analysis(rel=(1.44, 1.14, 1.84))  # replies +144% (+114% to +184%), issue 13
    assert judge("declined_after", [rise], direction="rose").verdict == "supported"
    assert judge("declined_after", [rise], direction="changed").verdict == "supported"
    v = judge("declined_after", [rise], direction="fell")
    assert v.verdict == "not supported" and "144.0% higher" in v.sentence


# --- power decides "not supported" -----------------------------------------------
def test_power_decides_between_not_supported_and_inconclusive():
    wide = (-0.05, -0.30, 0.25)  # includes zero and a 10% fall
    powered = {"effects": [-0.1, 0.1], "power": [0.9, 0.9], "mde_fell": 0.06, "mde_rose": 0.07,
               "alpha": 0.05, "runs": 10, "how": "at 10 pseudo-events"}
    weak = {**powered, "mde_fell": 0.4, "mde_rose": 0.4}
    v = judge("declined_after", [effect_analysis(rel=wide, p=0.6, power=powered)])
    assert v.verdict == "not supported" and "6.0% with 80% power" in v.sentence
    v = judge("declined_after", [effect_analysis(rel=wide, p=0.6, power=weak)])
    assert v.verdict == "inconclusive"
    assert "could not detect a change smaller than 40.0%" in v.sentence
    # a stated smallest effect of interest of 50% is within reach of the weak design
    v = judge("declined_after", [effect_analysis(rel=wide, p=0.6, power=weak)],
              smallest_effect=0.5)
    assert v.verdict == "not supported"


# --- placebo designs that cannot reach the level -----------------------------------
def placebo_analysis(n: int, subject=-0.4, method="sdid") -> dict:
    a = effect_analysis(method=method, rel=(-0.30, -0.327, -0.267), p=1 / (n + 1))
    values = [0.01 * (k - n / 2) for k in range(n)]
    a["placebo"] = {"units": [f"u{k}" for k in range(n)], "values": values,
                    "subject_value": subject, "p_value": 1 / (n + 1), "rank": 1}
    return a


def test_eight_peers_can_never_support_and_the_sentence_says_so():
    # issue 17: interval -32.7% to -26.7% but p = 0.111, the smallest p with 8 peers, and the
    # sentence said "the interval includes no effect ... too wide"
    v = judge("beyond_platform_trend", [placebo_analysis(8)])
    assert v.verdict == "inconclusive"
    assert "1/9 = 0.111" in v.sentence and "cannot support the claim" in v.sentence
    assert "at least 19 peers" in v.sentence
    assert "includes no effect" not in v.sentence and "too wide" not in v.sentence


def test_too_few_peers_in_the_own_group_for_targeting():
    a = placebo_analysis(40, method="peer_effects")
    groups = {"s": "left", **{f"u{k}": ("left" if k < 5 else "right") for k in range(40)}}
    v = judge("targeted", [a], groups)
    assert v.verdict == "inconclusive" and "with 5 peers in the subject's group" in v.sentence


# --- not_preexisting: the sentence says what was checked, and one dating is read ----------
def changepoint(model: str, onset: str, lower: str, upper: str, change: float, sigma: float):
    return {"id": f"cp:{model}", "method": "changepoint", "metric": "m", "title": "cp",
            "description": "", "changepoint": {"model": model, "onset": onset,
                                               "onset_lower": lower, "onset_upper": upper,
                                               "change": change, "sigma": sigma}}


def test_no_peers_no_sentence_about_the_peers():
    # issue 13: a case with no peers got "no pre-trend against the peers"
    cps = [changepoint("level", "2022-01-11", "2022-01-09", "2022-01-13", -0.3, 0.30)]
    v = judge("not_preexisting", cps, event="e")
    assert v.verdict == "supported"
    assert "against the peers does not" not in v.sentence
    assert "no pre-trend test was possible (it needs peers)" in v.sentence


def test_the_verdict_reads_the_better_fitting_dating_and_names_it():
    # the demo's case (issue 17): the slope model dates a bend 168 days early with a range
    # spanning the event; the level model fits better and dates the drop to the event
    cps = [changepoint("level", "2022-01-11", "2022-01-09", "2022-01-13", -0.3, 0.326),
           changepoint("slope", "2021-07-26", "2021-03-01", "2022-06-01", -0.002, 0.331)]
    v = judge("not_preexisting", cps, event="e")
    assert v.figures["changepoint_analysis"] == "cp:level"
    assert "level model, the one that fits the series best" in v.sentence


def test_an_early_decline_is_not_supported():
    cps = [changepoint("level", "2021-10-01", "2021-09-20", "2021-10-10", -0.3, 0.3)]
    v = judge("not_preexisting", cps, event="e")
    assert v.verdict == "not supported" and "before 2021-12-27" in v.sentence


def test_gates_are_schema_valid():
    import jsonschema

    from butfor.results import load_schema

    schema = load_schema()
    v = judge("declined_after", [effect_analysis(convergence={"max_rhat": 1.2})])
    jsonschema.validate(v.to_dict(), {"$defs": schema["$defs"], "$ref": "#/$defs/verdict"})
    assert math.isclose(v.gates[1]["value"], 1.2)


@pytest.mark.parametrize("rel", [(-0.2, -0.3, -0.1), (0.2, 0.1, 0.3), (-0.01, -0.3, 0.3),
                                 (0.001, -0.02, 0.02)])
@pytest.mark.parametrize("direction", ["fell", "rose", "changed"])
def test_no_sentence_contradicts_its_verdict(rel, direction):
    v = judge("declined_after", [effect_analysis(rel=rel, p=0.01 if rel[1] * rel[2] > 0
                                                 else 0.5)], direction=direction)
    shows = {"fell": rel[2] < 0, "rose": rel[1] > 0, "changed": rel[2] < 0 or rel[1] > 0}
    assert (v.verdict == "supported") == shows[direction]
