"""The money claims (they read the damages distribution) and the attribution claim."""

from __future__ import annotations

from dataclasses import replace

from butfor.case import Claim
from butfor.claims_base import (
    ClaimContext,
    Verdict,
    event_name,
    make_verdict,
    missing,
    num_words,
)
from butfor.verdicts import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Gate,
    VerdictWord,
    convergence_gate,
    degenerate_gate,
    error_rate_gate,
    pre_fit_gate,
    pretrend_gate,
)


# ---------------------------------------------------------------------------
# money claims (the damages engineer's; they read the damages distribution)
def _damages_scenario(ctx: ClaimContext) -> dict | None:
    """The headline scenario (the damages' stated rule chose it), else the first."""
    if not ctx.damages or not ctx.damages.get("scenarios"):
        return None
    named = ctx.damages.get("headline")
    return next((s for s in ctx.damages["scenarios"] if s["name"] == named),
                ctx.damages["scenarios"][0])


def _event_part(claim: Claim, ctx: ClaimContext) -> dict | None:
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


def _source_gates(claim: Claim, ctx: ClaimContext) -> list[Gate]:
    """The gates of each analysis the damages are priced from.

    Damages are only as good as the effect they price: a money claim priced from an
    analysis whose own checks fail (a flag, no convergence, a known error rate above the
    bound, a rejected pre-trend, a poor pre-period fit) cannot be supported or refuted by
    it, just as the effect claim on that analysis cannot. Each gate's reading names the
    analysis and metric.
    """
    by_id = {a.id: a for a in ctx.analyses}
    gates: list[Gate] = []
    for metric, analysis_id in sorted((ctx.damages.get("source_analyses") or {}).items()):
        a = by_id.get(analysis_id)
        if a is None:
            continue
        found = [degenerate_gate(a, []), convergence_gate(a, getattr(a, "effect", None)),
                 error_rate_gate(a), pretrend_gate(a, claim.alpha), pre_fit_gate(a)]
        gates += [replace(g, reading=f"{g.reading}, in {analysis_id} (the {metric} effect "
                          "the damages price)") for g in found if g is not None]
    return gates


def _gated(claim: Claim, word: VerdictWord, sentence: str, figures: dict,
           gates: list[Gate]) -> Verdict:
    """The money verdict, made inconclusive by the first failed gate of its source."""
    failed = [g for g in gates if not g.passed]
    if failed:
        word = INCONCLUSIVE
        reasons = "; ".join(g.reading for g in failed)
        sentence = f"Inconclusive: {reasons}. The figures were: {sentence[0].lower()}{sentence[1:]}"
    return make_verdict(claim, word, sentence, figures, list(gates))


def _income_loss(claim: Claim, ctx: ClaimContext) -> Verdict:
    sc = _event_part(claim, ctx) or _damages_scenario(ctx)
    if sc is None:
        return missing(claim, "it needs a [damages] section")
    q = sc["quantiles"]
    lo, mid, hi = q["5"], q["50"], q["95"]
    cur = ctx.damages.get("currency", "USD")
    figures = {"scenario": sc["name"], "q05": lo, "median": mid, "q95": hi, "currency": cur}
    band = f"median {num_words(mid)} {cur}, 90% interval {num_words(lo)} to {num_words(hi)}"
    if lo > 0:
        verdict, sentence = SUPPORTED, f"Lost income is above zero across the interval: {band}."
    elif hi <= 0 or mid <= 0:
        verdict, sentence = NOT_SUPPORTED, f"The data show no lost income: {band}."
    else:
        verdict = INCONCLUSIVE
        sentence = f"Lost income may be zero: {band}."
    return _gated(claim, verdict, sentence, figures, _source_gates(claim, ctx))


