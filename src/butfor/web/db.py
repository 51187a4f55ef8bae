"""The web app's tables in its own DuckDB file (``<home>/web.duckdb``).

::

    users(id, name, token_hash, created)
    uploads(id, user_id, created, files, options, report, summary)
    cases(id, user_id, upload_id, created, form, case_toml)
    jobs(id, user_id, case_id, status, attempts, finishes, created, started, finished,
         error)

DuckDB lets one process at a time open a file for writing, so the server is
that one process: it holds the file open while it runs, every request and job
dispatcher takes a cursor of its one connection, and writes go through one
lock. The worker processes never open the file; they read and write only the
case folder they are handed. ``butfor user add`` opens the file briefly and
says plainly when a running server holds it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from pathlib import Path

from butfor.errors import ButforError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS users (id VARCHAR PRIMARY KEY, name VARCHAR UNIQUE, "
    "token_hash VARCHAR UNIQUE, created TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS uploads (id VARCHAR PRIMARY KEY, user_id VARCHAR, "
    "created TIMESTAMP, files VARCHAR, options VARCHAR, report VARCHAR, summary VARCHAR)",
    "CREATE TABLE IF NOT EXISTS cases (id VARCHAR PRIMARY KEY, user_id VARCHAR, "
    "upload_id VARCHAR, created TIMESTAMP, form VARCHAR, case_toml VARCHAR)",
    "CREATE TABLE IF NOT EXISTS jobs (id VARCHAR PRIMARY KEY, user_id VARCHAR, "
    "case_id VARCHAR, status VARCHAR, attempts INTEGER, finishes INTEGER, "
    "created TIMESTAMP, started TIMESTAMP, finished TIMESTAMP, error VARCHAR)",
)
JOB_STATES = ("queued", "running", "done", "failed")


def new_id() -> str:
    """An id nobody can guess, so ids in addresses reveal nothing."""
    return secrets.token_hex(8)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def connect(path: Path):
    """Open the web store read-write; a clear sentence when another process holds it."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as err:
        if "lock" not in str(err).lower():
            raise
        raise ButforError(
            f"the web store {path} is open in another process (a running 'butfor serve'?); "
            "DuckDB lets one process write to it, so stop that process and try again"
        ) from None
    for statement in _SCHEMA:
        con.execute(statement)
    return con


class WebStore:
    """Users, uploads, cases and jobs; one connection held for the life of the server."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._con = connect(self.path)
        self._write = threading.Lock()

    def close(self) -> None:
        self._con.close()

    def _rows(self, sql: str, params: list) -> list[dict]:
        cur = self._con.cursor()
        try:
            result = cur.execute(sql, params)
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        finally:
            cur.close()

    def _exec(self, sql: str, params: list) -> None:
        with self._write:
            cur = self._con.cursor()
            try:
                cur.execute(sql, params)
            finally:
                cur.close()

    # -- users -------------------------------------------------------------
    def user_by_token_hash(self, token_hash: str) -> dict | None:
        rows = self._rows("SELECT id, name FROM users WHERE token_hash = ?", [token_hash])
        return rows[0] if rows else None

    # -- uploads -----------------------------------------------------------
    def add_upload(self, upload_id: str, user_id: str, files: list[dict], options: dict,
                   report: dict, summary: dict) -> None:
        self._exec("INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [upload_id, user_id, _now(), json.dumps(files), json.dumps(options),
                    json.dumps(report), json.dumps(summary)])

    def upload(self, user_id: str, upload_id: str) -> dict | None:
        rows = self._rows("SELECT * FROM uploads WHERE user_id = ? AND id = ?",
                          [user_id, upload_id])
        return _decoded(rows[0], ("files", "options", "report", "summary")) if rows else None

    def uploads(self, user_id: str) -> list[dict]:
        rows = self._rows("SELECT * FROM uploads WHERE user_id = ? ORDER BY created DESC",
                          [user_id])
        return [_decoded(r, ("files", "options", "report", "summary")) for r in rows]

    # -- cases -------------------------------------------------------------
    def add_case(self, case_id: str, user_id: str, upload_id: str, form: dict,
                 case_toml: str) -> None:
        self._exec("INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?)",
                   [case_id, user_id, upload_id, _now(), json.dumps(form), case_toml])

    def case(self, user_id: str, case_id: str) -> dict | None:
        rows = self._rows("SELECT * FROM cases WHERE user_id = ? AND id = ?", [user_id, case_id])
        return _decoded(rows[0], ("form",)) if rows else None

    def cases(self, user_id: str) -> list[dict]:
        rows = self._rows(
            "SELECT c.id, c.created, c.form, j.id AS job_id, j.status FROM cases c "
            "LEFT JOIN jobs j ON j.case_id = c.id WHERE c.user_id = ? ORDER BY c.created DESC",
            [user_id])
        return [_decoded(r, ("form",)) for r in rows]

    # -- jobs --------------------------------------------------------------
    def add_job(self, job_id: str, user_id: str, case_id: str) -> None:
        self._exec("INSERT INTO jobs VALUES (?, ?, ?, 'queued', 0, 0, ?, NULL, NULL, NULL)",
                   [job_id, user_id, case_id, _now()])

    def job(self, user_id: str, job_id: str) -> dict | None:
        rows = self._rows("SELECT * FROM jobs WHERE user_id = ? AND id = ?", [user_id, job_id])
        return rows[0] if rows else None

    def job_of_case(self, user_id: str, case_id: str) -> dict | None:
        rows = self._rows("SELECT * FROM jobs WHERE user_id = ? AND case_id = ? "
                          "ORDER BY created DESC LIMIT 1", [user_id, case_id])
        return rows[0] if rows else None

    def all_jobs(self) -> list[dict]:
        return self._rows("SELECT * FROM jobs ORDER BY created", [])

    def claim_next_job(self) -> dict | None:
        """Mark the oldest queued job running (one more attempt) and return it."""
        with self._write:
            cur = self._con.cursor()
            try:
                row = cur.execute("SELECT id, user_id, case_id FROM jobs WHERE status = 'queued' "
                                  "ORDER BY created, id LIMIT 1").fetchone()
                if row is None:
                    return None
                cur.execute("UPDATE jobs SET status = 'running', attempts = attempts + 1, "
                            "started = ? WHERE id = ?", [_now(), row[0]])
                return {"id": row[0], "user_id": row[1], "case_id": row[2]}
            finally:
                cur.close()

    def finish_job(self, job_id: str, error: str | None) -> None:
        """Record the end of a running job once: done, or failed with its sentence."""
        self._exec("UPDATE jobs SET status = ?, finishes = finishes + 1, finished = ?, "
                   "error = ? WHERE id = ? AND status = 'running'",
                   ["failed" if error else "done", _now(), error, job_id])

    def requeue_interrupted(self) -> int:
        """Jobs left running by a server that died: queue them again (at start-up).

        The DuckDB file lock guarantees that no other server runs on this store,
        so a job marked running now has no process working on it.
        """
        rows = self._rows("SELECT count(*) AS n FROM jobs WHERE status = 'running'", [])
        self._exec("UPDATE jobs SET status = 'queued' WHERE status = 'running'", [])
        return int(rows[0]["n"])


def _decoded(row: dict, keys: tuple[str, ...]) -> dict:
    out = dict(row)
    for k in keys:
        if out.get(k) is not None:
            out[k] = json.loads(out[k])
    return out
