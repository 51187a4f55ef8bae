"""The report's damages exhibit: what an expert would file, drawn from results.json only.

The question, the method, the event and the data window priced, the valuation
date and the rule that set it, every assumption with its source, the
scenarios with the headline marked, the breakdown by income stream (revenue,
avoided costs, mitigation), how to read P(damages ≥ claim), and the limits.
Every field tolerates older results files that lack it.
"""

from __future__ import annotations

from butfor.report import fmt
from butfor.report.plotcontext import metric_words

_METHOD_WORDS = {
    "sts": "structural time series (before and after, with off-platform controls)",
    "prepost": "pre/post comparison against the peers",
    "sdid": "synthetic difference in differences (yardstick: comparable accounts)",
    "synthetic_control": "synthetic control (yardstick: comparable accounts)",
}


def _pricing_words(p: dict, currency: str) -> list[str]:
    kind = p.get("kind")
    name = f"{str(p['name']).capitalize()}: " if p.get("name") else ""
    if kind == "cpm":
        span = ""
        if fmt.is_number(p.get("rate_low")) and fmt.is_number(p.get("rate_high")):
            span = (f" (somewhere from {fmt.money(p['rate_low'], currency)} to "
                    f"{fmt.money(p['rate_high'], currency)}, {p.get('distribution', 'triangular')})")
        return [f"{name}each thousand {metric_words(str(p.get('metric', 'impressions')))} "
                f"lost is priced at {fmt.money(p.get('rate'), currency)}{span}."]
    if kind == "rate_card":
        spread = ""
        if fmt.is_number(p.get("uncertainty")) and p["uncertainty"]:
            spread = f", give or take {fmt.percent(p['uncertainty'], sign=False)}"
        return [f"{name}each sponsored post earns "
                f"{fmt.money(p.get('dollars_per_thousand'), currency)} per thousand "
                f"{metric_words(str(p.get('metric', 'followers')))}{spread}, at "
                f"{fmt.number(p.get('posts_per_month'))} posts a month."]
    if kind == "contracts":
        return [f"{name}contract '{c.get('name')}' worth {fmt.money(c.get('value'), currency)}, "
                f"with a {fmt.percent(c.get('renewal_probability', 1.0), sign=False)} chance of "
                f"renewal." for c in p.get("contracts") or []]
    return []


def _persistence_words(p: dict) -> str | None:
    kind = p.get("kind")
    name = f"'{p['name']}': " if p.get("name") else ""
    horizon = p.get("horizon_days")
    # a length stated in words ("12 months") is shown as stated
    horizon_text = p.get("horizon") or f"{fmt.number(horizon)} days"
    if kind == "half_life":
        until = f", counted for {horizon_text}" if fmt.is_number(horizon) and horizon else ""
        half = p.get("half_life") or f"{fmt.number(p.get('half_life_days'))} days"
        return f"{name}after the data end, the loss fades by half every {half}{until}."
    if kind == "constant":
        return f"{name}after the data end, the loss goes on unchanged for {horizon_text}."
    if kind == "none":
        return f"{name}no loss is counted after the last day of data."
    return None


def _value(a: dict, currency: str) -> str:
    v = a.get("value")
    text = fmt.number(v) if fmt.is_number(v) else str(v)
    if fmt.is_number(a.get("low")) and fmt.is_number(a.get("high")):
        text += (f" ({a.get('distribution') or 'triangular'} from {fmt.number(a['low'])} to "
                 f"{fmt.number(a['high'])})")
    return text


def _assumption_rows(damages: dict, currency: str) -> list[dict]:
    return [{"name": str(a.get("name", "")), "value": _value(a, currency),
             "source": str(a.get("source") or "") or "not given",
             "sourced": bool(a.get("source")), "note": str(a.get("note") or "")}
            for a in damages.get("assumptions") or [] if isinstance(a, dict)]


def _reach_words(s: dict, n_draws: object) -> str:
    p = s.get("p_reaching_claim")
    if not fmt.is_number(p):
        return fmt.DASH
    if not isinstance(n_draws, int) or n_draws <= 0:
        return fmt.percent(p, sign=False)
    k = s.get("draws_reaching_claim")
    k = int(k) if fmt.is_number(k) else round(p * n_draws)
    if k == 0:
        return f"0 of {n_draws:,} (below 1 in {n_draws:,})"
    return f"{k:,} of {n_draws:,} ({fmt.percent(p, sign=False, digits=1)})"


def _breakdown(s: dict, currency: str) -> list[dict]:
    rows = []
    for st in s.get("streams") or []:
        rows.append({"what": f"lost profit: {st.get('stream')}",
                     "median": fmt.money(st.get("median"), currency),
                     "mean": fmt.money(st.get("mean"), currency)})
    for key, label in (("revenue_lost", "revenue lost (all streams)"),
                       ("avoided_costs", "less avoided costs"),
                       ("mitigation_range", "less mitigation (income found elsewhere)")):
        b = s.get(key)
        if isinstance(b, dict):
            rows.append({"what": label, "median": fmt.money(b.get("median"), currency),
                         "mean": fmt.money(b.get("mean"), currency)})
    return rows


