"""One typed record per analysis kind, as results.json's ``analyses`` hold them.

Each record names its kind in ``method`` (the discriminator of
:data:`butfor.records.AnalysisRecord`); the fields every kind shares sit on
:class:`Analysis`. Optional fields are left out of results.json when the
method did not write them (:meth:`Record.to_dict` dumps only the keys given),
so a record read from results.json and written again gives the same bytes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from butfor.records.parts import (
    Coefficient,
    EffectPath,
    EventStudyFit,
    FalsePositive,
    Flag,
    Maybe,
    Num,
    Placebo,
    Power,
    PrePostFit,
    Pretrend,
    Record,
    Series,
)


class Analysis(Record):
    """What every analysis has: its id, kind, words for the report, and its gates' flags."""

    id: str
    method: str
    title: str
    metric: str
    description: str
    event: str | None = None  # the event it is about (none: a dating over every event)
    warnings: list[str] | None = None  # assumption warnings, recorded rather than raised
    flags: Annotated[list[Flag], Field(
        min_length=1, description="reasons the result cannot mean what it says "
        "(butfor.methods._flags; absent when there are none); any flag makes the degenerate "
        "gate fail, so every verdict relying on the analysis is inconclusive")] | None = None
    power: Power | None = None  # power and the smallest detectable effect

    def paths(self) -> list[EffectPath]:
        """Every effect path of the analysis (one per event for the structural time series)."""
        effects = getattr(self, "effects", None)
        if effects:
            return list(effects)
        effect = getattr(self, "effect", None)
        return [effect] if effect is not None else []


# ---------------------------------------------------------------------------
# the structural time series
class StsControls(Record):
    names: list[str]
    inclusion_probability: Series
    coefficient_standardised: Series
    check: dict[str, Any] | None  # did a control jump at an event (diagnostic)


class Convergence(Record):
    """The Gibbs sampler's convergence: split R-hat and effective sample sizes."""

    chains: int
    draws_per_chain: int
    rhat: dict[str, Maybe]
    ess: dict[str, Maybe]
    rhat_cumulative: Series
    ess_cumulative: Series
    max_rhat: Maybe
    level_variance_acceptance: Maybe
    converged: bool
    days_fitted: int | None = None
    inclusion_prior: dict[str, Any] | None = None
    latent_acceptance: Any = None  # the count model's latent-rate sampler
    days_missing_in_fit: int | None = None
    days_dropped_for_missing_controls: int | None = None


class StsAnalysis(Analysis):
    method: Literal["sts"]
    events: list[str]
    effect: EffectPath | None = None
    effects: list[EffectPath] | None = None
    controls: StsControls | None = None
    convergence: Convergence | None = None
    settings: dict[str, Any] | None = None
    false_positive: FalsePositive | None = None
    left_out: str | None = None  # not fitted, and why


# ---------------------------------------------------------------------------
# the subject against its peers
class PeerEffectsAnalysis(Analysis):
    method: Literal["peer_effects"]
    effect: EffectPath
    placebo: Placebo


class PrepostAnalysis(Analysis):
    method: Literal["prepost"]
    effect: EffectPath
    placebo: Placebo
    pretrend: Pretrend


class SynthFigures(Record):
    """The published figures of a synthetic control (ADH 2010, Tables 1-2, section 4.2)."""

    variant: str
    v: str
    block: int
    weights: dict[str, Num]
    predictor_weights: dict[str, Num] | None
    predictor_balance: dict[str, dict[str, Maybe]] | None
    pre_rmspe: Maybe
    post_rmspe: Maybe
    rmspe_ratio: Maybe
    placebo_rank: int
    placebo_units: int
    placebo_p_value: Maybe


class SynthStaggered(Record):
    """Synthetic controls of units with their own event dates, averaged by event time."""

    units: list[str]
    event_time: list[Num]
    average_gap: Series
    units_at: list[Num]
    average_effect: Maybe


class SyntheticControlAnalysis(Analysis):
    method: Literal["synthetic_control"]
    effect: EffectPath | None = None
    placebo: Placebo | None = None
    synthetic_control: SynthFigures | None = None
    staggered: SynthStaggered | None = None


class SdidEstimate(Record):
    estimator: str
    value: Maybe
    standard_error: Maybe
    method: str
    interval: list[Maybe] | None
    block: int
    scale: str
    p_value: Maybe = None  # the staggered estimate's own
    cohorts: Any = None  # the staggered estimate's cohorts


class SdidAnalysis(Analysis):
    method: Literal["sdid"]
    estimator: str
    effect: EffectPath | None = None
    estimate: SdidEstimate
    placebo: Placebo | None = None


