"""Drawing a report's figures on two cores: this process and one helper process.

matplotlib's savefig is most of a report's time (the demo: 39 figures, each saved
as SVG and PNG, about 14 s of CPU), and each figure is drawn from its own plot
data alone, so two processes can share them with nothing else in common. The
helper draws from the end of the list while this process draws from the front;
each figure is claimed first by creating a file named after it (``O_EXCL``:
exactly one process succeeds), so neither waits for the other until the last
figure. Every figure is drawn by the same code with the same settings (the SVG
id salt is the figure's own id), so the bytes are those of drawing them one by one.

The helper is a fresh interpreter (``python -c``), not a fork: nothing is copied
from this process (no locks held by threads such as DuckDB's or a web server's),
and unlike multiprocessing's spawn it never re-runs the caller's main script. It
costs an import of matplotlib (about 0.7 s of CPU), so it is used only for enough
figures and when this process may run on more than one core. If it fails for any
reason, the figures it did not deliver are drawn here.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

#: fewer figures than this are drawn here: the helper's start-up would cost more
MIN_FIGURES = 6

# the job file holds this process's sys.path first, read before the plots are (their
# classes are imported while unpickling), so the helper imports the very same butfor
_CHILD = ("import pathlib, pickle, sys; folder = pathlib.Path(sys.argv[1]); "
          "job = open(folder / 'job.data', 'rb'); sys.path[:] = pickle.load(job); "
          "plots, png = pickle.load(job); job.close(); "
          "from butfor.report.parallel import _child; _child(folder, plots, png)")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _claim(folder: Path, j: int) -> bool:
    """True for the one process that creates figure ``j``'s claim file first."""
    try:
        os.close(os.open(folder / str(j), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _render(plot, png: bool) -> tuple[str, bytes | None]:
    from butfor.report.figures import render

    return render(plot, png=png)


def render_all(plots: list, *, png: bool) -> list[tuple[str, bytes | None]]:
    """``figures.render`` of every plot, in order: here and in one helper process."""
    if len(plots) < MIN_FIGURES or _cores() < 2:
        return [_render(p, png) for p in plots]
    out: dict[int, tuple[str, bytes | None]] = {}
    with tempfile.TemporaryDirectory(prefix="butfor-figures-") as tmp:
        folder = Path(tmp)
        job = folder / "job.data"  # a file, not a pipe: this process never waits to send
        job.write_bytes(pickle.dumps(list(sys.path)) + pickle.dumps((plots, png)))
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        for j, plot in enumerate(plots):
            if _claim(folder, j):
                out[j] = _render(plot, png)
        child.wait()
        for f in folder.glob("*.pickle"):  # the helper's figures, one file each
            try:
                j, svg, raster = pickle.loads(f.read_bytes())
            except (OSError, EOFError, pickle.UnpicklingError, ValueError):
                continue
            out[j] = (svg, raster)
    # anything the helper claimed but did not deliver (it failed): drawn here
    return [out[j] if j in out else _render(p, png) for j, p in enumerate(plots)]


def _child(folder: Path, plots: list, png: bool) -> None:
    """The helper: claim figures from the back, write each to a file as it is drawn."""
    for j in reversed(range(len(plots))):
        if not _claim(folder, j):
            break  # this process has reached the figures drawn from the front
        svg, raster = _render(plots[j], png)
        part = folder / f"{j}.part"
        part.write_bytes(pickle.dumps((j, svg, raster)))
        part.rename(folder / f"{j}.pickle")  # whole or absent
