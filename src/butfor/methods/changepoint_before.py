"""Did a decline begin before the event? A check that leaves the event its own change, and its power.

The change-point dating (:mod:`butfor.methods.changepoint`) dates *the* change of a
series; when the event brought a large drop, that is the drop, and a smaller decline
already under way before it is never the one dated. The claim "no decline began before
the event" needs a different question answered: with whatever the event did left to the
event, is there a decline whose onset lies before the claim's limit (the event less its
tolerance)?

**The check.** One regression on the whole series (weekly or yearly cycle removed as the
dating does): a base of intercept, linear trend, and a free step and slope change at the
event (whatever the event did, in either shape) and a free value for each period between the
limit and the event (the tolerance: a change there is allowed), then one more term at an onset ``tau``
before the limit: a step (``1[t >= tau]``) or a kink (``(t - tau)+``, "a decline began").
The best ``tau`` and shape in the claimed direction is kept when it lowers the BIC
(``n log(RSS0/RSS1) > 2 log n``: its coefficient and its date). Every candidate is one
column residualised on the base (Frisch-Waugh), so all ``tau`` cost one matrix product.

**Its power, measured on this data** (``docs/verdict-policy.md``, "power decides"): at
pre-period pseudo-events ``P``, the series up to ``P`` plus ``h`` periods (all before the
real event, so the event's own change is not in it) gets a known decline injected, a ramp
beginning at a pseudo-onset between 28 and 91 days before ``P``'s limit, deepening to the
size tried at ``P`` and going on at that pace; the check is run with ``P`` as the event.
The share of pseudo-events where it finds a decline is the power against that size; the
minimum detectable decline is read off the curve (:class:`butfor.inference.power.PowerCurve`).

What fools it: slow wander of attention that the controls do not remove looks like a
kink (the BIC threshold is strict for that reason: on the verdict study's no-effect worlds
it flags 2 of 40), and a decline that began with the series itself is a trend, not an onset.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from butfor.inference.power import PowerCurve, effect_grid

ONSET_WINDOW_DAYS = (28, 91)  # pseudo-onsets: 4 to 13 weeks before the limit
PSEUDO_EVENTS = 10
PSEUDO_POST_DAYS = 28  # each pseudo-event's series runs this long past it
EFFECTS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)  # declines (rises) tried, relative


def onset_check(y: np.ndarray, t: np.ndarray, event: int, limit: int, *, direction: str,
                min_size: int = 7) -> dict | None:
    """The best onset before position ``limit`` in ``direction`` (None: no room to look).

    ``event`` is the first position on or after the event; ``limit`` the last position
    before the claim's limit. ``t`` is time in the series' periods.
    """
    n = len(y)
    taus = np.arange(min_size, min(limit, event) + 1)
    if taus.size < 2 or event < 2 * min_size or n - event < 2:
        return None
    idx = np.arange(n)
    # the base: a trend, the event's own step and bend, and a free value for every period
    # between the limit and the event, so a change within the tolerance is left to it and
    # no onset before the limit is needed to explain it
    tolerated = [(idx == i).astype(float) for i in range(limit + 1, event)]
    base = np.column_stack([np.ones(n), t - t.mean(), (idx >= event).astype(float),
                            np.maximum(t - t[event], 0.0), *tolerated])
    # a step at tau lowers tau on; a kink at tau first lowers tau + 1, so a kink's tau stops
    # one short: a decline whose first lowered period is after the limit is tolerated
    kinks = taus[:-1]
    cand = np.concatenate([(idx[:, None] >= taus[None, :]).astype(float),
                           np.maximum(t[:, None] - t[kinks][None, :], 0.0)], axis=1)
    q, _ = np.linalg.qr(base)
    ry = y - q @ (q.T @ y)
    rc = cand - q @ (q.T @ cand)
    rss0 = float(ry @ ry)
    num, den = rc.T @ ry, np.einsum("ij,ij->j", rc, rc)
    usable = den > 1e-9 * max(float(den.max()), 1e-300)
    coef = np.where(usable, num / np.where(usable, den, 1.0), 0.0)
    rss1 = rss0 - np.where(usable, num * coef, 0.0)
    way = {"fell": coef < 0, "rose": coef > 0}.get(direction, coef != 0)
    ok = usable & way & (rss1 > 0)
    if not ok.any() or rss0 <= 0:
        return {"found": False, "delta_bic": None, "onset": None, "shape": None, "change": None}
    gain = np.where(ok, n * np.log(rss0 / np.where(ok, rss1, rss0)), -np.inf)
    j = int(np.argmax(gain))
    delta = float(gain[j] - 2 * math.log(n))
    step = j < taus.size
    return {"found": delta > 0, "delta_bic": delta,
            "onset": int(taus[j] if step else kinks[j - taus.size] + 1),
            "shape": "step" if step else "kink", "change": float(coef[j])}


def _inject(y: np.ndarray, t: np.ndarray, onset: int, event: int, size: float, direction: str,
            log_scale: bool, level: float) -> np.ndarray:
    """A ramp from ``onset``, reaching ``size`` (relative) at ``event``, going on after it."""
    ramp = np.clip(t - t[onset], 0.0, None) / max(t[event] - t[onset], 1e-12)
    sign = 1.0 if direction == "rose" else -1.0
    if log_scale:
        return y + ramp * math.log1p(sign * min(size, 0.99))
    return y + ramp * sign * size * level


def onset_power(y: np.ndarray, dates: pd.DatetimeIndex, event_date: pd.Timestamp,
                tolerance: int, frequency: str, *, direction: str, log_scale: bool,
                min_size: int = 7, alpha: float = 0.05) -> tuple[PowerCurve, int] | None:
    """Power of :func:`onset_check` against injected declines, at pre-period pseudo-events,
    and how many of those pseudo-events it flags with nothing injected (its known error rate)."""
    from butfor import frequency as freq

    t = (freq.ordinal(dates, frequency) - freq.ordinal(dates[:1], frequency)[0]).astype(float)
    pre = int(np.searchsorted(dates, event_date))
    h = max(2, freq.periods_in_days(PSEUDO_POST_DAYS, frequency))  # two: the event terms need them
    first_gap, last_gap = (freq.periods_in_days(d, frequency) for d in ONSET_WINDOW_DAYS)
    earliest = 2 * min_size + tolerance + last_gap
    if pre - h < earliest:
        return None
    points = np.unique(np.linspace(earliest, pre - h, PSEUDO_EVENTS).astype(int))
    gaps = np.unique(np.linspace(max(first_gap, 1), last_gap, PSEUDO_EVENTS).astype(int))
    sizes = EFFECTS
    hits = np.zeros(len(sizes))
    runs = false_alarms = 0
    for k, p in enumerate(points):
        stop = min(len(y), p + h)
        seg, ts = y[:stop], t[:stop]
        limit = p - tolerance - 1
        onset = max(min_size, limit - int(gaps[k % gaps.size]))
        level = float(np.nanmean(seg[:p]))
        runs += 1
        null = onset_check(seg, ts, p, limit, direction=direction, min_size=min_size)
        false_alarms += bool(null and null["found"])
        for i, s in enumerate(sizes):
            found = onset_check(_inject(seg, ts, onset, p, s, direction, log_scale, level), ts,
                                p, limit, direction=direction, min_size=min_size)
            hits[i] += bool(found and found["found"])
    power = hits / runs
    sign = 1.0 if direction == "rose" else -1.0
    grid = effect_grid(sizes)
    curve = np.array([power[list(sizes).index(abs(e))] if np.sign(e) == sign else np.nan
                      for e in grid])
    keep = ~np.isnan(curve)
    return PowerCurve(grid[keep], curve[keep], alpha, runs,
                      f"at {runs} pre-period pseudo-events, a {'rise' if sign > 0 else 'decline'}"
                      f" injected from 4 to 13 weeks before each pseudo-event's limit and "
                      f"going on after it"), false_alarms


def before_event(series: pd.Series, values: np.ndarray, event_date, tolerance_days: int,
                 frequency: str, *, direction: str = "fell", log_scale: bool = True,
                 min_size: int = 7) -> dict:
    """The check and its power for one tolerance, as results.json holds them.

    ``series`` gives the dates (NaN days left out, as the dating does); ``values`` the
    analysed series on them (cycles removed).
    """
    from butfor import frequency as freq

    dates = pd.DatetimeIndex(series.dropna().sort_index().index)
    event = pd.Timestamp(event_date)
    limit_date, tol = freq.before(event.date(), tolerance_days, frequency)
    t = (freq.ordinal(dates, frequency) - freq.ordinal(dates[:1], frequency)[0]).astype(float)
    event_pos = int(np.searchsorted(dates, event))
    limit_pos = int(np.searchsorted(dates, pd.Timestamp(limit_date))) - 1
    out: dict = {"tolerance_days": tolerance_days, "tolerance_periods": tol,
                 "limit": str(limit_date), "direction": direction}
    found = (onset_check(values, t, event_pos, limit_pos, direction=direction,
                         min_size=min_size) if event_pos < len(values) else None)
    if found is None:
        out.update(check=None, power=None,
                   why=f"too few {freq.PERIOD[frequency]}s before {limit_date} to look for an "
                       "onset")
        return out
    onset = found.pop("onset")
    found["onset"] = None if onset is None else str(dates[onset].date())
    out["check"] = found
    measured = onset_power(values, dates, event, tol, frequency, direction=direction,
                           log_scale=log_scale, min_size=min_size)
    if measured is None:
        out.update(power=None, false_positive=None,
                   why="too little data before the event for pseudo-events")
        return out
    curve, flagged = measured
    out["power"] = curve.to_dict()
    # as the known error rate elsewhere: the share of pseudo-events flagged with nothing there
    out["false_positive"] = {"rate": flagged / curve.runs, "n_flagged": flagged,
                             "runs": curve.runs, "alpha": 0.05}
    return out
