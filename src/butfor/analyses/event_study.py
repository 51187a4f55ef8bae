"""The case's event studies: the subject against its peers, group against group, staggered events.

Reads the case (which metric, which events, which groups) and calls the
estimators of :mod:`butfor.methods.event_study` with plain inputs.
"""

from __future__ import annotations

import math

import numpy as np

from butfor import frequency as freq
from butfor import transforms
from butfor.errors import DataError
from butfor.methods.event_study import EventStudy, GroupDisproportion, subject_effect_path
from butfor.methods.panel_results import GroupDisproportionResult
from butfor.methods.sun_abraham import SunAbraham
from butfor.transforms import Transform

# ---------------------------------------------------------------------------
# the pipeline's entry point
#: most event times estimated on each side of an event (longer windows are binned)
MAX_EVENT_TIMES = 28
#: placebo accounts for a single treated account's event study


def resolve_groups(case, panel) -> tuple[str, str, list[str], list[str]] | None:
    """The two groups to compare: ``[groups] members`` or the panel's ``group`` labels.

    ``[groups] compare = [a, b]`` picks them (a is the group whose extra change
    is estimated); without it, exactly two labelled groups are taken in sorted
    order. None when the case and the panel define fewer than two groups.
    """
    members = {k: [str(u) for u in v] for k, v in case.groups.members.items()}
    if not members:
        members = panel.groups()
    compare = list(case.groups.compare)
    if compare:
        missing = [g for g in compare if g not in members]
        if missing:
            raise DataError(f"[groups] compare names group {missing[0]!r}, which has no "
                            f"accounts; the groups are {', '.join(sorted(members)) or 'none'}")
        if len(compare) != 2:
            raise DataError("[groups] compare takes exactly two group labels, e.g. "
                            "compare = [\"left\", \"right\"]")
    elif len(members) == 2:
        compare = sorted(members)
    else:
        return None
    a, b = compare
    return a, b, members[a], members[b]


def _window_for(n_pre: int, n_post: int) -> tuple[int, int]:
    return (-max(2, min(MAX_EVENT_TIMES, n_pre)), max(0, min(MAX_EVENT_TIMES, n_post - 1)))


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """Event-study analyses the case supports, as result dicts.

    For each dated event: the subject against its peers (event study with
    placebo-in-space inference, and its effect path), and, where the case or
    the panel defines two groups, the group A × post comparison with its event
    study. For each staggered event (per-account dates): Sun & Abraham beside
    plain two-way fixed effects.
    """
    from butfor.analyses.case_inputs import event_windows, peer_units

    metric = case.outcome.metric
    transform = case.outcome.transform
    posts_metric = case.outcome.posts_metric
    covariates = list(case.covariates)
    covariate_transform = {c: case.covariate_transform(c) for c in covariates}
    subject = case.subject.unit if case.subject is not None else None  # None: groups only
    if subject is None and resolve_groups(case, panel) is None and not any(
            e.dates for e in case.events):
        raise DataError("event_study without a [subject] compares two groups: set [groups] "
                        "compare = [\"a\", \"b\"] (or give the panel two group labels), or "
                        "add [subject] unit")
    out: list[dict] = []
    dates, period = panel.dates, freq.PERIOD[panel.frequency]  # "day", "month": the wording's
    options = case.event_study
    for event_name, start, event_date, end in event_windows(case, panel, "event_study"):
        if options.events and event_name not in options.events:
            continue
        n_pre = int(np.sum((dates >= start) & (dates < event_date)))
        n_post = int(np.sum((dates >= event_date) & (dates <= end)))
        window = _window_for(n_pre, n_post)
        # 1. the subject against its peers, on the days of the event window only (one
        #    regression per placebo account: keep each small)
        peers = peer_units(case, panel) if subject is not None else []
        if len(peers) >= 3:
            lo_k, hi_k = window
            # event time counts the panel's periods (years of annual data), not days
            start_s = max(start, freq.shift(event_date, lo_k, panel.frequency))
            end_s = min(end, freq.shift(event_date, hi_k, panel.frequency))
            est = EventStudy(window=window, covariates=covariates, transform=transform,
                             covariate_transform=covariate_transform,
                             posts_metric=posts_metric, inference="placebo",
                             n_placebo=options.n_placebo, baseline="pre_mean", seed=seed)
            res = est.fit(panel, metric, treated=[subject], event=event_date,
                          units=[subject, *peers], start=start_s, end=end_s)
            path = subject_effect_path(panel, res, subject=subject, outcome=metric,
                                       event_date=event_date, transform=transform,
                                       posts_metric=posts_metric, start=start_s, end=end_s,
                                       seed=seed)
            out.append({
                "id": f"event_study:{metric}:{event_name}",
                "method": "event_study",
                "title": f"Event study: {case.subject.display_name or subject} against "
                         f"{len(peers)} peers around the {event_name}",
                "metric": metric,
                "event": event_name,
                "description": (
                    f"Estimates, {period} by {period} around the event, how far the subject's "
                    f"outcome moved beyond what her peers' moved, with account and {period} "
                    f"fixed effects; the {period}s before the event test whether a gap was "
                    "already opening (the pre-trend test), and each peer treated as if it were "
                    "the subject shows how big such gaps get by chance. Peers the event also "
                    "touched, or a trend that would have bent anyway after it, would fool it."
                ),
                "effect": path.to_dict(),
                "event_study": res.to_dict(),
            })
        # 2. one group against the other
        groups = resolve_groups(case, panel)
        if groups is not None:
            a, b, units_a, units_b = groups
            units_a = [u for u in units_a if u != subject]
            units_b = [u for u in units_b if u != subject]
            gd = GroupDisproportion(window=window, covariates=covariates, transform=transform,
                                    covariate_transform=covariate_transform,
                                    posts_metric=posts_metric, seed=seed)
            res_g = gd.fit(panel, metric, group_a=units_a, group_b=units_b, event=event_date,
                           labels=(a, b), start=start, end=end)
            out.append(_group_analysis(res_g, metric, event_name, transform,
                                       freq.PERIOD[panel.frequency]))
    # 3. staggered events
    for ev in case.events:
        if not ev.dates:
            continue
        n_pre = n_post = len(dates)
        sa = SunAbraham(window=_window_for(n_pre, n_post), covariates=covariates,
                        covariate_transform=covariate_transform,
                        transform=transform, posts_metric=posts_metric, seed=seed)
        res_s = sa.fit(panel, metric, adoption=dict(ev.dates), start=case.window.start,
                       end=case.window.end)
        out.append(sun_abraham_analysis(res_s, metric, ev.name))
    return out


