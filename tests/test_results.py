"""Results: summaries from draws checked by hand, JSON reproducible and schema-valid."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from butfor.results import EffectPath, Results, dumps, summarise_draws, validate


def test_summary_from_draws_matches_hand_computation():
    observed = np.array([10.0, 12.0])
    draws = np.array([[11.0, 13.0], [12.0, 14.0], [13.0, 15.0], [14.0, 16.0]])
    s = summarise_draws(observed, draws, level=0.5)
    # cumulative effects per draw: 22-24, 22-26, 22-28, 22-30 = -2, -4, -6, -8
    assert s.cumulative == pytest.approx(-5.0)
    # 25% and 75% quantiles of (-8, -6, -4, -2), linear interpolation: -6.5 and -3.5
    assert (s.cumulative_lower, s.cumulative_upper) == pytest.approx((-6.5, -3.5))
    assert s.average == pytest.approx(-2.5)
    # relative per draw: -2/24, -4/26, -6/28, -8/30; mean by hand
    assert s.relative == pytest.approx(np.mean([-2 / 24, -4 / 26, -6 / 28, -8 / 30]))
    # no draw has a non-negative effect: tail probability 0
    assert s.p_value == 0.0
    assert s.excludes_zero()


def test_relative_effect_keeps_its_sign_when_baseline_is_negative():
    # a metric such as net follower change can have a negative baseline
    observed = np.array([-5.0, -5.0])
    draws = np.full((10, 2), -2.0)  # counterfactual -4 in total, observed -10: effect -6
    s = summarise_draws(observed, draws)
    assert s.cumulative == pytest.approx(-6.0)
    assert s.relative == pytest.approx(-1.5)  # -6 / |-4|, negative as the effect is


def test_missing_observations_are_left_out_of_sums():
    observed = np.array([1.0, np.nan, 3.0])
    draws = np.zeros((3, 3))
    assert summarise_draws(observed, draws).cumulative == pytest.approx(4.0)


def example_results() -> Results:
    dates = np.arange("2022-01-01", "2022-01-05", dtype="datetime64[D]")
    draws = np.array([[1.0, 2.0], [2.0, 3.0]])
    observed = np.array([1.0, 1.0, 0.5, np.nan])
    effect = EffectPath(
        method="demo", unit="u", metric="m", dates=dates, observed=observed,
        counterfactual=np.array([1.0, 1.0, 1.5, 2.5]), lower=np.zeros(4), upper=np.full(4, 3.0),
        event_index=2, summary=summarise_draws(observed[2:], draws),
    )
    # a pre/post comparison: an effect path and its placebo test (butfor.records.kinds)
    analysis = {"id": "a", "method": "prepost", "title": "t", "metric": "m", "description": "d",
                "effect": effect.to_dict(),
                "placebo": {"units": ["p1", "p2"], "statistic": "average log effect",
                            "values": [0.1, -0.2], "subject_value": -0.5, "p_value": 1 / 3,
                            "rank": 1},
                "pretrend": {"statistic": "slope", "slope": 0.0, "p_value": 0.5}}
    return Results(
        case={"title": "x"}, analyses=[json.loads(dumps(analysis))], verdicts=[], damages=None,
        ingest={"rows_read": 0, "rows_kept": 0, "rows_dropped": 0, "rows_repaired": 0,
                "cells_filled": 0, "sources": [], "notes": []},
        provenance={"butfor_version": "0", "versions": {}, "seed": 1, "inputs": [],
                    "command": "butfor demo"},
    )


def test_results_json_is_schema_valid_and_reproducible():
    r = example_results()
    text = r.to_json()
    assert text == example_results().to_json()
    doc = json.loads(text)
    validate(doc)
    assert doc["analyses"][0]["effect"]["observed"][3] is None  # NaN written as null
    assert doc["analyses"][0]["effect"]["event_date"] == "2022-01-03"


def test_schema_rejects_a_bad_verdict():
    doc = json.loads(example_results().to_json())
    doc["verdicts"].append({"claim": "c", "kind": "k", "allegation": "a", "verdict": "probably",
                            "sentence": "s", "figures": {}})
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_floats_are_written_with_twelve_significant_digits():
    assert dumps({"x": 1 / 3}) == '{\n "x": 0.333333333333\n}\n'
