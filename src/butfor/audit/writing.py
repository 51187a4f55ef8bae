"""Writing an audit's result: the five tables, ``summary.json``, the report, the store.

``summary.json`` goes through the same JSON writer as a case's ``results.json``
(:func:`butfor.results.dumps`: sorted keys, NaN as null, 12 significant
digits), so the same audit gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from butfor.audit.files import write_parquet, write_text
from butfor.audit.result import AuditResult
from butfor.results import dumps
from butfor.sql import identifier

STORE_TABLES = {"accounts": "audit_accounts", "groups": "audit_groups",
                "disproportion": "audit_disproportion", "group_time": "audit_group_time",
                "top_accounts": "audit_top"}


def write_audit(result: AuditResult, out: Path, *, report: bool, store: str | Path | None,
                audit_name: str) -> dict[str, Path | None]:
    """Write everything; returns the paths by name (``report`` is None when not drawn)."""
    paths: dict[str, Path | None] = {}
    for name, frame in result.tables().items():
        paths[name] = out / f"{name}.parquet"
        write_parquet(frame, paths[name])
    write_text(out / "summary.json", summary_json(result))
    paths["report"] = None
    if report:
        from butfor.audit.report import write_audit_report

        paths["report"] = write_audit_report(out / "report.html", result)
    if store is not None:
        write_store(Path(store), audit_name,
                    {STORE_TABLES[k]: v for k, v in result.tables().items()})
    return paths


def summary_json(result: AuditResult) -> str:
    return dumps(result.summary.model_dump(mode="python"))


def write_store(path: Path, name: str, tables: dict[str, pd.DataFrame]) -> None:
    """Replace this audit's rows in the store's ``audit_*`` tables (keyed by ``name``)."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        for tname, frame in tables.items():
            f = frame.copy()
            f.insert(0, "audit", name)
            table = identifier(tname)  # one of the fixed audit_* names, quoted all the same
            con.register("_audit_frame", f)
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _audit_frame LIMIT 0")
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [tname]).fetchall()]
            if cols != list(f.columns):  # settings changed the columns: start the table anew
                con.execute(f"DROP TABLE {table}")
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM _audit_frame LIMIT 0")
            con.execute(f"DELETE FROM {table} WHERE audit = ?", [name])
            con.execute(f"INSERT INTO {table} SELECT * FROM _audit_frame")
            con.unregister("_audit_frame")
    finally:
        con.close()
