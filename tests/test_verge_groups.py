"""The Verge's question on its own data: did right-leaning accounts' daily follower growth
jump relative to left-leaning accounts' after Twitter's board accepted Musk's offer?

Real data: ``../shared/data/verge-follows/`` (Social Blade daily counts, 50 + 50
accounts, 2022-03-28..04-26), read here with pandas directly. References:
pyfixest 0.60 called directly on Social Blade's own ``percent_change`` column
(butfor derives growth from ``followers`` itself), and, for two periods, the
hand-computed difference of the groups' mean changes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from butfor.methods.event_study import GroupDisproportion
from butfor.panel import Panel

EVENT = pd.Timestamp("2022-04-25")
pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def verge(shared_data):
    folder = shared_data / "verge-follows"
    frames, groups = [], {}
    for label, stem in (("right", "conservative"), ("left", "liberal")):
        f = pd.read_csv(folder / f"{stem}-follows.csv", parse_dates=["date"])
        frames.append(f)
        handles = pd.read_csv(folder / f"{stem}-list.csv")["Handle"].str.lower()
        # the lists write handles in another letter case than the panels' usernames
        groups[label] = sorted(u for u in f["username"].unique() if u.lower() in set(handles))
    raw = pd.concat(frames, ignore_index=True)
    data = raw.rename(columns={"username": "unit"})[["unit", "date", "followers",
                                                     "percent_change"]]
    units = pd.DataFrame({"unit": [*groups["right"], *groups["left"]],
                          "group": ["right"] * len(groups["right"])
                          + ["left"] * len(groups["left"])})
    return Panel.from_frame(data, units), groups, raw


def test_groups_match_the_lists(verge):
    _, groups, _ = verge
    assert len(groups["right"]) == 50 and len(groups["left"]) == 50


def test_group_gap_matches_pyfixest_on_social_blade_percent_change(verge):
    panel, groups, raw = verge
    res = GroupDisproportion(window=(-7, 1), transform="pct_change").fit(
        panel, "followers", group_a=groups["right"], group_b=groups["left"], event=EVENT,
        labels=("right", "left"))
    d = raw.copy()
    d["D"] = (d["username"].isin(groups["right"]) & (d["date"] >= EVENT)).astype(float)
    # reference: pyfixest 0.60 on the published percent_change column, clustered by account
    with warnings.catch_warnings():
        # pyfixest drops the one day only the shifted account reports, and says so
        warnings.filterwarnings("ignore", message=".*singleton", category=UserWarning)
        ref = pf.feols("percent_change ~ D | username + date", d, vcov={"CRV1": "username"})
    eff = res.interaction.effect
    assert eff.estimate == pytest.approx(ref.coef()["D"], rel=1e-6)
    assert eff.se == pytest.approx(ref.se()["D"], rel=1e-6)
    assert res.interaction.n_clusters == 100
    # the figures the example's README reports (percentage points of daily growth)
    assert 100 * eff.estimate == pytest.approx(0.7866, abs=0.0005)
    assert 100 * eff.se == pytest.approx(0.1132, abs=0.0005)
    # day by day: nothing before, the jump is on 04-26 (event time 1)
    es = res.event_study
    assert not es.pretrend.rejects(0.05)
    day1 = es.estimate[es.event_times == 1][0]
    day0 = es.estimate[es.event_times == 0][0]
    assert day1 > 10 * abs(day0)


def test_two_period_gap_is_difference_of_mean_changes(verge):
    panel, groups, raw = verge
    res = GroupDisproportion(window=(-1, 0), transform="pct_change").fit(
        panel, "followers", group_a=groups["right"], group_b=groups["left"],
        event=pd.Timestamp("2022-04-26"), labels=("right", "left"),
        start="2022-04-24", end="2022-04-26")
    g = raw.pivot(index="date", columns="username", values="percent_change")
    change = (g.loc["2022-04-26"] - g.loc["2022-04-25"]).dropna()
    # reference: hand computation on Social Blade's percent_change, accounts with both days
    hand = (change[change.index.isin(groups["right"])].mean()
            - change[change.index.isin(groups["left"])].mean())
    assert res.interaction.effect.estimate == pytest.approx(hand, rel=1e-6)
    assert np.isfinite(res.interaction.effect.se)
