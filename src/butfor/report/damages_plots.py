"""The damages' sensitivity figure (a tornado), from results.json alone."""

from __future__ import annotations

from dataclasses import dataclass

from butfor.report import fmt


@dataclass(frozen=True)
class SensitivityPlot:
    id: str
    analysis_id: str
    title: str
    alt: str
    currency: str
    median: float
    rows: tuple[tuple[str, float, float], ...]  # (assumption, median at low, at high)
    kind: str = "sensitivity"


def sensitivity_plot(results: dict, currency: str) -> SensitivityPlot | None:
    damages = results.get("damages")
    sens = damages.get("sensitivity") if isinstance(damages, dict) else None
    if not isinstance(sens, dict) or not fmt.is_number(sens.get("median")):
        return None
    rows = tuple((str(r["assumption"]), float(r["median_at_low"]), float(r["median_at_high"]))
                 for r in sens.get("rows") or []
                 if fmt.is_number(r.get("median_at_low")) and fmt.is_number(r.get("median_at_high")))
    methods = [m for m in damages.get("by_method") or [] if fmt.is_number(m.get("median"))]
    if methods:
        medians = [float(m["median"]) for m in methods]
        rows = (*rows, ("counterfactual method", min(medians), max(medians)))
    if not rows:
        return None
    rows = tuple(sorted(rows, key=lambda r: -abs(r[2] - r[1])))
    top = rows[0]
    m = float(sens["median"])
    title = (f"Sensitivity of the median damages ({fmt.money(m, currency)}): {top[0]} moves it "
             f"most, from {fmt.money(min(top[1:]), currency)} to {fmt.money(max(top[1:]), currency)}")
    alt = (f"Tornado chart of the median damages of the {sens.get('scenario')} scenario with "
           f"one assumption at a time at its low and high value, largest swing first. "
           + "; ".join(f"{n}: {fmt.money(lo, currency)} to {fmt.money(hi, currency)}"
                       for n, lo, hi in rows) + ".")
    return SensitivityPlot(id="fig-damages-sensitivity", analysis_id="damages", title=title,
                           alt=alt, currency=currency, median=m, rows=rows)
