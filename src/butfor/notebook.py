"""Tables and figures of estimator results, for notebooks.

Every estimator's result has ``.summary()`` (a pandas DataFrame) and
``.plot()`` (a matplotlib Figure). The methods stay free of pandas formatting
and of matplotlib: their results inherit :class:`butfor.methods.Displayable`,
whose two methods call :func:`summary` and :func:`plot` here, which dispatch on
the result's type. matplotlib is imported only when a figure is drawn, and
figures are built on :class:`matplotlib.figure.Figure` (no pyplot state), so
they show in Jupyter and can be saved with ``fig.savefig``.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import numpy as np
import pandas as pd

from butfor.results import EffectPath, EffectSummary

__all__ = ["plot", "summary"]


@singledispatch
def summary(result: Any) -> pd.DataFrame:
    """One table of a result's main figures."""
    raise TypeError(f"no summary is defined for {type(result).__name__}")


@singledispatch
def plot(result: Any):
    """One matplotlib Figure of a result."""
    raise TypeError(f"no figure is defined for {type(result).__name__}")


# ---------------------------------------------------------------------------
# shared pieces


def _effect_row(label: dict, s: EffectSummary) -> dict:
    return {**label, "average": s.average, "average_lower": s.average_lower,
            "average_upper": s.average_upper, "cumulative": s.cumulative,
            "cumulative_lower": s.cumulative_lower, "cumulative_upper": s.cumulative_upper,
            "relative": s.relative, "relative_lower": s.relative_lower,
            "relative_upper": s.relative_upper, "p_value": s.p_value, "level": s.level}


def _coefficient_rows(coefficients) -> pd.DataFrame:
    return pd.DataFrame([c.to_dict() for c in coefficients]).set_index("name")


def _figure(height: float = 3.6):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.4, height), layout="constrained")
    return fig, fig.add_subplot(1, 1, 1)


def _draw_path(ax, dates, observed, counterfactual, lower=None, upper=None, *,
               event=None, counterfactual_label: str = "counterfactual") -> None:
    ax.plot(dates, observed, color="#1f1f1f", linewidth=1.0, label="observed")
    ax.plot(dates, counterfactual, color="#1f5fa8", linewidth=1.2, linestyle="--",
            label=counterfactual_label)
    if lower is not None and upper is not None:
        ax.fill_between(dates, lower, upper, color="#a9c4e6", alpha=0.6, linewidth=0,
                        label="interval")
    if event is not None:
        ax.axvline(event, color="#5b6470", linewidth=1.0, linestyle=":")
    ax.legend(loc="best", frameon=False)


def _draw_coefficients(ax, x, estimate, lower, upper, *, reference=None) -> None:
    ax.axhline(0.0, color="#8a9099", linewidth=0.8)
    ax.errorbar(x, estimate, yerr=[estimate - lower, upper - estimate], fmt="o",
                color="#1f5fa8", ecolor="#a9c4e6", markersize=3, capsize=0)
    if reference is not None:
        ax.axvline(reference + 0.5, color="#5b6470", linewidth=1.0, linestyle=":")
    ax.set_xlabel("periods from the event")
    ax.set_ylabel("estimate")


# ---------------------------------------------------------------------------
# the effect path every method shares


@summary.register(EffectPath)
def _(result) -> pd.DataFrame:
    return pd.DataFrame([_effect_row({"method": result.method, "unit": result.unit,
                                      "metric": result.metric}, result.summary)])


@plot.register(EffectPath)
def _(result):
    fig, ax = _figure()
    dates = pd.to_datetime(result.dates)
    _draw_path(ax, dates, result.observed, result.counterfactual, result.lower, result.upper,
               event=dates[result.event_index])
    ax.set_title(f"{result.unit}: {result.metric}, observed and {result.method} counterfactual")
    return fig


