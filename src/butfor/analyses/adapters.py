"""Which module turns a case into each method's analyses.

Each method is imported when a case first asks for it, not when butfor starts:
a creator's case that runs only the structural time series never pays for
pyfixest or the synthetic-control solver. The imports are written out (not
looked up by name) so that the import graph shows every edge.
"""

from __future__ import annotations

from collections.abc import Callable

from butfor.records import Analysis, parse_analyses

#: a case adapter: (case, panel, seed=...) -> the method's analyses as dicts
Adapter = Callable[..., list[dict]]


def analyses_and_draws(method: str, case, panel, *, seed: int
                       ) -> tuple[list[Analysis], dict[tuple[str, str], object]]:
    """The method's analyses as typed records, and their counterfactual draws apart.

    The records hold what results.json will (floats at 12 digits, NaN as None,
    :func:`butfor.results.to_jsonable`), so claims, damages and the report read
    the very figures the file keeps; the draws (large, numpy) stay out of it,
    keyed by (analysis id, event date).
    """
    from butfor.results import to_jsonable

    raw = adapter_for(method)(case, panel, seed=seed)
    draws = pop_draws(raw)  # before to_jsonable: draws are large and stay numpy
    return parse_analyses(to_jsonable(raw)), draws


def pop_draws(analyses: list[dict]) -> dict[tuple[str, str], object]:
    """Take the counterfactual draws out of the analyses (they stay out of results.json).

    Keyed by (analysis id, event date) so a method with one effect path per event
    keeps each path's draws.
    """
    draws = {}
    for a in analyses:
        for effect in [a.get("effect"), *a.get("effects", [])]:
            if effect is None:
                continue
            taken = effect.pop("draws", None)
            if taken is not None:
                draws[(a["id"], str(effect["event_date"]))] = taken
    return draws


def adapter_for(method: str) -> Adapter:
    """The ``analyses_for_case`` of one method named in ``[case] methods``.

    Wrapped so that a method's error about one of its own parameters, and a flag
    that suggests a frequency, name the case file's key (:mod:`.case_terms`).
    """
    from butfor.analyses.case_terms import in_case_terms

    if method == "prepost":
        from butfor.analyses import prepost as module
    elif method == "sts":
        from butfor.analyses import sts as module
    elif method == "synthetic_control":
        from butfor.analyses import synth as module
    elif method == "sdid":
        from butfor.analyses import sdid as module
    elif method == "event_study":
        from butfor.analyses import event_study as module
    elif method == "changepoint":
        from butfor.analyses import changepoint as module
    elif method == "peer_effects":
        from butfor.analyses import peer_effects as module
    elif method == "attribution":
        from butfor.analyses import attribution as module
    elif method == "before_after":
        from butfor.analyses import before_after as module
    else:  # the case file's schema lists the methods, so this is a programming error
        raise KeyError(f"no case adapter for method {method!r}")
    return in_case_terms(module.analyses_for_case, method)
