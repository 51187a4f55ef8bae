"""The report page: a results document to one self-contained HTML file.

:func:`build_view` turns the results dict into plain values for the template
(text already formatted, figures already drawn); :func:`render_html` renders
``templates/report.html.j2`` with them. Nothing here reads a clock, a file
outside the package or the network, so the same results give the same bytes.
Run timings come only from ``run_info`` (``run.json``), never from results.
"""

from __future__ import annotations

import base64
from typing import Any

from butfor.report import fmt, words
from butfor.report.damages_view import damages_view
from butfor.report.plotcontext import context, metric_words, the
from butfor.report.plotdata import figures_for

VERDICT_CLASSES = {"supported": "supported", "not supported": "not-supported",
                   "inconclusive": "inconclusive"}


# ---------------------------------------------------------------------------
# key figure of a verdict


def _kf_relative(f: dict, currency: str) -> str | None:
    rel = f.get("relative_effect", f.get("relative"))
    if not fmt.is_number(rel):
        return None
    text = f"{fmt.percent(rel)} against the expected path"
    lo, hi = f.get("relative_lower"), f.get("relative_upper")
    if fmt.is_number(lo) and fmt.is_number(hi):
        text += f" (95% interval {fmt.percent(lo)} to {fmt.percent(hi)})"
    return text


def _kf_rank(f: dict, currency: str) -> str | None:
    rank = f.get("rank")
    n = f.get("n")
    if not fmt.is_number(n) and fmt.is_number(f.get("placebo_units")):
        n = f["placebo_units"] + 1
    if not (fmt.is_number(rank) and fmt.is_number(n)):
        return None
    text = f"ranked {fmt.ordinal(int(rank))} of {int(n)} accounts"
    return text + (f", {fmt.p_value(f['p_value'])}" if fmt.is_number(f.get("p_value")) else "")


def _kf_peers_p(f: dict, currency: str) -> str | None:
    p_all, p_own = f.get("p_value_all_peers"), f.get("p_value_own_group")
    if not fmt.is_number(p_all):
        return None
    text = f"{fmt.p_value(p_all)} among all peers"
    if fmt.is_number(p_own):
        text += f"; {fmt.p_value(p_own)} within the own group"
    return text


def _kf_pretrend(f: dict, currency: str) -> str | None:
    if fmt.is_number(f.get("pretrend_p")):
        return f"pre-trend test {fmt.p_value(f['pretrend_p'])}"
    if isinstance(f.get("change_date"), str):
        return f"change dated {fmt.date(f['change_date'])}"
    return None


def _kf_amount(f: dict, currency: str) -> str | None:
    amount = f.get("amount")
    reach = f.get("p_reaching_amount", f.get("p_reaching_claim"))
    if not fmt.is_number(amount) or not fmt.is_number(reach):
        return None
    n = f.get("n_draws")
    if isinstance(n, int) and n > 0 and reach == 0:
        text = f"0 of {n:,} damages draws (below 1 in {n:,}) reach {fmt.money(amount, currency)}"
    else:
        text = (f"{fmt.percent(reach, sign=False)} of damages draws reach "
                f"{fmt.money(amount, currency)}")
    if fmt.is_number(f.get("median")):
        text += f" (median {fmt.money(f['median'], currency)})"
    return text


def _kf_money(f: dict, currency: str) -> str | None:
    if not fmt.is_number(f.get("median")):
        return None
    text = f"median {fmt.money(f['median'], currency)}"
    lo, hi = f.get("q05"), f.get("q95")
    if fmt.is_number(lo) and fmt.is_number(hi):
        text += f" (90% range {fmt.money(lo, currency)} to {fmt.money(hi, currency)})"
    return text


def _kf_estimate(f: dict, currency: str) -> str | None:
    if not fmt.is_number(f.get("estimate")):
        return None
    text = fmt.signed(f["estimate"])
    if fmt.is_number(f.get("lower")) and fmt.is_number(f.get("upper")):
        text += f" (95% interval {fmt.signed(f['lower'])} to {fmt.signed(f['upper'])})"
    return text + (f", {fmt.p_value(f['p_value'])}" if fmt.is_number(f.get("p_value")) else "")


