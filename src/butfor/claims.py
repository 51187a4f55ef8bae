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
from dataclasses import dataclass, field, replace
from typing import Any

from butfor import frequency as freq
from butfor.case import Case, Claim
from butfor.verdicts import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Gate,
    VerdictWord,
    band_words,
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

# which analyses can test each kind, best first
PREFERRED_METHODS: dict[str, list[str]] = {
    "declined_after": ["sts", "prepost", "sdid", "synthetic_control"],
    # each account against its own off-platform controls first (a platform-wide change
    # moves the peers too, not their off-platform series); then SDID: accounts differ in
    # size far more than the peers can match in level, and its unit fixed effects compare
    # paths, not levels
    "beyond_platform_trend": ["peer_effects", "sdid", "synthetic_control", "prepost"],
    "targeted": ["peer_effects", "sdid", "synthetic_control", "prepost"],
    "not_preexisting": ["prepost", "event_study", "changepoint"],
    "disproportionate": ["group_disproportion", "event_study"],
    "attributed_to": ["attribution"],
}


def methods_for(kind: str) -> list[str]:
    """The case methods an analysis of a claim's metric needs (the pipeline runs them)."""
    return PREFERRED_METHODS.get(kind, [])


@dataclass(frozen=True)
class Verdict:
    claim: str
    kind: str
    allegation: str
    verdict: VerdictWord
    sentence: str
    figures: dict[str, Any] = field(default_factory=dict)
    gates: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def evaluate_claims(case: Case, analyses: list[dict], damages: dict | None,
                    unit_groups: dict[str, str | None] | None = None, frequency: str = "D"
                    ) -> list[Verdict]:
    """A verdict for every claim in the case, in the case's order (``frequency``: the panel's)."""
    context = _Context(case, analyses, damages, unit_groups or {}, frequency)
    return [_JUDGES[claim.kind](claim, context) for claim in case.claims]


# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    case: Case
    analyses: list[dict]
    damages: dict | None
    unit_groups: dict[str, str | None]
    frequency: str = "D"  # the panel's: a claim's tolerance is counted in its periods

    def find(self, kind: str, claim: Claim, *, need: str | None = None) -> dict | None:
        """The best analysis for this claim's kind, event and metric."""
        event = self.case.event(claim.event)
        metric = self.case.claim_metric(claim)
        for method in PREFERRED_METHODS[kind]:
            for a in self.analyses:
                if a["method"] != method or a.get("metric") != metric:
                    continue
                if need is not None and need not in a:
                    continue
                if need == "effect" and _effect_of(a, event) is None:
                    continue
                if need != "effect" and a.get("event") not in (None, event.name):
                    continue
                return a
        return None


def _effect_of(analysis: dict, event) -> dict | None:
    """The analysis's effect path for ``event`` (a method may carry one path per event)."""
    for effect in analysis.get("effects") or [analysis.get("effect")]:
        if not isinstance(effect, dict):
            continue
        named = (effect.get("diagnostics") or {}).get("event") or analysis.get("event")
        if named == event.name or (event.date is not None
                                   and effect.get("event_date") == str(event.date)):
            return effect
    if analysis.get("event") in (None, event.name) and isinstance(analysis.get("effect"), dict):
        return analysis["effect"]
    return None


def _missing(claim: Claim, what: str) -> Verdict:
    return Verdict(claim.id, claim.kind, claim.allegation, INCONCLUSIVE,
                   f"No analysis in this run can test it: {what}.", {})


def _event_name(claim: Claim, case: Case) -> str:
    return claim.event or case.events[0].name


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def _verdict(claim: Claim, word: VerdictWord, sentence: str, figures: dict,
             gates: list[Gate | None]) -> Verdict:
    kept = [g.to_dict() for g in gates if g is not None]
    figures = {**figures, "failed_gates": [g["name"] for g in kept if not g["passed"]]}
    return Verdict(claim.id, claim.kind, claim.allegation, word, sentence, figures, kept)


def _base_figures(claim: Claim, ctx: _Context, a: dict) -> dict:
    power = a.get("power") if isinstance(a.get("power"), dict) else None
    return {"method": a["method"], "analysis": a["id"], "metric": a.get("metric"),
            "alpha": claim.alpha, "direction": claim.direction,
            "smallest_effect": ctx.case.smallest_effect(claim),
            "mde": minimum_detectable(power, claim.direction)}