def sun_abraham_analysis(res_s, metric: str, event_name: str) -> dict:
    """The analysis of a staggered event: Sun & Abraham beside plain two-way fixed effects."""
    return {
        "id": f"staggered:{metric}:{event_name}",
        "method": "sun_abraham",
        "title": f"Staggered adoption ({res_s.n_cohorts} cohorts): {event_name}",
        "metric": metric,
        "event": event_name,
        "description": (
            "Each account is compared from its own adoption date against accounts not "
            f"(yet) adopting ({res_s.control}), cohort by cohort, and the cohorts' "
            "effects are averaged with their shares (Sun & Abraham 2021); plain two-way "
            "fixed effects is shown beside it because it can be badly biased when effects "
            "differ across cohorts or grow over time. Accounts choosing their date because "
            "of how they were doing would fool both."
        ),
        "sun_abraham": res_s.to_dict(),
    }


def _group_analysis(res: GroupDisproportionResult, metric: str, event_name: str,
                    transform: Transform, period: str = "day") -> dict:
    c = res.interaction.effect
    estimate = c.to_dict()
    when = "on the same days" if period == "day" else f"in the same {period}s"
    if transforms.is_log(transform):  # on a log scale, exp(b) - 1 is a relative gap
        estimate.update(relative=math.expm1(c.estimate), relative_lower=math.expm1(c.lower),
                        relative_upper=math.expm1(c.upper))
    return {
        "id": f"group_disproportion:{metric}:{event_name}",
        "method": "group_disproportion",
        "title": f"Did {res.group_a} accounts move more than {res.group_b} accounts around "
                 f"the {event_name}?",
        "metric": metric,
        "event": event_name,
        "description": (
            f"Compares the change in the outcome from before to after the event for "
            f"{res.n_units_a} {res.group_a} accounts with the change for {res.n_units_b} "
            f"{res.group_b} accounts (two-way fixed effects, standard errors clustered by "
            f"account); the {period}-by-{period} version shows whether the groups were "
            f"already drifting apart before. Anything else that hit one group {when}, or "
            "groups that differ in how they respond to any platform-wide change, would fool it."
        ),
        "estimate": estimate,
        "group_disproportion": res.to_dict(),
    }