def _band(b: object, currency: str, money: bool = True) -> str:
    if not isinstance(b, dict):
        return fmt.DASH
    f = (lambda x: fmt.money(x, currency)) if money else fmt.number
    return f"{f(b.get('median'))} ({f(b.get('q05'))} to {f(b.get('q95'))})"


def _share(b: object) -> str:
    if not isinstance(b, dict):
        return fmt.DASH
    return (f"{fmt.percent(b.get('median'), sign=False)} ({fmt.percent(b.get('q05'), sign=False)}"
            f" to {fmt.percent(b.get('q95'), sign=False)})")


def _apportionment(damages: dict, currency: str) -> dict | None:
    ap = damages.get("apportionment")
    if not isinstance(ap, dict) or not ap.get("events"):
        return None
    metric = metric_words(str(ap.get("metric") or ""))
    rows = [{"part": f"{e.get('name')} ({fmt.date(e.get('date'))})",
             "lost": _band(e.get("lost_quantity"), currency, money=False),
             "share": _share(e.get("loss_share")),
             "damages": _band(e.get("damages"), currency)} for e in ap["events"]]
    t = ap.get("targeted")
    if isinstance(t, dict):
        rows.append({"part": "targeted (beyond what the peers shared)",
                     "lost": _band(t.get("lost_quantity"), currency, money=False),
                     "share": _share(t.get("loss_share")),
                     "damages": _band(t.get("damages"), currency)})
        rows.append({"part": "platform-wide (what the peers shared too)",
                     "lost": _band(t.get("platform_wide_lost_quantity"), currency, money=False),
                     "share": fmt.DASH,
                     "damages": _band(t.get("platform_wide_damages"), currency)})
    excluded = [f"{fmt.date(x.get('start'))} to {fmt.date(x.get('end'))} ({x.get('cause')})"
                for x in ap.get("excluded") or []]
    return {"metric": metric, "scenario": ap.get("scenario"), "rows": rows,
            "model": ap.get("model"), "excluded": excluded,
            "total": _band(ap.get("total_lost_quantity"), currency, money=False)}


def _sensitivity(damages: dict, currency: str) -> dict | None:
    sens = damages.get("sensitivity")
    if not isinstance(sens, dict) or not sens.get("rows"):
        return None
    rows = [{"assumption": r.get("assumption"), "basis": r.get("basis"),
             "low": fmt.number(r.get("low")), "high": fmt.number(r.get("high")),
             "at_low": fmt.money(r.get("median_at_low"), currency),
             "at_high": fmt.money(r.get("median_at_high"), currency)}
            for r in sens["rows"]]
    methods = [{"method": _METHOD_WORDS.get(m.get("method"), m.get("method")),
                "window": f"{fmt.date(m.get('window_start'))} to {fmt.date(m.get('window_end'))}",
                "band": _band(m, currency)} for m in damages.get("by_method") or []]
    if methods:
        medians = [m.get("median") for m in damages["by_method"] if fmt.is_number(m.get("median"))]
        rows.append({"assumption": "counterfactual method", "basis": "each method's own window",
                     "low": fmt.DASH, "high": fmt.DASH,
                     "at_low": fmt.money(min(medians), currency) if medians else fmt.DASH,
                     "at_high": fmt.money(max(medians), currency) if medians else fmt.DASH})
    return {"scenario": sens.get("scenario"), "median": fmt.money(sens.get("median"), currency),
            "rows": rows, "methods": methods}