def _signed(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.4g}"


def _what(metric: str | None) -> str:
    return str(metric or "the outcome").replace("_", " ")


# ---------------------------------------------------------------------------
def _declined_after(claim: Claim, ctx: _Context) -> Verdict:
    """The subject's metric (or, with no subject, the panel's) moved in the claimed direction."""
    if ctx.case.subject is None:
        return _declined_after_panel(claim, ctx)
    a = ctx.find("declined_after", claim, need="effect")
    if a is None:
        return _missing(claim, f"it needs a counterfactual estimate for the subject's "
                               f"{ctx.case.claim_metric(claim)}")
    event = ctx.case.event(claim.event)
    effect = _effect_of(a, event)
    s = effect["summary"]
    rel, lo, hi = s.get("relative"), s.get("relative_lower"), s.get("relative_upper")
    cum_lo, cum_hi, p = s.get("cumulative_lower"), s.get("cumulative_upper"), s.get("p_value")
    figures = {**_base_figures(claim, ctx, a), "relative_effect": rel, "relative_lower": lo,
               "relative_upper": hi, "cumulative_effect": s.get("cumulative"),
               "cumulative_lower": cum_lo, "cumulative_upper": cum_hi, "p_value": p}
    n_placebo = placebo_units(a)
    gates = [
        degenerate_gate(a, [s.get("cumulative"), cum_lo, cum_hi, rel, lo, hi]),
        convergence_gate(a, effect),
        error_rate_gate(a) or (rank_error_rate_gate(n_placebo, claim.alpha)
                               if n_placebo else _unmeasured_error_rate(a)),
        pretrend_gate(a, claim.alpha) or _peer_pretrend_gate(claim, ctx),
        pre_fit_gate(a),
        design_gate(n_placebo, claim.alpha),
        _timing_gate(claim, ctx),
    ]
    if (fp := a.get("false_positive")) and isinstance(fp, dict):
        figures.update(false_positive_rate=fp.get("rate"), false_positive_runs=fp.get("runs"))
    finding = (f"After the {event.name}, {_what(a.get('metric'))} ran "
               f"{band_words(rel, lo, hi, p, s.get('level', 0.95))} against what the "
               f"{str(a.get('title') or a['method']).lower()} predicts")
    ok = all(x is not None and math.isfinite(x) for x in (cum_lo, cum_hi))
    evidence = ok and _shows(claim, cum_lo, cum_hi) and (p is None or p <= claim.alpha)
    d = decide(direction=claim.direction, gates=[g for g in gates if g], evidence=evidence,
               finding=finding, lower=lo, upper=hi,
               smallest=ctx.case.smallest_effect(claim), power=a.get("power"))
    return _verdict(claim, d.verdict, d.reason[0].upper() + d.reason[1:], figures, gates)


def _declined_after_panel(claim: Claim, ctx: _Context) -> Verdict:
    """A case with no subject: the before/after coefficient over every unit exposed."""
    a = next((x for x in ctx.analyses if x["method"] == "before_after"
              and x.get("metric") == ctx.case.claim_metric(claim)
              and x.get("event") == _event_name(claim, ctx.case)), None)
    if a is None:
        return _missing(claim, "it needs a before/after on "
                               f"{ctx.case.claim_metric(claim)} (methods = [\"before_after\"])")
    c = a["estimate"]
    est, lo, hi, p = c.get("estimate"), c.get("lower"), c.get("upper"), c.get("p_value")
    rel, rel_lo, rel_hi = c.get("relative"), c.get("relative_lower"), c.get("relative_upper")
    figures = {**_base_figures(claim, ctx, a), "coefficient": est, "lower": lo, "upper": hi,
               "p_value": p, "relative_effect": rel, "relative_lower": rel_lo,
               "relative_upper": rel_hi}
    gates: list[Gate | None] = [degenerate_gate(a, [est, lo, hi, p])]
    where = f"After the {_event_name(claim, ctx.case)}, {_what(a.get('metric'))}"
    if rel is not None:
        finding = f"{where} ran {band_words(rel, rel_lo, rel_hi, p, c.get('level', 0.95))}"
    else:
        finding = (f"{where} moved by {_signed(est)} ({c.get('level', 0.95):.0%} interval "
                   f"{_signed(lo)} to {_signed(hi)}; {p_words(p)}; in its own units)")
    finding += f" ({a['title'][0].lower()}{a['title'][1:]})"
    evidence = None not in (lo, hi, p) and _shows(claim, lo, hi) and p <= claim.alpha
    d = decide(direction=claim.direction, gates=[g for g in gates if g], evidence=evidence,
               finding=finding, lower=rel_lo, upper=rel_hi,
               smallest=ctx.case.smallest_effect(claim), power=a.get("power"))
    return _verdict(claim, d.verdict, d.reason[0].upper() + d.reason[1:], figures, gates)