# ---------------------------------------------------------------------------
# panel regressions
class EventStudyAnalysis(Analysis):
    method: Literal["event_study"]
    effect: EffectPath
    event_study: EventStudyFit


class GroupMean(Record):
    group: str
    period: str
    mean: Maybe
    n_obs: int


class GroupFit(Record):
    group_a: str
    group_b: str
    interaction: PrePostFit
    event_study: EventStudyFit
    group_means: list[GroupMean]
    n_units_a: int
    n_units_b: int


class GroupDisproportionAnalysis(Analysis):
    method: Literal["group_disproportion"]
    estimate: Coefficient
    group_disproportion: GroupFit


class SunAbrahamFit(Record):
    outcome: str
    cohorts: dict[str, list[Any]]
    event_study: EventStudyFit
    att: Coefficient
    twfe_static: Coefficient
    control: str
    n_cohorts: int
    dropped_always_treated: int


class SunAbrahamAnalysis(Analysis):
    method: Literal["sun_abraham"]
    sun_abraham: SunAbrahamFit


class RelativeEffect(Record):
    estimate: Maybe
    lower: Maybe
    upper: Maybe


class BeforeAfterFit(Record):
    outcome: str
    transform: str
    effect: Coefficient
    relative_effect: RelativeEffect | None
    covariates: list[Coefficient]
    n_obs: int
    n_units: int
    n_clusters: int
    n_pre_periods: int
    n_post_periods: int
    formula: str
    vcov: str
    unit_effects: bool
    time_effects: bool
    comparison: list[str] | None
    n_units_a: int | None
    n_units_b: int | None
    level: Num
    family: str


class BeforeAfterAnalysis(Analysis):
    method: Literal["before_after"]
    estimate: Coefficient
    before_after: BeforeAfterFit


# ---------------------------------------------------------------------------
# timing: change points and attribution
class ChangeFound(Record):
    date: str | None
    lower: str | None
    upper: str | None
    change: Maybe
    evidence: Maybe
    days_from_event: int | None
    periods_from_event: int | None


class ChangepointFit(Record):
    """The dated changes in level or slope, the onset nearest the event and its probability."""

    model: str
    dates: list[str]
    values: Series
    fitted: Series
    breaks: list[str | None]
    onset: str | None
    onset_lower: str | None
    onset_upper: str | None
    onset_probability: Series
    days_from_event: int | None
    days_from_event_lower: int | None
    days_from_event_upper: int | None
    frequency: str
    periods_from_event: int | None
    periods_from_event_lower: int | None
    periods_from_event_upper: int | None
    change: Maybe
    sigma: Maybe
    bic: Maybe
    penalty: Maybe
    criterion: str
    level: Num
    event_date: str | None
    changes: list[ChangeFound]
    sentence: str
    diagnostics: dict[str, Any]


class OnsetFound(Record):
    found: bool
    delta_bic: Maybe
    onset: str | None
    shape: str | None
    change: Maybe


class OnsetFalsePositive(Record):
    rate: Maybe
    n_flagged: int
    runs: int
    alpha: Num


class OnsetCheck(Record):
    """Did a decline begin before the event (beyond the tolerance), and could the data show one?"""

    tolerance_days: int
    tolerance_periods: int
    limit: str
    direction: str
    check: OnsetFound | None = None
    power: Power | None = None
    false_positive: OnsetFalsePositive | None = None
    why: str | None = None


class ChangepointAnalysis(Analysis):
    method: Literal["changepoint"]
    changepoint: ChangepointFit
    adjusted_for: list[str]
    before_event: list[OnsetCheck] | None = None
    days_from_events: dict[str, int | None]
    periods_from_events: dict[str, int | None]
    sentence: str


class CandidateScore(Record):
    name: str
    start: str
    end: str
    window_end: str
    share: Maybe
    strength: Maybe
    placebo_p: Maybe
    placebo_as_strong: int | None
    rank: int


class AttributionFit(Record):
    candidates: list[CandidateScore]
    top: str | None
    plausible: list[str]
    distinguishable: bool
    break_date: str | None
    break_lower: str | None
    break_upper: str | None
    level: Num
    share_needed: Num
    lag_days: int
    half_window_days: int
    weight: Maybe
    rho: Maybe
    n_placebo: int
    smallest_p: Maybe
    dates: list[str]
    probability: Series
    sentence: str
    diagnostics: dict[str, Any]


class CandidateDates(Record):
    date: str
    date_end: str | None
    registry: str | None


class AttributionAnalysis(Analysis):
    method: Literal["attribution"]
    attribution: AttributionFit
    adjusted_for: list[str]
    candidates: dict[str, CandidateDates]
    sentence: str
    n_observed: int
