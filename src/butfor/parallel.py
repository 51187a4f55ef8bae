"""Work shared between this process and one spawned pool worker, from both ends of a list.

:func:`share` is the scheme, used for a case's methods (:mod:`butfor.parallel_methods`):
the standard library's ``ProcessPoolExecutor`` with one worker in a *spawned*
interpreter (never a fork: no locks copied from threads such as DuckDB's or a web
server's; ``python -m butfor`` and console scripts are not re-run by spawn, and a
script of one's own needs the usual ``if __name__ == "__main__"`` guard). The worker
is given items from the back of the list, one as the previous finishes, while this
process works from the front; the two meet in the middle, so neither waits for the
other until the last item. Results are put back in the list's order. An item the
worker did not deliver (it failed in any way) is done here, so errors are raised as
they would be without the worker.

The report's figures are not shared: butfor writes their SVG itself in 1.5 ms of CPU
a figure (the demo's 39 in 0.06 s), less than a worker's imports or the round trip of
their plot data and SVG text would cost (benchmarks/README.md, issue 18).
"""

from __future__ import annotations

import contextvars
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _spawned_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


# ---------------------------------------------------------------------------
# one helper for a whole run


@dataclass
class _Helper:
    pool: ProcessPoolExecutor


_HELPER: contextvars.ContextVar[_Helper | None] = contextvars.ContextVar("butfor_helper",
                                                                        default=None)


@contextmanager
def run_helper() -> Iterator[None]:
    """Keep one spawned worker for everything inside (``butfor run`` and ``butfor demo``).

    Without it each :func:`share` starts and stops a worker of its own: an interpreter
    and its imports (about a second of CPU) each time. Inside it the one worker serves
    them all, and :func:`warm` lets it import what comes next while this process is
    still busy. On one core this does nothing.
    """
    if _HELPER.get() is not None or _cores() < 2:
        yield
        return
    helper = _Helper(_spawned_pool())
    token = _HELPER.set(helper)
    ok = False
    try:
        yield
        ok = True
    finally:
        _HELPER.reset(token)
        helper.pool.shutdown(wait=ok, cancel_futures=True)


def warm(job: Callable[..., None], *args: Any) -> None:
    """Have the run's helper (if one is open) run ``job(*args)`` now, while it waits.

    A job here only imports (it changes no result): it moves the helper's start-up off
    the path of the work it will be given. ``job`` must be a module-level function.
    """
    helper = _HELPER.get()
    if helper is None:
        return
    try:
        helper.pool.submit(job, *args)
    except Exception:  # no worker (broken, shut, or none allowed here)
        pass


def share(here: Callable[[Any], Any], there: Callable[[Any], Any], items: Sequence,
          received: Callable[[Any], Any] = lambda r: r) -> list:
    """``here(item)`` for every item, in order, some of them run as ``there(item)`` in a
    spawned worker; ``received`` turns the worker's answer into ``here``'s.

    ``there`` must be a module-level function (it is pickled by name) and give, after
    ``received``, what ``here`` gives.
    """
    n = len(items)
    lock = threading.Lock()
    ends = [0, n - 1]  # the next item for this process, the next for the worker
    futures: dict[int, Future] = {}
    helper = _HELPER.get()
    pool = helper.pool if helper is not None else _spawned_pool()

    def feed(_done: Future | None = None) -> None:
        # the worker is kept two items ahead (one running, one on its way; one ahead for
        # fewer than four items), each taken
        # from the back as the previous one finishes; called from the pool's own thread
        with lock:
            if ends[1] < ends[0]:
                return
            j = ends[1]
            try:
                futures[j] = pool.submit(there, items[j])
            except Exception:  # the pool is broken or shut: the rest is done here
                futures.pop(j, None)
                return
            ends[1] -= 1
        futures[j].add_done_callback(feed)

    out: dict[int, Any] = {}
    try:
        feed()
        if n >= 4:  # two ahead; with fewer items the worker would take this process's too
            feed()
        while True:
            with lock:
                if ends[0] > ends[1]:
                    break
                j = ends[0]
                ends[0] += 1
            out[j] = here(items[j])
        for j in range(n):
            if j in out:
                continue
            try:
                out[j] = received(futures[j].result())
            except Exception:  # the worker failed: done here, errors raised here
                out[j] = here(items[j])
    except BaseException:
        # the run stops here, as it would have without the worker: drop what it has not begun
        ends[1] = -1
        if helper is None:
            pool.shutdown(wait=False, cancel_futures=True)
        else:
            for f in futures.values():
                f.cancel()
        raise
    if helper is None:
        pool.shutdown(wait=True)
    return [out[j] for j in range(n)]