def _shows(claim: Claim, lower: float, upper: float) -> bool:
    return shows(claim.direction, lower, upper)


def _scope(a: dict, ctx: _Context, claim: Claim) -> str:
    event = ctx.case.event(claim.event)
    if a["method"] == "peer_effects":
        return (" Each account was measured against its own off-platform series, which the "
                "platform's change did not touch, so the platform-wide loss is measured "
                "rather than assumed away.")
    if event.scope == "platform":
        return (" The event was platform-wide, so the peers were hit too: this compares the "
                "subject with what everyone lost, not with a world without the change.")
    return ""


def _placebo_claim(claim: Claim, ctx: _Context, kind: str) -> Verdict:
    """beyond_platform_trend and targeted: the subject's effect ranked among the peers'."""
    a = ctx.find(kind, claim, need="placebo")
    if a is None:
        return _missing(claim, "it needs a comparison with peer accounts and placebo runs "
                               "(add peers and a peer method such as peer_effects or sdid)")
    placebo = a["placebo"]
    effect = a.get("effect") or {}
    s = effect.get("summary") or {}
    n = len(placebo["values"])
    p = placebo["p_value"]
    subject_value = placebo["subject_value"]
    rel, lo, hi = s.get("relative"), s.get("relative_lower"), s.get("relative_upper")
    figures = {**_base_figures(claim, ctx, a), "p_value": p, "rank": placebo["rank"],
               "placebo_units": n, "relative_effect": rel, "relative_lower": lo,
               "relative_upper": hi, "cumulative_effect": s.get("cumulative"),
               "subject_effect": subject_value,
               "false_positive_rate": rank_error_rate_gate(n, claim.alpha).value}
    gates: list[Gate | None] = [
        degenerate_gate(a, [subject_value, p]),
        rank_error_rate_gate(n, claim.alpha),
        design_gate(n, claim.alpha),
        pretrend_gate(a, claim.alpha) or _peer_pretrend_gate(claim, ctx),
        pre_fit_gate(a),
        _timing_gate(claim, ctx),
    ]
    right_way = {"fell": subject_value < 0, "rose": subject_value > 0,
                 "changed": subject_value != 0}[claim.direction]
    interval_ok = True
    if s.get("cumulative_lower") is not None and s.get("cumulative_upper") is not None:
        interval_ok = _shows(claim, s["cumulative_lower"], s["cumulative_upper"])
    change = (f"{change_words(rel)} ({s.get('level', 0.95):.0%} interval "
              f"{interval_words(lo, hi)})" if rel is not None
              else f"{change_words(log_to_relative(subject_value))}")
    finding = (f"The subject's change after the {_event_name(claim, ctx.case)}, {change}, ranks "
               f"{placebo['rank']} of {n + 1} among the peers' placebo effects ({p_words(p)})")
    evidence = right_way and p <= claim.alpha and interval_ok
    if kind == "targeted":
        own_group = ctx.unit_groups.get(effect.get("unit") or ctx.case.subject.unit)
        values = dict(zip(placebo["units"], placebo["values"], strict=True))
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
               smallest=ctx.case.smallest_effect(claim), power=a.get("power"))
    return _verdict(claim, d.verdict, d.reason + _scope(a, ctx, claim), figures, gates)


def _unmeasured_error_rate(a: dict) -> Gate | None:
    """Pseudo-events were asked for and the data could not give them (the structural time
    series notes "no false-positive check: ..."): the known error rate is unknown, and the
    verdict study found 13% supported on false claims with 21 days before the event."""
    prefix = "no false-positive check: "
    why = next((str(w) for w in a.get("warnings") or [] if str(w).startswith(prefix)), None)
    if why is None:
        return None
    return Gate("known_error_rate", False, None, "measured at pseudo-events",
                f"the known error rate could not be measured on this data "
                f"({why.removeprefix(prefix)})")


