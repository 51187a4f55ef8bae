"""Event study benchmark: butfor's pre/post model against a direct pyfixest call.

A panel of 20,000 accounts × 365 days (7.3M rows): log outcome with account
and day effects, half the accounts treated from day 200, an activity control
(log1p posts). butfor's ``PrePost.fit`` (design built from the Panel, then
pyfixest) is timed beside ``pyfixest.feols`` on a frame that already holds
the treatment and control columns, with the same formula and clustering
(pyfixest is butfor's own dependency: the same installed version runs both).
Fits run one after the other and are freed in between (one fit peaks near
3 GB). Usage: ``.venv/bin/python benchmarks/event_study_benchmark.py [--units N]``.
"""

from __future__ import annotations

import argparse
import gc
import time
import warnings

import numpy as np
import pandas as pd


def build(n_units: int, n_days: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(n_units), n_days)
    t = np.tile(np.arange(n_days), n_units)
    units = np.array([f"acct{i:05d}" for i in range(n_units)], dtype=object)
    dates = pd.date_range("2022-01-01", periods=n_days)
    posts = rng.poisson(3.0, len(u)).astype(float)
    treated = (u < n_units // 2) & (t >= 200)
    y = (rng.normal(0, 1, n_units)[u] + rng.normal(0, 0.3, n_days)[t] + 0.3 * treated
         + 0.1 * np.log1p(posts) + rng.normal(0, 1, len(u)))
    return pd.DataFrame({"unit": units[u], "date": dates[t], "y": y, "posts": posts})


def main() -> None:
    import pyfixest as pf

    from butfor.methods.event_study import PrePost
    from butfor.panel import Panel

    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    frame = build(args.units, args.days)
    panel = Panel.from_frame(frame)
    del frame
    gc.collect()
    treated = [f"acct{i:05d}" for i in range(args.units // 2)]
    event = pd.Timestamp("2022-01-01") + pd.Timedelta(days=200)
    direct = panel.data.copy()
    direct["D"] = (direct["unit"].isin(treated) & (direct["date"] >= event)).astype(float)
    direct["lp"] = np.log1p(direct["posts"])

    timings: dict[str, list[float]] = {"butfor": [], "pyfixest": [], "pyfixest_lean": []}
    results = {}
    for _ in range(args.repeats):
        start = time.perf_counter()
        res = PrePost(covariates=["posts"]).fit(panel, "y", treated=treated, event=event)
        timings["butfor"].append(time.perf_counter() - start)
        results["butfor"] = (res.effect.estimate, res.effect.se)
        del res
        gc.collect()
        for name, kw in (("pyfixest", {}), ("pyfixest_lean", dict(copy_data=False,
                                                                   store_data=False,
                                                                   lean=True))):
            start = time.perf_counter()
            fit = pf.feols("y ~ D + lp | unit + date", direct, vcov={"CRV1": "unit"}, **kw)
            timings[name].append(time.perf_counter() - start)
            results[name] = (float(fit.coef()["D"]), float(fit.se()["D"]))
            del fit
            gc.collect()
    best = {k: min(v) for k, v in timings.items()}
    print(f"panel {args.units} x {args.days} = {args.units * args.days:,} rows, "
          f"best of {args.repeats}")
    for k, v in best.items():
        print(f"  {k:<14} {v:7.2f} s   estimate {results[k][0]:.6f}  se {results[k][1]:.6f}")
    print(f"  butfor / pyfixest (defaults)        {best['butfor'] / best['pyfixest']:.3f}")
    print(f"  butfor / pyfixest (lean, no copy)   {best['butfor'] / best['pyfixest_lean']:.3f}")


if __name__ == "__main__":
    main()
