"""The case's structural time series: the subject's own forecast, its controls, its error rate.

Reads the case through :func:`butfor.methods.sts_case.sts_inputs`, fits
:class:`butfor.methods.sts.StructuralTimeSeries` and writes the analysis
records the pipeline collects.
"""

from __future__ import annotations

import warnings

from butfor.errors import AssumptionWarning, DataError
from butfor.methods.sts import METHOD, ConstantSeriesError, StructuralTimeSeries


# ---------------------------------------------------------------------------
# the pipeline's entry point
def _left_out(subject: str, metric: str, label: str, names: list[str], reason: str) -> dict:
    """An analysis that could not be fitted, saying why, with no effect for claims to read."""
    return {
        "id": f"sts:{metric}",
        "method": METHOD,
        "title": f"Structural time-series forecast of {subject}'s {label}",
        "metric": metric,
        "event": names[0],
        "events": names,
        "description": f"Not fitted: {reason}.",
        "left_out": reason,
        "warnings": [reason],
    }


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """One STS analysis of the subject's outcome: one fit, one post-period per event.

    What is fitted is built by :func:`butfor.methods.sts_case.sts_inputs`.
    The pseudo-events that measure the known error rate also give the power
    curve (:mod:`butfor.methods.sts_pseudo`), at no extra fit.
    Assumption warnings are recorded in the analysis (``warnings``), not raised.
    """
    from butfor.methods.sts_case import sts_inputs
    from butfor.methods.sts_pseudo import sts_pseudo_event_check

    inputs = sts_inputs(case, panel, seed=seed)
    subject, metric, label = inputs.subject, inputs.metric, inputs.label
    X, dates, periods, names = inputs.X, inputs.dates, inputs.periods, inputs.names
    n_pseudo, y_values = inputs.pseudo_events, inputs.y
    model = StructuralTimeSeries(**inputs.settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AssumptionWarning)
        try:
            result = model.fit(y_values, X, dates=dates, post_periods=periods, unit=subject,
                               metric=label)
        except ConstantSeriesError as err:  # the other methods still run; claims skip this
            return [_left_out(subject, metric, label, names, str(err))]
    notes = [*inputs.notes, *(str(w.message) for w in caught
                              if issubclass(w.category, AssumptionWarning))]
    for w in caught:  # anything else is not ours to swallow
        if not issubclass(w.category, AssumptionWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    check = None
    if n_pseudo > 0:
        power = getattr(case, "power", None)
        try:
            check = sts_pseudo_event_check(model, y_values, X, dates=dates,
                                           event_index=periods[0][0], n_events=n_pseudo,
                                           n_draws=250, chains=5,
                                           effects=power.effects if power else None)
        except DataError as err:  # too short a pre-period for pseudo-events
            notes.append(f"no false-positive check: {err}")
    effects = [p.to_dict(include_draws=True) for p in result.paths]  # the pipeline takes them
    for k, (eff, name) in enumerate(zip(effects, names, strict=True)):
        eff["diagnostics"]["event"] = name
        band = result.cumulative_effect(k)
        eff["cumulative_effect"] = {key: band[key] for key in ("point", "lower", "upper")}
    n_controls = len(result.control_names)
    controls_text = (f"{n_controls} control series ({', '.join(result.control_names)})"
                     if n_controls else "no control series")
    analysis = {
        "id": f"sts:{metric}",
        "method": METHOD,
        "title": f"Structural time-series forecast of {subject}'s {label}",
        "metric": metric,
        "event": names[0],
        "events": names,
        "description": (
            f"Forecasts what {subject}'s {label} would have been after each event from its own "
            f"pre-event level, {inputs.season} and {controls_text}, fitted before the first "
            "event. It is fooled if the series would have changed course anyway at that time "
            "(a trend break unrelated to the event), or if a control was itself moved by the "
            "event."
        ),
        "effect": effects[0],
        "effects": effects,
        "controls": {
            "names": list(result.control_names),
            "inclusion_probability": result.inclusion_probability,
            "coefficient_standardised": result.coefficients,
            "check": None if result.control_check is None else result.control_check.to_dict(),
        },
        "convergence": result.diagnostics,
        "warnings": notes,
        "settings": result.settings,
    }
    if check is not None:
        analysis["false_positive"] = check.false_positive.to_dict()
        if inputs.relative_effects:  # a relative change of day-on-day growth means nothing
            analysis["power"] = check.power.to_dict()
    return [analysis]
