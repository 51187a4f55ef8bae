"""The case's synthetic controls: the subject against the peers, per event.

``[synthetic_control]`` (see :mod:`butfor.case_methods`) chooses the variant:

- **with predictors**, the synthetic control of Abadie, Diamond & Hainmueller
  (2010): donor weights W matched on the stated predictors (covariate
  averages over stated periods, the outcome in stated years), predictor
  weights V by ``v`` (the nested search by default), no intercept;
- **without**, outcome-only and demeaned (accounts differ in size far more
  than states do, so the synthetic peer matches the subject's pre-event path
  up to a constant).

Daily data are fitted on weekly means (``block``, default a week of daily
data and one period otherwise), the placebo statistics on the same blocks;
``log1p`` fits on the log scale and reports on the original one. The
placebo in space treats every peer in turn. An event with per-unit dates
treats those units; the subject's own synthetic control uses the peers never
treated.
"""

from __future__ import annotations

import pandas as pd

from butfor.analyses.case_inputs import event_windows, outcome_table, peer_units
from butfor.analyses.coverage import check_pre_period
from butfor.case_methods import block_length
from butfor.methods import _flags
from butfor.methods.synth import METHOD, Predictor, SyntheticControl, fit_flags
from butfor.methods.synth_placebo import placebo_in_space
from butfor.methods.synth_staggered import StaggeredSyntheticControl
from butfor.results import expm1_path


def estimator_for_case(case, panel, label: str, *, seed: int) -> SyntheticControl:
    """The estimator ``[synthetic_control]`` describes, on the outcome named ``label``."""
    options = case.synthetic_control
    predictors = [Predictor(label if p.variable == case.outcome.metric else p.variable,
                            p.first(), p.last(), name=p.label())
                  for p in options.predictors] or None
    return SyntheticControl(predictors, v=options.v,
                            block=block_length(options.block, panel.frequency),
                            intercept=options.uses_intercept(), seed=seed)


def covariate_tables(case, panel) -> dict[str, pd.DataFrame]:
    """Dates × units tables of the predictors' covariates (the outcome comes separately)."""
    names = {p.variable for p in case.synthetic_control.predictors} - {case.outcome.metric}
    return {name: panel.wide(name) for name in sorted(names)}


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """Synthetic control of the subject from the peers, with placebo in space, per event."""
    subject = case.subject.unit
    metric = case.outcome.metric
    peers = peer_units(case, panel)
    table, label, log = outcome_table(case, panel)
    staggered = {u: pd.Timestamp(d) for e in case.events for u, d in e.dates.items()}
    peers = [p for p in peers if p not in staggered or p == subject]
    est = estimator_for_case(case, panel, label, seed=seed)
    covariates = covariate_tables(case, panel)
    out = []
    for event_name, start, event_date, end in event_windows(case, panel, METHOD):
        window = table.loc[start:end, [subject, *peers]]
        check_pre_period(window, [subject, *peers], event_date, frequency=panel.frequency,
                         method="synthetic control", event_name=event_name, label=label)
        result = placebo_in_space(est, window, subject, event_date, donors=peers,
                                  covariates=covariates, metric=label)
        effect = result.effect()
        if log:
            effect = expm1_path(effect)
        flags = fit_flags(result.subject, window, event_date, est.block, panel.frequency)
        flags.append(_flags.edge_estimate(effect.summary.relative, result.p_value))
        out.append({
            "id": f"synthetic_control:{metric}:{event_name}",
            "method": METHOD,
            "title": f"Synthetic control from {len(peers)} peers around the {event_name}",
            "metric": metric,
            "event": event_name,
            "description": _description(case, subject, event_name, label, log),
            "effect": effect.to_dict(include_draws=True),
            "placebo": result.to_dict(),
            "synthetic_control": _named_figures(result, est),
            # only when there is one: a result with none is written as before
            **({"flags": _flags.to_dicts(flags)} if any(flags) else {}),
        })
    if staggered:
        out.extend(_staggered_analysis(case, table, staggered, peers, est, label, covariates,
                                       panel.frequency))
    return out


