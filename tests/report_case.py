"""A small case the report tests run through `butfor run`: real results, known truth.

One subject ("ava") and twelve peers, 150 days of impressions with a weekly
pattern and off-platform pageviews, simulated with a fixed seed. From the
event on (2022-10-27) the subject's impressions are 70% of what they would
have been (the known truth: a 30% drop); the peers and every pageviews series
are untouched. The export repeats one row exactly, so the ingest accounts for
a dropped duplicate. The case runs the structural time series (against the
pageviews), a synthetic control from the peers (with its placebo in space)
and the change-point dating, judges three claims and prices the lost
impressions in two scenarios against $400 million claimed.

``conftest.py`` runs it once per session (``report_case_output``), shared by
every xdist worker, as it does the demo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

EVENT = "2022-10-27"
START = "2022-07-01"
N_DAYS = 150
TRUE_DROP = 0.30  # the simulated effect: observed = 70% of the no-event path after EVENT
N_PEERS = 12
DUPLICATE_LINE = 3  # the export's line 3 (the second data row) appears again at the end

CASE_TOML = """\
methods = ["sts", "synthetic_control", "changepoint"]

[case]
title = "But for the platform's changes, what would Ava Sterling's reach have been?"
seed = 7
description = "A fictional public figure says a platform's new owner cut her reach."

[data]
files = ["export.csv"]

[subject]
unit = "ava"
display_name = "Ava Sterling"

[outcome]
metric = "impressions"
transform = "log1p"

[[events]]
name = "ownership change"
date = "2022-10-27"
scope = "platform"

[controls]
metric = "pageviews"

[sts]
n_draws = 300
pseudo_events = 3

[[claims]]
id = "fell"
kind = "declined_after"
allegation = "My reach fell after the ownership change."
event = "ownership change"

[[claims]]
id = "targeted"
kind = "targeted"
allegation = "The changes were aimed at me."
event = "ownership change"

[[claims]]
id = "amount"
kind = "claimed_amount"
allegation = "The loss is worth $400 million."
event = "ownership change"
amount = 400_000_000

[damages]
currency = "USD"
amount_claimed = 400_000_000
discount_rate = 0.05
discount_source = "fictional: a stated cost of capital"

[[damages.pricing]]
name = "brand content"
kind = "cpm"
metric = "impressions"
rate = 4.0
rate_low = 3.0
rate_high = 6.0
source = "fictional: Ava's invoices"

[[damages.persistence]]
name = "to the end of the data"
kind = "none"
source = "no projection: the data alone"

[[damages.persistence]]
name = "lasting 2 years"
kind = "constant"
horizon_days = 730
source = "fictional: the claimant's position"
"""


def export_rows(seed: int = 7) -> list[str]:
    """The export's lines (header first): unit, date, impressions, pageviews."""
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64(START), np.datetime64(START) + N_DAYS)
    event_index = int(np.searchsorted(dates, np.datetime64(EVENT)))
    t = np.arange(N_DAYS)
    rows = ["unit,date,impressions,pageviews"]
    for u, unit in enumerate(["ava", *(f"peer_{i:02d}" for i in range(N_PEERS))]):
        level = 50_000 * np.exp(rng.normal(0, 0.3))
        common = np.cumsum(rng.normal(0, 0.01, N_DAYS))  # a drift the pageviews share
        base = level * (1 + 0.08 * np.sin(2 * np.pi * t / 7)) * np.exp(common)
        impressions = base * np.exp(rng.normal(0, 0.04, N_DAYS))
        pageviews = 0.02 * base * np.exp(rng.normal(0, 0.04, N_DAYS))
        if u == 0:
            impressions[event_index:] *= 1 - TRUE_DROP
        rows += [f"{unit},{d},{round(i)},{round(p)}"
                 for d, i, p in zip(dates, impressions, pageviews, strict=True)]
    rows.append(rows[DUPLICATE_LINE - 1])  # an exact repeat: dropped, with a note
    return rows


def write_case(folder: Path) -> Path:
    """Write export.csv and case.toml into ``folder``; the case file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "export.csv").write_text("\n".join(export_rows()) + "\n", encoding="utf-8")
    case = folder / "case.toml"
    case.write_text(CASE_TOML, encoding="utf-8")
    return case
