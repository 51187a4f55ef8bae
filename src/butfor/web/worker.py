"""The worker process: runs one case folder at a time, exactly as ``butfor run`` would.

The server starts it (``python -m butfor.web.worker``) and writes one JSON line
per job on its standard input, ``{"case_dir": "..."}``; it answers with one
line, ``{"ok": true}`` or ``{"ok": false, "error": "<the one sentence>"}``.

Each job runs ``butfor run case.toml --out out`` inside its case folder
(the same function, the same relative paths, so the same command string goes
into ``results.json``): a case made on the page and its folder run by hand
give byte-identical results. The worker never opens the web store.

It dies with the server (``PR_SET_PDEATHSIG``), and holds an exclusive lock on
the case folder while it works, so a job re-run after a crash never shares
its folder with a worker that has not yet gone.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import re
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console

from butfor.errors import ButforError

PROGRESS_FILE = "progress.txt"
OUT = "out"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


class ProgressFile:
    """A file-like sink for rich: keeps the latest line of text in ``progress.txt``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last = ""
        self._written = 0.0

    def write(self, text: str) -> int:
        lines = [ln.strip() for ln in re.split(r"[\r\n]", _ANSI.sub("", text)) if ln.strip()]
        if lines and lines[-1] != self._last:
            self._last = lines[-1]
            if time.monotonic() - self._written > 0.3:
                self.flush()
        return len(text)

    def flush(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(self._last, encoding="utf-8")
        os.replace(tmp, self.path)
        self._written = time.monotonic()

    def isatty(self) -> bool:
        return True


def run_job(case_dir: Path) -> str | None:
    """Run the case in ``case_dir``; None when it worked, else the error's sentence."""
    from butfor.pipeline import run_case_file

    # absolute before the chdir below: a relative folder (the server's default --home is
    # relative) would otherwise be looked for inside itself
    case_dir = Path(case_dir).resolve()
    with open(case_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits out a worker of a previous server
        here = Path.cwd()
        os.chdir(case_dir)
        progress = ProgressFile(case_dir / PROGRESS_FILE)
        try:
            shutil.rmtree(OUT, ignore_errors=True)  # a killed attempt's partial output
            console = Console(file=progress, force_terminal=True, color_system=None, width=100)
            run_case_file(Path("case.toml"), out=Path(OUT), store_path=Path(".unused.duckdb"),
                          console=console)
            progress.write("done")
            return None
        except ButforError as err:
            return str(err)
        except Exception as err:  # the server must hear of it; the traceback goes to its log
            traceback.print_exc(file=sys.stderr)
            return f"the analysis stopped on an internal error ({type(err).__name__}: {err})"
        finally:
            progress.flush()
            os.chdir(here)


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: the lock on the case folder still keeps re-runs apart
    if os.getppid() != parent:  # the server died before the line above took effect
        os._exit(1)


def main() -> None:
    parent = int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid()
    _die_with_parent(parent)
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything a library prints goes to the log, not into the replies
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        error = run_job(Path(request["case_dir"]))
        replies.write(json.dumps({"ok": error is None, "error": error}) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
