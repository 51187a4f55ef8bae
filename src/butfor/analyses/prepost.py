"""The case's pre/post comparisons: the subject against its peers, one per dated event."""

from __future__ import annotations

from butfor.analyses.case_inputs import event_windows, peer_units
from butfor.methods import _flags
from butfor.methods.prepost import PrePostComparison


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """The pipeline's entry point (``methods = ["prepost"]``); the fit needs no seed."""
    metric = case.outcome.metric
    peers = peer_units(case, panel)
    outcome = panel.wide(metric)
    out = []
    for event_name, start, event_date, end in event_windows(case, panel, "prepost"):
        window = outcome.loc[start:end]
        result = PrePostComparison().fit(window, case.subject.unit, peers, event_date, metric,
                                         frequency=panel.frequency)
        out.append({
            "id": f"prepost:{metric}:{event_name}",
            "method": "prepost",
            "title": f"Pre/post comparison with {len(peers)} peers around the {event_name}",
            "metric": metric,
            "event": event_name,
            "description": (
                "Compares the subject's change in the outcome from before to after the event "
                "with the peers' average change over the same days; each peer compared the "
                "same way shows how large such a gap gets by chance. It is fooled by peers "
                "whose trend differed from the subject's anyway, and it cannot see what the "
                "event did to everyone, only what it did to the subject beyond that."
            ),
            "effect": result.effect.to_dict(include_draws=True),
            "placebo": {
                "units": list(result.peers),
                "statistic": "average log effect",
                "values": result.placebo_effects,
                "subject_value": result.subject_log_effect,
                "p_value": result.p_value,
                "rank": result.rank,
            },
            "pretrend": {
                "statistic": "slope of the log gap to the peers over the pre-period, per day",
                "slope": result.pretrend_slope,
                "p_value": result.pretrend_p,
            },
            # only when there is one: a result with none is written as before
            **({"flags": _flags.to_dicts(list(result.flags))} if result.flags else {}),
        })
    return out
