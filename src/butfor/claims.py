"""Claims become tests, tests become verdicts.

A claim is an allegation in the user's words plus a kind; each kind names the
analysis that tests it and the threshold it must meet. Verdicts read only the
analyses' results (the same dicts that go into results.json), never the
estimators, so a verdict can be re-derived from a results file.

Every verdict is ``supported``, ``not supported`` or ``inconclusive``, with
the figures behind it and one sentence a judge or a creator can read. The
defaults are conservative: a claim is never ``supported`` by an estimate
whose interval includes no effect, and an interval that includes no effect
but is too wide to rule out the alleged harm gives ``inconclusive``, not
``not supported``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from butfor.case import Case, Claim

VerdictWord = Literal["supported", "not supported", "inconclusive"]
SUPPORTED: VerdictWord = "supported"
NOT_SUPPORTED: VerdictWord = "not supported"
INCONCLUSIVE: VerdictWord = "inconclusive"

# which analyses can test each kind, best first
PREFERRED_METHODS: dict[str, list[str]] = {
    "declined_after": ["sts", "prepost", "sdid", "synthetic_control"],
    # each account against its own off-platform controls first (a platform-wide change
    # moves the peers too, not their off-platform series); then SDID: accounts differ in
    # size far more than the peers can match in level, and its unit fixed effects compare
    # paths, not levels
    "beyond_platform_trend": ["peer_effects", "sdid", "synthetic_control", "prepost"],
    "targeted": ["peer_effects", "sdid", "synthetic_control", "prepost"],
    "not_preexisting": ["prepost", "event_study"],
    "disproportionate": ["group_disproportion"],
    "attributed_to": ["attribution"],
}
# a decline smaller than this (relative) is no harm worth a claim; used to tell
# "not supported" (the interval rules out a real decline) from "inconclusive"
NEGLIGIBLE_RELATIVE_EFFECT = 0.05


@dataclass(frozen=True)
class Verdict:
    claim: str
    kind: str
    allegation: str
    verdict: VerdictWord
    sentence: str
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def evaluate_claims(case: Case, analyses: list[dict], damages: dict | None,
                    unit_groups: dict[str, str | None] | None = None) -> list[Verdict]:
    """A verdict for every claim in the case, in the case's order."""
    context = _Context(case, analyses, damages, unit_groups or {})
    return [_JUDGES[claim.kind](claim, context) for claim in case.claims]


# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    case: Case
    analyses: list[dict]
    damages: dict | None
    unit_groups: dict[str, str | None]

    def find(self, kind: str, claim: Claim, *, need: str | None = None) -> dict | None:
        """The best analysis for this claim's kind, event and metric."""
        event = claim.event or self.case.events[0].name
        metric = claim.metric or self.case.outcome.metric
        for method in PREFERRED_METHODS[kind]:
            for a in self.analyses:
                if a["method"] != method or a.get("metric") != metric:
                    continue
                if a.get("event") not in (None, event):
                    continue
                if need is not None and need not in a:
                    continue
                return a
        return None


def _missing(claim: Claim, what: str) -> Verdict:
    return Verdict(claim.id, claim.kind, claim.allegation, INCONCLUSIVE,
                   f"No analysis in this run can test it: {what}.", {})


def _fp(analysis: dict) -> dict:
    """The method's false-positive rate on this data, where the analysis measured one."""
    fp = analysis.get("false_positive")
    if isinstance(fp, dict) and fp.get("rate") is not None:
        return {"false_positive_rate": fp["rate"], "false_positive_runs": fp.get("runs")}
    return {}


def _event_name(claim: Claim, case: Case) -> str:
    return claim.event or case.events[0].name


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.1f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


