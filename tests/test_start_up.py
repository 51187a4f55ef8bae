"""What a creator's case imports at start-up, and the kernels that keep it small.

A case of one series with an off-platform control (structural time series, change
points, damages) should not pay for scipy.stats (about a second to import on the
2-core machine, issue 18): the calls it made are replaced by the scipy.special
kernels scipy.stats itself calls, checked here to give the same bits.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from butfor.inference.false_positive import clopper_pearson


def test_clopper_pearson_gives_scipy_stats_beta_ppf_bits():
    # Reference: scipy.stats.beta.ppf (scipy 1.17.1), the call the interval made before it
    # used scipy.special.betaincinv to keep scipy.stats out of start-up; the same bits
    from scipy.stats import beta

    for n in (1, 2, 7, 10, 20, 50):
        for k in range(n + 1):
            for level in (0.8, 0.95, 0.99):
                a = (1 - level) / 2
                want = (0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1)),
                        1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k)))
                assert clopper_pearson(k, n, level) == want


def test_sts_band_quantile_is_scipy_stats_norm_ppf():
    # Reference: scipy.stats.norm.ppf (scipy 1.17.1), which the band used before
    # methods/sts.py called scipy.special.ndtri (norm.ppf's own kernel) directly
    from scipy.special import ndtri
    from scipy.stats import norm

    for level in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        assert float(ndtri(0.5 + level / 2)) == float(norm.ppf(0.5 + level / 2))


def test_a_creators_methods_do_not_import_scipy_stats():
    code = ("import sys; import butfor.analyses.sts, butfor.analyses.changepoint, "
            "butfor.analyses.outcome, butfor.methods.panel_design, "
            "butfor.inference.false_positive, butfor.damages.from_analyses; "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
