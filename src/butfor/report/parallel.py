"""Drawing a report's figures on two cores: this process and one pool worker.

matplotlib's savefig is most of a report's time (the demo: 39 figures, each saved
as SVG and PNG, about 14 s of CPU), and each figure is drawn from its own plot
data alone, so two processes can share them with nothing else in common. Every
figure is drawn by the same code with the same settings (the SVG id salt is the
figure's own id), so the bytes are those of drawing them one by one.

:func:`share` is the scheme, also used for a case's methods
(:mod:`butfor.parallel_methods`): the standard library's ``ProcessPoolExecutor``
with one worker in a *spawned* interpreter (never a fork: no locks copied from
threads such as DuckDB's or a web server's; ``python -m butfor`` and console
scripts are not re-run by spawn, and a script of one's own needs the usual
``if __name__ == "__main__"`` guard). The worker is given items from the back of
the list, one as the previous finishes, while this process works from the front;
the two meet in the middle, so neither waits for the other until the last item. Results are put back in the list's order. An
item the worker did not deliver (it failed in any way) is done here, so errors
are raised as they would be without the worker.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

#: fewer figures than this are drawn here: the worker's start-up would cost more
MIN_FIGURES = 6


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


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
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def feed(_done: Future | None = None) -> None:
        # the worker is kept two items ahead (one running, one on its way), each taken
        # from the back as the previous one finishes; called from the pool's own thread
        with lock:
            if ends[1] < ends[0]:
                return
            j = ends[1]
            try:
                futures[j] = pool.submit(there, items[j])
            except Exception:  # noqa: BLE001 - the pool is broken or shut: the rest is done here
                futures.pop(j, None)
                return
            ends[1] -= 1
        futures[j].add_done_callback(feed)

    out: dict[int, Any] = {}
    try:
        feed()
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
            except Exception:  # noqa: BLE001 - the worker failed: done here, errors raised here
                out[j] = here(items[j])
    except BaseException:
        # the run stops here, as it would have without the worker: drop what it has not begun
        ends[1] = -1
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [out[j] for j in range(n)]


def _render(job: tuple) -> tuple[str, bytes | None]:
    from butfor.report.figures import render

    plot, png = job
    return render(plot, png=png)


def render_all(plots: list, *, png: bool) -> list[tuple[str, bytes | None]]:
    """``figures.render`` of every plot, in order: here and in one worker process."""
    jobs = [(p, png) for p in plots]
    if len(jobs) < MIN_FIGURES or _cores() < 2:
        return [_render(j) for j in jobs]
    return share(_render, _render, jobs)
