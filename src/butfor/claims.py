"""Claims become tests, tests become verdicts.

A claim is an allegation in the user's words plus a kind, a metric and a
direction (``fell``, ``rose`` or ``changed``); each kind names the analyses
that can test it, best first. Verdicts read only the analyses' results (the
same dicts that go into results.json), never the estimators, so a verdict can
be re-derived from a results file.

Every kind goes through the one verdict policy in :mod:`butfor.verdicts`
(written out in ``docs/verdict-policy.md``): gates first (convergence, known
error rate, pre-trend, pre-period fit, design, degenerate fit), then the
interval in the claimed direction, then power. Each verdict lists its gates
and their values, and its sentence is written from the very figures it used.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from typing import Any

from butfor import frequency as freq
from butfor.case import Case, Claim
from butfor.claims_base import (
    PREFERRED_METHODS,
    ClaimContext,
    Verdict,
    base_figures,
    effect_of,
    event_name,
    make_verdict,
    methods_for,
    metric_phrase,
    missing,
    signed,
)
from butfor.claims_money import _attributed_to, _claimed_amount, _income_loss
from butfor.records import Analysis, read_analyses
from butfor.verdicts import (
    ERROR_RATE_FACTOR,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    TARGET_POWER,
    Gate,
    VerdictWord,
    band_words,
    before_event_check,
    change_words,
    convergence_gate,
    decide,
    degenerate_gate,
    design_gate,
    error_rate_gate,
    interval_words,
    log_to_relative,
    minimum_detectable,
    p_words,
    pct,
    placebo_units,
    pre_fit_gate,
    pretrend_gate,
    pretrend_test,
    rank_error_rate_gate,
    shows,
)
from butfor.verdicts import dating_changepoint as _dating_changepoint

__all__ = ["INCONCLUSIVE", "NOT_SUPPORTED", "PREFERRED_METHODS", "SUPPORTED", "Verdict",
           "VerdictWord", "evaluate_claims", "methods_for"]



def evaluate_claims(case: Case, analyses: list[Analysis | dict], damages: dict | None,
                    unit_groups: dict[str, str | None] | None = None, frequency: str = "D"
                    ) -> list[Verdict]:
    """A verdict for every claim in the case, in the case's order (``frequency``: the panel's).

    ``analyses`` are records (:mod:`butfor.records`); dicts, as a case adapter or
    results.json holds them, are read into records first.
    """
    context = ClaimContext(case, read_analyses(analyses), damages, unit_groups or {},
                           frequency)
    return [_JUDGES[claim.kind](claim, context) for claim in case.claims]


# ---------------------------------------------------------------------------
def _declined_after(claim: Claim, ctx: ClaimContext) -> Verdict:
    """The subject's metric (or, with no subject, the panel's) moved in the claimed direction."""
    if ctx.case.subject is None:
        return _declined_after_panel(claim, ctx)
    a = ctx.find("declined_after", claim, need="effect")
    if a is None:
        return missing(claim, f"it needs a counterfactual estimate for the subject's "
                               f"{ctx.case.claim_metric(claim)}")
    event = ctx.case.event(claim.event)
    effect = effect_of(a, event)
    s = effect.summary
    rel, lo, hi = s.relative, s.relative_lower, s.relative_upper
    cum_lo, cum_hi, p = s.cumulative_lower, s.cumulative_upper, s.p_value
    figures = {**base_figures(claim, ctx, a), "relative_effect": rel, "relative_lower": lo,
               "relative_upper": hi, "cumulative_effect": s.cumulative,
               "cumulative_lower": cum_lo, "cumulative_upper": cum_hi, "p_value": p}
    n_placebo = placebo_units(a)
    gates = [
        degenerate_gate(a, [s.cumulative, cum_lo, cum_hi, rel, lo, hi]),
        convergence_gate(a, effect),
        error_rate_gate(a) or (rank_error_rate_gate(n_placebo, claim.alpha)
                               if n_placebo else _unmeasured_error_rate(a)),
        pretrend_gate(a, claim.alpha) or _peer_pretrend_gate(claim, ctx),
        pre_fit_gate(a),
        design_gate(n_placebo, claim.alpha),
        _timing_gate(claim, ctx, rel),
    ]
    if (fp := getattr(a, "false_positive", None)) is not None:
        figures.update(false_positive_rate=fp.rate, false_positive_runs=fp.runs)
    finding = (f"After the {event.name}, {metric_phrase(a.metric, ctx)} ran "
               f"{band_words(rel, lo, hi, p, s.level)} against what the "
               f"{str(a.title or a.method).lower()} predicts")
    ok = all(x is not None and math.isfinite(x) for x in (cum_lo, cum_hi))
    evidence = ok and _shows(claim, cum_lo, cum_hi) and (p is None or p <= claim.alpha)
    d = decide(direction=claim.direction, gates=[g for g in gates if g], evidence=evidence,
               finding=finding, lower=lo, upper=hi,
               smallest=ctx.case.smallest_effect(claim), power=a.power)
    return make_verdict(claim, d.verdict, d.reason[0].upper() + d.reason[1:], figures, gates)


def _declined_after_panel(claim: Claim, ctx: ClaimContext) -> Verdict:
    """A case with no subject: the before/after coefficient over every unit exposed."""
    a = next((x for x in ctx.analyses if x.method == "before_after"
              and x.metric == ctx.case.claim_metric(claim)
              and x.event == event_name(claim, ctx.case)), None)
    if a is None:
        return missing(claim, "it needs a before/after on "
                               f"{ctx.case.claim_metric(claim)} (methods = [\"before_after\"])")
    c = a.estimate
    est, lo, hi, p = c.estimate, c.lower, c.upper, c.p_value
    rel, rel_lo, rel_hi = c.relative, c.relative_lower, c.relative_upper
    figures = {**base_figures(claim, ctx, a), "coefficient": est, "lower": lo, "upper": hi,
               "p_value": p, "relative_effect": rel, "relative_lower": rel_lo,
               "relative_upper": rel_hi}
    gates: list[Gate | None] = [degenerate_gate(a, [est, lo, hi, p])]
    where = f"After the {event_name(claim, ctx.case)}, {metric_phrase(a.metric, ctx)}"
    if rel is not None:
        finding = f"{where} ran {band_words(rel, rel_lo, rel_hi, p, c.level)}"
    else:
        finding = (f"{where} moved by {signed(est)} ({c.level:.0%} interval "
                   f"{signed(lo)} to {signed(hi)}; {p_words(p)}; in its own units)")
    finding += f" ({a.title[0].lower()}{a.title[1:]})"
    evidence = None not in (lo, hi, p) and _shows(claim, lo, hi) and p <= claim.alpha
    d = decide(direction=claim.direction, gates=[g for g in gates if g], evidence=evidence,
               finding=finding, lower=rel_lo, upper=rel_hi,
               smallest=ctx.case.smallest_effect(claim), power=a.power)
    return make_verdict(claim, d.verdict, d.reason[0].upper() + d.reason[1:], figures, gates)


def _shows(claim: Claim, lower: float, upper: float) -> bool:
    return shows(claim.direction, lower, upper)


def _scope(a: Analysis, ctx: ClaimContext, claim: Claim) -> str:
    event = ctx.case.event(claim.event)
    if a.method == "peer_effects":
        return (" Each account was measured against its own off-platform series, which the "
                "platform's change did not touch, so the platform-wide loss is measured "
                "rather than assumed away.")
    if event.scope == "platform":
        return (" The event was platform-wide, so the peers were hit too: this compares the "
                "subject with what everyone lost, not with a world without the change.")
    return ""


def _placebo_claim(claim: Claim, ctx: ClaimContext, kind: str) -> Verdict:
    """beyond_platform_trend and targeted: the subject's effect ranked among the peers'."""
    a = ctx.find(kind, claim, need="placebo")
    if a is None:
        return missing(claim, "it needs a comparison with peer accounts and placebo runs "
                               "(add peers and a peer method such as peer_effects or sdid)")
    placebo = a.placebo
    effect = getattr(a, "effect", None)
    s = effect.summary if effect is not None else None
    n = len(placebo.values)
    p = placebo.p_value
    subject_value = placebo.subject_value
    rel, lo, hi = (None, None, None) if s is None else (s.relative, s.relative_lower,
                                                        s.relative_upper)
    figures = {**base_figures(claim, ctx, a), "p_value": p, "rank": placebo.rank,
               "placebo_units": n, "relative_effect": rel, "relative_lower": lo,
               "relative_upper": hi, "cumulative_effect": None if s is None else s.cumulative,
               "subject_effect": subject_value,
               "false_positive_rate": rank_error_rate_gate(n, claim.alpha).value}
    gates: list[Gate | None] = [
        degenerate_gate(a, [subject_value, p]),
        rank_error_rate_gate(n, claim.alpha),
        design_gate(n, claim.alpha),
        pretrend_gate(a, claim.alpha) or _peer_pretrend_gate(claim, ctx),
        pre_fit_gate(a),
        _timing_gate(claim, ctx, rel if rel is not None else log_to_relative(subject_value)),
    ]
    right_way = {"fell": subject_value < 0, "rose": subject_value > 0,
                 "changed": subject_value != 0}[claim.direction]
    interval_ok = True
    if s is not None and s.cumulative_lower is not None and s.cumulative_upper is not None:
        interval_ok = _shows(claim, s.cumulative_lower, s.cumulative_upper)
    change = (f"{change_words(rel)} ({s.level:.0%} interval "
              f"{interval_words(lo, hi)})" if rel is not None
              else f"{change_words(log_to_relative(subject_value))}")
    finding = (f"The subject's change after the {event_name(claim, ctx.case)}, {change}, ranks "
               f"{placebo.rank} of {n + 1} among the peers' placebo effects ({p_words(p)})")
    evidence = right_way and p <= claim.alpha and interval_ok
    if kind == "targeted":
        own_group = ctx.unit_groups.get((effect.unit if effect is not None else None)
                                        or ctx.case.subject.unit)
        values = dict(zip(placebo.units, placebo.values, strict=True))
        same = [abs(v) for u, v in values.items() if own_group is not None
                and ctx.unit_groups.get(u) == own_group]
        p_group = (sum(v >= abs(subject_value) for v in same) + 1) / (len(same) + 1) \
            if same else None
        figures.update(p_value_all_peers=p, p_value_own_group=p_group, own_group=own_group,
                       peers_in_own_group=len(same))
        if same:
            gates.append(design_gate(len(same), claim.alpha,
                                     f"peers in the subject's group ({own_group})"))
            finding += (f", and among the {len(same)} peers of its own group "
                        f"({p_words(p_group)})")
            evidence = evidence and p_group <= claim.alpha
    d = decide(direction=claim.direction, gates=[g for g in gates if g], evidence=evidence,
               finding=finding, lower=lo, upper=hi,
               smallest=ctx.case.smallest_effect(claim), power=a.power)
    return make_verdict(claim, d.verdict, d.reason + _scope(a, ctx, claim), figures, gates)


def _unmeasured_error_rate(a: Analysis) -> Gate | None:
    """Pseudo-events were asked for and the data could not give them (the structural time
    series notes "no false-positive check: ..."): the known error rate is unknown, and the
    verdict study found 13% supported on false claims with 21 days before the event."""
    prefix = "no false-positive check: "
    why = next((str(w) for w in a.warnings or [] if str(w).startswith(prefix)), None)
    if why is None:
        return None
    return Gate("known_error_rate", False, None, "measured at pseudo-events",
                f"the known error rate could not be measured on this data "
                f"({why.removeprefix(prefix)})")


def _trend_analysis(ctx: ClaimContext, metric: str, event_name: str) -> Analysis | None:
    """The run's pre-trend test of the subject against its peers on ``metric`` around the event."""
    return next(
        (a for method in PREFERRED_METHODS["not_preexisting"] for a in ctx.analyses
         if a.method == method and a.metric == metric
         and a.event in (None, event_name) and pretrend_test(a) is not None), None)