def _kf_p(f: dict, currency: str) -> str | None:
    return fmt.p_value(f["p_value"]) if fmt.is_number(f.get("p_value")) else None


def _kf_share(f: dict, currency: str) -> str | None:
    if not fmt.is_number(f.get("claimed_share")):
        return None
    text = f"{fmt.percent(f['claimed_share'], sign=False)} of the break's probability"
    if f.get("top") and f.get("top") != f.get("claimed"):
        text += f" ({f['top']}: {fmt.percent(f['top_share'], sign=False)})"
    return text


_KEY_FIGURES = {
    "share": _kf_share,
    "relative": _kf_relative, "rank": _kf_rank, "peers_p": _kf_peers_p,
    "pretrend": _kf_pretrend, "amount": _kf_amount, "money": _kf_money,
    "estimate": _kf_estimate, "p": _kf_p,
}
_KEY_ORDER = {
    "declined_after": ("relative", "estimate", "p"),
    "beyond_platform_trend": ("rank", "relative", "p"),
    "targeted": ("rank", "peers_p", "p"),
    "not_preexisting": ("pretrend",),
    "disproportionate": ("estimate", "p"),
    "income_loss": ("money",),
    "claimed_amount": ("amount", "money"),
    "attributed_to": ("share",),
}


def key_figure(verdict: dict, currency: str = "USD") -> str:
    """The number that carries a verdict, in words.

    A verdict may say it itself (``key_figure``, a string); otherwise the
    entries of its ``figures`` that matter most for its kind are written out
    (a relative effect, a placebo rank, a pre-trend test, a damages median),
    falling back to any known entry, then to the first number.
    """
    given = verdict.get("key_figure")
    if isinstance(given, str) and given:
        return given
    f = verdict.get("figures") or {}
    if not isinstance(f, dict):
        return fmt.DASH
    currency = str(f.get("currency") or currency)
    order = _KEY_ORDER.get(str(verdict.get("kind")), ()) + tuple(_KEY_FIGURES)
    for name in order:
        text = _KEY_FIGURES[name](f, currency)
        if text:
            return text
    for k in sorted(f):
        if fmt.is_number(f[k]):
            return f"{k.replace('_', ' ')} = {fmt.number(f[k])}"
    return fmt.DASH


# ---------------------------------------------------------------------------
# view model


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _figures(results: dict, draw: bool, png: bool = False) -> list[dict]:
    """Each figure's labels and picture: an SVG data URI for the page, and (when
    ``png``) the SVG text and PNG bytes for the figure files beside the page."""
    from butfor.report.figures import render

    titles = {a.get("id"): _analysis_label(a) for a in results.get("analyses") or []}
    titles["damages"] = "Damages"
    out = []
    plots = figures_for(results)
    drawn = [render(p, png=png) for p in plots] if draw else [("", None)] * len(plots)
    for plot, (svg, raster) in zip(plots, drawn, strict=True):
        out.append({
            "id": plot.id, "kind": plot.kind, "title": plot.title, "alt": plot.alt,
            "analysis_id": plot.analysis_id,
            "analysis": titles.get(plot.analysis_id, ""),
            "src": _svg_uri(svg) if draw else "",
            "svg": svg, "png": raster,
        })
    return out


