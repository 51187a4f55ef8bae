"""Every account against its own off-platform controls: the subject among its peers.

A platform-wide change moves every account on the platform, so peers on the
platform show what everyone lost, not what would have happened without the
change. Off-platform series of each account (its Wikipedia pageviews, its
reach elsewhere) were not touched by the change. This method first measures
each account's own effect against its own off-platform controls (on the log
scale: the account's pre-event relation to its controls carried past the
event; the audit's per-account kernel, :func:`butfor.methods.kernels.accounts.account_effects`),
then asks where the subject's effect sits among the peers' effects: the
peers' median effect is what the platform-wide change did to a typical
account, and each peer's distance from it shows how far an account strays
when nothing singled it out.

What fools it: controls that the change did move after all, and peers whose
relation to their own controls would have shifted at the event anyway.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.errors import DataError
from butfor.methods._flags import edge_estimate
from butfor.methods.kernels.accounts import account_effects
from butfor.results import EffectPath, EffectSummary, summarise_draws

METHOD = "peer_effects"


def peer_effects(y: np.ndarray, controls: np.ndarray, n_pre: int) -> np.ndarray:
    """Observed minus own-control counterfactual, (accounts, days), log scale; row 0 first."""
    out = account_effects(y, None, controls, n_pre, n_placebo=0)
    return out["gap"]


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    from butfor.analyses.case_inputs import event_windows, peer_units

    del seed  # deterministic: nothing is drawn
    metric = case.outcome.metric
    control_metric = case.controls.metric
    if control_metric is None or control_metric == metric:
        raise DataError(
            "peer_effects needs an off-platform control metric for every account: set "
            "[controls] metric (e.g. \"pageviews\")"
        )
    subject = case.subject.unit
    peers = peer_units(case, panel)
    units = [subject, *peers]
    outcome = np.log1p(panel.wide(metric)[units].clip(lower=0))
    control = np.log1p(panel.wide(control_metric)[units].clip(lower=0))
    out = []
    for event_name, start, event_date, end in event_windows(case, panel, METHOD):
        y_win = outcome.loc[start:end]
        dates = y_win.index
        n_pre = int(np.sum(dates < event_date))
        if n_pre < 14 or n_pre == len(dates):
            raise DataError(f"peer_effects needs at least 14 {freq.PERIOD[panel.frequency]}s "
                            f"(the panel's periods) before and one after the {event_name}")
        y = y_win.to_numpy(dtype=float).T  # (accounts, days)
        x = control.loc[start:end].to_numpy(dtype=float).T[:, None, :]
        gap = peer_effects(y, x, n_pre)
        post = np.arange(len(dates)) >= n_pre
        platform = np.nanmedian(gap[1:], axis=0)  # a typical account's own-control gap
        platform[~post] = 0.0
        excess = gap - platform[None, :]  # beyond what the typical account saw
        effects = np.nanmean(excess[:, post], axis=1)
        subject_effect, peer_values = float(effects[0]), effects[1:]
        ok = np.isfinite(peer_values)
        peer_values, peer_names = peer_values[ok], [p for p, k in zip(peers, ok, strict=True) if k]
        rank = int(np.sum(np.abs(peer_values) > abs(subject_effect)) + 1)
        p_value = float((np.sum(np.abs(peer_values) >= abs(subject_effect)) + 1)
                        / (len(peer_values) + 1))

        observed_log = y[0]
        cf_log = observed_log - excess[0]  # the subject had it fared like a typical account
        draws_log = cf_log[post][None, :] - excess[1:][ok][:, post]
        observed = np.expm1(observed_log)
        counterfactual = np.expm1(cf_log).clip(min=0)
        alpha = 0.025
        band = np.nanquantile(excess[1:][ok], [alpha, 1 - alpha], axis=0)
        lower = np.expm1(cf_log - band[1]).clip(min=0)
        upper = np.expm1(cf_log - band[0]).clip(min=0)
        summary = summarise_draws(observed[post], np.expm1(draws_log).clip(min=0))
        summary = EffectSummary(**{**summary.to_dict(), "p_value": p_value})
        effect = EffectPath(
            method=METHOD, unit=subject, metric=metric,
            dates=pd.DatetimeIndex(dates).to_numpy().astype("datetime64[D]"),
            observed=observed, counterfactual=counterfactual, lower=lower, upper=upper,
            event_index=n_pre, summary=summary, draws=np.expm1(draws_log).clip(min=0),
            diagnostics={"control_metric": control_metric, "n_peers": len(peer_values),
                         "typical_peer_effect_log": float(np.nanmean(platform[post]))},
        )
        out.append({
            "id": f"{METHOD}:{metric}:{event_name}",
            "method": METHOD,
            "title": f"The subject among {len(peer_values)} peers, each against its own "
                     f"{control_metric}, around the {event_name}",
            "metric": metric,
            "event": event_name,
            "description": (
                f"Measures every account's change after the {event_name} against its own "
                f"{control_metric}, which the platform's change did not touch, and compares "
                "the subject's change with the typical account's: the peers' own spread shows "
                "how far an account strays when nothing singled it out. It is fooled if the "
                f"change moved {control_metric} after all, or if accounts' ties to their "
                f"{control_metric} shifted at the event for other reasons."
            ),
            "effect": effect.to_dict(include_draws=True),
            "placebo": {
                "units": peer_names,
                "statistic": "average log effect beyond the typical account's, each against "
                             "its own off-platform controls",
                "values": peer_values,
                "subject_value": subject_effect,
                "p_value": p_value,
                "rank": rank,
            },
            **({"flags": [edge.to_dict()]}
               if (edge := edge_estimate(summary.relative, p_value)) is not None else {}),
        })
    return out