def register_all() -> None:
    """Register the estimator result types (imported here, not at module load, so
    that importing this module does not import every method)."""
    from butfor.methods import (
        attribution,
        before_after,
        changepoint,
        peer_effects,
        prepost,
        sdid,
        sts,
        synth,
    )
    from butfor.methods import panel_results as event_study

    @summary.register(sts.StsResult)
    def _(result) -> pd.DataFrame:
        return pd.concat([summary(p) for p in result.paths], ignore_index=True)

    @plot.register(sts.StsResult)
    def _(result):
        return plot(result.paths[0])

    @summary.register(synth.SyntheticControlResult)
    def _(result) -> pd.DataFrame:
        w = result.weights[result.weights > 0].sort_values(ascending=False)
        return pd.DataFrame({"donor": w.index, "weight": w.to_numpy()}).assign(
            unit=result.unit, metric=result.metric, fit_loss=result.fit_loss)

    @plot.register(synth.SyntheticControlResult)
    def _(result):
        fig, ax = _figure()
        _draw_path(ax, result.observed.index, result.observed.to_numpy(),
                   result.synthetic.to_numpy(), event=result.event,
                   counterfactual_label="synthetic control")
        ax.set_title(f"{result.unit}: {result.metric} and its synthetic control")
        return fig

    @summary.register(sdid.SDIDResult)
    def _(result) -> pd.DataFrame:
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + result.level / 2))
        se = result.se if result.se is not None else np.nan
        return pd.DataFrame([{"estimator": result.estimator, "metric": result.metric,
                              "treated": ", ".join(result.treated), "estimate": result.estimate,
                              "se": se, "lower": result.estimate - z * se,
                              "upper": result.estimate + z * se, "level": result.level,
                              "se_method": result.se_method}])

    @plot.register(sdid.SDIDResult)
    def _(result):
        fig, ax = _figure()
        periods = result.periods
        ax.plot(periods, result.curve, color="#1f5fa8", linewidth=1.2,
                label="treated minus weighted controls, less its pre-period level")
        ax.axhline(0.0, color="#8a9099", linewidth=0.8)
        ax.axvline(result.event, color="#5b6470", linewidth=1.0, linestyle=":")
        ax.legend(loc="best", frameon=False)
        ax.set_title(f"{result.estimator.upper()}: {result.metric}, estimate "
                     f"{result.estimate:.4g}")
        return fig

    @summary.register(event_study.PrePostResult)
    def _(result) -> pd.DataFrame:
        return _coefficient_rows((result.effect, *result.covariates))

    @plot.register(event_study.PrePostResult)
    def _(result):
        fig, ax = _figure(3.0)
        rows = (result.effect, *result.covariates)
        est = np.array([c.estimate for c in rows])
        _draw_coefficients(ax, np.arange(len(rows)), est, np.array([c.lower for c in rows]),
                           np.array([c.upper for c in rows]))
        ax.set_xticks(np.arange(len(rows)), [c.name for c in rows])
        ax.set_xlabel("")
        ax.set_title(result.formula)
        return fig

    @summary.register(event_study.EventStudyResult)
    def _(result) -> pd.DataFrame:
        return pd.DataFrame({"event_time": result.event_times, "estimate": result.estimate,
                             "se": result.se, "lower": result.lower, "upper": result.upper,
                             "p_value": result.p_value}).set_index("event_time")

    @plot.register(event_study.EventStudyResult)
    def _(result):
        fig, ax = _figure()
        _draw_coefficients(ax, result.event_times, result.estimate, result.lower,
                           result.upper, reference=result.reference)
        title = f"event study of {result.outcome}"
        if result.pretrend is not None:
            title += f" (pre-trend p = {result.pretrend.p_value:.3g})"
        ax.set_title(title)
        return fig

    @summary.register(event_study.GroupDisproportionResult)
    def _(result) -> pd.DataFrame:
        return summary(result.interaction)

    @plot.register(event_study.GroupDisproportionResult)
    def _(result):
        fig = plot(result.event_study)
        fig.axes[0].set_title(f"{result.group_a} against {result.group_b}, by period")
        return fig

    @summary.register(event_study.SunAbrahamResult)
    def _(result) -> pd.DataFrame:
        return _coefficient_rows((result.att, result.twfe_static))

    @plot.register(event_study.SunAbrahamResult)
    def _(result):
        return plot(result.event_study)

    @summary.register(changepoint.ChangePointResult)
    def _(result) -> pd.DataFrame:
        columns = ["date", "lower", "upper", "change", "evidence"]
        return pd.DataFrame([{k: c.get(k) for k in columns} for c in result.changes],
                            columns=columns)

    @plot.register(changepoint.ChangePointResult)
    def _(result):
        fig, ax = _figure()
        dates = pd.to_datetime(result.dates)
        ax.plot(dates, result.values, color="#8a9099", linewidth=0.8, label="series analysed")
        ax.plot(dates, result.fitted, color="#1f5fa8", linewidth=1.4, label="fitted segments")
        for b in result.breaks:
            ax.axvline(b, color="#b3261e", linewidth=1.0, linestyle="--")
        ax.legend(loc="best", frameon=False)
        ax.set_title(f"change points ({result.model}, {result.criterion})")
        return fig

    @summary.register(attribution.AttributionResult)
    def _(result) -> pd.DataFrame:
        return pd.DataFrame([c.to_dict() for c in result.candidates]).set_index("name")

    @plot.register(attribution.AttributionResult)
    def _(result):
        fig, ax = _figure(3.0)
        ax.plot(pd.to_datetime(result.dates), result.probability, color="#1f5fa8")
        for c in result.candidates:
            ax.axvspan(pd.Timestamp(c.start), pd.Timestamp(c.window_end), color="#e9ebee")
        ax.set_ylabel("posterior probability of the break")
        ax.set_title("which change does the break follow?")
        return fig

    @summary.register(before_after.BeforeAfterResult)
    def _(result) -> pd.DataFrame:
        return _coefficient_rows([result.effect, *result.covariates])

    @plot.register(before_after.BeforeAfterResult)
    def _(result):
        fig, ax = _figure(3.0)
        rows = [result.effect, *result.covariates]
        _draw_coefficients(ax, np.arange(len(rows)), np.array([c.estimate for c in rows]),
                           np.array([c.lower for c in rows]), np.array([c.upper for c in rows]))
        ax.set_xticks(np.arange(len(rows)), [c.name for c in rows])
        ax.set_xlabel("")
        ax.set_title(f"before/after: {result.formula}")
        return fig

    @summary.register(peer_effects.PeerEffectsResult)
    def _(result) -> pd.DataFrame:
        return summary(result.effect).assign(rank=result.rank, n_peers=len(result.peers))

    @plot.register(peer_effects.PeerEffectsResult)
    def _(result):
        return plot(result.effect)

    @summary.register(prepost.PrePostResult)
    def _(result) -> pd.DataFrame:
        return summary(result.effect).assign(pretrend_p=result.pretrend_p)

    @plot.register(prepost.PrePostResult)
    def _(result):
        return plot(result.effect)