def _peer_pretrend_gate(claim: Claim, ctx: ClaimContext) -> Gate | None:
    """A peer method with no pre-trend test (peer_effects) is gated by the run's one: a subject
    already drifting from its peers is no evidence the event singled it out (docs/verdict-study.md)."""
    a = _trend_analysis(ctx, ctx.case.claim_metric(claim), event_name(claim, ctx.case))
    gate = pretrend_gate(a, claim.alpha) if a is not None else None
    if gate is None:
        return None
    return replace(gate, reading=f"{gate.reading}, in the {a.method} analysis")


def _timing_gate(claim: Claim, ctx: ClaimContext, effect: float | None = None) -> Gate | None:
    """A pre-trend gate from this run's own timing check (not_preexisting's): it fails when a
    change is dated before the event, as no effect of the event can be read off one under way,
    and when the data could not have shown a decline begun before the event as large as the
    claimed ``effect`` (relative; at least the claim's smallest effect of interest): such a
    decline, going on, would explain the effect without the event."""
    size = ctx.case.smallest_effect(claim)
    if effect is not None and math.isfinite(effect):
        size = min(max(size, abs(effect)), 9.99)
    # an estimate on the other side of the claim is no effect a decline under way could
    # explain: only a change actually dated before the event fails the gate then
    against = effect is not None and {"fell": effect > 0, "rose": effect < 0}.get(
        claim.direction, False)
    timing = _not_preexisting(claim.model_copy(update={"kind": "not_preexisting",
                                                       "smallest_effect": size}), ctx,
                              need_power=not against)
    if timing.figures.get("event_date") is None:  # no timing analysis in this run
        return None
    if timing.verdict == SUPPORTED:
        return Gate("pretrend", True, timing.verdict, "no change dated before the event",
                    "no change in the claimed direction is dated before the event")
    # dated before, or not clearly after: the change may have begun before the event
    found = timing.sentence.removeprefix("Inconclusive: ").rstrip(".")
    found = found[0].lower() + found[1:]
    return Gate("pretrend", False, timing.verdict, "no change dated before the event",
                found if timing.verdict == NOT_SUPPORTED else
                f"the timing check cannot place the change after the event ({found})")


