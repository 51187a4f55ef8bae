"""Pre/post comparison against peers: the simplest honest answer.

The subject's change in the (log) outcome from before to after the event,
minus the peers' typical change over the same days: a difference in
differences with the peers' mean path as the counterfactual trend. Its
uncertainty comes from the peers themselves: each peer, compared with the
mean of all the others in the same way, shows how far from zero such a
comparison lands when nothing singled that peer out (placebo in space).

What fools it: peers whose trend would have differed from the subject's
anyway, and an event that touched the peers too (then it measures only what
happened to the subject beyond what happened to everyone).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from butfor.display import Displayable
from butfor.errors import DataError, ParameterError
from butfor.methods import _flags
from butfor.methods._flags import Flag
from butfor.results import EffectPath, EffectSummary, summarise_draws
from butfor.settings import checked_settings


@dataclass(frozen=True)
class PrePostResult(Displayable):
    effect: EffectPath
    placebo_effects: np.ndarray  # each peer's average log-scale effect, as if treated
    subject_log_effect: float  # the subject's average log-scale effect
    peers: tuple[str, ...]
    pretrend_slope: float  # slope of the subject's pre-period gap to the peers, per day
    pretrend_p: float  # its placebo p-value among the peers' own pre-period slopes
    flags: tuple[Flag, ...] = ()  # reasons the result cannot mean what it says (_flags)

    @property
    def p_value(self) -> float:
        """Share of units (subject included) whose |effect| is at least the subject's."""
        extreme = np.sum(np.abs(self.placebo_effects) >= abs(self.subject_log_effect))
        return float((extreme + 1) / (len(self.placebo_effects) + 1))

    @property
    def rank(self) -> int:
        """1 = the most extreme |effect| among subject and peers."""
        return int(np.sum(np.abs(self.placebo_effects) > abs(self.subject_log_effect)) + 1)

    def to_dict(self) -> dict:
        return {"effect": self.effect.to_dict(), "peers": list(self.peers),
                "placebo_effects": self.placebo_effects,
                "subject_log_effect": self.subject_log_effect, "p_value": self.p_value,
                "rank": self.rank, "pretrend_slope": self.pretrend_slope,
                "pretrend_p": self.pretrend_p, "flags": _flags.to_dicts(list(self.flags))}


