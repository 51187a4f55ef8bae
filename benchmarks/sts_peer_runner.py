"""Run one CausalImpact port on a CSV and print its timing and estimates as JSON.

Runs inside the peer's own virtual environment (benchmarks/.venvs/<peer>),
started by ``sts_benchmark.py``; it imports nothing from butfor. Usage::

    python sts_peer_runner.py PEER CSV N_PRE REPS

PEER is ``pycausalimpact``, ``tfcausalimpact`` or ``causalimpact``
(jamalsenouci's port). The CSV has a date index, the outcome first and the
controls after it. The timed region is the peer's own default fit and
inference, started the way its README shows, until its summary figures exist.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd


def _pycausalimpact(df, pre, post):
    from causalimpact import CausalImpact

    ci = CausalImpact(df, pre, post)  # fits and summarises in __init__
    s = ci.summary_data
    return {
        "cumulative": float(s.loc["abs_effect", "cumulative"]),
        "cumulative_lower": float(s.loc["abs_effect_lower", "cumulative"]),
        "cumulative_upper": float(s.loc["abs_effect_upper", "cumulative"]),
        "average": float(s.loc["abs_effect", "average"]),
        "p_value": float(ci.p_value),
    }


def _tfcausalimpact(df, pre, post):
    from causalimpact import CausalImpact

    ci = CausalImpact(df, pre, post)
    s = ci.summary_data
    return {
        "cumulative": float(s.loc["abs_effect", "cumulative"]),
        "cumulative_lower": float(s.loc["abs_effect_lower", "cumulative"]),
        "cumulative_upper": float(s.loc["abs_effect_upper", "cumulative"]),
        "average": float(s.loc["abs_effect", "average"]),
        "p_value": float(ci.p_value),
    }


def _causalimpact(df, pre, post):
    from causalimpact import CausalImpact

    ci = CausalImpact(df, pre, post)
    ci.run()
    inf = ci.inferences.loc[post[0]:post[1]]
    effect = inf["response"] - inf["point_pred"]
    # its own summary() sums the pointwise bounds; we report the same figures
    lo = (inf["response"] - inf["point_pred_upper"]).sum()
    hi = (inf["response"] - inf["point_pred_lower"]).sum()
    return {
        "cumulative": float(effect.sum()),
        "cumulative_lower": float(min(lo, hi)),
        "cumulative_upper": float(max(lo, hi)),
        "average": float(effect.mean()),
        "p_value": None,
    }


RUNNERS = {"pycausalimpact": _pycausalimpact, "tfcausalimpact": _tfcausalimpact,
           "causalimpact": _causalimpact}


def main() -> None:
    peer, csv, n_pre, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    warnings.filterwarnings("ignore")
    df = pd.read_csv(csv, index_col=0, parse_dates=True)
    pre = [df.index[0], df.index[n_pre - 1]]
    post = [df.index[n_pre], df.index[-1]]
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = RUNNERS[peer](df, pre, post)
        times.append(time.perf_counter() - t0)
    from importlib import metadata

    dist = {"pycausalimpact": "pycausalimpact", "tfcausalimpact": "tfcausalimpact",
            "causalimpact": "causalimpact"}[peer]
    print(json.dumps({"peer": peer, "version": metadata.version(dist), "times": times,
                      "median": float(np.median(times)), **(out or {})}))


if __name__ == "__main__":
    main()
