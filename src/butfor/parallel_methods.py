"""A case's methods run by this process and one pool worker, from both ends of the list.

The methods of a case are independent: each reads the case, the panel and the seed
and nothing else (their outputs meet only afterwards, in claims and damages), and
each runs with one thread in every backend, so its result does not depend on the
process it runs in (tests/test_determinism.py). A case with several heavy methods
(the demo: SDID and the event study, about 10 s of CPU each, beside synthetic
control and the structural time series) therefore runs on two cores with
:func:`butfor.report.parallel.share`: a ``ProcessPoolExecutor`` with one spawned
worker takes methods from the back of the list while this process takes them from
the front. The analyses are put back in the case's order, so results.json is the
one the methods would give run one after another.

The worker costs an interpreter, an import of butfor's methods and a copy of the
panel (about 1.5 s of CPU), so it is used only for panels large enough and when this
process may run on more than one core. butfor's own warnings raised in the worker
are shown here; a method the worker did not deliver (it failed in any way) is run
here, so errors are raised as they would be.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from butfor.report.parallel import _cores, share

#: smaller panels (units × periods) run in this process alone: the worker's start-up
#: (imports, a copy of the panel) would cost more than it saves
MIN_CELLS = 50_000
#: and so do cases with fewer methods
MIN_METHODS = 3

Done = tuple[list[dict], dict, float]  # analyses, counterfactual draws, seconds


@dataclass(frozen=True)
class _Caught:
    """A warning raised in the worker, to be shown by this process."""

    message: Warning
    category: type
    filename: str
    lineno: int


def _one(method: str, case, panel, seed: int) -> Done:
    from butfor.pipeline import _run_method

    start = time.perf_counter()
    draws: dict = {}
    out = _run_method(method, case, panel, seed, draws)
    return out, draws, round(time.perf_counter() - start, 3)


def run_methods(methods: list[str], case, panel, seed: int,
                started: Callable[[str], None] = lambda m: None) -> list[Done]:
    """Each method's analyses, draws and run time, in the order of ``methods``.

    ``started(method)`` is called as this process starts each method it runs.
    """
    cells = len(panel.unit_ids) * len(panel.dates)
    if len(methods) < MIN_METHODS or cells < MIN_CELLS or _cores() < 2:
        return [started(m) or _one(m, case, panel, seed) for m in methods]
    jobs = [(m, case, panel, seed) for m in methods]
    return share(lambda job: started(job[0]) or _one(*job), _there, jobs, _received)


def _there(job: tuple) -> tuple[Done, list[_Caught]]:
    """In the worker: one method, single-threaded, with butfor's warnings kept."""
    from butfor.threads import single_threaded

    with single_threaded(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = _one(*job)
    # butfor's own warnings (what the user is told about the data), not the
    # libraries' deprecation notes, which this process shows or filters itself
    return done, [_Caught(w.message, w.category, w.filename, w.lineno) for w in caught
                  if w.category.__module__.startswith("butfor")]


def _received(answer: tuple[Done, list[_Caught]]) -> Done:
    done, caught = answer
    for w in caught:  # the worker's warnings, shown here as if raised here
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return done
