"""The case's candidate changes, asked of the subject's series: which one does the break follow?

Every event of the case with one date is a candidate (a registry event spans
the range its sources give). The subject's outcome is taken on the case's
scale, with what its off-platform controls explain taken out (as for the
change-point dating), so that a swing in attention the controls share is not
read as a break.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from butfor.analyses.outcome import subject_outcome
from butfor.methods.attribution import ChangeAttribution
from butfor.methods.changepoint import _adjust_for_controls


def candidate_changes(case) -> dict:
    """name -> (first day, last day or None) for every singly dated event."""
    return {e.name: (e.date, getattr(e, "registry_date_end", None))
            for e in case.events if e.date is not None}


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """One attribution analysis for the case's outcome metric (none with fewer than two events)."""
    del seed  # deterministic: nothing is drawn
    candidates = candidate_changes(case)
    if len(candidates) < 2:
        return []
    metric = case.outcome.metric
    subject = case.subject.unit
    z = subject_outcome(case, panel)
    first = min(pd.Timestamp(a) for a, _ in candidates.values())
    z, adjusted_for = _adjust_for_controls(z, case, panel, first)
    daily = panel.frequency == "D"
    result = ChangeAttribution(weekly=daily).fit(z, candidates)
    who = case.subject.display_name or subject
    return [{
        "id": f"attribution:{metric}",
        "method": "attribution",
        "title": f"Which change does the break in {who}'s {metric} point to?",
        "metric": metric,
        "description": (
            "Ranks the case's candidate changes by the share of the break's probability "
            "each one owns (a change owns the days from its date to "
            f"{result.lag_days} days after it), and measures each break's strength against "
            "dates before the first change where nothing happened. Two changes closer than "
            "that lag cannot be told apart by their timing alone."
        ),
        "attribution": result.to_dict(),
        "adjusted_for": adjusted_for,
        "candidates": {name: {"date": str(a), "date_end": None if b is None else str(b),
                              "registry": next((e.registry for e in case.events
                                                if e.name == name), None)}
                       for name, (a, b) in candidates.items()},
        "sentence": result.sentence(),
        "n_observed": int(np.isfinite(z.to_numpy()).sum()),
    }]