# ---------------------------------------------------------------------------
def _declined_after(claim: Claim, ctx: _Context) -> Verdict:
    a = ctx.find("declined_after", claim, need="effect")
    if a is None:
        return _missing(claim, "it needs a counterfactual estimate for the subject")
    s = a["effect"]["summary"]
    event = _event_name(claim, ctx.case)
    figures = {"method": a["method"], "analysis": a["id"], "relative_effect": s["relative"],
               "relative_lower": s["relative_lower"], "relative_upper": s["relative_upper"],
               "cumulative_effect": s["cumulative"], "cumulative_lower": s["cumulative_lower"],
               "cumulative_upper": s["cumulative_upper"], "p_value": s["p_value"],
               "alpha": claim.alpha, **_fp(a)}
    band = (f"{_pct(s['relative'])} (interval {_pct(s['relative_lower'])} to "
            f"{_pct(s['relative_upper'])})")
    p_ok = s["p_value"] is None or s["p_value"] <= claim.alpha
    if s["cumulative_upper"] < 0 and p_ok:
        verdict = SUPPORTED
        sentence = (f"After the {event}, {a['metric']} ran {band} against what {a['title'].lower()}"
                    f" predicts; the whole interval is a decline.")
    elif s["cumulative_lower"] > 0:
        verdict = NOT_SUPPORTED
        sentence = f"After the {event}, {a['metric']} rose rather than fell: {band}."
    elif s["relative_lower"] is not None and s["relative_lower"] > -NEGLIGIBLE_RELATIVE_EFFECT:
        verdict = NOT_SUPPORTED
        sentence = (f"After the {event}, {a['metric']} changed by {band}; the interval rules out "
                    f"a decline larger than {NEGLIGIBLE_RELATIVE_EFFECT:.0%}.")
    else:
        verdict = INCONCLUSIVE
        sentence = (f"After the {event}, {a['metric']} changed by {band}; the interval includes "
                    "no effect, and it is too wide to rule out a real decline.")
    return Verdict(claim.id, claim.kind, claim.allegation, verdict, sentence, figures)


def _placebo_test(claim: Claim, ctx: _Context, kind: str) -> tuple[dict | None, dict | None]:
    a = ctx.find(kind, claim, need="placebo")
    return a, (a or {}).get("placebo")


def _beyond_platform_trend(claim: Claim, ctx: _Context) -> Verdict:
    a, placebo = _placebo_test(claim, ctx, "beyond_platform_trend")
    if a is None:
        return _missing(claim, "it needs a comparison with peer accounts and placebo runs")
    s = a["effect"]["summary"]
    n = len(placebo["values"])
    p = placebo["p_value"]
    smallest_p = 1 / (n + 1)
    event = ctx.case.event(_event_name(claim, ctx.case))
    figures = {"method": a["method"], "analysis": a["id"], "p_value": p, "rank": placebo["rank"],
               "placebo_units": n, "relative_effect": s["relative"],
               "cumulative_effect": s["cumulative"], "alpha": claim.alpha,
               # a rank test over n placebo units rejects a unit that nothing singled out
               # with probability floor(alpha (n + 1)) / (n + 1), at most alpha
               "false_positive_rate": int(claim.alpha * (n + 1)) / (n + 1)}
    if a["method"] == "peer_effects":
        scope = (" Each account was measured against its own off-platform series, which the "
                 "platform's change did not touch, so the platform-wide loss is measured "
                 "rather than assumed away.")
    elif event.scope == "platform":
        scope = (" The event was platform-wide, so the peers were hit too: this compares the "
                 "subject with what everyone lost, not with a world without the change.")
    else:
        scope = ""
    rank = f"ranks {placebo['rank']} of {n + 1}"
    if s["cumulative"] < 0 and p <= claim.alpha and s["cumulative_upper"] < 0:
        verdict = SUPPORTED
        sentence = (f"The subject's decline {rank} among the peers' placebo effects "
                    f"(p = {p:.3f}): larger than the platform-wide trend explains.{scope}")
    elif smallest_p > claim.alpha:
        verdict = INCONCLUSIVE
        sentence = (f"With {n} peers no placebo test can reach p ≤ {claim.alpha}; "
                    f"add peers.{scope}")
    else:
        verdict = NOT_SUPPORTED
        sentence = (f"The subject's change {rank} among the peers' placebo effects "
                    f"(p = {p:.3f}): within what the peers themselves show.{scope}")
    return Verdict(claim.id, claim.kind, claim.allegation, verdict, sentence, figures)


