"""Every name a case file uses, checked against the data before anything is estimated.

A case names metrics (the outcome, covariates, controls, what damages price),
accounts (the subject, peers, controls, group members, staggered event dates)
and groups (peer groups, the groups compared, a claim's groups). A name the
data does not hold would otherwise be ignored by one method and fail in
another, or silently shrink the peer pool; here it is one sentence naming the
key, its line and the nearest name the data does hold. Names listed twice are
refused too, because a peer counted twice weighs twice.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from butfor.case import Case
from butfor.case_lines import find_line
from butfor.errors import CaseError
from butfor.panel import Panel


class _Checker:
    def __init__(self, case: Case, panel: Panel, text: str, path: str | Path) -> None:
        self.case, self.text, self.path = case, text, path
        self.metrics = list(panel.metrics)
        self.units = [str(u) for u in panel.unit_ids]
        self._unit_set = set(self.units)
        labels = panel.units["group"].dropna().astype(str) if "group" in panel.units else []
        self.groups = sorted({*labels, *case.groups.members})

    def fail(self, loc: tuple, problem: str, fix: str) -> None:
        column = next((str(p) for p in reversed(loc) if isinstance(p, str)), None)
        raise CaseError(self.path, problem, fix, line=find_line(self.text, loc), column=column)

    def _near(self, name: str, valid: list[str], what: str) -> str:
        near = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        if near:
            return f"did you mean {near[0]!r}?"
        if not valid:
            return f"the data has no {what}s"
        shown = ", ".join(repr(v) for v in valid[:8]) + (" …" if len(valid) > 8 else "")
        return f"the data's {what}s are {shown} (see 'butfor data')"

    def metric(self, name: str | None, loc: tuple, role: str) -> None:
        if name is not None and name not in self.metrics:
            self.fail(loc, f"{role} {name!r} is not a metric of the data",
                      f"name one that was ingested ({self._near(name, self.metrics, 'metric')})")

    def unit(self, name: str, loc: tuple, role: str) -> None:
        if str(name) not in self._unit_set:
            self.fail(loc, f"{role} {name!r} is not an account in the data",
                      f"name one that was ingested ({self._near(str(name), self.units, 'account')})")

    def group(self, name: str | None, loc: tuple, role: str) -> None:
        if name is not None and name not in self.groups:
            self.fail(loc, f"{role} {name!r} is not a group of the data or of [groups] members",
                      f"name one of them ({self._near(name, self.groups, 'group')})")

    def unique(self, names: Iterable, loc: tuple, what: str) -> None:
        seen: set = set()
        for i, name in enumerate(names):
            if name in seen:
                self.fail((*loc, i), f"{what} {name!r} is listed twice",
                          "list each name once")
            seen.add(name)


def check_references(case: Case, panel: Panel, *, text: str = "",
                     path: str | Path = "case file") -> None:
    """Raise CaseError for the first name in ``case`` that ``panel`` does not hold."""
    c = _Checker(case, panel, text, path)
    if case.subject is not None:
        c.unit(case.subject.unit, ("subject", "unit"), "the subject")

    c.metric(case.outcome.metric, ("outcome", "metric"), "the outcome metric")
    if case.outcome.transform == "per_post":
        c.metric(case.outcome.posts_metric, ("outcome", "posts_metric"), "the posts metric")
    c.unique(case.covariates, ("covariates",), "covariate")
    for i, m in enumerate(case.covariates):
        c.metric(m, ("covariates", i), "covariate")
    for name, transform in case.covariate_transforms.items():
        if transform == "per_post":
            c.metric(case.outcome.posts_metric, ("covariate_transforms", name),
                     f"the posts metric (covariate {name!r} is per post)")
    c.metric(case.controls.metric, ("controls", "metric"), "the control metric")
    for i, claim in enumerate(case.claims):
        c.metric(claim.metric, ("claims", i, "metric"), f"the metric of claim {claim.id!r},")
    if case.damages is not None:
        for i, pricing in enumerate(case.damages.pricing):
            c.metric(getattr(pricing, "metric", None), ("damages", "pricing", i, "metric"),
                     f"the metric of pricing {pricing.label()!r},")

    if case.subject is not None and case.subject.unit in case.peers.units:
        i = case.peers.units.index(case.subject.unit)
        c.fail(("peers", "units", i), f"the subject {case.subject.unit!r} is listed among its "
               "own peers", "take it out of [peers] units (the subject is never its own peer)")
    for key in ("units", "exclude"):
        names = getattr(case.peers, key)
        c.unique(names, ("peers", key), "peer")
        for i, u in enumerate(names):
            c.unit(u, ("peers", key, i), "peer")
    c.unique(case.before_after.units, ("before_after", "units"), "before/after unit")
    for i, u in enumerate(case.before_after.units):
        c.unit(u, ("before_after", "units", i), "before/after unit")
    c.unique(case.controls.units, ("controls", "units"), "control account")
    for i, u in enumerate(case.controls.units):
        c.unit(u, ("controls", "units", i), "control account")
    for label, members in case.groups.members.items():
        c.unique(members, ("groups", "members", label), f"member of group {label!r}")
        for i, u in enumerate(members):
            c.unit(u, ("groups", "members", label, i), f"member of group {label!r}")
    for i, event in enumerate(case.events):
        for u in event.dates:
            c.unit(u, ("events", i, "dates", u), f"event {event.name!r}'s account")

    c.unique(case.peers.groups, ("peers", "groups"), "peer group")
    for i, g in enumerate(case.peers.groups):
        c.group(g, ("peers", "groups", i), "peer group")
    c.unique(case.groups.compare, ("groups", "compare"), "compared group")
    for i, g in enumerate(case.groups.compare):
        c.group(g, ("groups", "compare", i), "compared group")
    if case.groups.compare and len(case.groups.compare) != 2:
        c.fail(("groups", "compare"), f"[groups] compare names {len(case.groups.compare)} "
               "groups", "name exactly two, the group said to be hit harder first")
    for i, claim in enumerate(case.claims):
        for key in ("group_a", "group_b"):
            c.group(getattr(claim, key), ("claims", i, key), f"the {key} of claim {claim.id!r},")

    first, last = panel.dates.min().date(), panel.dates.max().date()
    for i, event in enumerate(case.events):
        dated = [(("events", i, "date"), event.date),
                 *((("events", i, "dates", u), d) for u, d in event.dates.items())]
        for loc, date in dated:
            if date is not None and not first < date <= last:
                c.fail(loc, f"event {event.name!r} on {date} is outside the data, which runs "
                       f"from {first} to {last}", "date it after the data's first day and no "
                       "later than its last (an event needs data on both sides)")
