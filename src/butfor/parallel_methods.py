"""A case's methods run by this process and one pool worker, from both ends of the list.

The methods of a case are independent: each reads the case, the panel and the seed
and nothing else (their outputs meet only afterwards, in claims and damages), and
each runs with one thread in every backend, so its result does not depend on the
process it runs in (tests/test_determinism.py). A case with several heavy methods
(the demo: SDID and the event study, about 10 s of CPU each, beside synthetic
control and the structural time series) therefore runs on two cores with
:func:`butfor.parallel.share`: a ``ProcessPoolExecutor`` with one spawned
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

from butfor.parallel import _cores, share, warm

#: smaller panels (units × periods) run in this process alone: the worker's start-up
#: (imports, a copy of the panel) would cost more than it saves
MIN_CELLS = 50_000
#: and so do cases with fewer methods (a creator's STS and change points: sharing them
#: cost the helper the methods' imports, about 0.5 s of CPU, to save 0.13 s here, and held
#: up its drawing)
MIN_METHODS = 3

Done = tuple[list[dict], dict, float]  # analyses, counterfactual draws, seconds

#: each method's CPU seconds on the demo case (run.json, one core), to deal the heavy
#: ones out first; a method not listed counts as light. Only the order of the work
#: depends on it, never a result.
COST = {"event_study": 5.8, "sdid": 5.6, "synthetic_control": 2.8, "sts": 2.0,
        "peer_effects": 0.8, "changepoint": 0.2}


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
    if not shared(methods, panel):
        return [started(m) or _one(m, case, panel, seed) for m in methods]
    order = dealt(methods)
    jobs = [(methods[i], case, panel, seed) for i in order]
    done = share(lambda job: started(job[0]) or _one(*job), _there, jobs, _received)
    out: list[Done] = [([], {}, 0.0)] * len(methods)
    for i, d in zip(order, done, strict=True):
        out[i] = d
    return out


def shared(methods: list[str], panel) -> bool:
    """Whether :func:`run_methods` shares these methods with a worker."""
    cells = len(panel.unit_ids) * len(panel.dates)
    return len(methods) >= MIN_METHODS and cells >= MIN_CELLS and _cores() >= 2


def dealt(methods: list[str]) -> list[int]:
    """The methods' positions in the order the two ends of :func:`share` should meet them:
    heaviest first, dealt in turn to this process's end (the front) and the worker's end
    (the back), so both start on heavy work and meet over light work."""
    heavy = sorted(range(len(methods)), key=lambda i: (-COST.get(methods[i], 0.1), i))
    front, back = heavy[0::2], heavy[1::2]
    return front + back[::-1]


def warm_methods(methods: list[str], panel=None) -> None:
    """Have the run's helper import these methods now, if it is to run some of them
    (with no panel yet: if there are enough of them)."""
    if shared(methods, panel) if panel is not None else len(methods) >= MIN_METHODS:
        order = dealt(methods)
        # the methods at the worker's end (the back half) are the ones it will run first
        warm(_adapters, tuple(methods[i] for i in order[len(order) // 2:]))


def _adapters(methods: tuple[str, ...]) -> None:
    from butfor.analyses.adapters import adapter_for

    for m in methods:
        adapter_for(m)


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
