"""Ingest speed: butfor's reader against bare pandas and DuckDB on the same CSV.

A seeded Social Blade-style file (units x days, with thousands separators
in 10% of the followers cells) is read by

- pandas:  ``read_csv`` + ``to_datetime`` + ``to_numeric`` (the parsing alone),
- duckdb:  ``read_csv`` into a relation and ``fetchdf`` (the parsing alone),
- butfor:  ``readers.read`` (parsing + every check and note of the IngestReport),
- butfor:  ``ingest_files`` + ``Store.write_panel`` (panel grid + DuckDB write).

pandas and DuckDB run in butfor's own environment (they are its dependencies,
so this measures butfor's overhead over the libraries it builds on, not a
separate peer). Usage::

    .venv/bin/python benchmarks/bench_ingest.py [--units 500] [--days 365] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np


def make_file(path: Path, units: int, days: int, seed: int = 7) -> int:
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64("2022-01-01"), np.datetime64("2022-01-01") + days)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["username", "display_name", "date", "followers", "following", "tweets"])
        for u in range(units):
            followers = rng.integers(1_000, 5_000_000) + np.cumsum(rng.integers(-50, 80, days))
            for d in range(days):
                f = int(max(followers[d], 0))
                cell = f"{f:,}" if rng.random() < 0.1 else str(f)
                w.writerow([f"user{u}", f"User {u}", str(dates[d]), cell, 100 + u % 50, 1000 + d])
    return units * days


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import duckdb
    import pandas as pd

    from butfor.ingest import ingest_files
    from butfor.readers import read
    from butfor.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "follows.csv"
        rows = make_file(path, args.units, args.days)

        def bare_pandas():
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d")
            for c in ("followers", "following", "tweets"):
                df[c] = pd.to_numeric(df[c].str.replace(",", "", regex=False))
            return df

        def bare_duckdb():
            con = duckdb.connect()
            df = con.execute(f"SELECT username, date, replace(followers, ',', '')::DOUBLE AS f, "
                             f"following, tweets FROM read_csv('{path}', all_varchar=true)").df()
            con.close()
            return df

        def butfor_read():
            return read(path)

        counter = [0]

        def butfor_ingest():
            counter[0] += 1
            panel, report = ingest_files([path])
            Store(Path(tmp) / f"s{counter[0]}.duckdb").write_panel(panel, report, mode="replace")

        results = {
            "pandas read_csv + parse": best(bare_pandas, args.repeat),
            "duckdb read_csv + parse": best(bare_duckdb, args.repeat),
            "butfor readers.read": best(butfor_read, args.repeat),
            "butfor ingest + store": best(butfor_ingest, args.repeat),
        }
    base = results["pandas read_csv + parse"]
    print(f"{rows:,} rows ({args.units} units x {args.days} days), best of {args.repeat}")
    print("| step | seconds | rows/s | ratio to bare pandas |")
    print("| --- | --- | --- | --- |")
    for name, secs in results.items():
        print(f"| {name} | {secs:.2f} | {rows / secs:,.0f} | {secs / base:.2f} |")


if __name__ == "__main__":
    main()
