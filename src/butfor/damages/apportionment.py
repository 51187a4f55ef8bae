"""Apportionment: which event, and which part (platform-wide or targeted), caused the loss.

One model with every intervention at once: the subject's log reach
(log1p) regressed on its off-platform control series, a linear trend,
weekday effects and one ramped step per event (0 before the event, rising
linearly to 1 over ``ramp_days``), over the whole data. Its step sizes
b_1..b_K (log-scale shifts) give, in chronological order of the "but for":

- the world with only events 1..j: w_j(t) = (1 + y(t)) exp(−Σ_{i>j} b_i r_i(t)) − 1;
- event k's loss: w_{k−1}(t) − w_k(t); they add up to the total loss w_0 − y.

The same regression on the peers' mean log reach (on their mean controls)
gives the shifts the peers shared, p_k; the subject's own b^T_k = b_k − p_k
give the targeted loss (1 + y) (exp(−Σ b^T_k r_k) − 1); the platform-wide
part is the rest. Both regressions are bootstrapped together (moving blocks
of residual days, the same blocks for both), so every draw pairs a total
with its targeted part; where steps fitted at dates before the first event
(where nothing happened) spread wider than the bootstrap, the draws are
widened to match (the controls miss some slow wander).
Shares of the loss over the priced dates, draw by draw, split the damages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from butfor.errors import DataError


@dataclass(frozen=True)
class StepFit:
    """Bootstrap draws of the per-event shifts and the losses they imply."""

    events: tuple[str, ...]
    dates: np.ndarray  # datetime64[D], the whole data
    shifts: np.ndarray  # (n_draws, n_events), log-scale, total
    targeted_shifts: np.ndarray | None  # (n_draws, n_events) beyond the peers, or None
    point: np.ndarray  # (n_events,) least-squares shifts
    event_loss: np.ndarray  # (n_draws, n_events): each event's loss over the priced dates
    targeted_loss: np.ndarray | None  # (n_draws,): the part the peers did not share
    total_loss: np.ndarray  # (n_draws,)
    ramp_days: int
    block_days: int

    def shares(self) -> np.ndarray:
        """(n_draws, n_events): each event's share of the total loss, draw by draw."""
        total = self.total_loss[:, None]
        return np.divide(self.event_loss, total, out=np.full_like(self.event_loss, np.nan),
                         where=total != 0)

    def targeted_share(self) -> np.ndarray | None:
        if self.targeted_loss is None:
            return None
        return np.divide(self.targeted_loss, self.total_loss,
                         out=np.full_like(self.total_loss, np.nan), where=self.total_loss != 0)


def ramps(dates: np.ndarray, event_dates: list[dt.date], ramp_days: int) -> np.ndarray:
    """(n_dates, n_events): 0 before each event, rising linearly to 1 over ``ramp_days``."""
    d = np.asarray(dates).astype("datetime64[D]")
    cols = []
    for e in event_dates:
        elapsed = (d - np.datetime64(e, "D")).astype(int).astype(float)
        cols.append((elapsed >= 0).astype(float) if ramp_days <= 0
                    else np.clip((elapsed + 1) / ramp_days, 0, 1))
    return np.column_stack(cols)


def _design(dates: np.ndarray, controls: np.ndarray, steps: np.ndarray) -> np.ndarray:
    d = np.asarray(dates).astype("datetime64[D]")
    days = (d - d[0]).astype(int).astype(float)
    weekday = ((d.astype("datetime64[D]").view("int64") - 4) % 7).astype(int)  # 0 = Monday
    dummies = np.column_stack([(weekday == k).astype(float) for k in range(1, 7)])
    parts = [np.ones((d.size, 1)), (days / 365.0)[:, None], dummies]
    if controls.size:
        parts.append(controls)
    parts.append(steps)
    return np.column_stack(parts)