def _targeted(claim: Claim, ctx: _Context) -> Verdict:
    """Extreme among all peers AND among the subject's own group (so no group shock explains it)."""
    a, placebo = _placebo_test(claim, ctx, "targeted")
    if a is None:
        return _missing(claim, "it needs placebo effects for the peers")
    subject = a["effect"]["unit"]
    own_group = ctx.unit_groups.get(subject)
    values = dict(zip(placebo["units"], placebo["values"], strict=True))
    x = abs(placebo["subject_value"])
    same = [abs(v) for u, v in values.items() if own_group is not None
            and ctx.unit_groups.get(u) == own_group]
    p_all = placebo["p_value"]
    p_group = (sum(v >= x for v in same) + 1) / (len(same) + 1) if same else None
    n = len(values)
    figures = {"method": a["method"], "analysis": a["id"], "p_value_all_peers": p_all,
               "p_value_own_group": p_group, "own_group": own_group,
               "peers_in_own_group": len(same), "alpha": claim.alpha,
               "subject_effect": placebo["subject_value"],
               # a rank test over n placebo units rejects a unit that nothing singled out
               # with probability floor(alpha (n + 1)) / (n + 1), at most alpha
               "false_positive_rate": int(claim.alpha * (n + 1)) / (n + 1)}
    declined = placebo["subject_value"] < 0
    if declined and p_all <= claim.alpha and (p_group is None or p_group <= claim.alpha):
        verdict = SUPPORTED
        group = f" and among the {len(same)} peers of its own group (p = {p_group:.3f})" if same else ""
        sentence = (f"The subject's decline is extreme among all peers (p = {p_all:.3f}){group}: "
                    "a change that every account, or every account of its group, shared does "
                    "not explain it.")
    elif same and (len(same) + 1) * claim.alpha < 1:
        verdict = INCONCLUSIVE
        sentence = f"Too few peers in the subject's group ({len(same)}) to test targeting."
    else:
        verdict = NOT_SUPPORTED
        where = f"; among its own group p = {p_group:.3f}" if p_group is not None else ""
        sentence = (f"The subject's change is not extreme enough among the peers (p = {p_all:.3f}"
                    f"{where}) to single it out: it is what a platform-wide or group-wide change "
                    "would produce.")
    return Verdict(claim.id, claim.kind, claim.allegation, verdict, sentence, figures)


def _pretrend(analysis: dict) -> dict | None:
    """A pre-trend test as {p_value, slope}: the pre/post one, or the event study's."""
    if "pretrend" in analysis:
        return analysis["pretrend"]
    es = analysis.get("event_study") or {}
    test = es.get("pretrend")
    if not test:
        return None
    pre = [e for t, e in zip(es["event_times"], es["estimate"], strict=True)
           if t < 0 and e is not None]
    slope = None
    if len(pre) >= 2:
        # the sign of the drift into the event: late pre-period minus early pre-period
        half = len(pre) // 2
        slope = sum(pre[half:]) / len(pre[half:]) - sum(pre[:half]) / half
    return {"p_value": test["p_value"], "slope": slope}


def _not_preexisting(claim: Claim, ctx: _Context) -> Verdict:
    import datetime as dt

    event = ctx.case.event(_event_name(claim, ctx.case))
    limit = event.date - dt.timedelta(days=claim.tolerance_days)
    metric = claim.metric or ctx.case.outcome.metric
    trend_analysis = None
    for method in PREFERRED_METHODS["not_preexisting"]:
        for a in ctx.analyses:
            if (a["method"] == method and a.get("metric") == metric
                    and a.get("event") in (None, event.name) and _pretrend(a) is not None):
                trend_analysis = trend_analysis or a
    changepoints = [a for a in ctx.analyses
                    if a["method"] == "changepoint" and a.get("metric") == metric]
    if len(changepoints) > 1:
        # level and slope models date the same series; the one that fits it better (smaller
        # residual spread) is the one whose date to believe: a slope model fitted to a
        # jump dates the "change" too early, and a level model fitted to a bend too late
        changepoints = [min(changepoints,
                            key=lambda a: a["changepoint"].get("sigma") or float("inf"))]
    if not changepoints and trend_analysis is None:
        return _missing(claim, "it needs change-point dating or a pre-trend test")
    figures: dict[str, Any] = {"event_date": str(event.date), "tolerance_days":
                               claim.tolerance_days, "alpha": claim.alpha}
    early, clean, reasons = False, True, []
    if trend_analysis is not None:
        pt = _pretrend(trend_analysis)
        figures.update(pretrend_p=pt["p_value"], pretrend_slope=pt.get("slope"),
                       pretrend_method=trend_analysis["method"])
        if pt["p_value"] <= claim.alpha and (pt.get("slope") or 0) < 0:
            early = True
            reasons.append(f"the subject was already falling behind its peers before the "
                           f"event (pre-trend p = {pt['p_value']:.3f})")
        elif pt["p_value"] <= claim.alpha:
            clean = False
            reasons.append(f"the pre-period shows the subject drifting against its peers "
                           f"(p = {pt['p_value']:.3f})")
    for a in changepoints:
        cp = a["changepoint"]
        if cp.get("onset") is None or (cp.get("change") or 0) >= 0:
            continue  # no change, or a rise: neither dates a decline
        onset = dt.date.fromisoformat(cp["onset"])
        lower = dt.date.fromisoformat(cp.get("onset_lower") or cp["onset"])
        upper = dt.date.fromisoformat(cp.get("onset_upper") or cp["onset"])
        figures.setdefault("changepoints", []).append(
            {"model": cp.get("model"), "onset": cp["onset"], "lower": str(lower),
             "upper": str(upper), "change": cp.get("change")})
        if upper < limit:
            early = True
            reasons.append(f"a decline in {cp.get('model', 'level')} is dated to {onset} "
                           f"(95% range {lower} to {upper}), before {limit}")
        elif lower < limit:
            clean = False
            reasons.append(f"the {cp.get('model', 'level')} change ({onset}, range {lower} to "
                           f"{upper}) cannot be placed clearly before or after the event")
    if early:
        verdict, sentence = NOT_SUPPORTED, "Not supported: " + "; ".join(reasons) + "."
    elif not clean:
        verdict, sentence = INCONCLUSIVE, "Inconclusive: " + "; ".join(reasons) + "."
    else:
        verdict = SUPPORTED
        sentence = (f"No decline before {limit}: no pre-trend against the peers and no "
                    f"change point dating a decline earlier than {claim.tolerance_days} days "
                    f"before the {event.name}.")
    return Verdict(claim.id, claim.kind, claim.allegation, verdict, sentence, figures)