def _verdict_rows(results: dict, figures: list[dict], currency: str) -> list[dict]:
    """One row per verdict, each linked to the figure that shows its evidence."""
    claims = {c.get("id"): c for c in (results.get("case") or {}).get("claims") or []}
    events = {a.get("id"): a.get("event") for a in results.get("analyses") or []}
    rows = []
    for v in results.get("verdicts") or []:
        verdict = str(v.get("verdict", "inconclusive"))
        kind = str(v.get("kind", ""))
        named = (v.get("figures") or {}).get("analysis") if isinstance(v.get("figures"), dict) \
            else None
        event = (claims.get(v.get("claim")) or {}).get("event")
        link = None
        for wanted in words.CLAIM_FIGURES.get(kind, ()):
            match = [f for f in figures if f["kind"] == wanted]
            best = ([f for f in match if f["analysis_id"] == named]
                    or [f for f in match if event and events.get(f["analysis_id"]) == event]
                    or match)
            if best:
                link = {"id": best[0]["id"], "title": best[0]["title"]}
                break
        rows.append({
            "claim": str(v.get("claim", "")), "kind": kind,
            "allegation": str(v.get("allegation", "")), "verdict": verdict,
            "css": VERDICT_CLASSES.get(verdict, "inconclusive"),
            "key_figure": key_figure(v, currency), "sentence": str(v.get("sentence", "")),
            "link": link, "gates": _gate_rows(v),
        })
    return rows


def _gate_rows(verdict: dict) -> list[dict]:
    """The verdict's gates as the table lists them: label, passed, what the check found."""
    rows = []
    for g in verdict.get("gates") or []:
        if not isinstance(g, dict):
            continue
        name = str(g.get("name", ""))
        rows.append({"label": words.GATE_LABELS.get(name, name.replace("_", " ")),
                     "passed": bool(g.get("passed")), "bound": str(g.get("bound", "")),
                     "reading": str(g.get("reading", ""))})
    return rows


_CHECK_LABELS = {
    "false_positive": "Known error rate on this data: ",
    "power": "Smallest effect it could have detected: ",
    "placebo_in_time": "Placebo in time: ",
    "leave_one_out": "Leaving out one peer at a time: ",
}


def _analysis_label(analysis: dict) -> str:
    """The analysis's title, with its measure when the title does not name it."""
    title = str(analysis.get("title") or analysis.get("id") or "")
    metric = metric_words(str(analysis.get("metric") or ""))
    if metric and metric.lower() not in title.lower():
        return f"{title} ({metric})"
    return title


def _methods(results: dict) -> list[dict]:
    seen: dict[str, dict] = {}
    for a in results.get("analyses") or []:
        method = str(a.get("method", ""))
        keys = [method] + (["groups"] if isinstance(a.get("groups"), dict)
                           and method not in ("groups", "group_disproportion") else [])
        for key in keys:
            entry = seen.setdefault(key, {"key": key, "words": words.method_words(key),
                                          "descriptions": [], "analyses": []})
            if key != method:
                continue
            notes: list[str] = []
            checks: list[str] = []
            pretrend = a.get("pretrend")
            if isinstance(pretrend, dict) and fmt.is_number(pretrend.get("p_value")):
                what = pretrend.get("statistic") or "pre-trend statistic"
                value = pretrend.get("slope", pretrend.get("value"))
                shown = f" = {fmt.number(value)}" if fmt.is_number(value) else ""
                verdict = ("no sign of a trend before the event"
                           if pretrend["p_value"] >= 0.05 else
                           "a trend before the event: the comparison may be biased")
                checks.append(f"Pre-trend check: {what}{shown} "
                              f"({fmt.p_value(pretrend['p_value'])}): {verdict}.")
            for key in ("sentence", "false_positive", "power", "placebo_in_time",
                        "leave_one_out"):
                item = a.get(key)
                text = item.get("sentence") if isinstance(item, dict) else item
                if isinstance(text, str) and text and text not in checks:
                    label = _CHECK_LABELS.get(key, "")
                    checks.append(label + text)
            for flag in a.get("flags") or []:  # methods._flags: what the verdicts refuse
                checks.append(f"Flagged, so its verdicts are inconclusive ({flag['name']}): "
                              f"{flag['message']}.")
            for field in ("warnings", "assumptions"):
                for item in a.get(field) or []:
                    notes.append(item.get("message", str(item)) if isinstance(item, dict)
                                 else str(item))
            params = next((a[k] for k in ("parameters", "settings")
                           if isinstance(a.get(k), dict)), {})
            description = str(a.get("description") or "")
            if description and description not in entry["descriptions"]:
                entry["descriptions"].append(description)
            if checks or notes or params:
                label = _analysis_label(a)
                entry["analyses"].append({
                    "title": label if label.endswith(("?", ".", "!")) else label + ".",
                    "notes": notes, "checks": checks,
                    "parameters": [(k, _parameter(k, params[k])) for k in sorted(params)],
                })
    if results.get("damages"):
        seen.setdefault("damages", {"key": "damages", "words": words.method_words("damages"),
                                    "descriptions": [], "analyses": []})
    for entry in seen.values():
        if entry["words"] is None:
            entry["name"] = entry["key"].replace("_", " ")
        else:
            entry["name"] = entry["words"].name
    return list(seen.values())


