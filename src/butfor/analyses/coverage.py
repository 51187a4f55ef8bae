"""Whether a weighting method's pre-period is observed well enough to fit at all.

Synthetic control and SDID fit on the periods every unit is observed. On a
panel filled to a finer grid than its data (annual figures on a daily grid)
those are a handful of the pre-period, and the weights then match a few
points exactly, which looks like a perfect fit and means nothing (issue #12:
Colorado 0.92, loss 1e-23). Such a fit is refused with the reason and the fix.
"""

from __future__ import annotations

import pandas as pd

from butfor import frequency as freq
from butfor.errors import DataError

# the share of pre-event periods that must be observed for every unit fitted
MIN_OBSERVED_SHARE = 0.5


def check_pre_period(window: pd.DataFrame, units: list[str], event: pd.Timestamp, *,
                     frequency: str, method: str, event_name: str, label: str) -> None:
    """Raise DataError when fewer than half the pre-event periods are observed for all units."""
    pre = window.loc[window.index < event, units]
    if pre.empty:
        return  # the estimator's own check names the missing pre-period
    complete = pre.notna().all(axis=1).to_numpy()
    share = float(complete.mean())
    if share >= MIN_OBSERVED_SHARE:
        return
    n, total = int(complete.sum()), len(complete)
    subject_seen = pre[units[0]].notna().to_numpy()
    found = freq.infer(pre.index[subject_seen]) if subject_seen.sum() >= 2 else frequency
    if freq.coarser(found, frequency):
        fix = (f"the observed dates are {freq.NAMES[found]}: state [data] frequency = "
               f"\"{freq.NAMES[found]}\" so the panel holds one row per {freq.PERIOD[found]}")
    else:
        worst = pre.notna().mean().sort_values().index[0]
        fix = (f"narrow [window] to periods the units report, or leave out the units with "
               f"the most gaps (such as {worst!r}) with [peers] exclude")
    raise DataError(
        f"{method} around the {event_name}: only {n} of {total} pre-event "
        f"{freq.PERIOD.get(frequency, 'period')}s have {label} observed for every unit, "
        f"too few to fit weights that mean anything; {fix}")


__all__ = ["MIN_OBSERVED_SHARE", "check_pre_period"]