def _disproportionate(claim: Claim, ctx: _Context) -> Verdict:
    a = ctx.find("disproportionate", claim, need="estimate")
    if a is None:
        return _missing(claim, "it needs a group comparison ([groups] compare = [a, b])")
    c = a["estimate"]
    labels = (a["group_disproportion"]["group_a"], a["group_disproportion"]["group_b"])
    est, lo, hi, p = c["estimate"], c["lower"], c["upper"], c["p_value"]
    group_a = claim.group_a or labels[0]
    group_b = claim.group_b or labels[1]
    if {group_a, group_b} != set(labels):
        return _missing(claim, f"the group comparison in this run is {labels[0]} against "
                               f"{labels[1]}, not {group_a} against {group_b}")
    # the analysis reports effect(labels[0]) - effect(labels[1]); orient it to the claim
    if (group_a, group_b) != labels:
        est, lo, hi = -est, -hi, -lo
    figures = {"method": a["method"], "analysis": a["id"], "difference": est, "lower": lo,
               "upper": hi, "p_value": p, "group_a": group_a, "group_b": group_b,
               "alpha": claim.alpha}
    diff = f"{est:+.4g} (interval {lo:+.4g} to {hi:+.4g}, p = {p:.3g})"
    if hi < 0 and p <= claim.alpha:
        verdict = SUPPORTED
        sentence = (f"Accounts in group {group_a} fell further than those in group {group_b} "
                    f"after the event: a difference of {diff} in {a['metric']}.")
    elif lo > 0:
        verdict = NOT_SUPPORTED
        sentence = (f"Group {group_a} fared better than group {group_b}, not worse: "
                    f"{diff}.")
    else:
        verdict = NOT_SUPPORTED
        sentence = (f"The difference between group {group_a} and group {group_b} is {diff}; "
                    "the data do not show one group hit harder.")
    return Verdict(claim.id, claim.kind, claim.allegation, verdict, sentence, figures)


def _damages_scenario(ctx: _Context) -> dict | None:
    if not ctx.damages or not ctx.damages.get("scenarios"):
        return None
    return ctx.damages["scenarios"][0]


def _income_loss(claim: Claim, ctx: _Context) -> Verdict:
    sc = _damages_scenario(ctx)
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
    for scenario in ctx.damages["scenarios"]:
        figures = next((f for f in scenario.get("amounts", []) if f["amount"] == amount), None)
        if figures is not None:
            p, percentile = figures["p_reaching_amount"], figures["amount_percentile"]
        elif scenario.get("amount_claimed") == amount:
            p, percentile = scenario["p_reaching_claim"], scenario.get("claim_percentile")
        else:
            return _missing(claim, f"the damages were not evaluated at {_num(amount)}")
        results.append((scenario["name"], p, percentile, scenario["quantiles"]["50"]))
    best = max(results, key=lambda r: r[1])
    name, p, percentile, median = best
    figures = {"amount": amount, "currency": cur, "p_reaching_amount": p,
               "amount_percentile": percentile, "scenario": name, "median": median,
               "by_scenario": [{"scenario": n, "p_reaching_amount": pp, "median": m}
                               for n, pp, _, m in results]}
    where = (f"at the {percentile:.1f}th percentile of" if percentile is not None
             else "against")
    tail = (f"{_num(amount)} {cur} sits {where} the damages distribution; even in the most "
            f"favourable scenario ({name}) the probability that damages reach it is {p:.3f} "
            f"(median {_num(median)} {cur}).")
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
