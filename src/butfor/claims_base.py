"""What every claim's judge shares: the verdict record, the run's context, the sentence helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from butfor.case import Case, Claim
from butfor.records import Analysis, EffectPath
from butfor.verdicts import (
    INCONCLUSIVE,
    Gate,
    VerdictWord,
    minimum_detectable,
)

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


# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClaimContext:
    case: Case
    analyses: list[Analysis]
    damages: dict | None
    unit_groups: dict[str, str | None]
    frequency: str = "D"  # the panel's: a claim's tolerance is counted in its periods

    def find(self, kind: str, claim: Claim, *, need: str | None = None) -> Analysis | None:
        """The best analysis for this claim's kind, event and metric (with the field ``need``)."""
        event = self.case.event(claim.event)
        metric = self.case.claim_metric(claim)
        for method in PREFERRED_METHODS[kind]:
            for a in self.analyses:
                if a.method != method or a.metric != metric:
                    continue
                if need is not None and getattr(a, need, None) is None:
                    continue
                if need == "effect" and effect_of(a, event) is None:
                    continue
                if need != "effect" and a.event not in (None, event.name):
                    continue
                return a
        return None


def effect_of(analysis: Analysis, event) -> EffectPath | None:
    """The analysis's effect path for ``event`` (a method may carry one path per event)."""
    effect = getattr(analysis, "effect", None)
    for path in getattr(analysis, "effects", None) or [effect]:
        if path is None:
            continue
        named = path.diagnostics.get("event") or analysis.event
        if named == event.name or (event.date is not None
                                   and path.event_date == str(event.date)):
            return path
    if analysis.event in (None, event.name) and effect is not None:
        return effect
    return None


def missing(claim: Claim, what: str) -> Verdict:
    return Verdict(claim.id, claim.kind, claim.allegation, INCONCLUSIVE,
                   f"No analysis in this run can test it: {what}.", {})


def event_name(claim: Claim, case: Case) -> str:
    return claim.event or case.events[0].name


def num_words(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def make_verdict(claim: Claim, word: VerdictWord, sentence: str, figures: dict,
             gates: list[Gate | None]) -> Verdict:
    kept = [g.to_dict() for g in gates if g is not None]
    figures = {**figures, "failed_gates": [g["name"] for g in kept if not g["passed"]]}
    return Verdict(claim.id, claim.kind, claim.allegation, word, sentence, figures, kept)


def base_figures(claim: Claim, ctx: ClaimContext, a: Analysis) -> dict:
    power = a.power
    return {"method": a.method, "analysis": a.id, "metric": a.metric,
            "alpha": claim.alpha, "direction": claim.direction,
            "smallest_effect": ctx.case.smallest_effect(claim),
            "mde": minimum_detectable(power, claim.direction)}


def signed(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.4g}"


def metric_phrase(metric: str | None, ctx: ClaimContext | None = None) -> str:
    """The claim's metric as the analysed series: with ``[outcome] transform = "pct_change"``
    the series is the growth ("the day-on-day change in followers"), and a sentence that
    said "followers ran 89% lower" of an 89% fall in daily growth would be false."""
    name = str(metric or "the outcome").replace("_", " ")
    if ctx is not None and ctx.case.outcome.transform == "pct_change":
        from butfor import frequency as freq

        period = freq.PERIOD.get(ctx.frequency, "period")
        return f"the {period}-on-{period} change in {name}"
    return name
