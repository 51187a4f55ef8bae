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

import contextvars
import hashlib
import importlib
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: fewer figures than this are drawn here: the worker's start-up would cost more
MIN_FIGURES = 6

#: what drawing needs, imported by a run's helper before its first figure
FIGURE_MODULES = ("butfor.report.figures", "matplotlib.figure",
                  "matplotlib.backends.backend_svg", "matplotlib.backends.backend_agg",
                  "matplotlib.dates", "matplotlib.font_manager")


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
    # figures handed to the worker before the report asked for them (predraw), by
    # (digest of the pickled plot, png)
    drawn: dict[tuple[str, bool], Future] = field(default_factory=dict)


_HELPER: contextvars.ContextVar[_Helper | None] = contextvars.ContextVar("butfor_helper",
                                                                        default=None)


@contextmanager
def run_helper() -> Iterator[None]:
    """Keep one spawned worker for everything inside (``butfor run`` and ``butfor demo``).

    Without it each :func:`share` starts and stops a worker of its own: an interpreter
    and its imports (about a second of CPU) for the methods, and again for the figures.
    Inside it the one worker serves both, and :func:`warm` lets it import what comes
    next while this process is still busy. On one core this does nothing.
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


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)
    if "matplotlib.font_manager" in modules:  # the font list, read on the first text drawn
        from matplotlib import font_manager

        font_manager.findfont("DejaVu Sans")


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
    except Exception:  # noqa: BLE001 - no worker (broken, shut, or none allowed here)
        pass


#: the job that imports what drawing needs (for :func:`warm` and ``share(then=...)``)
IMPORT_FIGURES = (_import, FIGURE_MODULES)


def warm_figures() -> None:
    """Have the run's helper import what drawing needs."""
    warm(*IMPORT_FIGURES)


def has_helper() -> bool:
    """Whether a :func:`run_helper` is open (and so :func:`predraw` has a worker)."""
    return _HELPER.get() is not None


def share(here: Callable[[Any], Any], there: Callable[[Any], Any], items: Sequence,
          received: Callable[[Any], Any] = lambda r: r,
          then: tuple | None = None) -> list:
    """``here(item)`` for every item, in order, some of them run as ``there(item)`` in a
    spawned worker; ``received`` turns the worker's answer into ``here``'s.

    ``there`` must be a module-level function (it is pickled by name) and give, after
    ``received``, what ``here`` gives. ``then``, a ``(job, *args)`` for :func:`warm`, is
    handed to the run's helper once no item is left for it.
    """
    n = len(items)
    lock = threading.Lock()
    ends = [0, n - 1]  # the next item for this process, the next for the worker
    futures: dict[int, Future] = {}
    helper = _HELPER.get()
    pool = helper.pool if helper is not None else _spawned_pool()
    after = [then if helper is not None else None]

    def feed(_done: Future | None = None) -> None:
        # the worker is kept two items ahead (one running, one on its way; one ahead for
        # fewer than four items), each taken
        # from the back as the previous one finishes; called from the pool's own thread
        with lock:
            if ends[1] < ends[0]:
                if after[0] is not None:  # the worker's share is handed out: what comes next
                    job, after[0] = after[0], None
                    try:
                        pool.submit(*job)
                    except Exception:  # noqa: BLE001 - no worker: drawing imports it here
                        pass
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
            except Exception:  # noqa: BLE001 - the worker failed: done here, errors raised here
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


def _render(job: tuple) -> tuple[str, bytes | None]:
    from butfor.report.figures import render

    plot, png = job
    return render(plot, png=png)


def _key(plot, png: bool) -> tuple[str, bool]:
    # a figure is drawn from its plot data alone, so equal pickles draw equal bytes
    return hashlib.sha256(pickle.dumps(plot, protocol=5)).hexdigest(), png


def predraw(plots: Sequence, *, png: bool) -> None:
    """Hand ``plots`` to the run's helper now, last first, to be drawn while this process
    goes on (damages, claims); :func:`render_all` takes each drawing whose plot data
    turn out the same and draws the rest. Without a helper this does nothing."""
    helper = _HELPER.get()
    if helper is None:
        return
    for plot in reversed(plots):
        key = _key(plot, png)
        if key in helper.drawn:
            continue
        try:
            helper.drawn[key] = helper.pool.submit(_render, (plot, png))
        except Exception:  # noqa: BLE001 - no worker (broken, shut, or none allowed here)
            return


def _predrawn(plots: list, png: bool) -> dict[int, Future]:
    """The drawings :func:`predraw` has made or is making for these plots, by index; the
    rest are called off, to be drawn by :func:`render_all`."""
    helper = _HELPER.get()
    if helper is None or not helper.drawn:
        return {}
    keys = [_key(p, png) for p in plots]
    wanted = set(keys)
    for key, future in list(helper.drawn.items()):
        if key not in wanted or future.cancel():  # not asked for, or not begun: drop it
            del helper.drawn[key]
    return {i: helper.drawn.pop(key) for i, key in enumerate(keys) if key in helper.drawn}


def render_all(plots: list, *, png: bool) -> list[tuple[str, bytes | None]]:
    """``figures.render`` of every plot, in order: here and in one worker process."""
    early = _predrawn(plots, png)
    jobs = [(p, png) for i, p in enumerate(plots) if i not in early]
    if len(jobs) < MIN_FIGURES or _cores() < 2:
        drawn = [_render(j) for j in jobs]
    else:
        drawn = share(_render, _render, jobs)
    rest = iter(drawn)
    out = []
    for i, plot in enumerate(plots):
        if i not in early:
            out.append(next(rest))
            continue
        try:
            out.append(early[i].result())
        except Exception:  # noqa: BLE001 - the worker failed: drawn here, errors raised here
            out.append(_render((plot, png)))
    return out