class StepRegression:
    """Every event's shift of log reach at once, with block-bootstrap draws."""

    def __init__(self, *, ramp_days: int = 7, n_draws: int = 400, block_days: int = 14,
                 seed: int = 0) -> None:
        self.ramp_days = ramp_days
        self.n_draws = n_draws
        self.block_days = block_days
        self.seed = seed

    def fit(self, dates: np.ndarray, outcome: np.ndarray, controls: np.ndarray,
            events: list[tuple[str, dt.date]], *, peer_outcome: np.ndarray | None = None,
            peer_controls: np.ndarray | None = None,
            priced: np.ndarray | None = None) -> StepFit:
        """``outcome`` (n_dates,) in its own units; ``controls`` (n_dates, k), same scale.

        ``peer_outcome`` and ``peer_controls`` are the peers' mean of log1p (already on
        the log scale), for the targeted part; ``priced`` marks the dates whose loss is apportioned
        (default: every date from the first event on).
        """
        y_raw = np.asarray(outcome, dtype=float)
        y = np.log1p(y_raw)
        X_c = np.log1p(np.atleast_2d(np.asarray(controls, dtype=float)).reshape(y.size, -1))
        names = tuple(n for n, _ in events)
        steps = ramps(dates, [d for _, d in events], self.ramp_days)
        ok = np.isfinite(y) & np.isfinite(X_c).all(axis=1)
        if peer_outcome is not None:
            ok &= np.isfinite(peer_outcome) & np.isfinite(peer_controls).all(axis=1)
        X = _design(dates, X_c, steps)
        k = steps.shape[1]
        if ok.sum() < X.shape[1] + 10:
            raise DataError("too few dates with the outcome and its controls to apportion the "
                            f"loss between {k} events")
        rng = np.random.default_rng(self.seed)
        blocks = self._blocks(rng, int(ok.sum()))
        shifts, point = self._boot(X[ok], y[ok], blocks, k)
        scale = self._placebo_scale(dates, X_c, y, ok, min(d for _, d in events), shifts)
        shifts = point + (shifts - point) * scale
        targeted = None
        if peer_outcome is not None:
            # the peers' own shifts, from their mean on their own controls: the part of the
            # subject's shift they shared is platform-wide, the rest targeted
            Xp = _design(dates, np.asarray(peer_controls).reshape(y.size, -1), steps)
            shared, _ = self._boot(Xp[ok], np.asarray(peer_outcome)[ok], blocks, k)
            targeted = shifts - shared
        first = np.datetime64(min(d for _, d in events), "D")
        mask = (np.asarray(dates).astype("datetime64[D]") >= first) if priced is None else priced
        mask = mask & np.isfinite(y_raw)
        base = 1.0 + y_raw[mask]
        r = steps[mask]  # (n_priced, k)
        # worlds with only events 1..j: w_j = base × exp(−Σ_{i>j} b_i r_i) − 1
        later = np.cumsum((shifts[:, None, :] * r[None, :, :])[:, :, ::-1], axis=2)[:, :, ::-1]
        tail = np.concatenate([later, np.zeros((shifts.shape[0], r.shape[0], 1))], axis=2)
        worlds = base[None, :, None] * np.exp(-tail)  # (n_draws, n_priced, k + 1)
        event_loss = (worlds[:, :, :-1] - worlds[:, :, 1:]).sum(axis=1)
        total = (worlds[:, :, 0] - base[None, :]).sum(axis=1)
        targeted_loss = None
        if targeted is not None:
            s_t = targeted @ r.T  # (n_draws, n_priced)
            targeted_loss = (base[None, :] * (np.exp(-s_t) - 1.0)).sum(axis=1)
        return StepFit(events=names, dates=np.asarray(dates).astype("datetime64[D]"),
                       shifts=shifts, targeted_shifts=targeted, point=point,
                       event_loss=event_loss, targeted_loss=targeted_loss, total_loss=total,
                       ramp_days=self.ramp_days, block_days=self.block_days)

    def _placebo_scale(self, dates: np.ndarray, X_c: np.ndarray, y: np.ndarray, ok: np.ndarray,
                       first: dt.date, shifts: np.ndarray) -> np.ndarray:
        """Widen each event's draws to the spread of steps fitted where nothing happened.

        Before the first event, a step is fitted at every ``block_days``-th date
        with at least 60 days on each side; the spread (root mean square) of
        those steps is what chance alone gives a step. Where the bootstrap's
        spread is narrower (slow wander the controls miss), the draws are
        widened about the point estimate to match; never narrowed.
        """
        d = np.asarray(dates).astype("datetime64[D]")
        pre = ok & (d < np.datetime64(first, "D"))
        idx = np.flatnonzero(pre)
        if idx.size < 150:
            return np.ones(shifts.shape[1])
        placebo = []
        for i in range(idx[0] + 60, idx[-1] - 60, self.block_days):
            step = ramps(d[pre], [d[i].astype(dt.date)], self.ramp_days)
            X = _design(d[pre], X_c[pre], step)
            beta, *_ = np.linalg.lstsq(X, y[pre], rcond=None)
            placebo.append(beta[-1])
        if len(placebo) < 3:
            return np.ones(shifts.shape[1])
        chance = float(np.sqrt(np.mean(np.square(placebo))))
        spread = shifts.std(axis=0, ddof=1)
        return np.maximum(1.0, np.divide(chance, spread, out=np.ones_like(spread),
                                         where=spread > 0))

    def _blocks(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n_draws, n) residual indices: moving blocks of ``block_days`` consecutive days."""
        b = max(1, min(self.block_days, n))
        starts = rng.integers(0, n - b + 1, size=(self.n_draws, -(-n // b)))
        idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(self.n_draws, -1)
        return idx[:, :n]

    def _boot(self, X: np.ndarray, y: np.ndarray, blocks: np.ndarray,
              k: int) -> tuple[np.ndarray, np.ndarray]:
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        fitted = X @ beta
        resid = y - fitted
        pinv = np.linalg.pinv(X)  # (p, n): each bootstrap refit is one product
        y_star = fitted[None, :] + resid[blocks]  # (n_draws, n)
        betas = y_star @ pinv.T  # (n_draws, p)
        return betas[:, -k:], beta[-k:]
