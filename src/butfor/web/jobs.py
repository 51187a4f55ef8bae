"""Jobs: queued in the store, run one at a time per worker process, recorded once.

A dispatcher thread per worker takes the oldest queued job (marking it
running, one attempt more), hands its case folder to its worker process and
records the answer: done, or failed with the sentence. When a server dies
(even by SIGKILL) its workers die with it; the next server, on start,
queues again every job still marked running, so each job ends done or failed
exactly once. A re-run starts from a clean output folder, and the analysis
is deterministic, so it writes the same results as the run that was cut off.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from butfor.web.db import WebStore


class JobRunner:
    def __init__(self, store: WebStore, case_dir, *, workers: int = 1,
                 timeout_s: float = 1800.0) -> None:
        self.store = store
        self.case_dir = case_dir  # (user_id, case_id) -> Path
        self.workers = workers
        self.timeout_s = timeout_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._procs: list[subprocess.Popen] = []

    def start(self) -> None:
        self.store.requeue_interrupted()
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"butfor-jobs-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for p in self._procs:
            if p.poll() is None:
                p.kill()
        for t in self._threads:
            t.join(timeout=10)
        for p in self._procs:
            p.wait()
            p.stdin.close()
            p.stdout.close()

    # -- one dispatcher ----------------------------------------------------
    def _loop(self) -> None:
        proc = None
        while not self._stop.is_set():
            job = self.store.claim_next_job()
            if job is None:
                self._wake.wait(timeout=1.0)
                self._wake.clear()
                continue
            if proc is None or proc.poll() is not None:
                proc = self._spawn()
            error, broken = self._run(proc, self.case_dir(job["user_id"], job["case_id"]))
            if self._stop.is_set():
                return  # shutting down: the job stays running and is queued again at start
            if broken:
                self._retire(proc)  # a worker that overran or went silent is not trusted again
            self.store.finish_job(job["id"], error)

    def _retire(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()
        self._procs.remove(proc)

    def _spawn(self) -> subprocess.Popen:
        # started from this long-lived thread, so the worker's death signal follows the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "butfor.web.worker", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            env={**os.environ, "PYTHONPATH": _pythonpath()})
        self._procs.append(proc)
        return proc

    def _run(self, proc: subprocess.Popen, case_dir: Path) -> tuple[str | None, bool]:
        """The job's error sentence (None: it worked), and whether the worker is broken."""
        try:
            proc.stdin.write(json.dumps({"case_dir": str(case_dir)}) + "\n")
            proc.stdin.flush()
        except OSError:
            return "the worker process had stopped; run the case again", True
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self._stop.is_set():
                return None, True
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    return (f"the worker process stopped (exit code {proc.wait()}) before the "
                            "analysis finished; run the case again, or report it if it repeats"), True
                reply = json.loads(line)
                return (None if reply["ok"] else reply["error"]), False
        return (f"the analysis took longer than the {self.timeout_s:g} s limit; use a smaller "
                "case, or start the server with a longer --job-timeout"), True


def _pythonpath() -> str:
    """The worker imports the same butfor as the server, wherever it came from."""
    here = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH", "")
    return here + (os.pathsep + rest if rest else "")
