"""Settings of the synthetic control and SDID in the case file.

::

    [synthetic_control]          # Abadie, Diamond & Hainmueller (2010)
    v = "search"                 # predictor weights: search, regression or equal
    predictors = [
      { variable = "lnincome", start = 1980, end = 1988 },   # mean over 1980-1988
      { variable = "cigsale", start = 1975 },                # the outcome in 1975
    ]

    [sdid]                       # Arkhangelsky et al. (2021)
    estimators = ["sdid", "sc", "did"]   # each its own analysis, same standard error
    se = "placebo"

A period is a year (``1980``: from 1 January to 31 December, whatever the
panel's frequency) or a date. ``block`` fits the weights on means over blocks
of that many periods; it defaults to a week of daily data (7) and to one
period of any other frequency.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from butfor.case_base import Section

Period = int | dt.date


class PredictorSpec(Section):
    """A synthetic-control predictor: ``variable`` averaged from ``start`` to ``end``."""

    variable: str  # a metric of the panel: a covariate, or the outcome itself
    start: Period
    end: Period | None = None  # default: start (one period)
    name: str | None = None  # default: "variable (start–end)"

    @field_validator("start", "end")
    @classmethod
    def _plausible_year(cls, value: Period | None) -> Period | None:
        if isinstance(value, int) and not 1000 <= value <= 9999:
            raise ValueError(f"{value} is neither a four-digit year nor a date (YYYY-MM-DD)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> PredictorSpec:
        if self.end is not None and self.first() > self.last():
            raise ValueError(f"the predictor of {self.variable!r} ends before it starts")
        return self

    def first(self) -> pd.Timestamp:
        """The first day the average takes in."""
        if isinstance(self.start, int):
            return pd.Timestamp(year=self.start, month=1, day=1)
        return pd.Timestamp(self.start)

    def last(self) -> pd.Timestamp:
        """The last day the average takes in (a year runs to 31 December)."""
        end = self.start if self.end is None else self.end
        if isinstance(end, int):
            return pd.Timestamp(year=end, month=12, day=31)
        return pd.Timestamp(end)

    def label(self) -> str:
        if self.name:
            return self.name
        a, b = str(self.start), str(self.start if self.end is None else self.end)
        return f"{self.variable} ({a})" if a == b else f"{self.variable} ({a}–{b})"


class SyntheticControlOptions(Section):
    """``[synthetic_control]``: predictors and V as the 2010 paper states them."""

    # empty: the outcome-only synthetic control, fitted to every pre-event period
    predictors: list[PredictorSpec] = Field(default_factory=list)
    v: Literal["search", "regression", "equal"] = "search"
    # the demeaned synthetic control (outcome-only); default: on without predictors,
    # since accounts differ in size far more than states do
    intercept: bool | None = None
    block: int | None = Field(default=None, ge=1)  # default: 7 for daily data, else 1

    @model_validator(mode="after")
    def _intercept_outcome_only(self) -> SyntheticControlOptions:
        if self.intercept and self.predictors:
            raise ValueError("the demeaned synthetic control (intercept = true) is "
                             "outcome-only; drop 'intercept' or the predictors")
        return self

    def uses_intercept(self) -> bool:
        return (not self.predictors) if self.intercept is None else self.intercept


class SdidOptions(Section):
    """``[sdid]``: which estimators of the SDID family, and their standard error."""

    estimators: list[Literal["sdid", "sc", "did"]] = Field(default_factory=lambda: ["sdid"],
                                                          min_length=1)
    se: Literal["placebo", "bootstrap", "jackknife", "none"] = "placebo"
    # placebo: "each" peer once as if treated (up to `replications` of them), or
    # "random" permutations as the R package draws them
    placebo: Literal["each", "random"] = "each"
    replications: int = Field(default=100, ge=2)
    block: int | None = Field(default=None, ge=1)  # default: 7 for daily data, else 1
    solver: Literal["frank_wolfe", "exact"] = "frank_wolfe"

    @field_validator("estimators")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an estimator is listed twice; list each once")
        return value


def block_length(stated: int | None, frequency: str) -> int:
    """The stated block, else a week of daily data and one period of any other frequency."""
    if stated is not None:
        return stated
    return 7 if frequency == "D" else 1


__all__ = ["PredictorSpec", "SdidOptions", "SyntheticControlOptions", "block_length"]
