"""A small, realistic results document for report tests (hand-made: no method emits it).

Only tests/test_svgwriter.py reads it now (the report's tests run on the demo's and
tests/report_case.py's results); delete this file when that test moves too.

Built from a seeded simulation with known truth (a 30% drop in daily
impressions from the event on), summarised with butfor's own
:func:`butfor.results.summarise_draws`, and carrying every figure's data:
an effect path of 120 days, a placebo distribution, event-time coefficients,
a group comparison, a change point and two damages scenarios, with three
verdicts. It follows ``schemas/results.schema.json`` (checked in the tests).
"""

from __future__ import annotations

import hashlib

import numpy as np

from butfor.results import EffectPath, Results, summarise_draws, to_jsonable

EVENT = "2022-10-27"
SECOND_EVENT = "2022-11-09"
START = "2022-07-30"
N_DAYS = 120
TRUE_DROP = 0.30  # the simulated effect: observed = 70% of the no-event path after EVENT

CASE_TOML = """\
[case]
title = "But for the platform's changes, what would Ava Sterling's reach have been?"
seed = 7

[subject]
unit = "ava"
display_name = "Ava Sterling"

[outcome]
metric = "impressions"

[[events]]
name = "ownership change"
date = "2022-10-27"

[[events]]
name = "verification change"
date = "2022-11-09"
"""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_results(seed: int = 7) -> dict:
    """The results document (a plain JSON-ready dict)."""
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64(START), np.datetime64(START) + N_DAYS)
    event_index = int(np.searchsorted(dates, np.datetime64(EVENT)))
    t = np.arange(N_DAYS)
    base = 50_000 * (1 + 0.08 * np.sin(2 * np.pi * t / 7)) * (1 - 0.0005 * t)
    no_event = base * np.exp(rng.normal(0, 0.05, N_DAYS))
    observed = no_event.copy()
    observed[event_index:] *= 1 - TRUE_DROP
    n_post = N_DAYS - event_index
    draws = base[event_index:][None, :] * np.exp(rng.normal(0, 0.06, (400, n_post)))
    counterfactual = base.copy()
    lower, upper = base * np.exp(-0.1), base * np.exp(0.1)
    counterfactual[event_index:] = draws.mean(axis=0)
    lower[event_index:], upper[event_index:] = np.quantile(draws, [0.025, 0.975], axis=0)
    summary = summarise_draws(observed[event_index:], draws)
    path = EffectPath(
        method="sts", unit="ava", metric="impressions", dates=dates, observed=observed,
        counterfactual=counterfactual, lower=lower, upper=upper, event_index=event_index,
        summary=summary, diagnostics={"pre_rmse": 2400.0},
    )

    peers = [f"peer_{i:02d}" for i in range(24)]
    placebo_values = np.exp(rng.normal(0.2, 0.4, len(peers)))
    subject_ratio = float(np.sort(placebo_values)[-2]) - 0.01  # two peers lie above her
    rank = int(np.sum(placebo_values >= subject_ratio)) + 1
    p_value = rank / (len(peers) + 1)

    periods = np.arange(-8, 5)
    est = np.where(periods < 0, rng.normal(0, 0.03, len(periods)), -0.33)
    est = est + np.where(periods >= 0, rng.normal(0, 0.02, len(periods)), 0)
    est[periods == -1] = 0.0
    half = np.where(periods == -1, 0.0, 0.07)

    weeks = np.arange(np.datetime64("2022-08-01"), np.datetime64("2022-12-01"), 7)
    post_w = weeks >= np.datetime64(EVENT)
    critics = 9.5 - 0.004 * np.arange(len(weeks)) - 0.25 * post_w + rng.normal(0, 0.02, len(weeks))
    others = 9.3 - 0.004 * np.arange(len(weeks)) - 0.10 * post_w + rng.normal(0, 0.02, len(weeks))

    def scenario(name: str, scale: float, p_reach: float) -> dict:
        sims = rng.lognormal(np.log(scale), 0.35, 2000)
        counts, edges = np.histogram(sims, bins=30)
        return {
            "name": name,
            "quantiles": {k: float(np.quantile(sims, int(k) / 100)) for k in ("5", "50", "95")},
            "mean": float(sims.mean()),
            "p_reaching_claim": p_reach,
            "histogram": {"edges": edges, "counts": counts},
        }

    analyses = [
        {
            "id": "sts:impressions:ownership change",
            "method": "sts",
            "title": "Forecast from her own past (structural time series)",
            "metric": "impressions",
            "event": "ownership change",
            "description": (
                "Learns the account's own pattern before the event and projects it forward. "
                "It is fooled by anything else that changed on the same day."
            ),
            "effect": path.to_dict(),
        },
        {
            "id": "synthetic_control:impressions:ownership change",
            "method": "synthetic_control",
            "title": "Synthetic control from 24 peers",
            "metric": "impressions",
            "event": "ownership change",
            "description": (
                "Builds a weighted mix of peers that tracked her before the event. "
                "It is fooled when the peers were hit too."
            ),
            "placebo": {
                "units": peers,
                "statistic": "post/pre RMSPE ratio",
                "values": placebo_values,
                "subject_value": subject_ratio,
                "p_value": p_value,
                "rank": rank,
            },
        },
        {
            "id": "event_study:impressions:ownership change",
            "method": "event_study",
            "title": "Event study, weekly",
            "metric": "impressions",
            "event": "ownership change",
            "description": "Week-by-week difference from the peers, relative to the week before.",
            "event_time": {
                "relative_periods": periods,
                "estimates": est,
                "lower": est - half,
                "upper": est + half,
                "reference": -1,
                "pretrend_p": 0.54,
                "period": "week",
                "scale": "log",
            },
            "groups": {
                "labels": ["critics", "others"],
                "dates": [str(d) for d in weeks],
                "means": {"critics": critics, "others": others},
                "estimate": -0.15,
                "lower": -0.21,
                "upper": -0.09,
                "p_value": 0.0004,
                "scale": "log",
            },
        },
        {
            "id": "changepoint:impressions",
            "method": "changepoint",
            "title": "When did the level change?",
            "metric": "impressions",
            "description": "Dates the sharpest change in her own series.",
            "changepoint": {
                "date": "2022-10-28",
                "lower_date": "2022-10-24",
                "upper_date": "2022-11-02",
                "dates": [str(d) for d in dates],
                "series": observed,
            },
        },
    ]
    s = summary
    verdicts = [
        {
            "claim": "fell",
            "kind": "declined_after",
            "allegation": "My reach fell after the ownership change.",
            "verdict": "supported",
            "sentence": (f"Her impressions ran {abs(s.relative):.0%} below the forecast, and the "
                         "interval excludes no effect."),
            "figures": {"relative": s.relative, "relative_lower": s.relative_lower,
                        "relative_upper": s.relative_upper, "p_value": s.p_value},
        },
        {
            "claim": "targeted",
            "kind": "targeted",
            "allegation": "The changes were aimed at me.",
            "verdict": "inconclusive",
            "sentence": (f"Her drop ranks {rank} of {len(peers) + 1} among peers "
                         f"(p = {p_value:.2f}), not rare enough at the 5% level."),
            "figures": {"rank": rank, "n": len(peers) + 1, "p_value": p_value},
        },
        {
            "claim": "amount",
            "kind": "claimed_amount",
            "allegation": "The loss is worth $400 million.",
            "verdict": "not supported",
            "sentence": "No simulated draw of damages comes near $400 million.",
            "figures": {"p_reaching_claim": 0.0, "median": 2.1e6},
        },
    ]
    damages = {
        "currency": "USD",
        "amount_claimed": 400e6,
        "scenarios": [
            scenario("CPM $4, effect fades (half-life 180 days)", 1.6e6, 0.0),
            scenario("CPM $4, effect lasts 2 years", 3.4e6, 0.0),
        ],
        "breakdown": [{"scenario": "CPM $4, effect fades (half-life 180 days)",
                       "lost_impressions": 4.1e8, "price_per_thousand": 4.0}],
    }
    case = {
        "case": {"title": "But for the platform's changes, what would Ava Sterling's reach "
                 "have been?", "seed": 7,
                 "description": "A fictional public figure says a platform's new owner cut "
                                "her reach and cost her sponsorships."},
        "subject": {"unit": "ava", "display_name": "Ava Sterling"},
        "outcome": {"metric": "impressions", "transform": "none", "posts_metric": "posts"},
        "events": [
            {"name": "ownership change", "date": EVENT, "dates": {}, "scope": "platform",
             "description": ""},
            {"name": "verification change", "date": SECOND_EVENT, "dates": {},
             "scope": "platform", "description": ""},
        ],
        "methods": ["sts", "synthetic_control", "event_study", "changepoint"],
        "claims": [{"id": v["claim"], "kind": v["kind"], "allegation": v["allegation"],
                    "event": "ownership change", "alpha": 0.05} for v in verdicts],
        "damages": {"currency": "USD", "amount_claimed": 400e6, "discount_rate": 0.05},
        "report": {"title": None, "pdf": False},
    }
    data_file = "exports/ava_account_analytics.csv"
    ingest = {
        "rows_read": 3012, "rows_kept": 3000, "rows_dropped": 12, "rows_repaired": 40,
        "cells_filled": 3,
        "sources": [{"file": data_file, "sha256": _sha("ava export"), "format": "x_analytics",
                     "rows_read": 3012, "rows_kept": 3000, "rows_dropped": 12,
                     "rows_repaired": 40}],
        "notes": [
            {"file": data_file, "action": "dropped", "reason": "duplicate date for the same account",
             "column": "date", "count": 12, "first_lines": [15, 16, 200]},
            {"file": data_file, "action": "repaired",
             "reason": "thousands separator removed", "column": "impressions", "count": 40,
             "first_lines": [2, 3, 4]},
        ],
    }
    provenance = {
        "butfor_version": "0.1.0",
        "versions": {"numpy": np.__version__, "python": "3.11.2"},
        "seed": 7,
        "inputs": [{"name": data_file, "sha256": _sha("ava export")},
                   {"name": "case.toml", "sha256": _sha(CASE_TOML)}],
        "command": "butfor run case.toml --out butfor-output/case",
        "case_toml": CASE_TOML,
    }
    summary_table = [{
        "analysis": analyses[0]["title"], "id": analyses[0]["id"], "method": "sts",
        "metric": "impressions", "unit": "ava", "event_date": EVENT,
        **{k: getattr(s, k) for k in ("average", "average_lower", "average_upper", "cumulative",
                                      "cumulative_lower", "cumulative_upper", "relative",
                                      "p_value")},
    }]
    results = Results(case=case, analyses=analyses, verdicts=verdicts, damages=damages,
                      ingest=ingest, provenance=provenance, summary_table=summary_table)
    return to_jsonable(results.to_dict())
