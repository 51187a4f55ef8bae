"""How far past the data a loss may be carried, and which scenario heads the exhibit."""

from __future__ import annotations

from collections.abc import Sequence

from butfor.case_damages import Damages
from butfor.damages.result import ScenarioDamages

HEADLINE_RULE = ("the central scenario: the one whose median is the median of the scenarios' "
                 "medians, the lower of the two middle ones when their number is even")


def check_horizons(d: Damages, observed: int) -> list[str]:
    """A warning for each projection longer than the stated multiple of the post-event data.

    ``observed`` is the number of days the post-event data cover (a horizon in
    words, "12 months", is compared by its nominal days). The warnings
    go into the result (the exhibit and the command line print them), not
    through Python's warnings, so a run never stops on them. The hard ceiling
    is checked when the case is read (``horizon_ceiling_days``).
    """
    limit = d.horizon_warning_multiple * observed
    out = []
    limit = d.horizon_warning_multiple * observed
    for p in d.persistence:
        if p.kind == "none" or p.horizon_days <= limit:
            continue
        message = (f"scenario {p.label()!r} projects the loss {p.horizon_words()} past the "
                   f"data, {p.horizon_days / observed:.1f} times the {observed} days observed "
                   f"after the event (a warning past {d.horizon_warning_multiple:g} times, "
                   "horizon_warning_multiple): most of its damages rest on the persistence "
                   "assumption, not on data")
        out.append(message[0].upper() + message[1:] + ".")
    return out


def choose_headline(scenarios: Sequence[ScenarioDamages], named: str | None
                    ) -> tuple[str, str]:
    """(name, rule): the scenario the case names, or the central one by median."""
    if named is not None:
        return named, "named in the case file ('headline')"
    if len(scenarios) == 1:
        return scenarios[0].name, "the only scenario"
    ordered = sorted(range(len(scenarios)), key=lambda i: (scenarios[i].median, i))
    return scenarios[ordered[(len(ordered) - 1) // 2]].name, HEADLINE_RULE