def _beyond_platform_trend(claim: Claim, ctx: ClaimContext) -> Verdict:
    return _placebo_claim(claim, ctx, "beyond_platform_trend")


def _targeted(claim: Claim, ctx: ClaimContext) -> Verdict:
    """Extreme among all peers AND among the subject's own group (so no group shock explains it)."""
    return _placebo_claim(claim, ctx, "targeted")


def _not_preexisting(claim: Claim, ctx: ClaimContext, need_power: bool = True) -> Verdict:
    """No change in the claimed direction dated before the event (less a tolerance), and the
    data could have shown one of the smallest size that matters (``need_power``)."""
    event = ctx.case.event(event_name(claim, ctx.case))
    limit, tol = freq.before(event.date, claim.tolerance_days, ctx.frequency)  # whole periods
    metric = ctx.case.claim_metric(claim)
    way = {"fell": "decline", "rose": "rise", "changed": "change"}[claim.direction]
    trend_analysis = _trend_analysis(ctx, metric, event.name)
    dating = _dating_changepoint(ctx.analyses, metric)
    if dating is None and trend_analysis is None:
        return missing(claim, "it needs change-point dating or a pre-trend test")
    figures: dict[str, Any] = {"event_date": str(event.date), "tolerance_days":
                               claim.tolerance_days, "tolerance_periods": tol, "alpha":
                               claim.alpha, "direction": claim.direction, "metric": metric}
    early, unclear, checked = [], [], []
    gates: list[Gate | None] = []
    flagged = trend_analysis and degenerate_gate(trend_analysis, [])
    if flagged and not flagged.passed:  # a flagged analysis's pre-trend is no evidence
        gates.append(flagged)
        unclear.append(f"{trend_analysis.id}'s pre-trend test is unreadable: {flagged.reading}")
    elif trend_analysis is None:
        checked.append("no pre-trend test was possible (it needs peers)")
    else:
        pt, a_id = pretrend_test(trend_analysis), trend_analysis.id
        slope = pt.get("slope") or 0.0
        figures.update(pretrend_p=pt["p_value"], pretrend_slope=pt.get("slope"),
                       pretrend_method=trend_analysis.method, pretrend_analysis=a_id)
        same_way = {"fell": slope < 0, "rose": slope > 0, "changed": True}[claim.direction]
        if pt["p_value"] <= claim.alpha and same_way:
            early.append(f"the subject was already drifting against its peers before the "
                         f"event ({'falling' if slope < 0 else 'rising'}; pre-trend "
                         f"{p_words(pt['p_value'])})")
        elif pt["p_value"] <= claim.alpha:
            unclear.append(f"the pre-period shows the subject drifting against its peers "
                           f"the other way (pre-trend {p_words(pt['p_value'])})")
        else:
            checked.append(f"the pre-trend test against the peers does not reject parallel "
                           f"paths ({p_words(pt['p_value'])})")
    if dating is None:
        checked.append("no change-point dating was run")
    else:
        cp = dating.changepoint
        model = cp.model
        figures["changepoint_analysis"] = dating.id
        change = cp.change or 0.0
        moved = {"fell": change < 0, "rose": change > 0, "changed": change != 0}[claim.direction]
        if cp.onset is None or not moved:
            checked.append(f"the change-point dating ({model} model, the one that fits the "
                           f"series best) finds no {way}")
        else:
            onset, lower, upper = (dt.date.fromisoformat(day or cp.onset)
                                   for day in (cp.onset, cp.onset_lower, cp.onset_upper))
            figures["changepoints"] = [{"model": model, "onset": cp.onset,
                                        "lower": str(lower), "upper": str(upper),
                                        "change": cp.change}]
            dated = (f"the change-point dating ({model} model, the one that fits the series "
                     f"best) places a {way} at {onset} (95% range {lower} to {upper})")
            if upper < limit:
                early.append(f"{dated}, before {limit}")
            elif lower < limit:
                unclear.append(f"{dated}, which cannot be placed clearly before or after "
                               f"{limit}")
            else:
                checked.append(f"{dated}, after {limit}")
    onset = before_event_check(ctx.analyses, metric, claim)
    powered = None  # the sentence's power clause when the check could have seen a decline
    if onset is not None:
        found, smallest = onset.check, ctx.case.smallest_effect(claim)
        power = onset.power
        mde = minimum_detectable(power, claim.direction)
        figures.update(onset_check=None if found is None else found.to_dict(), mde=mde,
                       smallest_effect=smallest,
                       onset_power=None if power is None else power.sentence)
        fp = onset.false_positive
        rate = None if fp is None else fp.rate
        figures.update(onset_false_positive_rate=rate)
        noisy = rate is not None and rate > ERROR_RATE_FACTOR * 0.05 + 1e-12
        if found and found.found and noisy:
            unclear.append(f"with the event's own change left to the event, a {way} seems to "
                           f"begin around {found.onset}, but the same check finds one at "
                           f"{fp.n_flagged} of {fp.runs} pre-period pseudo-events where "
                           f"none was injected (known error rate {rate:.0%}, bound "
                           f"{ERROR_RATE_FACTOR * 0.05:.0%})")
        elif found and found.found:
            early.append(f"with the event's own change left to the event, a {way} "
                         f"({'a step' if found.shape == 'step' else 'a bend in the trend'}) "
                         f"begins around {found.onset}, before {limit} (it lowers the BIC "
                         f"by {found.delta_bic:.1f})")
        elif (mde is not None and mde <= smallest + 1e-12) or not need_power:
            powered = (f"the data could have detected a {way} of {pct(mde)} beginning before "
                       f"{limit} with {TARGET_POWER:.0%} power ({power.how})"
                       if mde is not None and mde <= smallest + 1e-12 else None)
        else:
            unclear.append(
                f"the data could not detect a {way} smaller than {pct(mde)} beginning before "
                f"{limit} ({TARGET_POWER:.0%} power, {power.how}), so one of "
                f"{pct(smallest)} is not ruled out" if mde is not None else
                f"the data could not detect a {way} of any size tried beginning before {limit}"
                + (f" ({power.how})" if power else f" ({onset.why})"))
    if early:
        word, sentence = NOT_SUPPORTED, f"A {way} began before the {event.name}: " + \
            "; ".join(early) + "."
    elif unclear:
        word, sentence = INCONCLUSIVE, "Inconclusive: " + "; ".join(unclear + checked) + "."
    else:
        word, sentence = SUPPORTED, (f"No {way} before {limit} ({freq.describe(ctx.frequency, tol)}"
                                     f" before the {event.name}): " + "; ".join(
                                         checked + ([powered] if powered else [])) + ".")
    return make_verdict(claim, word, sentence, figures, gates)


