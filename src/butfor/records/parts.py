"""The payloads several analysis kinds share: effect paths, placebo tests, power, gates.

Every model is frozen and forbids keys it does not name, so a method that
starts writing a new key fails here (and in the schema test) instead of
reaching claims or the report unseen. Numbers are ``float | int`` because
results.json keeps a Python int as an int and a float as a float (the bytes
of results.json must not change when a record is read and written again), and
``None`` wherever the method can produce NaN (written as null). Free-form
diagnostics stay ``dict[str, Any]``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: a number as results.json holds it: an int stays an int, a float a float
Num = float | int
#: a number that NaN may have replaced (written as null)
Maybe = float | int | None
#: a series over dates, null where missing
Series = list[float | int | None]


class Record(BaseModel):
    """Frozen, closed: the base of every payload in results.json's analyses."""

    # strict: an int is never read as a float nor a float as an int (the bytes would change)
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def to_dict(self) -> dict[str, Any]:
        """The payload as results.json holds it: only the keys it was given."""
        return self.model_dump(exclude_unset=True)

    # the same record pickles to the same bytes in every process (the methods' helper
    # process hands records back): the set of given fields is written in sorted order, not
    # in the order of this process's string hashes
    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        return {**state, "__pydantic_fields_set__": sorted(state["__pydantic_fields_set__"])}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__({**state,
                              "__pydantic_fields_set__": set(state["__pydantic_fields_set__"])})


class Summary(Record):
    """Average, cumulative and relative effect over the post period, with intervals."""

    average: Maybe
    average_lower: Maybe
    average_upper: Maybe
    cumulative: Maybe
    cumulative_lower: Maybe
    cumulative_upper: Maybe
    relative: Maybe
    relative_lower: Maybe
    relative_upper: Maybe
    p_value: Maybe
    level: Num = 0.95


class Band(Record):
    """The cumulative effect over the post period with its interval (structural time series)."""

    point: Series
    lower: Series
    upper: Series


class EffectPath(Record):
    """Observed, counterfactual and its interval over the analysed window; the post-period summary."""

    method: str
    unit: str
    metric: str
    event_index: int
    event_date: str
    dates: list[str]
    observed: Series
    counterfactual: Series
    lower: Series
    upper: Series
    summary: Summary
    diagnostics: dict[str, Any]
    cumulative_effect: Band | None = None
    draws: list[Series] | None = Field(
        None, description="counterfactual draws for the post period, as a method writes them; "
                          "the pipeline takes them out before results.json is written")


class Placebo(Record):
    """The subject's statistic among the placebo units' (a permutation test)."""

    units: list[str]
    statistic: str
    values: Series
    subject_value: Maybe
    p_value: Maybe
    rank: int | None
    # the synthetic control's post/pre RMSPE ratio test beside the gap test
    ratio_p_value: Maybe = None
    ratio_rank: int | None = None
    pre_rmspe: Series | None = None
    post_rmspe: Series | None = None
    subject_pre_rmspe: Maybe = None
    subject_post_rmspe: Maybe = None


class Power(Record):
    """Power against effect size, measured by injecting known effects; the smallest detectable."""

    effects: Series
    power: Series
    alpha: Num
    runs: int
    how: str
    target: Num
    mde_fell: Maybe
    mde_rose: Maybe
    sentence: str


class FalsePositive(Record):
    """The method's error rate on this data: pseudo-events where nothing happened."""

    n_events: int
    runs: int
    n_flagged: int
    rate: Maybe
    rate_lower: Maybe
    rate_upper: Maybe
    alpha: Num
    post_length: int | None
    event_indices: list[int]
    p_values: Series
    sentence: str


class Pretrend(Record):
    """The slope of the subject's gap to its peers before the event, and its test."""

    statistic: str
    slope: Maybe
    p_value: Maybe


class Flag(Record):
    """A named reason a result cannot mean what it says, with the values it was decided on."""

    name: str = Field(pattern=r"^[a-z][a-z_]*$")
    message: str = Field(min_length=1)
    values: dict[str, Any]


class Coefficient(Record):
    """One regression coefficient with its clustered standard error, interval and p-value.

    The ``relative*`` figures (exp(b) - 1) are there when the outcome is on a log scale.
    """

    name: str
    estimate: Maybe
    se: Maybe
    lower: Maybe
    upper: Maybe
    p_value: Maybe
    level: Num = 0.95
    relative: Maybe = None
    relative_lower: Maybe = None
    relative_upper: Maybe = None


class WaldTest(Record):
    """A joint test of ``R b = 0`` (the pre-trend test); ``test`` names what ``p_value`` is."""

    hypothesis: str
    statistic: Maybe
    df: int
    df_denominator: int
    p_value: Maybe
    p_value_chi2: Maybe
    test: str = "F"
    p_value_f: Maybe = None
    bootstrap: dict[str, Any] | None = None


class EventStudyFit(Record):
    """Event-time coefficients, the pre-trend test and the average post-period effect."""

    outcome: str
    event_times: list[int]
    estimate: Series
    se: Series
    lower: Series
    upper: Series
    p_value: Series
    n_treated_obs: list[int]
    reference: int
    window: list[int]
    binned: list[bool]
    pretrend: WaldTest | None
    average_post: Coefficient
    covariates: list[Coefficient]
    n_obs: int
    n_units: int
    n_treated: int
    n_clusters: int
    formula: str
    level: Num
    inference: str
    placebo: dict[str, Any]  # the placebo accounts and their event-time estimates
    baseline: str


class PrePostFit(Record):
    """Two-way fixed effects pre/post: the treated × post coefficient."""

    outcome: str
    effect: Coefficient
    covariates: list[Coefficient]
    n_obs: int
    n_units: int
    n_treated: int
    n_clusters: int
    formula: str
    level: Num
    vcov: str
