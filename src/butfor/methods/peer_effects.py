"""Every account against its own off-platform controls: the subject among its peers.

A platform-wide change moves every account on the platform, so peers on the
platform show what everyone lost, not what would have happened without the
change. Off-platform series of each account (its Wikipedia pageviews, its
reach elsewhere) were not touched by the change. This method first measures
each account's own effect against its own off-platform controls (on the log
scale: the account's pre-event relation to its controls carried past the
event; the audit's per-account kernel, :func:`butfor.methods.kernels.accounts.account_effects`),
then asks where the subject's effect sits among the peers' effects: the
peers' median effect is what the platform-wide change did to a typical
account, and each peer's distance from it shows how far an account strays
when nothing singled it out.

What fools it: controls that the change did move after all, and peers whose
relation to their own controls would have shifted at the event anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.display import Displayable
from butfor.errors import DataError
from butfor.methods.kernels.accounts import account_effects
from butfor.results import EffectPath, EffectSummary, summarise_draws
from butfor.settings import checked_settings

METHOD = "peer_effects"
#: periods needed before the event to fit each account's relation to its controls
MIN_PRE = 14


def peer_effects(y: np.ndarray, controls: np.ndarray, n_pre: int) -> np.ndarray:
    """Observed minus own-control counterfactual, (accounts, days), log scale; row 0 first."""
    out = account_effects(y, None, controls, n_pre, n_placebo=0)
    return out["gap"]


@dataclass(frozen=True)
class PeerEffectsResult(Displayable):
    """The subject's effect beyond the typical peer's, each against its own controls."""

    effect: EffectPath  # the subject's path, had it fared like a typical account
    peers: tuple[str, ...]  # the peers with a finite effect, in the order given
    peer_effects: np.ndarray  # each one's average log effect beyond the typical account's
    subject_effect: float  # the subject's, on the same scale
    control_metric: str

    @property
    def p_value(self) -> float:
        """Share of accounts (subject included) whose |effect| is at least the subject's."""
        extreme = np.sum(np.abs(self.peer_effects) >= abs(self.subject_effect))
        return float((extreme + 1) / (len(self.peer_effects) + 1))

    @property
    def rank(self) -> int:
        """1 = the most extreme |effect| among subject and peers."""
        return int(np.sum(np.abs(self.peer_effects) > abs(self.subject_effect)) + 1)

    def to_dict(self) -> dict:
        return {"effect": self.effect.to_dict(), "peers": list(self.peers),
                "peer_effects": self.peer_effects, "subject_effect": self.subject_effect,
                "control_metric": self.control_metric, "p_value": self.p_value,
                "rank": self.rank}


class PeerEffects:
    """Each account's log outcome against its own off-platform controls, ranked among peers."""

    @checked_settings
    def __init__(self, level: float = 0.95) -> None:
        self.level = level

    def fit(self, outcome: pd.DataFrame, controls: pd.DataFrame, subject: str,
            peers: list[str], event_date: pd.Timestamp, metric: str = "outcome",
            control_metric: str = "controls", frequency: str = "D") -> PeerEffectsResult:
        """``outcome`` and ``controls`` are dates × units tables (``Panel.wide``) of the window."""
        units = [subject, *peers]
        y_win = np.log1p(outcome[units].clip(lower=0))
        dates = y_win.index
        n_pre = int(np.sum(dates < event_date))
        if n_pre < MIN_PRE or n_pre == len(dates):
            raise DataError(f"peer_effects needs at least {MIN_PRE} {freq.PERIOD[frequency]}s "
                            f"(the panel's periods) before the event of {event_date:%Y-%m-%d} "
                            "and one after it")
        y = y_win.to_numpy(dtype=float).T  # (accounts, days)
        x = np.log1p(controls[units].clip(lower=0)).reindex(dates).to_numpy(dtype=float)
        return self._fit(y, x.T[:, None, :], n_pre, dates, subject, peers, metric,
                         control_metric)

    def _fit(self, y: np.ndarray, x: np.ndarray, n_pre: int, dates: pd.DatetimeIndex,
             subject: str, peers: list[str], metric: str, control_metric: str
             ) -> PeerEffectsResult:
        gap = peer_effects(y, x, n_pre)
        post = np.arange(len(dates)) >= n_pre
        platform = np.nanmedian(gap[1:], axis=0)  # a typical account's own-control gap
        platform[~post] = 0.0
        excess = gap - platform[None, :]  # beyond what the typical account saw
        effects = np.nanmean(excess[:, post], axis=1)
        subject_effect, peer_values = float(effects[0]), effects[1:]
        ok = np.isfinite(peer_values)
        peer_values, peer_names = peer_values[ok], [p for p, k in zip(peers, ok, strict=True) if k]
        extreme = np.sum(np.abs(peer_values) >= abs(subject_effect))
        p_value = float((extreme + 1) / (len(peer_values) + 1))

        observed_log = y[0]
        cf_log = observed_log - excess[0]  # the subject had it fared like a typical account
        draws_log = cf_log[post][None, :] - excess[1:][ok][:, post]
        observed = np.expm1(observed_log)
        counterfactual = np.expm1(cf_log).clip(min=0)
        alpha = (1 - self.level) / 2
        band = np.nanquantile(excess[1:][ok], [alpha, 1 - alpha], axis=0)
        lower = np.expm1(cf_log - band[1]).clip(min=0)
        upper = np.expm1(cf_log - band[0]).clip(min=0)
        summary = summarise_draws(observed[post], np.expm1(draws_log).clip(min=0), self.level)
        # the rank among the peers replaces the draw-based tail probability: it is the test
        # this comparison can honestly make
        summary = EffectSummary(**{**summary.to_dict(), "p_value": p_value})
        effect = EffectPath(
            method=METHOD, unit=subject, metric=metric,
            dates=pd.DatetimeIndex(dates).to_numpy().astype("datetime64[D]"),
            observed=observed, counterfactual=counterfactual, lower=lower, upper=upper,
            event_index=n_pre, summary=summary, draws=np.expm1(draws_log).clip(min=0),
            diagnostics={"control_metric": control_metric, "n_peers": len(peer_values),
                         "typical_peer_effect_log": float(np.nanmean(platform[post]))},
        )
        return PeerEffectsResult(effect, tuple(peer_names), peer_values, subject_effect,
                                 control_metric)
