"""The case's before/after regressions as result dicts, one per dated event."""

from __future__ import annotations

from butfor.errors import DataError
from butfor.methods._flags import edge_estimate
from butfor.methods.before_after import BeforeAfter, BeforeAfterResult


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """The pipeline's entry point (``methods = ["before_after"]``); the fit needs no seed."""
    from butfor.analyses.case_inputs import event_windows
    from butfor.analyses.event_study import resolve_groups

    metric = case.outcome.metric
    options, reg = case.before_after, case.regression
    estimator = BeforeAfter(
        covariates=case.covariates,
        covariate_transform={c: case.covariate_transform(c) for c in case.covariates},
        transform=case.outcome.transform, posts_metric=case.outcome.posts_metric,
        unit_effects=reg.unit_effects, time_effects=reg.time_effects, cluster=reg.cluster,
        family=case.outcome.family)
    groups = None
    if options.comparison == "groups":
        groups = resolve_groups(case, panel)
        if groups is None:
            raise DataError("[before_after] comparison = \"groups\" needs two groups; set "
                            "[groups] compare = [\"a\", \"b\"] (with [groups] members or the "
                            "panel's group labels)")
    units = list(options.units) or [u for u in panel.unit_ids
                                    if u not in set(case.controls.units)]
    out = []
    windows = event_windows(case, panel, "before_after")
    if not windows:
        raise DataError("the before/after needs an event with a single 'date'")
    for event_name, start, event_date, end in windows:
        if groups is None:
            res = estimator.fit(panel, metric, event=event_date, units=units, start=start,
                                end=end)
        else:
            a, b, units_a, units_b = groups
            res = estimator.fit(panel, metric, event=event_date, group_a=units_a,
                                group_b=units_b, labels=(a, b), start=start, end=end)
        out.append(_analysis(res, metric, event_name))
    return out


def _analysis(res: BeforeAfterResult, metric: str, event_name: str) -> dict:
    fe = " and ".join(w for w, on in (("unit", res.unit_effects), ("period", res.time_effects))
                      if on) or "no"
    if res.comparison is None:
        title = f"Before/after: {res.n_units} units, all exposed on the {event_name}"
        what = (f"Estimates how much {metric} changed on and after the {event_name} within "
                f"each of {res.n_units} units, all exposed on that date ({fe} fixed effects"
                f"{', covariates' if res.covariates else ''}; {res.vcov} errors). With no "
                "unexposed units, anything else that changed on that date, and any trend, "
                "is in the estimate too.")
    else:
        a, b = res.comparison
        title = f"Before/after: {a} against {b} around the {event_name}"
        what = (f"Estimates how much more {metric} changed after the {event_name} in the "
                f"{res.n_units_a} {a} units than in the {res.n_units_b} {b} units ({fe} fixed "
                f"effects; {res.vcov} errors). Anything else that moved the two groups "
                "differently on those dates would fool it.")
    if res.family == "poisson":
        what += (" The outcome is a count, fitted by Poisson pseudo-likelihood: the effect "
                 "is a ratio of expected counts, and the zeros count as they are.")
    estimate = res.effect.to_dict()
    rel = res.relative
    if rel is not None:
        estimate.update(relative=rel[0], relative_lower=rel[1], relative_upper=rel[2])
    # a log-scale coefficient at the edge (a factor of 100) that its own test calls
    # ordinary (butfor.methods._flags); a coefficient on the metric's own scale has no
    # relative change to judge
    edge = None if rel is None else edge_estimate(rel[0], res.effect.p_value,
                                                    test="regression")
    return {
        **({"flags": [edge.to_dict()]} if edge is not None else {}),
        "id": f"before_after:{metric}:{event_name}",
        "method": "before_after",
        "title": title,
        "metric": metric,
        "event": event_name,
        "description": what,
        "estimate": estimate,
        "before_after": res.to_dict(),
    }
