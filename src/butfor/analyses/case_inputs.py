"""What every analysis reads from a case and a panel.

The peer pool, the dated events' windows and the outcome table on the peer
methods' scale: the case-reading half of each method, kept out of
:mod:`butfor.methods` so that estimators never see the case.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.errors import DataError


def peer_units(case, panel) -> list[str]:
    """The peer pool: explicit units, or members of the named groups, or everyone else."""
    subject = case.subject.unit
    controls = set(case.controls.units)
    if case.peers.units:
        pool = list(case.peers.units)
    elif case.peers.groups:
        wanted = set(case.peers.groups)
        pool = list(panel.units.loc[panel.units["group"].isin(wanted), "unit"])
    else:
        pool = list(panel.unit_ids)
    excluded = {subject, *controls, *case.peers.exclude}
    pool = [u for u in pool if u not in excluded]
    present = set(panel.unit_ids)  # once: unit_ids builds a list from the units table
    missing = [u for u in pool if u not in present]
    if missing:
        raise DataError(f"peer {missing[0]!r} is not in the panel; remove it from [peers] units")
    if not pool:
        raise DataError("the peer pool is empty; list peers in [peers] units or groups")
    return pool


def event_dates(case) -> list[tuple[str, pd.Timestamp]]:
    """(name, date) of every event with a single date, in the order of the case file."""
    return [(e.name, pd.Timestamp(e.date)) for e in case.events if e.date is not None]


def event_windows(case, panel, method: str | None = None
                  ) -> list[tuple[str, pd.Timestamp, pd.Timestamp, pd.Timestamp]]:
    """(name, window start, event date, window end) for each dated event.

    An event's pre-period starts where the previous event's effect could begin
    (the previous event's date), so one event's effect is never mistaken for
    another's baseline; its post-period ends the day before the next event.
    ``[window]`` in the case narrows both ends. With ``method``, only the events
    that ``method_events`` lists for it are returned (all of them by default).
    """
    dates = panel.dates
    start, end = dates.min(), dates.max()
    if case.window.start is not None:
        start = max(start, pd.Timestamp(case.window.start))
    if case.window.end is not None:
        end = min(end, pd.Timestamp(case.window.end))
    events = sorted(event_dates(case), key=lambda e: e[1])
    out = []
    for i, (name, date) in enumerate(events):
        lo = events[i - 1][1] if i > 0 else start
        hi = events[i + 1][1] - pd.Timedelta(days=1) if i + 1 < len(events) else end
        if case.window.pre_days is not None:
            lo = max(lo, date - pd.Timedelta(days=case.window.pre_days))
        if case.window.post_days is not None:
            hi = min(hi, date + pd.Timedelta(days=case.window.post_days - 1))
        # in the panel's own periods: pre_periods before the event, post_periods from it on
        if case.window.pre_periods is not None:
            lo = max(lo, freq.shift(date, -case.window.pre_periods, panel.frequency))
        if case.window.post_periods is not None:
            hi = min(hi, freq.shift(date, case.window.post_periods, panel.frequency)
                     - pd.Timedelta(days=1))
        out.append((name, lo, date, hi))
    chosen = case.method_events.get(method) if method is not None else None
    if chosen:
        out = [w for w in out if w[0] in chosen]
    return out


def outcome_table(case, panel) -> tuple[pd.DataFrame, str, bool]:
    """The outcome as a dates × units table on the scale the peer methods fit.

    ``per_post`` divides by the posts metric (days without posts are missing);
    ``log1p`` takes log(1 + x). Returns the table, a label for the outcome and
    whether it is on the log scale (the methods report back on the original one).
    """
    metric = case.outcome.metric
    table = panel.wide(metric)
    label = metric
    if case.outcome.transform == "per_post":
        posts = panel.wide(case.outcome.posts_metric)
        table = table / posts.where(posts > 0)
        label = f"{metric} per {case.outcome.posts_metric}"
    log = case.outcome.transform == "log1p"
    if log:
        table = np.log1p(table.clip(lower=0))
    return table, label, log
