"""Calibration of the structural time series on simulated series with known effects.

Reference: simulation with known truth (``butfor.methods._sts_sim``), drawn
from the model class the estimator fits, with the level's sd drawn from the
estimator's own prior; half the series have no effect, the others a step or
a ramp of 0.2 to 1 noise sd a day. ``benchmarks/sts_benchmark.py --calibration``
runs the same check on 200 series per variant, misspecified ones included.

Targets (issue 3): 95% intervals cover the true cumulative effect in 92-98%
of series; at zero effect the tail probability is below 0.05 in at most 6%.
At full size (``--full``, 200 series) the measured figures must lie in those
bands. At CI size the counts must lie in a binomial acceptance region derived
from the size (see ``_region``), so a method that is clearly off still fails.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import binom

from butfor.methods._sts_sim import simulate_sts_series
from butfor.methods.sts import StructuralTimeSeries


def _region(n: int, p_low: float, p_high: float, tail: float = 0.001) -> tuple[int, int]:
    """Counts out of n consistent with a true rate in [p_low, p_high].

    Lower end: the 0.1% quantile of Binomial(n, p_low); upper end: the 99.9%
    quantile of Binomial(n, p_high). A method whose true rate lies in the band
    fails with probability below 0.2%.
    """
    return int(binom.ppf(tail, n, p_low)), int(binom.ppf(1 - tail, n, p_high))


def run_calibration(n: int, *, seed0: int = 5000, model_kw: dict | None = None,
                    **sim_kw) -> dict:
    """Fit ``n`` simulated series; count coverage and false positives.

    ``model_kw`` goes to the estimator (e.g. a fixed ``expected_model_size``),
    ``sim_kw`` to :func:`simulate_sts_series`. Also returns the median width of
    the cumulative interval and the mean posterior number of controls included.
    """
    covered, null_flags, widths, sizes = [], [], [], []
    for i in range(n):
        rng = np.random.default_rng(seed0 + i)
        null = i % 2 == 0
        size = 0.0 if null else float(rng.choice([-1, 1]) * rng.uniform(0.2, 1.0))
        s = simulate_sts_series(rng, effect_size=size,
                                effect_shape="step" if i % 4 < 2 else "ramp", **sim_kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence is counted below, not raised
            res = StructuralTimeSeries(seed=i, **(model_kw or {})).fit(
                s.y, s.X, dates=s.dates, event_index=s.event_index)
        summary = res.effect.summary
        covered.append(summary.cumulative_lower <= s.true_cumulative <= summary.cumulative_upper)
        widths.append(summary.cumulative_upper - summary.cumulative_lower)
        sizes.append(float(np.nansum(res.inclusion_probability)))
        if null:
            null_flags.append(summary.p_value < 0.05)
    return {"n": n, "covered": int(np.sum(covered)), "n_null": len(null_flags),
            "false_positives": int(np.sum(null_flags)), "median_width": float(np.median(widths)),
            "model_size": float(np.mean(sizes))}


@pytest.mark.slow
def test_interval_coverage_and_false_positive_rate(slow_size):
    n = slow_size(ci=40, full_size=200)
    out = run_calibration(n)
    coverage = out["covered"] / n
    fp_rate = out["false_positives"] / out["n_null"]
    if n >= 200:
        assert 0.92 <= coverage <= 0.98, out
        assert fp_rate <= 0.06, out
    else:
        lo, hi = _region(n, 0.92, 0.98)
        assert lo <= out["covered"] <= hi, (out, lo, hi)
        _, fp_hi = _region(out["n_null"], 0.0, 0.06)
        assert out["false_positives"] <= fp_hi, (out, fp_hi)