def _named_figures(result, est: SyntheticControl) -> dict:
    """The published figures of a synthetic control, each under its own name.

    ``weights`` are the donor weights (ADH 2010, Table 2), ``predictor_balance``
    the subject, its synthetic control and the donors' mean on each predictor
    (Table 1), ``placebo_rank`` and ``placebo_p_value`` the subject's post/pre
    RMSPE ratio among every unit's (section 4.2: 1 of 39, p = 1/39).
    """
    fit = result.subject
    weights = fit.weights.sort_values(ascending=False)
    balance = None
    if fit.predictor_balance is not None:
        balance = {str(k): {c: float(x) for c, x in row.items()}
                   for k, row in fit.predictor_balance.iterrows()}
    return {
        "variant": "predictors" if est.predictors else
                   ("demeaned, outcome-only" if est.intercept else "outcome-only"),
        "v": est.v if isinstance(est.v, str) else "given",
        "block": est.block,
        "weights": {str(k): float(v) for k, v in weights.items()},
        "predictor_weights": None if fit.predictor_weights is None else
        {str(k): float(v) for k, v in fit.predictor_weights.items()},
        "predictor_balance": balance,
        "pre_rmspe": fit.pre_rmspe,
        "post_rmspe": fit.post_rmspe,
        "rmspe_ratio": fit.rmspe_ratio,
        "placebo_rank": result.rank,
        "placebo_units": len(result.placebos) + 1,
        "placebo_p_value": result.p_value,
    }


def _description(case, subject: str, event_name: str, label: str, log: bool) -> str:
    if case.synthetic_control.predictors:
        names = ", ".join(p.label() for p in case.synthetic_control.predictors)
        return (f"Builds a weighted average of the peers that matches {subject} on the stated "
                f"predictors before the {event_name} ({names}), with the predictors weighted "
                f"by how well they predict the pre-event {label}, and compares the two after "
                "it; every peer treated the same way shows how large such a gap gets when "
                "nothing singled it out. It is fooled by peers the event also moved and by "
                "predictors that do not carry what drives the outcome.")
    return (f"Builds a weighted average of the peers whose {'log ' if log else ''}{label} "
            f"moved like {subject}'s before the {event_name} (up to a constant) and "
            "compares the two after it; every peer treated the same way shows how large "
            "such a gap gets when nothing singled it out. It is fooled by peers the event "
            "also moved (the effect is then relative to them) and by peers whose path "
            "would have drifted from the subject's anyway.")


def _staggered_analysis(case, table: pd.DataFrame, staggered: dict[str, pd.Timestamp],
                        peers: list[str], est: SyntheticControl, label: str,
                        covariates: dict[str, pd.DataFrame], frequency: str) -> list[dict]:
    treated = {u: d for u, d in staggered.items() if u in table.columns}
    pool = [p for p in peers if p not in treated]
    result = StaggeredSyntheticControl(est).fit(table, treated, donors=pool,
                                                covariates=covariates, metric=label)
    # each treated unit's own fit, flagged as the subject's is, under the unit's name
    flags = [_flags.Flag(f.name, f"{u}: {f.message}", {"unit": u, **f.values})
             for u, fit in result.fits.items()
             for f in fit_flags(fit, table[[u, *pool]], treated[u], est.block, frequency)
             if f is not None]
    return [{
        "id": f"synthetic_control:{case.outcome.metric}:staggered",
        "method": METHOD,
        "title": f"Synthetic controls for {len(treated)} units with their own event dates",
        "metric": case.outcome.metric,
        "description": (
            "Fits one synthetic control per treated unit from the never-treated peers, each on "
            "its own pre-period, and averages the gaps by time since each unit's event. It is "
            "fooled by peers the events also moved and by units the peers cannot match."
        ),
        "staggered": {
            "units": list(treated),
            "event_time": result.event_time,
            "average_gap": result.average_gap,
            "units_at": result.units_at,
            "average_effect": result.average_effect,
        },
        **({"flags": _flags.to_dicts(flags)} if flags else {}),
    }]
