"""Case-file sections for the panel regressions: their design, fixed effects and errors.

::

    methods = ["before_after"]
    covariates = ["posts"]
    covariate_transforms = { posts = "log" }   # each covariate's own scale

    [regression]            # every panel regression (before_after, event_study)
    time_effects = false    # default: on where a comparison group exists, off otherwise
    cluster = "unit"        # CRV1 by unit; "none" gives heteroskedasticity-robust (HC1)

    [before_after]
    comparison = "none"     # or "groups": today's [groups] compare = [a, b], a × post

Which methods and claims need a ``[subject]`` is stated here too, so the case
refuses a panel-only case that asks for one when it is read, not half-way
through a run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# the methods that fit one subject against others; a case without [subject] cannot ask
# for them (before_after and a group event study work on the panel as a whole)
NEEDS_SUBJECT_METHODS = ("prepost", "sts", "synthetic_control", "sdid", "changepoint",
                         "peer_effects", "attribution")
# the claim kinds about one subject's own series or money
NEEDS_SUBJECT_CLAIMS = ("beyond_platform_trend", "targeted", "not_preexisting", "income_loss",
                        "claimed_amount", "attributed_to")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegressionOptions(_Section):
    """Settings every panel regression shares (``before_after``, ``event_study``)."""

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