def _trend_analysis(ctx: _Context, metric: str, event_name: str) -> dict | None:
    """The run's pre-trend test of the subject against its peers on ``metric`` around the event."""
    return next(
        (a for method in PREFERRED_METHODS["not_preexisting"] for a in ctx.analyses
         if a["method"] == method and a.get("metric") == metric
         and a.get("event") in (None, event_name) and pretrend_test(a) is not None), None)


def _peer_pretrend_gate(claim: Claim, ctx: _Context) -> Gate | None:
    """A peer method with no pre-trend test (peer_effects) is gated by the run's one: a subject
    already drifting from its peers is no evidence the event singled it out (docs/verdict-study.md)."""
    a = _trend_analysis(ctx, ctx.case.claim_metric(claim), _event_name(claim, ctx.case))
    gate = pretrend_gate(a, claim.alpha) if a is not None else None
    if gate is None:
        return None
    return replace(gate, reading=f"{gate.reading}, in the {a['method']} analysis")


def _timing_gate(claim: Claim, ctx: _Context) -> Gate | None:
    """A pre-trend gate from this run's own timing check (not_preexisting's): it fails when a
    change is dated before the event, as no effect of the event can be read off one under way."""
    timing = _not_preexisting(claim.model_copy(update={"kind": "not_preexisting"}), ctx)
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


def _beyond_platform_trend(claim: Claim, ctx: _Context) -> Verdict:
    return _placebo_claim(claim, ctx, "beyond_platform_trend")


def _targeted(claim: Claim, ctx: _Context) -> Verdict:
    """Extreme among all peers AND among the subject's own group (so no group shock explains it)."""
    return _placebo_claim(claim, ctx, "targeted")


def _not_preexisting(claim: Claim, ctx: _Context) -> Verdict:
    """No change in the claimed direction dated before the event (less a tolerance)."""
    event = ctx.case.event(_event_name(claim, ctx.case))
    limit, tol = freq.before(event.date, claim.tolerance_days, ctx.frequency)  # whole periods
    metric = ctx.case.claim_metric(claim)
    way = {"fell": "decline", "rose": "rise", "changed": "change"}[claim.direction]
    trend_analysis = _trend_analysis(ctx, metric, event.name)
    dating = _dating_changepoint(ctx.analyses, metric)
    if dating is None and trend_analysis is None:
        return _missing(claim, "it needs change-point dating or a pre-trend test")
    figures: dict[str, Any] = {"event_date": str(event.date), "tolerance_days":
                               claim.tolerance_days, "tolerance_periods": tol, "alpha":
                               claim.alpha, "direction": claim.direction, "metric": metric}
    early, unclear, checked = [], [], []
    gates: list[Gate | None] = []
    flagged = trend_analysis and degenerate_gate(trend_analysis, [])
    if flagged and not flagged.passed:  # a flagged analysis's pre-trend is no evidence
        gates.append(flagged)
        unclear.append(f"{trend_analysis['id']}'s pre-trend test is unreadable: {flagged.reading}")
    elif trend_analysis is None:
        checked.append("no pre-trend test was possible (it needs peers)")
    else:
        pt, a_id = pretrend_test(trend_analysis), trend_analysis["id"]
        slope = pt.get("slope") or 0.0
        figures.update(pretrend_p=pt["p_value"], pretrend_slope=pt.get("slope"),
                       pretrend_method=trend_analysis["method"], pretrend_analysis=a_id)
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
        cp = dating["changepoint"]
        model = cp.get("model", "level")
        figures["changepoint_analysis"] = dating["id"]
        change = cp.get("change") or 0.0
        moved = {"fell": change < 0, "rose": change > 0, "changed": change != 0}[claim.direction]
        if cp.get("onset") is None or not moved:
            checked.append(f"the change-point dating ({model} model, the one that fits the "
                           f"series best) finds no {way}")
        else:
            onset, lower, upper = (dt.date.fromisoformat(cp.get(key) or cp["onset"])
                                   for key in ("onset", "onset_lower", "onset_upper"))
            figures["changepoints"] = [{"model": model, "onset": cp["onset"],
                                        "lower": str(lower), "upper": str(upper),
                                        "change": cp.get("change")}]
            dated = (f"the change-point dating ({model} model, the one that fits the series "
                     f"best) places a {way} at {onset} (95% range {lower} to {upper})")
            if upper < limit:
                early.append(f"{dated}, before {limit}")
            elif lower < limit:
                unclear.append(f"{dated}, which cannot be placed clearly before or after "
                               f"{limit}")
            else:
                checked.append(f"{dated}, after {limit}")
    if early:
        word, sentence = NOT_SUPPORTED, f"A {way} began before the {event.name}: " + \
            "; ".join(early) + "."
    elif unclear:
        word, sentence = INCONCLUSIVE, "Inconclusive: " + "; ".join(unclear + checked) + "."
    else:
        word, sentence = SUPPORTED, (f"No {way} before {limit} ({freq.describe(ctx.frequency, tol)}"
                                     f" before the {event.name}): " + "; ".join(checked) + ".")
    return _verdict(claim, word, sentence, figures, gates)


