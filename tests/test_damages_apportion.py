"""Apportionment on the simulated platform, whose truth is known (issue 21, finding 3).

The simulator injects, on log reach: at the ownership change −0.08 for every
account, −0.05 more for the left group and −0.30 for the subject alone; at the
verification change −0.04 for everyone. Its noise does not depend on the
shocks, so a second simulation with one event's shock removed (same seed)
gives that event's exact counterfactual. Truths, summed from the ownership
change to the end of the data:

- event 2's loss: impressions had event 2 not happened − observed;
- event 1's loss: the total (no events − observed) less event 2's;
- the targeted loss: impressions without the subject's own shocks − observed.
"""

from __future__ import annotations

import dataclasses
import tomllib

import numpy as np
import pytest

from butfor.case import parse_case
from butfor.damages.apportionment import StepRegression
from butfor.ingest_report import IngestReport
from butfor.simulate import PlatformConfig, simulate_platform

CONFIG = PlatformConfig(n_peers=40)
SEED = 2022


@pytest.fixture(scope="module")
def platform():
    sim = simulate_platform(CONFIG, seed=SEED)
    first, second = CONFIG.events
    without_2 = dataclasses.replace(CONFIG, events=(first, dataclasses.replace(
        second, platform_shock=0.0)))
    t = sim.truth
    post = np.asarray(t.dates >= np.datetime64(first.date))
    e2 = (simulate_platform(without_2, seed=SEED).truth.impressions - t.impressions)[post].sum()
    total = (t.impressions_no_events - t.impressions)[post].sum()
    targeted = (t.impressions_no_targeting - t.impressions)[post].sum()
    return sim, {"total": total, "event 1": total - e2, "event 2": e2, "targeted": targeted}


def _inside(draws: np.ndarray, truth: float) -> bool:
    lo, hi = np.quantile(draws, [0.05, 0.95])
    return bool(lo <= truth <= hi)


def test_step_regression_recovers_each_event_and_the_targeted_loss(platform):
    sim, truth = platform
    p, subject = sim.panel, CONFIG.subject
    peers = [u for u in p.unit_ids if u != subject]
    dates = np.asarray(sim.truth.dates.values).astype("datetime64[D]")
    fit = StepRegression(seed=1).fit(
        dates, p.wide("impressions")[subject].to_numpy(), p.wide("pageviews")[[subject]].to_numpy(),
        [(e.name, e.date) for e in CONFIG.events],
        peer_outcome=np.log1p(p.wide("impressions")[peers]).mean(axis=1).to_numpy(),
        peer_controls=np.log1p(p.wide("pageviews")[peers]).mean(axis=1).to_numpy()[:, None])
    # each truth inside the model's 90% interval
    assert _inside(fit.total_loss, truth["total"])
    assert _inside(fit.event_loss[:, 0], truth["event 1"])
    assert _inside(fit.event_loss[:, 1], truth["event 2"])
    assert _inside(fit.targeted_loss, truth["targeted"])
    # the events' losses add up to the total, draw by draw (the decomposition telescopes)
    np.testing.assert_allclose(fit.event_loss.sum(axis=1), fit.total_loss, rtol=1e-9)
    # and the first event carries almost all of it, as injected (shift −0.43 against −0.04)
    assert np.median(fit.shares()[:, 0]) > 0.9


CASE = """
methods = ["sts", "prepost"]
[case]
seed = 3
[subject]
unit = "ava_sterling"
[outcome]
metric = "impressions"
transform = "log1p"
[[events]]
name = "ownership change"
date = "2022-10-27"
[[events]]
name = "verification change"
date = "2023-04-20"
[peers]
groups = ["left", "right"]
[controls]
metric = "pageviews"
[sts]
n_draws = 100
pseudo_events = 0
[[claims]]
id = "amount"
kind = "claimed_amount"
allegation = "worth $400 million"
event = "verification change"
amount = 400_000_000
[damages]
discount_rate = 0.05
[[damages.pricing]]
kind = "cpm"
rate = 25.0
rate_low = 15.0
rate_high = 40.0
[[damages.persistence]]
kind = "none"
"""


@pytest.fixture(scope="module")
def run(platform):
    from butfor.pipeline import run_case

    sim, _ = platform
    case = parse_case(tomllib.loads(CASE), CASE)
    return run_case(case, sim.panel, IngestReport(), inputs=[], case_toml=CASE,
                    command="test").results


def test_finding_3_priced_to_the_end_of_the_data_with_every_event(run):
    d = run.damages
    # the window used to stop the day before the second event (2023-04-19)
    assert str(d["data_end"]) == "2023-07-01"
    assert [e["name"] for e in d["events_priced"]] == ["ownership change",
                                                       "verification change"]
    table = d["apportionment"]
    assert [r["name"] for r in table["events"]] == ["ownership change", "verification change"]
    assert table["targeted"]["damages"]["median"] > 0


def test_finding_3_each_money_claim_prices_its_own_event(run):
    (verdict,) = run.verdicts
    part = run.damages["apportionment"]["by_event"]["verification change"]
    assert verdict["figures"]["event"] == "verification change"
    assert verdict["figures"]["median"] == part["quantiles"]["50"]
    # the second event's part is a small share of the whole
    assert part["quantiles"]["50"] < 0.5 * run.damages["scenarios"][0]["quantiles"]["50"]


def test_finding_5_sensitivity_and_each_methods_distribution(run):
    d = run.damages
    names = [r["assumption"] for r in d["sensitivity"]["rows"]]
    assert "cpm (impressions): rate" in names and "discount rate" in names
    assert {m["method"] for m in d["by_method"]} == {"sts", "prepost"}