def _disproportionate(claim: Claim, ctx: ClaimContext) -> Verdict:
    a = ctx.find("disproportionate", claim, need="estimate")
    if a is None or getattr(a, "group_disproportion", None) is None:
        return missing(claim, "it needs a group comparison ([groups] compare = [a, b])")
    c = a.estimate
    labels = (a.group_disproportion.group_a, a.group_disproportion.group_b)
    est, lo, hi, p = c.estimate, c.lower, c.upper, c.p_value
    group_a = claim.group_a or labels[0]
    group_b = claim.group_b or labels[1]
    if {group_a, group_b} != set(labels):
        return missing(claim, f"the group comparison in this run is {labels[0]} against "
                               f"{labels[1]}, not {group_a} against {group_b}")
    gates: list[Gate | None] = [degenerate_gate(a, [est, lo, hi, p]),
                                pretrend_gate(a, claim.alpha)]
    # the analysis reports effect(labels[0]) - effect(labels[1]); orient it to the claim
    if (group_a, group_b) != labels and None not in (est, lo, hi):
        est, lo, hi = -est, -hi, -lo
    figures = {**base_figures(claim, ctx, a), "difference": est, "lower": lo, "upper": hi,
               "p_value": p, "group_a": group_a, "group_b": group_b}
    rel = rel_lo = rel_hi = None
    where = f"After the {event_name(claim, ctx.case)}, {metric_phrase(a.metric, ctx)} in group {group_a}"
    if ctx.case.outcome.transform in ("log", "log1p"):  # log points: a percentage
        rel, rel_lo, rel_hi = (log_to_relative(x) for x in (est, lo, hi))
        figures.update(relative_effect=rel, relative_lower=rel_lo, relative_upper=rel_hi)
        finding = (f"{where} moved {band_words(rel, rel_lo, rel_hi, p, c.level)} "
                   f"than in group {group_b}")
    else:  # on the outcome's own scale (day-on-day growth, per post, levels)
        scale = {"pct_change": "day-on-day growth, as a fraction", "per_post": "per post",
                 "none": "the metric's own units"}[ctx.case.outcome.transform]
        finding = (f"{where} moved by {signed(est)} ({c.level:.0%} interval "
                   f"{signed(lo)} to {signed(hi)}; {p_words(p)}; {scale}) against group "
                   f"{group_b}")
    evidence = (None not in (lo, hi, p)) and _shows(claim, lo, hi) and p <= claim.alpha
    d = decide(direction=claim.direction, gates=[g for g in gates if g], evidence=evidence,
               finding=finding, lower=rel_lo, upper=rel_hi,
               smallest=ctx.case.smallest_effect(claim), power=a.power)
    return make_verdict(claim, d.verdict, d.reason, figures, gates)


_JUDGES = {
    "declined_after": _declined_after,
    "beyond_platform_trend": _beyond_platform_trend,
    "targeted": _targeted,
    "not_preexisting": _not_preexisting,
    "disproportionate": _disproportionate,
    "income_loss": _income_loss,
    "claimed_amount": _claimed_amount,
    "attributed_to": _attributed_to,
}