# a setting left unset that means something other than "none" (the estimator's own default)
_UNSET_MEANS = {
    "expected_model_size": "adaptive (a Beta hyperprior on the controls' inclusion "
                           "probability, mean 3 controls)",
}


def _parameter(key: str, value: Any) -> str:
    if value is None and key in _UNSET_MEANS:
        return _UNSET_MEANS[key]
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return fmt.number(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} = {_plain(v)}" for k, v in sorted(value.items()))
    return str(value)


def _summary_rows(results: dict) -> list[dict]:
    rows = []
    for r in results.get("summary_table") or []:
        rows.append({
            "analysis": r.get("analysis", r.get("id", "")),
            "metric": metric_words(str(r.get("metric", ""))),
            "event_date": fmt.date(r.get("event_date")),
            "average": fmt.signed(r.get("average")),
            "average_interval": f"{fmt.signed(r.get('average_lower'))} to "
                                f"{fmt.signed(r.get('average_upper'))}",
            "cumulative": fmt.signed(r.get("cumulative")),
            "relative": fmt.percent(r.get("relative")),
            "p_value": (fmt.p_value(r.get("p_value")) if fmt.is_number(r.get("p_value"))
                        else fmt.DASH)
            + (f" (placebo rank test: {fmt.p_value(r['placebo_p_value'])})"
               if fmt.is_number(r.get("placebo_p_value")) else ""),
        })
    return rows


def _ingest_view(ingest: dict) -> dict:
    ingest = ingest or {}

    def count(key: str) -> str:
        return fmt.number(ingest.get(key)) if fmt.is_number(ingest.get(key)) else fmt.DASH

    read, kept, dropped = (ingest.get(k) for k in ("rows_read", "rows_kept", "rows_dropped"))
    balanced = all(isinstance(x, int) for x in (read, kept, dropped)) and read == kept + dropped
    sources = [{k: str(src.get(k, "")) for k in ("file", "format", "rows_read", "rows_kept",
                                                  "rows_dropped", "sha256")}
               for src in ingest.get("sources") or []]
    notes = [{"file": str(n.get("file", "")), "action": str(n.get("action", "")),
              "reason": str(n.get("reason", "")), "column": str(n.get("column") or ""),
              "count": str(n.get("count", "")),
              "first_lines": ", ".join(str(x) for x in n.get("first_lines") or [])}
             for n in ingest.get("notes") or []]
    remarks = [str(r.get("message", r.get("reason", r))) if isinstance(r, dict) else str(r)
               for r in ingest.get("remarks") or []]
    return {
        "totals": [(label, count(key)) for label, key in (
            ("rows read", "rows_read"), ("rows kept", "rows_kept"),
            ("rows dropped", "rows_dropped"), ("rows repaired", "rows_repaired"),
            ("missing days added as explicit gaps", "cells_filled"))],
        "balanced": balanced, "sources": sources, "notes": notes, "remarks": remarks,
    }