def _disproportionate(claim: Claim, ctx: _Context) -> Verdict:
    a = ctx.find("disproportionate", claim, need="estimate")
    if a is None or "group_disproportion" not in a:
        return _missing(claim, "it needs a group comparison ([groups] compare = [a, b])")
    c = a["estimate"]
    labels = (a["group_disproportion"]["group_a"], a["group_disproportion"]["group_b"])
    est, lo, hi, p = c.get("estimate"), c.get("lower"), c.get("upper"), c.get("p_value")
    group_a = claim.group_a or labels[0]
    group_b = claim.group_b or labels[1]
    if {group_a, group_b} != set(labels):
        return _missing(claim, f"the group comparison in this run is {labels[0]} against "
                               f"{labels[1]}, not {group_a} against {group_b}")
    gates: list[Gate | None] = [degenerate_gate(a, [est, lo, hi, p]),
                                pretrend_gate(a, claim.alpha)]
    # the analysis reports effect(labels[0]) - effect(labels[1]); orient it to the claim
    if (group_a, group_b) != labels and None not in (est, lo, hi):
        est, lo, hi = -est, -hi, -lo
    figures = {**_base_figures(claim, ctx, a), "difference": est, "lower": lo, "upper": hi,
               "p_value": p, "group_a": group_a, "group_b": group_b}
    rel = rel_lo = rel_hi = None
    where = f"After the {_event_name(claim, ctx.case)}, {_what(a.get('metric'))} in group {group_a}"
    if ctx.case.outcome.transform in ("log", "log1p"):  # log points: a percentage
        rel, rel_lo, rel_hi = (log_to_relative(x) for x in (est, lo, hi))
        figures.update(relative_effect=rel, relative_lower=rel_lo, relative_upper=rel_hi)
        finding = (f"{where} moved {band_words(rel, rel_lo, rel_hi, p, c.get('level', 0.95))} "
                   f"than in group {group_b}")
    else:  # on the outcome's own scale (day-on-day growth, per post, levels)
        scale = {"pct_change": "day-on-day growth, as a fraction", "per_post": "per post",
                 "none": "the metric's own units"}[ctx.case.outcome.transform]
        finding = (f"{where} moved by {_signed(est)} ({c.get('level', 0.95):.0%} interval "
                   f"{_signed(lo)} to {_signed(hi)}; {p_words(p)}; {scale}) against group "
                   f"{group_b}")
    evidence = (None not in (lo, hi, p)) and _shows(claim, lo, hi) and p <= claim.alpha
    d = decide(direction=claim.direction, gates=[g for g in gates if g], evidence=evidence,
               finding=finding, lower=rel_lo, upper=rel_hi,
               smallest=ctx.case.smallest_effect(claim), power=a.get("power"))
    return _verdict(claim, d.verdict, d.reason, figures, gates)


# ---------------------------------------------------------------------------
# money claims (the damages engineer's; they read the damages distribution)
def _damages_scenario(ctx: _Context) -> dict | None:
    """The headline scenario (the damages' stated rule chose it), else the first."""
    if not ctx.damages or not ctx.damages.get("scenarios"):
        return None
    named = ctx.damages.get("headline")
    return next((s for s in ctx.damages["scenarios"] if s["name"] == named),
                ctx.damages["scenarios"][0])


