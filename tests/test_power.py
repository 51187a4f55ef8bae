"""Power measured on the case's own data: the structural time series at pseudo-events,
`butfor power`, and "not supported" only where the data could have shown the effect.

References: the injected-effect test is checked against :func:`summarise_draws` run on the
scaled observations (the definition it shortcuts); the curve on white noise against the
most powerful test with the mean and variance known (a hand computation: power against a
relative change e over n days is Phi(e mu sqrt(n) / sigma - 1.96)), which no method that
estimates the level can beat by more than the noise of its pseudo-events.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from butfor.case import parse_case
from butfor.ingest_report import IngestReport
from butfor.methods.sts import StructuralTimeSeries
from butfor.methods.sts_pseudo import PseudoForecast, injected_power, sts_pseudo_event_check
from butfor.panel import Panel
from butfor.pipeline import run_case
from butfor.results import summarise_draws
from test_verdicts import assert_sentence_agrees

MU, SIGMA, POST = 1000.0, 100.0, 30


def _oracle_power(e: float, n: int = POST) -> float:
    return float(norm.cdf(abs(e) * MU * np.sqrt(n) / SIGMA - norm.ppf(0.975)))


def test_injected_power_is_summarise_draws_on_the_scaled_observations():
    rng = np.random.default_rng(0)
    forecasts = []
    for k in range(6):
        obs = 50 + 5 * rng.standard_normal(20)
        obs[3] = np.nan  # a missing day adds nothing, as in summarise_draws
        forecasts.append(PseudoForecast(k, obs, 50 + rng.normal(0, 3, (400, 20))
                                        + rng.normal(0, 1.5)))
    effects = np.array([-0.3, -0.1, -0.05, -0.02, 0.02, 0.05, 0.1, 0.3])
    curve = injected_power(forecasts, effects, alpha=0.05, how="test")
    for e, got in zip(effects, curve.power, strict=True):
        hits = []
        for f in forecasts:
            s = summarise_draws(f.observed * (1 + e), f.draws)
            hits.append(s.p_value < 0.05 and np.sign(s.cumulative) == np.sign(e))
        assert got == pytest.approx(np.mean(hits))


def test_sts_power_on_white_noise_against_the_oracle():
    # three white-noise series, 20 pseudo-events each, pooled: the curve sits at or below
    # the oracle's (within the binomial noise of 60 dependent runs) and reaches it by 3x
    pooled = []
    for seed in range(3):
        y = MU + SIGMA * np.random.default_rng(seed).standard_normal(300)
        check = sts_pseudo_event_check(StructuralTimeSeries(seed=seed), y, event_index=270,
                                       n_events=20, n_draws=300, chains=5, post_length=POST,
                                       effects=[0.01, 0.02, 0.05, 0.1, 0.15])
        pooled.append(check.power.power)
        assert check.power.runs == 20
        assert check.false_positive.n_events == 20
    effects = check.power.effects
    power = np.mean(pooled, axis=0)
    for e, p in zip(effects, power, strict=True):
        assert p <= _oracle_power(e) + 0.2, (e, p)
    # the oracle's MDE is 2.80 sigma / (mu sqrt(n)) = 5.1%; three times it is always seen
    assert (power[np.abs(effects) >= 0.15] == 1).all()
    assert (power[np.abs(effects) <= 0.01] <= 0.25).all()


# ---------------------------------------------------------------------------
# through the product
def _white_noise_case(tmp_path, seed: int):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=300)
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"),
                  "views": np.round(MU + SIGMA * rng.standard_normal(300))}).to_csv(
        tmp_path / "acct.csv", index=False)
    text = """methods = ["sts"]

[data]
files = ["acct.csv"]
unit = "acct"

[case]
title = "power check"
seed = 3

[subject]
unit = "acct"

[outcome]
metric = "views"

[[events]]
name = "change"
date = "2024-09-27"

[power]
pseudo_events = 10
smallest_effect = 0.3

[[claims]]
id = "fell"
kind = "declined_after"
allegation = "Views fell after the change."

[[claims]]
id = "fell-small"
kind = "declined_after"
allegation = "Views fell by at least 1%."
smallest_effect = 0.01
"""
    (tmp_path / "case.toml").write_text(text)
    return text


def test_butfor_power_prints_the_mde_and_writes_the_same_json_twice(tmp_path, monkeypatch):
    from butfor.cli import app

    _white_noise_case(tmp_path, 5)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    outputs = []
    for out in ("p1", "p2"):
        result = runner.invoke(app, ["power", "case.toml", "--out", out,
                                     "--store", str(tmp_path / "s.duckdb")])
        assert result.exit_code == 0, result.output
        outputs.append((tmp_path / out / "power.json").read_bytes())
    assert outputs[0] == outputs[1]  # reproducible: same inputs, same bytes
    assert "80% power" in result.output and "sts" in result.output
    doc = json.loads(outputs[0])
    curve = doc["power"][0]["power"]
    assert doc["power"][0]["method"] == "sts" and curve["runs"] == 10
    mde = curve["mde_fell"]
    # white noise: the oracle's MDE is 5.1%; an estimated level cannot do much better
    assert 0.035 < mde < 0.2
    claims = {c["claim"]: c for c in doc["claims"]}
    assert claims["fell"]["detectable"] is True and claims["fell-small"]["detectable"] is False
    assert f"{100 * mde:.1f}%" in result.output


def test_bad_power_section_is_one_sentence(tmp_path, monkeypatch):
    from butfor.cli import app

    text = _white_noise_case(tmp_path, 5).replace("pseudo_events = 10", "pseudo_events = 1")
    (tmp_path / "case.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["power", "case.toml"])
    assert result.exit_code == 2
    assert "pseudo_events" in result.output and "Traceback" not in result.output


def test_power_decides_not_supported_on_the_structural_time_series(tmp_path):
    # no effect at the event: with the smallest effect that matters at 30% (far above the
    # measured MDE) the claim is "not supported"; at 1% (below it) "inconclusive", saying
    # the smallest change the data could detect
    from butfor.case import load_case

    _white_noise_case(tmp_path, 8)
    case = load_case(tmp_path / "case.toml")
    frame = pd.read_csv(tmp_path / "acct.csv").assign(unit="acct")
    panel = Panel.from_frame(frame)
    out = run_case(case, panel, IngestReport(), inputs=[], case_toml=None, command="test")
    v = {x["claim"]: x for x in out.results.verdicts}
    for x in v.values():
        assert_sentence_agrees(x)
        assert x["figures"]["failed_gates"] == [], x["sentence"]
    mde = v["fell"]["figures"]["mde"]
    assert mde is not None and 0.01 < mde < 0.3
    assert v["fell"]["verdict"] == "not supported"
    assert f"could have detected a decline of {100 * mde:.1f}%" in v["fell"]["sentence"]
    assert v["fell-small"]["verdict"] == "inconclusive"
    assert (f"could not detect a change smaller than {100 * mde:.1f}%"
            in v["fell-small"]["sentence"])
    sts = next(a for a in out.results.analyses if a.method == "sts")
    assert sts.power.runs == sts.false_positive.runs == 10  # the same fits


def test_power_section_validates():
    base = {"subject": {"unit": "a"}, "outcome": {"metric": "m"},
            "events": [{"name": "e", "date": "2024-01-01"}]}
    assert parse_case(base).power.effects is None
    assert parse_case({**base, "power": {"effects": [0.1, 0.2]}}).power.effects == [0.1, 0.2]
    with pytest.raises(Exception, match="effects"):
        parse_case({**base, "power": {"effects": [0]}})