def damages_view(results: dict, currency: str) -> dict | None:
    damages = results.get("damages")
    if not isinstance(damages, dict):
        return None
    case = results.get("case") or {}
    n_draws = damages.get("n_draws")
    headline = damages.get("headline")
    scenarios = []
    for s in damages.get("scenarios") or []:
        q = s.get("quantiles") or {}
        scenarios.append({
            "name": str(s.get("name", "")), "headline": s.get("name") == headline,
            "q5": fmt.money(q.get("5"), currency), "q50": fmt.money(q.get("50"), currency),
            "q95": fmt.money(q.get("95"), currency), "mean": fmt.money(s.get("mean"), currency),
            "p_reaching_claim": _reach_words(s, n_draws),
        })
    head = next((s for s in damages.get("scenarios") or [] if s.get("name") == headline), None)
    settings = case.get("damages") or {}
    assumptions: list[str] = []
    for p in settings.get("pricing") or []:
        assumptions.extend(_pricing_words(p, currency))
    for p in settings.get("persistence") or []:
        text = _persistence_words(p)
        if text:
            assumptions.append(text[0].upper() + text[1:])
    rate = damages.get("discount_rate", settings.get("discount_rate"))
    if fmt.is_number(rate):
        assumptions.append(f"Future amounts are discounted at "
                           f"{fmt.percent(rate, sign=False, digits=1)} a year.")
    interest = damages.get("interest") or {}
    if interest.get("kind") not in (None, "none"):
        assumptions.append(f"Losses before the valuation date carry {interest['kind']} "
                           f"prejudgment interest at "
                           f"{fmt.percent(interest.get('rate'), sign=False, digits=1)} a year.")
    mitigation = damages.get("mitigation", settings.get("mitigation"))
    if head and isinstance(head.get("mitigation_range"), dict):
        assumptions.append(f"Mitigation (income recovered elsewhere) of "
                           f"{fmt.money(head['mitigation_range'].get('mean'), currency)} on "
                           "average is subtracted (zero if none is stated).")
    elif fmt.is_number(mitigation):
        assumptions.append(f"Mitigation of {fmt.money(mitigation, currency)} "
                           f"(income recovered elsewhere) is subtracted.")
    notes = [str(n.get("message", n)) if isinstance(n, dict) else str(n)
             for n in damages.get("notes") or []]
    params = damages.get("parameters") if isinstance(damages.get("parameters"), dict) else {}
    for name in sorted(params):
        q = params[name]
        if isinstance(q, dict) and fmt.is_number(q.get("median")):
            span = (f", 90% of draws between {fmt.number(q['q05'])} and {fmt.number(q['q95'])}"
                    if fmt.is_number(q.get("q05")) and fmt.is_number(q.get("q95")) else "")
            assumptions.append(f"{name[:1].upper() + name[1:]} (drawn afresh in each "
                               f"simulation): median {fmt.number(q['median'])}{span}.")
    claimed = damages.get("amount_claimed")
    sources = damages.get("sources") or {}
    method = "; ".join(f"{metric_words(m)} from the {_METHOD_WORDS.get(src, src)}"
                       for m, src in sorted(sources.items()))
    option = {"before_after": "before-and-after", "yardstick": "yardstick (comparable "
              "accounts)", "auto": "the best method available"}.get(damages.get("method"))
    if method and option:
        method += (f", chosen as {option}, fitted from the first event priced to the end of "
                   "the data")
    subject = (case.get("subject") or {}).get("display_name") or \
        (case.get("subject") or {}).get("unit") or "the account"
    priced = [str(e.get("name")) for e in damages.get("events_priced") or []
              if isinstance(e, dict)]
    event = " and the ".join(priced) if len(priced) > 1 else damages.get("event") or next(
        (e.get("name") for e in case.get("events") or []
         if str(e.get("date")) == str(damages.get("event_date"))), None)
    reading = None
    if isinstance(n_draws, int) and n_draws > 0:
        reading = (f"P(damages ≥ claim) is the share of the {n_draws:,} simulated draws at or "
                   f"above the amount: its resolution is 1 in {n_draws:,}, so \"0 of "
                   f"{n_draws:,}\" means below 1 in {n_draws:,}, not impossible. It holds under "
                   "the model (the counterfactual method and the assumptions listed), not "
                   "beyond it.")
    return {
        "currency": currency,
        "question": (f"What would {subject} have earned but for the "
                     f"{event or 'event'}, less what was earned, the costs that earning "
                     "would have carried and income found elsewhere, valued at "
                     f"{fmt.date(damages.get('valuation_date'))}?"
                     if damages.get("valuation_date") else None),
        "method": method or None,
        "event": event, "event_date": fmt.date(damages.get("event_date")),
        "events_label": "Events priced" if len(priced) > 1 else "Event priced",
        "data_end": fmt.date(damages.get("data_end")),
        "valuation_date": fmt.date(damages.get("valuation_date")),
        "valuation_rule": damages.get("valuation_rule") or None,
        "headline": headline, "headline_rule": damages.get("headline_rule") or None,
        "amount_claimed": fmt.money(claimed, currency) if fmt.is_number(claimed) else None,
        "scenarios": scenarios, "assumptions": assumptions, "notes": notes,
        "assumption_rows": _assumption_rows(damages, currency),
        "breakdown": _breakdown(head, currency) if head else [],
        "warnings": [str(w) for w in damages.get("warnings") or []],
        "reading": reading,
        "apportionment": _apportionment(damages, currency),
        "sensitivity": _sensitivity(damages, currency),
        "limitations": [
            "The amounts are lost profits under the stated assumptions; each assumption's "
            "source is listed, and one without a source is marked so.",
            "The counterfactual is one model's; the sensitivity of the median to the method "
            "and to each assumption shows how far the figure depends on them.",
            "A projection past the last day of data rests on the persistence assumption, "
            "not on data.",
        ] if damages.get("assumptions") else [],
    }