def _claimed_amount(claim: Claim, ctx: ClaimContext) -> Verdict:
    sc = _damages_scenario(ctx)
    if sc is None:
        return missing(claim, "it needs a [damages] section")
    amount = claim.amount if claim.amount is not None else ctx.damages.get("amount_claimed")
    if amount is None:
        return missing(claim, "no amount is stated (claims.amount or damages.amount_claimed)")
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
            return missing(claim, f"the damages were not evaluated at {num_words(amount)}")
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
        tail = (f"{num_words(amount)} {cur} sits {where} the damages apportioned to the "
                f"{claim.event} ({name}); the probability that they reach it is {shown} "
                f"(median {num_words(median)} {cur}).{resolution}")
    elif all(r[1] == p for r in results) and len(results) > 1:
        tail = (f"{num_words(amount)} {cur} sits {where} the damages distribution; in every "
                f"scenario the probability that damages reach it is {shown} (the highest "
                f"median, {name}, is {num_words(median)} {cur}).{resolution}")
    else:
        tail = (f"{num_words(amount)} {cur} sits {where} the damages distribution; even in the "
                f"most favourable scenario ({name}) the probability that damages reach it "
                f"is {p:.3f} (median {num_words(median)} {cur}).{resolution}")
    if p >= 0.5:
        verdict, sentence = SUPPORTED, f"More likely than not: {tail}"
    elif p < 0.05:
        verdict, sentence = NOT_SUPPORTED, f"Far above what the data support: {tail}"
    else:
        verdict, sentence = INCONCLUSIVE, f"Possible but less likely than not: {tail}"
    return _gated(claim, verdict, sentence, figures, _source_gates(claim, ctx))


def _attributed_to(claim: Claim, ctx: ClaimContext) -> Verdict:
    """The claimed change, among the case's candidates, is the one the break follows."""
    a = ctx.find("attributed_to", claim)
    claimed = event_name(claim, ctx.case)
    if a is None:
        return missing(claim, "it needs the 'attribution' method and at least two dated "
                               "events as candidate changes")
    res = a.attribution
    scores = {c.name: c for c in res.candidates}
    mine, top = scores.get(claimed), scores.get(res.top)
    if mine is None:
        return missing(claim, f"the event {claimed!r} is not a singly dated candidate")
    n, smallest = res.n_placebo, res.smallest_p
    figures = {"method": "attribution", "analysis": a.id, "claimed": claimed,
               "claimed_share": mine.share, "claimed_p_value": mine.placebo_p,
               "top": top.name, "top_share": top.share, "top_p_value": top.placebo_p,
               "plausible": res.plausible, "placebo_dates": n, "alpha": claim.alpha,
               "break_date": res.break_date, "break_lower": res.break_lower,
               "break_upper": res.break_upper, "lag_days": res.lag_days}
    interval = (f"the break is dated {res.break_date} ({res.level:.0%} interval "
                f"{res.break_lower} to {res.break_upper})")

    def verdict(word: VerdictWord, text: str) -> Verdict:
        return Verdict(claim.id, claim.kind, claim.allegation, word, text, figures)

    if smallest is None or smallest > claim.alpha:
        return verdict(INCONCLUSIVE, (
            f"Only {n} dates before the first change can serve as placebo dates, so no "
            f"break can reach p ≤ {claim.alpha}: this design cannot support the claim; "
            "longer data before the first change would."))
    others = [name for name in res.plausible if name != claimed]
    if claimed in res.plausible and others:
        listed = ", ".join(f"{name} ({scores[name].share:.0%})" for name in others)
        return verdict(INCONCLUSIVE, (
            f"The data cannot tell {claimed} ({mine.share:.0%} of the break) apart from "
            f"{listed}: {interval}, and a change may take {res.lag_days} days to show."))
    if claimed not in res.plausible:
        if top.placebo_p is not None and top.placebo_p <= claim.alpha:
            return verdict(NOT_SUPPORTED, (
                f"The break points to {top.name} ({top.share:.0%} of its probability; "
                f"{top.placebo_as_strong} of {n} dates where nothing happened showed a "
                f"break as strong, p = {top.placebo_p:.3f}), not to {claimed} "
                f"({mine.share:.0%}): {interval}."))
        return verdict(INCONCLUSIVE, (
            f"The break is closest to {top.name}, not {claimed}, but it is no stronger "
            f"than breaks at dates where nothing happened (p = {top.placebo_p:.3f}), so "
            "the timing points nowhere for certain."))
    p = mine.placebo_p
    if p is not None and p <= claim.alpha:
        return verdict(SUPPORTED, (
            f"The break points to {claimed} ({mine.share:.0%} of its probability among "
            f"{len(scores)} candidate changes), and {mine.placebo_as_strong} of {n} dates "
            f"where nothing happened showed a break as strong (p = {p:.3f}): {interval}."))
    return verdict(INCONCLUSIVE, (
        f"The break is nearest {claimed}, but it is no stronger than breaks at dates where "
        f"nothing happened (p = {'n/a' if p is None else f'{p:.3f}'})."))