def _event_part(claim: Claim, ctx: _Context) -> dict | None:
    """The claim's own event's part of the headline damages, when several events are priced.

    A money claim prices its own event: with one event priced the whole
    damages are that event's; with several, the apportionment's share.
    """
    if not ctx.damages or claim.event is None:
        return None
    if len(ctx.damages.get("events_priced") or []) < 2:
        return None
    parts = (ctx.damages.get("apportionment") or {}).get("by_event") or {}
    return parts.get(claim.event)


def _income_loss(claim: Claim, ctx: _Context) -> Verdict:
    sc = _event_part(claim, ctx) or _damages_scenario(ctx)
    if sc is None:
        return _missing(claim, "it needs a [damages] section")
    q = sc["quantiles"]
    lo, mid, hi = q["5"], q["50"], q["95"]
    cur = ctx.damages.get("currency", "USD")
    figures = {"scenario": sc["name"], "q05": lo, "median": mid, "q95": hi, "currency": cur}
    band = f"median {_num(mid)} {cur}, 90% interval {_num(lo)} to {_num(hi)}"
    if lo > 0:
        verdict, sentence = SUPPORTED, f"Lost income is above zero across the interval: {band}."
    elif hi <= 0 or mid <= 0:
        verdict, sentence = NOT_SUPPORTED, f"The data show no lost income: {band}."
    else:
        verdict = INCONCLUSIVE
        sentence = f"Lost income may be zero: {band}."
    return Verdict(claim.id, claim.kind, claim.allegation, verdict, sentence, figures)


def _claimed_amount(claim: Claim, ctx: _Context) -> Verdict:
    sc = _damages_scenario(ctx)
    if sc is None:
        return _missing(claim, "it needs a [damages] section")
    amount = claim.amount if claim.amount is not None else ctx.damages.get("amount_claimed")
    if amount is None:
        return _missing(claim, "no amount is stated (claims.amount or damages.amount_claimed)")
    cur = ctx.damages.get("currency", "USD")
    results = []
    part = _event_part(claim, ctx)
    for scenario in [part] if part is not None else ctx.damages["scenarios"]:
        figures = next((f for f in scenario.get("amounts", []) if f["amount"] == amount), None)
        if figures is not None:
            p, percentile = figures["p_reaching_amount"], figures["amount_percentile"]
        elif scenario.get("amount_claimed") == amount:
            p, percentile = scenario["p_reaching_claim"], scenario.get("claim_percentile")
        else:
            return _missing(claim, f"the damages were not evaluated at {_num(amount)}")
        results.append((scenario["name"], p, percentile, scenario["quantiles"]["50"]))
    # most favourable to the claim: the highest chance, then the highest median (so a
    # tie at p = 0 is not settled by which scenario the case lists first)
    best = max(results, key=lambda r: (r[1], r[3]))
    name, p, percentile, median = best
    n_draws = ctx.damages.get("n_draws")
    figures = {"amount": amount, "currency": cur, "p_reaching_amount": p,
               "amount_percentile": percentile, "scenario": name, "median": median,
               "n_draws": n_draws,
               "by_scenario": [{"scenario": n, "p_reaching_amount": pp, "median": m}
                               for n, pp, _, m in results]}
    where = (f"at the {percentile:.1f}th percentile of" if percentile is not None
             else "against")
    resolution = (f" P(≥ claim) is a share of {n_draws:,} draws (its resolution is 1 in "
                  f"{n_draws:,}) and holds under the model and its assumptions."
                  if isinstance(n_draws, int) and n_draws > 0 else "")
    shown = (f"below 1 in {n_draws:,}" if p == 0 and isinstance(n_draws, int)
             else f"{p:.3f}")
    if part is not None:
        figures["event"] = claim.event
        tail = (f"{_num(amount)} {cur} sits {where} the damages apportioned to the "
                f"{claim.event} ({name}); the probability that they reach it is {shown} "
                f"(median {_num(median)} {cur}).{resolution}")
    elif all(r[1] == p for r in results) and len(results) > 1:
        tail = (f"{_num(amount)} {cur} sits {where} the damages distribution; in every "
                f"scenario the probability that damages reach it is {shown} (the highest "
                f"median, {name}, is {_num(median)} {cur}).{resolution}")
    else:
        tail = (f"{_num(amount)} {cur} sits {where} the damages distribution; even in the "
                f"most favourable scenario ({name}) the probability that damages reach it "
                f"is {p:.3f} (median {_num(median)} {cur}).{resolution}")
    if p >= 0.5:
        verdict, sentence = SUPPORTED, f"More likely than not: {tail}"
    elif p < 0.05:
        verdict, sentence = NOT_SUPPORTED, f"Far above what the data support: {tail}"
    else:
        verdict, sentence = INCONCLUSIVE, f"Possible but less likely than not: {tail}"
    return Verdict(claim.id, claim.kind, claim.allegation, verdict, sentence, figures)


