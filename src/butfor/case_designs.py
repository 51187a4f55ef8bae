"""Case-file sections for the panel regressions: their design, fixed effects and errors.

::

    methods = ["before_after"]
    covariates = ["posts"]
    covariate_transforms = { posts = "log" }   # each covariate's own scale

    [regression]            # the panel regressions (before_after; event_study keeps time
    time_effects = false    # effects). Default: on where a comparison group exists, off otherwise
    cluster = "unit"        # CRV1 by unit; "none" gives heteroskedasticity-robust (HC1)

    [before_after]
    comparison = "none"     # or "groups": today's [groups] compare = [a, b], a × post

Which methods and claims need a ``[subject]`` is stated here too, so the case
refuses a panel-only case that asks for one when it is read, not half-way
through a run.
"""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import Field

from butfor.case_base import KeyProblem
from butfor.case_base import Section as _Section

# the methods that fit one subject against others; a case without [subject] cannot ask
# for them (before_after and a group event study work on the panel as a whole)
NEEDS_SUBJECT_METHODS = ("prepost", "sts", "synthetic_control", "sdid", "changepoint",
                         "peer_effects", "attribution")
# the methods that fit the outcome on a plain log (the others take log1p)
LOG_METHODS = ("before_after", "event_study")
# the methods with a count model for [outcome] family = "poisson" (Poisson pseudo-likelihood)
COUNT_METHODS = ("before_after", "sts")
# the claim kinds about one subject's own series or money
NEEDS_SUBJECT_CLAIMS = ("beyond_platform_trend", "targeted", "not_preexisting", "income_loss",
                        "claimed_amount", "attributed_to")


class RegressionOptions(_Section):
    """Settings of the panel regressions (``before_after``; ``event_study`` needs time effects)."""

    # None: time fixed effects wherever comparison units exist; a before/after with every
    # unit exposed at one date cannot have them (they absorb the exposure)
    time_effects: bool | None = None
    unit_effects: bool = True
    cluster: Literal["unit", "none"] = "unit"


class BeforeAfterOptions(_Section):
    """The before/after design (``methods = ["before_after"]``).

    ``comparison = "none"``: every unit (the ``units`` listed, or every unit in
    the panel but the controls) is exposed on the event date; the estimate is
    the mean change after the date within units, net of the covariates.
    ``comparison = "groups"``: the ``[groups] compare = [a, b]`` groups; the
    estimate is group a's change beyond group b's (a × post).
    """

    comparison: Literal["none", "groups"] = "none"
    units: list[str] = Field(default_factory=list)


def check_designs(case) -> None:
    """Raise KeyProblem where the case asks for a design it cannot have."""
    _covariate_transforms_named(case)
    _subject_where_needed(case)
    _design_can_be_fitted(case)
    _log_where_fitted(case)
    _count_model_where_fitted(case)


def _covariate_transforms_named(case) -> None:
    for name in case.covariate_transforms:
        if name not in case.covariates:
            raise KeyProblem(("covariate_transforms", name),
                             f"covariate_transforms names {name!r}, which is not one of "
                             f"the covariates{_nearest(name, list(case.covariates))}",
                             "add it to covariates or remove it")


def _subject_where_needed(case) -> None:
    if case.subject is not None:
        return
    fix = "add [subject] unit = \"<account id>\""
    for i, method in enumerate(case.methods):
        if method in NEEDS_SUBJECT_METHODS:
            raise KeyProblem(("methods", i), f"method {method!r} estimates one account's "
                             "effect, so it needs a [subject]",
                             f"{fix}, or use \"before_after\" or \"event_study\" for the "
                             "panel as a whole")
    for i, claim in enumerate(case.claims):
        if claim.kind in NEEDS_SUBJECT_CLAIMS or (
                claim.kind == "declined_after" and "before_after" not in case.methods):
            raise KeyProblem(("claims", i, "kind"), f"claim {claim.id!r} ({claim.kind}) is "
                             "about one account, so it needs a [subject]",
                             fix + (", or add \"before_after\" to methods to test it on "
                                    "the panel as a whole"
                                    if claim.kind == "declined_after" else ""))
    if case.damages is not None:
        raise KeyProblem(("damages",), "damages price one account's loss, so they need a "
                         "[subject]", f"{fix}, or remove [damages]")


def _design_can_be_fitted(case) -> None:
    if ("before_after" in case.methods and case.before_after.comparison == "none"
            and case.regression.time_effects):
        raise KeyProblem(("regression", "time_effects"),
                         "a before/after with every unit exposed on one date cannot have "
                         "time fixed effects (they absorb the exposure exactly)",
                         "set time_effects = false, or compare two groups with "
                         "[before_after] comparison = \"groups\"")
    reg = case.regression
    fixed = {"time_effects": reg.time_effects is not False, "unit_effects": reg.unit_effects,
             "cluster": reg.cluster == "unit"}
    changed = [k for k, ok in fixed.items() if not ok]
    if "event_study" in case.methods and changed:
        raise KeyProblem(("regression", changed[0]),
                         "event_study compares accounts period by period against others on the "
                         "same days, with unit and time fixed effects and errors clustered by "
                         f"account, so it cannot take [regression] {changed[0]} = "
                         f"{getattr(reg, changed[0])!r}",
                         f"leave {changed[0]} out, or run the panel with methods = "
                         "[\"before_after\"] alone")

def _log_where_fitted(case) -> None:
    if case.outcome.transform != "log":
        return
    for i, method in enumerate(case.methods):
        if method not in LOG_METHODS:
            raise KeyProblem(("outcome", "transform"), f"transform \"log\" is fitted by "
                             f"{' and '.join(LOG_METHODS)} only, and methods lists {method!r} "
                             f"(entry {i + 1})", "set transform = \"log1p\", or list only "
                             f"{' and '.join(LOG_METHODS)} in methods")


def _count_model_where_fitted(case) -> None:
    if case.outcome.family != "poisson":
        return
    if case.outcome.transform != "none":
        raise KeyProblem(("outcome", "transform"), f"family \"poisson\" models the count on "
                         f"its own log scale, so the outcome cannot also take transform "
                         f"{case.outcome.transform!r}", "set transform = \"none\" (the effect "
                         "is reported as a rate ratio), or family = \"gaussian\"")
    for i, method in enumerate(case.methods):
        if method not in COUNT_METHODS:
            raise KeyProblem(("outcome", "family"), f"family \"poisson\" is fitted by "
                             f"{' and '.join(COUNT_METHODS)} only, and methods lists "
                             f"{method!r} (entry {i + 1})", "list only "
                             f"{' and '.join(COUNT_METHODS)} in methods, or model the count "
                             "with family = \"gaussian\" and transform = \"log1p\"")


def _nearest(name: str, valid: list[str]) -> str:
    near = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    return f"; did you mean {near[0]!r}?" if near else f" ({', '.join(valid)})"
