"""Plain words for the report: what each method compares and what would fool it.

Written for a reader who has never met these methods: a judge, a juror, a
creator. Each method gets a plain name, one or two sentences on what it
compares, and one on what would fool it. The analysis's own ``description``
(written by the method for this run) is shown beside these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodWords:
    name: str
    compares: str
    fooled_by: str


METHODS: dict[str, MethodWords] = {
    "prepost": MethodWords(
        "Before and after, against peers",
        "Compares how much the account changed from before the event to after it with how "
        "much similar accounts changed over the same days. Each peer is then put through the "
        "same comparison, to show how big such a gap gets by chance.",
        "It is fooled if the account was already on a different path from its peers, and it "
        "cannot see what the event did to everyone: only what it did to this account beyond "
        "that.",
    ),
    "peer_effects": MethodWords(
        "Each account against its own off-platform attention",
        "Measures every account's change after the event against its own series elsewhere "
        "(such as its Wikipedia page views), which the platform's change did not touch, and "
        "then asks whether the account lost more than the typical account did. The other "
        "accounts, measured the same way, show how far one strays by chance.",
        "It is fooled if the change moved the outside series too, or if accounts' ties to "
        "their outside series shifted at the event for other reasons.",
    ),
    "sts": MethodWords(
        "Forecast from the account's own past (structural time series)",
        "Learns the account's pattern before the event (its level, its trend, its weekly "
        "rhythm, and how it moved with series the event did not touch) and projects that "
        "pattern forward as a forecast of what would have happened without the event. The gap "
        "between the forecast and what happened is the estimated effect; the shaded band shows "
        "how unsure the forecast is.",
        "It is fooled by anything else that changed at the same time (news, a season, the "
        "account posting less), and by comparison series that the event also moved.",
    ),
    "synthetic_control": MethodWords(
        "Synthetic control: a stand-in built from peers",
        "Builds a stand-in for the account from a weighted mix of peer accounts, chosen so "
        "that the mix tracked the account closely before the event; after the event, the "
        "stand-in shows how the account would have moved had it moved like its peers. The "
        "same analysis is repeated pretending each peer was the subject (a placebo test): a "
        "real effect should stand out from those.",
        "It is fooled when the peers were hit by the same change (a platform-wide change then "
        "looks like no effect), or when no mix of peers can follow the account before the "
        "event.",
    ),
    "sdid": MethodWords(
        "Synthetic difference in differences",
        "Like a synthetic control, it weights peer accounts to resemble the account, and it "
        "also weights the days before the event; it then compares changes rather than levels, "
        "so a steady gap between the account and its peers does not matter.",
        "It is fooled by the same things as a synthetic control: peers touched by the same "
        "change, or an account whose trend would have pulled away from its peers anyway.",
    ),
    "event_study": MethodWords(
        "Event study: period by period",
        "Estimates the difference between the account (or a group) and comparison accounts "
        "separately for each period before and after the event, relative to the last period "
        "before it. Before the event the estimates should sit near zero; if they already "
        "drift, the change began earlier.",
        "It is fooled if the comparison accounts were affected too, or if something else "
        "happened in the same periods as the event.",
    ),
    "changepoint": MethodWords(
        "Change-point dating",
        "Looks only at the account's own series and finds the date where its level or slope "
        "changed most sharply, with a range of plausible dates. If the change came well before "
        "the event, the event cannot have started it.",
        "It cannot say why a series changed, and a slow drift, or two changes close together, "
        "can be dated imprecisely.",
    ),
    "attribution": MethodWords(
        "Which change does the break follow?",
        "Takes the candidate changes the case names and asks where the account's series broke: "
        "each change is credited with the breaks dated from its first day to a couple of weeks "
        "after it, and the strength of each break is compared with breaks at dates before the "
        "first change, where nothing happened.",
        "It reads timing only: a change not on the list, close to one that is, would be credited "
        "to it, and two changes closer together than the time an effect takes to show cannot be "
        "told apart.",
    ),
    "groups": MethodWords(
        "Group comparison",
        "Compares how two groups of accounts changed after the event, each against its own "
        "past; a difference means the change hit one group harder.",
        "It is fooled if the groups differ in other ways that changed at the same time, such as "
        "topics that fell out of the news.",
    ),
    "sun_abraham": MethodWords(
        "Staggered adoption (Sun and Abraham)",
        "When accounts were changed on different dates, compares each account from its own "
        "date with accounts not yet changed, batch by batch, and averages the batches.",
        "It is fooled if accounts were changed when they were because of how they were doing "
        "(for example, the weakest first).",
    ),
    "damages": MethodWords(
        "Damages",
        "Turns the estimated shortfall into money at the price the case file states, carries "
        "it forward under a stated assumption about how long the effect lasts, discounts it to "
        "today and subtracts what was recovered elsewhere. It uses the estimate's uncertainty "
        "draw by draw, so the money has a range too.",
        "It is only as good as the price and the persistence assumed: change them and the "
        "amount changes, which is why several scenarios are shown.",
    ),
}


METHODS["group_disproportion"] = METHODS["groups"]


def method_words(method: str) -> MethodWords | None:
    return METHODS.get(method)


GENERAL_LIMITS = [
    "Every number here is an estimate from observational data, not the result of an "
    "experiment: it rests on the assumptions stated for each method.",
    "A platform-wide change moves every account on the platform, so peers on the same platform "
    "show what everyone lost, not what would have happened without the change. Series the "
    "change did not touch (the same person elsewhere, encyclopedia pageviews, search interest) "
    "are the comparisons that can show that.",
    "An interval that includes no effect means the data cannot tell an effect from none. A "
    "claim is never marked supported on such an estimate.",
    "'Not supported' means the data do not show the claim at the stated threshold; it does not "
    "prove the opposite. 'Inconclusive' means the methods disagree or the data are too noisy "
    "to say.",
]

VERDICT_MEANING = {
    "supported": ("the whole interval shows the claimed change at the stated level, and every "
                  "check of the method passed"),
    "not supported": ("the data could have detected the claimed change (or its interval rules "
                      "it out), and did not show it"),
    "inconclusive": ("a check of the method failed, or the data could not detect a change of "
                     "the size that matters; the sentence says which"),
}
GATE_LABELS = {
    "convergence": "Sampler convergence",
    "known_error_rate": "Known error rate on this data",
    "pretrend": "Pre-trend",
    "pre_fit": "Pre-period fit",
    "design": "Design",
    "degenerate": "Degenerate fit",
}
POLICY_NOTE = ("Every verdict follows one written policy (docs/verdict-policy.md in butfor's "
               "source): the checks listed under each sentence are its gates, each with the "
               "value it took and the bound it had to meet.")

CLAIM_FIGURES = {
    "declined_after": ("counterfactual", "effect"),
    "beyond_platform_trend": ("placebo", "counterfactual", "groups"),
    "not_preexisting": ("event_time", "changepoint"),
    "targeted": ("placebo",),
    "disproportionate": ("groups", "placebo"),
    "income_loss": ("damages",),
    "claimed_amount": ("damages",),
    "attributed_to": ("changepoint",),
}