def _attributed_to(claim: Claim, ctx: _Context) -> Verdict:
    """The claimed change, among the case's candidates, is the one the break follows."""
    a = ctx.find("attributed_to", claim)
    claimed = _event_name(claim, ctx.case)
    if a is None:
        return _missing(claim, "it needs the 'attribution' method and at least two dated "
                               "events as candidate changes")
    res = a["attribution"]
    scores = {c["name"]: c for c in res["candidates"]}
    mine, top = scores.get(claimed), scores.get(res["top"])
    if mine is None:
        return _missing(claim, f"the event {claimed!r} is not a singly dated candidate")
    n, smallest = res["n_placebo"], res["smallest_p"]
    figures = {"method": "attribution", "analysis": a["id"], "claimed": claimed,
               "claimed_share": mine["share"], "claimed_p_value": mine["placebo_p"],
               "top": top["name"], "top_share": top["share"], "top_p_value": top["placebo_p"],
               "plausible": res["plausible"], "placebo_dates": n, "alpha": claim.alpha,
               "break_date": res["break_date"], "break_lower": res["break_lower"],
               "break_upper": res["break_upper"], "lag_days": res["lag_days"]}
    interval = (f"the break is dated {res['break_date']} ({res['level']:.0%} interval "
                f"{res['break_lower']} to {res['break_upper']})")

    def verdict(word: VerdictWord, text: str) -> Verdict:
        return Verdict(claim.id, claim.kind, claim.allegation, word, text, figures)

    if smallest is None or smallest > claim.alpha:
        return verdict(INCONCLUSIVE, (
            f"Only {n} dates before the first change can serve as placebo dates, so no "
            f"break can reach p ≤ {claim.alpha}: this design cannot support the claim; "
            "longer data before the first change would."))
    others = [name for name in res["plausible"] if name != claimed]
    if claimed in res["plausible"] and others:
        listed = ", ".join(f"{name} ({scores[name]['share']:.0%})" for name in others)
        return verdict(INCONCLUSIVE, (
            f"The data cannot tell {claimed} ({mine['share']:.0%} of the break) apart from "
            f"{listed}: {interval}, and a change may take {res['lag_days']} days to show."))
    if claimed not in res["plausible"]:
        if top["placebo_p"] is not None and top["placebo_p"] <= claim.alpha:
            return verdict(NOT_SUPPORTED, (
                f"The break points to {top['name']} ({top['share']:.0%} of its probability; "
                f"{top['placebo_as_strong']} of {n} dates where nothing happened showed a "
                f"break as strong, p = {top['placebo_p']:.3f}), not to {claimed} "
                f"({mine['share']:.0%}): {interval}."))
        return verdict(INCONCLUSIVE, (
            f"The break is closest to {top['name']}, not {claimed}, but it is no stronger "
            f"than breaks at dates where nothing happened (p = {top['placebo_p']:.3f}), so "
            "the timing points nowhere for certain."))
    p = mine["placebo_p"]
    if p is not None and p <= claim.alpha:
        return verdict(SUPPORTED, (
            f"The break points to {claimed} ({mine['share']:.0%} of its probability among "
            f"{len(scores)} candidate changes), and {mine['placebo_as_strong']} of {n} dates "
            f"where nothing happened showed a break as strong (p = {p:.3f}): {interval}."))
    return verdict(INCONCLUSIVE, (
        f"The break is nearest {claimed}, but it is no stronger than breaks at dates where "
        f"nothing happened (p = {'n/a' if p is None else f'{p:.3f}'})."))


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
