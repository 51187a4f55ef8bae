"""Results: one shape for every method, serialised to versioned JSON.

Every method that estimates an effect on a unit's series returns an
:class:`EffectPath`: observed values, the counterfactual (what would have
happened but for the event) with its interval, and optionally the
counterfactual draws for the post period (a posterior, a bootstrap or a
placebo distribution; a point method has none). Damages are priced draw by
draw from ``draws``, so uncertainty carries into money.

:class:`Results` gathers the analyses, verdicts, damages, the IngestReport
summary and provenance, and writes ``results.json`` following
``schemas/results.schema.json``. The same inputs and seed give the same bytes:
keys are sorted, floats are written with 12 significant digits, and nothing
that varies between runs (wall-clock times, dates of the run) goes in; those
go to ``run.json`` beside it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import numpy as np

from butfor.display import Displayable
from butfor.records import Analysis, parse_analyses

SCHEMA_VERSION = "1.0.0"


# ---------------------------------------------------------------------------
# effect summaries
@dataclass(frozen=True)
class EffectSummary:
    """Average, cumulative and relative effect over the post period, with intervals.

    ``relative`` is the cumulative effect divided by the absolute value of the
    cumulative counterfactual, so its sign is the sign of the effect even when
    the baseline is negative. ``p_value`` is the method's own: a posterior tail
    probability (structural time series) or a permutation p-value (synthetic
    control); None where the method has none.
    """

    average: float
    average_lower: float
    average_upper: float
    cumulative: float
    cumulative_lower: float
    cumulative_upper: float
    relative: float
    relative_lower: float
    relative_upper: float
    p_value: float | None
    level: float = 0.95

    def excludes_zero(self) -> bool:
        return self.cumulative_lower > 0 or self.cumulative_upper < 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def summarise_draws(
    observed: np.ndarray, counterfactual_draws: np.ndarray, level: float = 0.95
) -> EffectSummary:
    """Summarise post-period effects from counterfactual draws.

    ``observed`` has shape (T,), ``counterfactual_draws`` (D, T). Missing
    observations (NaN) are left out of sums. The tail probability is the
    one-sided posterior probability of an effect of the opposite sign to the
    point estimate, doubled and capped at 1 (CausalImpact reports the
    one-sided figure; the two-sided one is the honest test of "no effect").
    """
    observed = np.asarray(observed, dtype=float)
    draws = np.asarray(counterfactual_draws, dtype=float)
    ok = ~np.isnan(observed)
    effect = observed[ok][None, :] - draws[:, ok]  # (D, T_ok)
    cumulative = effect.sum(axis=1)
    average = cumulative / max(int(ok.sum()), 1)
    baseline = np.abs(draws[:, ok].sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(baseline > 0, cumulative / baseline, np.nan)
    alpha = (1 - level) / 2
    q = [alpha, 1 - alpha]

    def point_and_interval(x: np.ndarray) -> tuple[float, float, float]:
        x = x[~np.isnan(x)]
        if x.size == 0:
            return (math.nan, math.nan, math.nan)
        lo, hi = np.quantile(x, q)
        return float(np.mean(x)), float(lo), float(hi)

    avg, avg_lo, avg_hi = point_and_interval(average)
    cum, cum_lo, cum_hi = point_and_interval(cumulative)
    rel, rel_lo, rel_hi = point_and_interval(relative)
    if cum >= 0:
        one_sided = float(np.mean(cumulative <= 0))
    else:
        one_sided = float(np.mean(cumulative >= 0))
    p = min(1.0, 2 * one_sided)
    return EffectSummary(avg, avg_lo, avg_hi, cum, cum_lo, cum_hi, rel, rel_lo, rel_hi,
                         p, level)


@dataclass(frozen=True)
class EffectPath(Displayable):
    """The effect of an event on one unit's series, in the shape every method shares.

    Arrays cover the whole analysed window (pre and post); ``event_index`` is
    the position of the first post-period date. ``lower`` and ``upper`` bound
    the counterfactual at ``level``. ``draws`` holds counterfactual draws for
    the post period, shape (n_draws, n_post), or None for a point method.
    """

    method: str
    unit: str
    metric: str
    dates: np.ndarray
    observed: np.ndarray
    counterfactual: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    event_index: int
    summary: EffectSummary
    draws: np.ndarray | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def pointwise(self) -> np.ndarray:
        return self.observed - self.counterfactual

    @property
    def cumulative(self) -> np.ndarray:
        """Running sum of the pointwise effect over the post period (0 before)."""
        eff = np.where(np.arange(len(self.dates)) >= self.event_index, self.pointwise, 0.0)
        return np.nancumsum(eff)

    def to_dict(self, include_draws: bool = False) -> dict:
        out = {
            "method": self.method,
            "unit": self.unit,
            "metric": self.metric,
            "event_index": int(self.event_index),
            "event_date": str(np.datetime64(self.dates[self.event_index], "D")),
            "dates": [str(np.datetime64(d, "D")) for d in self.dates],
            "observed": self.observed,
            "counterfactual": self.counterfactual,
            "lower": self.lower,
            "upper": self.upper,
            "summary": self.summary.to_dict(),
            "diagnostics": self.diagnostics,
        }
        if include_draws and self.draws is not None:
            out["draws"] = self.draws
        return out


def effect_from_dict(d: dict, draws: np.ndarray | None = None) -> EffectPath:
    """Rebuild an EffectPath from its dict (as written by ``to_dict``)."""

    def arr(key: str) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in d[key]], dtype=float)

    summary = {k: (math.nan if v is None else v) for k, v in d["summary"].items()}
    if d["summary"].get("p_value") is None:
        summary["p_value"] = None
    raw = d.get("draws") if draws is None else draws
    return EffectPath(
        method=d["method"], unit=d["unit"], metric=d["metric"],
        dates=np.array(d["dates"], dtype="datetime64[D]"), observed=arr("observed"),
        counterfactual=arr("counterfactual"), lower=arr("lower"), upper=arr("upper"),
        event_index=int(d["event_index"]), summary=EffectSummary(**summary),
        draws=None if raw is None else np.asarray(raw, dtype=float),
        diagnostics=dict(d.get("diagnostics", {})),
    )


def expm1_path(e: EffectPath) -> EffectPath:
    """An effect path fitted on log1p, reported on the original scale."""
    def back(x: np.ndarray) -> np.ndarray:
        return np.expm1(np.asarray(x, dtype=float)).clip(min=0)

    obs, cf = back(e.observed), back(e.counterfactual)
    post = np.arange(len(obs)) >= e.event_index
    draws = None if e.draws is None else back(e.draws)
    if draws is not None:
        summary = summarise_draws(obs[post], draws, e.summary.level)
        summary = EffectSummary(**{**summary.to_dict(), "p_value": e.summary.p_value})
    else:
        summary = e.summary
    return replace(e, observed=obs, counterfactual=cf, lower=back(e.lower), upper=back(e.upper),
                   summary=summary, draws=draws,
                   diagnostics={**e.diagnostics, "scale": "fitted on log1p, shown on the "
                                "original scale"})


# ---------------------------------------------------------------------------
# the whole run
@dataclass(frozen=True)
class Results:
    """Everything a run produced; serialised to ``results.json``.

    ``analyses`` are typed records (:mod:`butfor.records`), one model per kind;
    dicts given here (as a method writes them, or as results.json holds them)
    are read into records.
    """

    case: dict
    analyses: list[Analysis]
    verdicts: list[dict]
    damages: dict | None
    ingest: dict
    provenance: dict
    summary_table: list[dict] = field(default_factory=list)
    schema_version: str = SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "analyses", parse_analyses(list(self.analyses)))

    def to_dict(self) -> dict:
        return {
            "schema_version": self.schema_version,
            "case": self.case,
            "analyses": [a.to_dict() for a in self.analyses],
            "verdicts": self.verdicts,
            "damages": self.damages,
            "ingest": self.ingest,
            "provenance": self.provenance,
            "summary_table": self.summary_table,
        }

    def to_json(self) -> str:
        return dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> Results:
        return cls(
            case=d["case"],
            analyses=d["analyses"],
            verdicts=d["verdicts"],
            damages=d.get("damages"),
            ingest=d["ingest"],
            provenance=d["provenance"],
            summary_table=d.get("summary_table", []),
            schema_version=d["schema_version"],
        )


# ---------------------------------------------------------------------------
# JSON
def to_jsonable(obj: Any) -> Any:
    """Plain JSON types: numpy arrays become lists, NaN becomes None, floats 12 digits."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if not math.isfinite(x):
            return None
        return float(f"{x:.12g}")
    if isinstance(obj, np.datetime64):
        return str(np.datetime64(obj, "D"))
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    raise TypeError(f"cannot write {type(obj).__name__} to results JSON")


def dumps(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), sort_keys=True, indent=1, allow_nan=False) + "\n"


def results_schema() -> dict:
    """The results schema as generated from the records (:mod:`butfor.records.schema`)."""
    from butfor.records.schema import results_schema as generate

    return generate()


def load_schema() -> dict:
    text = resources.files("butfor").joinpath("schemas/results.schema.json").read_text()
    return json.loads(text)


def validate(document: dict) -> None:
    """Raise jsonschema.ValidationError if ``document`` breaks the results schema."""
    import jsonschema

    jsonschema.validate(document, load_schema())
