"""The case's peer effects: the subject among its peers, each against its own off-platform controls.

Reads the case (the outcome, the control metric, the peers, the events) and
fits :class:`butfor.methods.peer_effects.PeerEffects` once per dated event.
"""

from __future__ import annotations

from butfor import frequency as freq
from butfor.analyses.case_inputs import event_windows, peer_units
from butfor.errors import DataError
from butfor.methods._flags import edge_estimate
from butfor.methods.peer_effects import METHOD, MIN_PRE, PeerEffects


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """The pipeline's entry point (``methods = ["peer_effects"]``); nothing is drawn."""
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
    outcome, control = panel.wide(metric), panel.wide(control_metric)
    estimator = PeerEffects()
    out = []
    for event_name, start, event_date, end in event_windows(case, panel, METHOD):
        window = outcome.loc[start:end]
        n_pre = int((window.index < event_date).sum())
        if n_pre < MIN_PRE or n_pre == len(window):  # said with the event's name
            raise DataError(f"peer_effects needs at least {MIN_PRE} "
                            f"{freq.PERIOD[panel.frequency]}s (the panel's periods) before "
                            f"and one after the {event_name}")
        result = estimator.fit(window, control.loc[start:end], subject, peers, event_date,
                               metric=metric, control_metric=control_metric,
                               frequency=panel.frequency)
        summary = result.effect.summary
        out.append({
            "id": f"{METHOD}:{metric}:{event_name}",
            "method": METHOD,
            "title": f"The subject among {len(result.peers)} peers, each against its own "
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
            "effect": result.effect.to_dict(include_draws=True),
            "placebo": {
                "units": list(result.peers),
                "statistic": "average log effect beyond the typical account's, each against "
                             "its own off-platform controls",
                "values": result.peer_effects,
                "subject_value": result.subject_effect,
                "p_value": result.p_value,
                "rank": result.rank,
            },
            **({"flags": [edge.to_dict()]}
               if (edge := edge_estimate(summary.relative, result.p_value)) is not None
               else {}),
        })
    return out
