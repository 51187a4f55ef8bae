"""The case's SDID analyses: the subject against the peers, per event and per estimator.

``[sdid]`` (see :mod:`butfor.case_methods`) names the estimators of the
family of Arkhangelsky et al. (2021), each fitted by the same code and
reported as its own analysis: ``sdid`` (unit and time weights), ``sc``
(unit weights only, with an intercept) and ``did`` (equal weights), with
the standard error ``se`` (placebo by default: every peer in turn as if
treated, up to ``replications`` of them, which is also the placebo test the
claims read). The weights are fitted on means over ``block`` periods
(default: a week of daily data, one period otherwise) and applied to every
period. ``log1p`` fits on the log scale and reports on the original scale.
"""

from __future__ import annotations

import pandas as pd

from butfor.analyses.case_inputs import event_windows, outcome_table, peer_units
from butfor.analyses.coverage import check_pre_period
from butfor.case_methods import block_length
from butfor.errors import DataError
from butfor.inference.placebo import PlaceboTest
from butfor.methods import _flags
from butfor.methods.sdid import METHOD, SyntheticDiD
from butfor.results import expm1_path

NAMES = {"sdid": "Synthetic difference-in-differences",
         "sc": "Synthetic control (the SDID family's SC estimator)",
         "did": "Difference-in-differences (the SDID family's DiD estimator)"}
WHAT = {
    "sdid": "Weights the peers and the pre-event periods so that the weighted peers move in "
            "parallel with {subject} before the {event}, then compares the change after it",
    "sc": "Weights the peers so that their weighted average tracks {subject} before the "
          "{event} up to a constant, then compares the two after it",
    "did": "Compares {subject}'s change from before the {event} to after it with the peers' "
           "average change, every peer and period weighted equally",
}


def estimators_for_case(case, panel, *, seed: int) -> list[SyntheticDiD]:
    """One estimator per name in ``[sdid] estimators``, with the stated standard error."""
    o = case.sdid
    block = block_length(o.block, panel.frequency)
    return [SyntheticDiD(name, se=o.se, placebo=o.placebo, replications=o.replications,
                         solver=o.solver, block=block, seed=seed) for name in o.estimators]


def analysis_id(metric: str, event: str, estimator: str) -> str:
    """``sdid:cigsale:Proposition 99``; the SC and DiD variants add their name."""
    return f"sdid:{metric}:{event}" + ("" if estimator == "sdid" else f":{estimator}")


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    subject = case.subject.unit
    metric = case.outcome.metric
    peers = peer_units(case, panel)
    table, label, log = outcome_table(case, panel)
    staggered = {u: pd.Timestamp(d) for e in case.events for u, d in e.dates.items()}
    peers = [p for p in peers if p not in staggered]
    estimators = estimators_for_case(case, panel, seed=seed)
    scale = f"log1p({label})" if log else label
    out = []
    for event_name, start, event_date, end in event_windows(case, panel, METHOD):
        window = table.loc[start:end, [subject, *peers]]
        check_pre_period(window, [subject, *peers], event_date, frequency=panel.frequency,
                         method="SDID", event_name=event_name, label=label)
        _check_subject_observed(window[subject], subject, event_name, label, panel.frequency)
        window = window.dropna(axis=1)  # a peer with a gap in the window is left out
        usable = [p for p in peers if p in window.columns]
        for est in estimators:
            result = est.fit(window, subject, event_date, donors=usable, metric=label)
            effect = result.effect()
            if log:
                effect = expm1_path(effect)
            what = WHAT[est.estimator].format(subject=subject, event=event_name)
            analysis = {
                "id": analysis_id(metric, event_name, est.estimator),
                "method": METHOD,
                "estimator": est.estimator,
                "title": f"{NAMES[est.estimator]} with {len(usable)} peers around the "
                         f"{event_name}",
                "metric": metric,
                "event": event_name,
                "description": (
                    f"{what}; every peer treated the same way shows how large such an estimate "
                    "gets by chance. It is fooled by peers the event also moved (the effect is "
                    "then relative to them) and by a gap to the peers that was changing anyway."
                ),
                "effect": effect.to_dict(include_draws=True),
                "estimate": {"estimator": est.estimator, "value": result.estimate,
                             "standard_error": result.se, "method": result.se_method,
                             "interval": result.interval, "block": est.block,
                             "scale": scale},
            }
            p_value = effect.summary.p_value
            if result.replicate_units is not None:
                placebo = PlaceboTest(
                    result.replicate_units, "SDID estimate with the peer as if treated",
                    result.replicates, result.estimate)
                analysis["placebo"] = placebo.to_dict()
                p_value = placebo.p_value  # the test the claims read
            # SDID needs the subject's every period and drops peers with gaps, so only an
            # estimate at the edge is left to flag (butfor.methods._flags)
            edge = _flags.edge_estimate(effect.summary.relative, p_value)
            if edge is not None:
                analysis["flags"] = [edge.to_dict()]
            out.append(analysis)
    treated = {u: d for u, d in staggered.items() if u in table.columns}
    if treated:
        out.extend(_staggered(case, table, treated, peers, estimators, label, scale, seed))
    return out


def _check_subject_observed(series: pd.Series, subject: str, event_name: str, label: str,
                            frequency: str) -> None:
    missing = series.isna().to_numpy()
    if missing.any():
        from butfor.frequency import PERIOD

        first = series.index[missing][0]
        raise DataError(
            f"SDID around the {event_name}: {subject!r} has no {label} in "
            f"{int(missing.sum())} of {len(series)} {PERIOD.get(frequency, 'period')}s of the "
            f"window (the first {first:%Y-%m-%d}), and SDID needs the subject's every period; "
            "narrow [window] to the periods it reports")


def _staggered(case, table: pd.DataFrame, treated: dict, peers: list[str],
               estimators: list[SyntheticDiD], label: str, scale: str, seed: int) -> list[dict]:
    metric = case.outcome.metric
    usable = [p for p in peers if not table[p].isna().any()]
    out = []
    for est in estimators:
        staggered_est = SyntheticDiD(est.estimator, se="placebo", replications=est.replications,
                                     block=est.block, solver=est.solver, seed=seed)
        result = staggered_est.fit(table[[*treated, *usable]], treated, donors=usable,
                                   metric=label)
        out.append({
            "id": f"sdid:{metric}:staggered" + ("" if est.estimator == "sdid"
                                                else f":{est.estimator}"),
            "method": METHOD,
            "estimator": est.estimator,
            "title": f"{NAMES[est.estimator]} for {len(treated)} units with their own event "
                     "dates",
            "metric": metric,
            "description": (
                "Estimates each group of units that share an event date against the peers "
                "never treated, each on its own pre-period, and averages the estimates "
                "weighted by units × post-event periods; the placebo standard error gives "
                "the same dates to random peers. It is fooled by peers the events also moved "
                "and by gaps to the peers that were changing anyway."
            ),
            "estimate": {"estimator": est.estimator, "value": result.estimate,
                         "standard_error": result.se, "method": result.se_method,
                         "interval": result.interval, "p_value": result.p_value,
                         "cohorts": result.cohorts, "block": est.block, "scale": scale},
        })
    return out
