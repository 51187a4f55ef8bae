"""A case's methods run by this process and one helper process, from both ends of the list.

The methods of a case are independent: each reads the case, the panel and the seed
and nothing else (their outputs meet only afterwards, in claims and damages), and
each runs with one thread in every backend, so its result does not depend on the
process it runs in (tests/test_determinism.py). A case with several heavy methods
(the demo: SDID and the event study, about 10 s of CPU each, beside synthetic
control and the structural time series) therefore runs on two cores: this process
takes methods from the front of the list, a helper from the back, each method
claimed first by creating a file named after it (``O_EXCL``: one process succeeds).
The analyses are then put back in the case's order, so results.json is the one the
methods would give run one after another.

The helper is a fresh interpreter (``python -c``), never a fork (no locks copied from
threads such as DuckDB's), reading the case, the panel and this process's
``sys.path`` from a file. It costs an import of butfor's methods and a copy of the
panel (about 1.5 s of CPU), so it is used only for panels large enough and when this
process may run on more than one core. A method the helper claimed but did not
deliver (it failed in any way) is run here, so errors are raised as they would be.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from butfor.report.parallel import _claim, _cores

#: smaller panels (units × periods) run in this process alone: the helper's start-up
#: (imports, a copy of the panel) would cost more than it saves
MIN_CELLS = 50_000
#: and so do cases with fewer methods
MIN_METHODS = 3

_CHILD = ("import pathlib, pickle, sys; folder = pathlib.Path(sys.argv[1]); "
          "job = open(folder / 'job.data', 'rb'); sys.path[:] = pickle.load(job); "
          "payload = pickle.load(job); job.close(); "
          "from butfor.parallel_methods import _child; _child(folder, *payload)")

Done = tuple[list[dict], dict, float]  # analyses, counterfactual draws, seconds


@dataclass(frozen=True)
class _Caught:
    """A warning raised in the helper, to be shown by this process."""

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
    out: dict[int, Done] = {}
    with tempfile.TemporaryDirectory(prefix="butfor-methods-") as tmp:
        folder = Path(tmp)
        try:
            data = pickle.dumps(list(sys.path)) + pickle.dumps((methods, case, panel, seed))
        except (pickle.PicklingError, TypeError, AttributeError):
            return [started(m) or _one(m, case, panel, seed) for m in methods]
        (folder / "job.data").write_bytes(data)
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            for j, method in enumerate(methods):
                if _claim(folder, j):
                    started(method)
                    out[j] = _one(method, case, panel, seed)
        except BaseException:
            child.kill()  # the run stops here, as it would have without the helper
            raise
        finally:
            child.wait()
        for f in sorted(folder.glob("*.pickle"), key=lambda f: int(f.stem)):
            try:
                j, done, caught = pickle.loads(f.read_bytes())
            except (OSError, EOFError, pickle.UnpicklingError, ValueError, AttributeError):
                continue
            for w in caught:  # the helper's warnings, shown here as if raised here
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            out.setdefault(j, done)
    return [out[j] if j in out else (started(m) or _one(m, case, panel, seed))
            for j, m in enumerate(methods)]


def _child(folder: Path, methods: list[str], case, panel, seed: int) -> None:
    """The helper: claim methods from the back, write each one's output as it finishes."""
    from butfor.threads import single_threaded

    with single_threaded():
        for j in reversed(range(len(methods))):
            if not _claim(folder, j):
                break  # this process has reached the methods run from the front
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                done = _one(methods[j], case, panel, seed)
            # butfor's own warnings (what the user is told about the data), not the
            # libraries' deprecation notes, which this process shows or filters itself
            caught = [_Caught(w.message, w.category, w.filename, w.lineno) for w in caught
                      if w.category.__module__.startswith("butfor")]
            part = folder / f"{j}.part"
            part.write_bytes(pickle.dumps((j, done, caught)))
            part.rename(folder / f"{j}.pickle")  # whole or absent