class PrePostComparison:
    """Difference in means of log1p(outcome), subject against the peers' mean path."""

    @checked_settings
    def __init__(self, level: float = 0.95) -> None:
        self.level = level

    def fit(self, outcome: pd.DataFrame, subject: str, peers: list[str],
            event_date: pd.Timestamp, metric: str = "outcome",
            frequency: str = "D") -> PrePostResult:
        """``outcome`` is a dates × units table (``Panel.wide``)."""
        if len(peers) < 2:
            raise ParameterError(
                "PrePostComparison", "peers",
                "a pre/post comparison needs at least two peer accounts besides the subject, "
                f"and {{peers}} holds {len(peers)}", "name more peers in {peers}")
        dates = outcome.index
        post = np.asarray(dates >= event_date)
        if post.all() or not post.any():
            raise DataError(f"the event {event_date:%Y-%m-%d} leaves no pre or no post period; date "
                            "the event inside the data.")
        # a period with nothing observed gives NaN means here, which numpy warns of; the
        # result's coverage flags name such periods instead
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return self._fit(outcome, subject, peers, event_date, metric, frequency, post)

    def _fit(self, outcome: pd.DataFrame, subject: str, peers: list[str],
             event_date: pd.Timestamp, metric: str, frequency: str,
             post: np.ndarray) -> PrePostResult:
        dates = outcome.index
        y = np.log1p(outcome[[subject, *peers]].to_numpy(dtype=float))  # (T, 1+P)
        subject_path, peer_paths = y[:, 0], y[:, 1:]

        # counterfactual on the log scale: subject's pre level + peers' mean change
        peer_mean = np.nanmean(peer_paths, axis=1)
        cf_log = _did_path(subject_path, peer_mean, post)
        # the periods the comparison can use: the subject and some peer observed
        usable = ~np.isnan(subject_path) & ~np.isnan(peer_mean)
        # placebo: each peer against the mean of the others, same construction
        # (a period where no other peer is observed has no mean: NaN, not 0, which on a
        # mostly missing grid pulled every placebo's baseline to zero and gave -99.5%)
        seen = ~np.isnan(peer_paths)
        total = np.nansum(peer_paths, axis=1, keepdims=True)
        others = np.sum(seen, axis=1, keepdims=True) - seen
        others_mean = np.where(others > 0, (total - np.nan_to_num(peer_paths)) / others,
                               np.nan)
        placebo_cf = np.column_stack([
            _did_path(peer_paths[:, j], others_mean[:, j], post) for j in range(len(peers))
        ])
        placebo_dev = peer_paths - placebo_cf  # (T, P): what "no effect" looks like
        placebo_effects = np.nanmean(placebo_dev[post], axis=0)

        # counterfactual draws: the subject's counterfactual shifted by each peer's deviation
        draws_log = cf_log[post][None, :] - placebo_dev[post].T  # (P, n_post)
        draws = np.expm1(draws_log).clip(min=0)
        observed = outcome[subject].to_numpy(dtype=float)
        counterfactual = np.expm1(cf_log).clip(min=0)
        alpha = (1 - self.level) / 2
        band = np.nanquantile(placebo_dev, [alpha, 1 - alpha], axis=1)  # (2, T)
        lower = np.expm1(cf_log - band[1]).clip(min=0)
        upper = np.expm1(cf_log - band[0]).clip(min=0)
        summary = summarise_draws(observed[post], draws, self.level)
        subject_effect = float(np.nanmean(subject_path[post] - cf_log[post]))
        # pre-trend: did the subject drift away from the peers before the event?
        slopes = _slopes(np.column_stack([subject_path - cf_log, placebo_dev])[~post])
        pretrend_p = float((np.sum(np.abs(slopes[1:]) >= abs(slopes[0])) + 1) / len(slopes))
        result = PrePostResult(
            effect=EffectPath(
                method="prepost", unit=subject, metric=metric,
                dates=dates.to_numpy().astype("datetime64[D]"), observed=observed,
                counterfactual=counterfactual, lower=lower, upper=upper,
                event_index=int(np.argmax(post)), summary=summary, draws=draws,
                diagnostics={"n_peers": len(peers),
                             "pre_rmse_log": float(np.sqrt(np.nanmean(
                                 (subject_path[~post] - cf_log[~post]) ** 2)))},
            ),
            placebo_effects=placebo_effects,
            subject_log_effect=subject_effect,
            peers=tuple(peers),
            pretrend_slope=float(slopes[0]),
            pretrend_p=pretrend_p,
        )
        # the placebo p-value replaces the draw-based tail probability: it is the test
        # this comparison can honestly make
        s = result.effect.summary
        fixed = EffectSummary(**{**s.to_dict(), "p_value": result.p_value})
        flags = [*_flags.coverage(usable, post, dates=dates, frequency=frequency,
                                  what="the subject and its peers observed"),
                 _flags.edge_estimate(fixed.relative, fixed.p_value)]
        return replace(result, effect=replace(result.effect, summary=fixed),
                       flags=tuple(f for f in flags if f is not None))


def _slopes(gaps: np.ndarray) -> np.ndarray:
    """Least-squares slope over time of each column (NaN rows left out per column)."""
    t = np.arange(len(gaps), dtype=float)[:, None]
    ok = ~np.isnan(gaps)
    n = ok.sum(axis=0)
    t_mean = (t * ok).sum(axis=0) / n
    g_mean = np.nansum(gaps, axis=0) / n
    dt = np.where(ok, t - t_mean, 0.0)
    return (dt * np.nan_to_num(gaps - g_mean)).sum(axis=0) / (dt**2).sum(axis=0)


def _did_path(unit: np.ndarray, reference: np.ndarray, post: np.ndarray) -> np.ndarray:
    """unit's pre mean plus the reference's change from its own pre mean."""
    return np.nanmean(unit[~post]) + (reference - np.nanmean(reference[~post]))