def _run_view(run_info: dict | None) -> list[tuple[str, str]]:
    if not run_info:
        return []
    rows = []
    timings = run_info.get("timings_seconds") or run_info.get("timings") or {}
    if isinstance(timings, dict):
        for step in timings:
            rows.append((str(step), fmt.seconds(timings[step])))
        if timings and all(fmt.is_number(v) for v in timings.values()):
            rows.append(("total", fmt.seconds(sum(timings.values()))))
    for k in sorted(run_info):
        if k in ("timings_seconds", "timings"):
            continue
        v = run_info[k]
        if isinstance(v, (str, int, float)):
            rows.append((str(k).replace("_", " "), str(v)))
    return rows


def build_view(results: dict, run_info: dict | None = None, *, draw: bool = True,
               png: bool = False) -> dict:
    """Everything the template shows, already in words and pictures."""
    case = results.get("case") or {}
    info = case.get("case") or {}
    report = case.get("report") or {}
    ctx = context(results)
    figures = _figures(results, draw, png)
    events = [{"name": e.get("name", ""), "date": fmt.date(e.get("date")),
               "date_end": fmt.date(e["registry_date_end"]) if e.get("registry_date_end")
               else None,
               "scope": e.get("scope", ""), "description": e.get("description", ""),
               "registry": e.get("registry"), "sources": e.get("sources") or []}
              for e in case.get("events") or []]
    first = ctx.events[0] if ctx.events else None
    title = str(report.get("title") or info.get("title") or "butfor report")
    question = (f"But for {the(first.name)} on {fmt.date(first.date)}, what would "
                f"{ctx.subject}'s {metric_words(ctx.metric)} have been, and what is the "
                f"difference worth?" if first and "?" not in title else "")
    provenance = results.get("provenance") or {}
    verdict_rows = _verdict_rows(results, figures, ctx.currency)
    counts = {k: sum(1 for r in verdict_rows if r["verdict"] == k) for k in words.VERDICT_MEANING}
    return {
        "title": title,
        "description": info.get("description", ""),
        "question": question,
        "subject": ctx.subject,
        "subject_unit": (case.get("subject") or {}).get("unit", ""),
        "metric": metric_words(ctx.metric),
        "transform": ctx.transform,
        "events": events,
        "verdicts": verdict_rows,
        "verdict_counts": counts,
        "verdict_meaning": words.VERDICT_MEANING,
        "policy_note": words.POLICY_NOTE,
        "figures": figures,
        "methods": _methods(results),
        "limits": words.GENERAL_LIMITS,
        "summary_rows": _summary_rows(results),
        "damages": damages_view(results, ctx.currency),
        "ingest": _ingest_view(results.get("ingest") or {}),
        "provenance": {
            "butfor_version": provenance.get("butfor_version", ""),
            "versions": sorted((provenance.get("versions") or {}).items()),
            "seed": provenance.get("seed"),
            "inputs": [{"name": str(i.get("name", "")), "sha256": str(i.get("sha256", ""))}
                       for i in provenance.get("inputs") or []],
            "command": provenance.get("command", ""),
            "case_toml": provenance.get("case_toml"),
            "schema_version": results.get("schema_version", ""),
            "methods": [str(m) for m in case.get("methods") or []],
            "claims": [{"id": str(c.get("id", "")), "kind": str(c.get("kind", "")),
                        "event": str(c.get("event") or ""),
                        "alpha": str(c["alpha"]) if fmt.is_number(c.get("alpha")) else ""}
                       for c in case.get("claims") or []],
        },
        "run": _run_view(run_info),
    }


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("butfor.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(results: dict, run_info: dict | None = None) -> str:
    """The whole report page as one string (inline CSS and figures, no scripts)."""
    return render_page(results, run_info)[0]


def render_page(results: dict, run_info: dict | None = None, *,
                png: bool = False) -> tuple[str, list[dict]]:
    """The page and its figures (each with ``svg`` text and, when asked, ``png`` bytes)."""
    env = _environment()
    css = env.loader.get_source(env, "report.css")[0]  # type: ignore[union-attr]
    view = build_view(results, run_info, png=png)
    return env.get_template("report.html.j2").render(css=css, **view), view["figures"]
