"""Counts in the structural time series: a Poisson observation on a latent log rate.

References: numerical integration of the one-dimensional conditional the latent
step samples (a hand computation by quadrature), and simulations with known truth
(``butfor.methods._sts_sim.simulate_count_series``: counts with and without the
effect share their uniforms, so the truth is exact).
"""

from __future__ import annotations

import json
import math
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.stats import binom
from typer.testing import CliRunner

from butfor.cli import app
from butfor.methods._sts_counts import CountObservation, update_latent
from butfor.methods._sts_sim import simulate_count_series
from butfor.methods.sts import StructuralTimeSeries


@pytest.mark.parametrize(("count", "m", "v"), [(0, 0.5, 0.3), (3, 1.0, 0.2), (40, 2.0, 1.0)])
def test_latent_step_samples_its_conditional(count, m, v):
    """Repeated Metropolis-Hastings sweeps leave p(x | y) = Poisson(y; e^x) N(x; m, v)
    invariant: their draws' mean and variance match the conditional's, by quadrature."""
    def density(x):
        return math.exp(count * x - math.exp(x) - 0.5 * (x - m) ** 2 / v)

    lo, hi = m - 12 * math.sqrt(v), m + 12 * math.sqrt(v)
    z = integrate.quad(density, lo, hi, limit=200)[0]
    mean = integrate.quad(lambda x: x * density(x), lo, hi, limit=200)[0] / z
    var = integrate.quad(lambda x: (x - mean) ** 2 * density(x), lo, hi, limit=200)[0] / z

    n = 20000  # independent chains, one latent day each; standardised scale loc 0, scale 1
    rng = np.random.default_rng(1)
    obs_model = CountObservation(np.full((n, 1), float(count)), 0.0, 1.0)
    x = np.full((n, 1), m + 3.0 * math.sqrt(v))  # start far off, in the tail
    observed = np.ones((n, 1), dtype=bool)
    for _ in range(30):
        x, rate = update_latent(rng, obs_model, x, np.full((n, 1), m), np.full(n, v), observed)
    assert rate > 0.8  # the Laplace proposal fits a log-concave conditional well
    se = math.sqrt(var / n)
    assert abs(x.mean() - mean) < 4 * se
    assert x.var() == pytest.approx(var, rel=0.05)


def test_count_model_recovers_a_rate_ratio_and_draws_counts():
    rng = np.random.default_rng(3)
    s = simulate_count_series(rng, log_ratio=math.log(0.6), mean_count=2.0)
    res = StructuralTimeSeries(family="poisson", seed=3, burn=200, n_draws=3000).fit(
        s.y, s.X, dates=s.dates, event_index=s.event_index)
    summary = res.effect.summary
    assert summary.cumulative_lower <= s.true_cumulative <= summary.cumulative_upper
    assert summary.relative_upper < 0  # a 40% fall at two a day is detected
    draws = res.effect.draws
    assert (draws >= 0).all() and (draws == np.round(draws)).all()  # counterfactual counts
    assert 0.5 < res.diagnostics["latent_acceptance"] <= 1.0


@pytest.mark.parametrize(("kw", "words"), [
    ({"transform": "log1p"}, "use transform=\"none\""),
])
def test_count_model_settings_are_checked(kw, words):
    s = simulate_count_series(np.random.default_rng(0))
    with pytest.raises(Exception, match=words):
        StructuralTimeSeries(family="poisson", **kw).fit(s.y, s.X, dates=s.dates,
                                                         event_index=s.event_index)


def test_count_model_refuses_fractional_counts():
    s = simulate_count_series(np.random.default_rng(0))
    y = s.y.copy()
    y[5] = 2.5
    with pytest.raises(Exception, match="negative or fractional"):
        StructuralTimeSeries(family="poisson").fit(y, s.X, dates=s.dates,
                                                   event_index=s.event_index)


@pytest.mark.slow
def test_count_model_intervals_cover_and_rarely_flag_a_null(slow_size):
    """Coverage of the true cumulative effect and the false-positive rate at no effect,
    on series from the model class (half null, half a rate ratio of 0.6-0.9 or 1.1-1.65).

    Measured (60 series each, this simulation): coverage 98.3% at 3 a day and 100% at
    0.7 a day, no false positive in 30 nulls: the intervals are conservative (the z-scores
    of the truth have sd 0.70-0.81, not 1). The test holds coverage to the 92% floor the
    Gaussian model meets and the null rate to 6%, in binomial acceptance regions."""
    n = slow_size(ci=16, full_size=200)
    covered, flags = 0, 0
    for i in range(n):
        rng = np.random.default_rng(7000 + i)
        null = i % 2 == 0
        lr = 0.0 if null else float(rng.choice([-1, 1]) * rng.uniform(0.1, 0.5))
        s = simulate_count_series(rng, log_ratio=lr, mean_count=[0.7, 3.0][i % 4 // 2])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence is the verdict gate's business
            res = StructuralTimeSeries(family="poisson", seed=i).fit(
                s.y, s.X, dates=s.dates, event_index=s.event_index)
        sm = res.effect.summary
        covered += sm.cumulative_lower <= s.true_cumulative <= sm.cumulative_upper
        flags += null and sm.p_value < 0.05
    assert covered >= binom.ppf(0.001, n, 0.92), f"{covered} of {n} covered"
    assert flags <= binom.ppf(0.999, n // 2, 0.06), f"{flags} of {n // 2} nulls flagged"


CASE = """\
methods = ["sts"]

[case]
title = "Replies to Ava after the change"
seed = 2

[data]
files = ["ava.csv"]

[subject]
unit = "ava"

[outcome]
metric = "replies"
family = "poisson"

[controls]
metric = "pageviews"

[[events]]
name = "change"
date = "{date}"

[[claims]]
id = "fell"
kind = "declined_after"
event = "change"
allegation = "Replies to me fell after the change."
"""


def test_count_model_through_butfor_run(tmp_path):
    s = simulate_count_series(np.random.default_rng(11), log_ratio=math.log(0.6),
                              mean_count=2.0, p=1)
    frame = pd.DataFrame({"unit": "ava", "date": s.dates.strftime("%Y-%m-%d"),
                          "replies": s.y.astype(int), "pageviews": np.round(s.X[:, 0] * 100)})
    frame.to_csv(tmp_path / "ava.csv", index=False)
    date = s.dates[s.event_index].strftime("%Y-%m-%d")
    (tmp_path / "case.toml").write_text(textwrap.dedent(CASE.format(date=date)))
    result = CliRunner().invoke(app, ["run", str(tmp_path / "case.toml"), "--out",
                                      str(tmp_path / "out"), "--store",
                                      str(tmp_path / "s.duckdb")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    (sts,) = [a for a in doc["analyses"] if a["method"] == "sts"]
    assert sts["settings"]["family"] == "poisson"
    summary = sts["effect"]["summary"]
    assert summary["cumulative_lower"] <= s.true_cumulative <= summary["cumulative_upper"]
    (verdict,) = doc["verdicts"]
    assert verdict["verdict"] in ("supported", "inconclusive"), verdict
