"""The store: one embedded DuckDB file per workspace (default ``./.butfor/butfor.duckdb``).

Tables::

    datasets(name, frequency, metrics, report, updated)    one row per panel
    observations(dataset, unit, date, metric, value)       the panels, tidy:
                                                            NULL = explicit missing
    units(dataset, unit, display_name, "group", attributes) unit attributes
    results(name, json, updated)                           results of runs

Panels are kept tidy (one row per unit, day and metric) so that files with
different metrics merge without changing the schema; :meth:`Store.read_panel`
pivots them back. A connection is opened per call and closed after it, so
several commands can use one store one after another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from butfor.errors import DataError
from butfor.frequency import NAMES
from butfor.ingest_report import IngestReport
from butfor.panel import UNIT_COLUMNS, Panel

Mode = Literal["merge", "replace"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS datasets (name VARCHAR PRIMARY KEY, frequency VARCHAR, "
    "metrics VARCHAR, report VARCHAR, updated TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS observations (dataset VARCHAR, unit VARCHAR, date DATE, "
    "metric VARCHAR, value DOUBLE)",
    "CREATE TABLE IF NOT EXISTS units (dataset VARCHAR, unit VARCHAR, display_name VARCHAR, "
    "\"group\" VARCHAR, attributes VARCHAR)",
    "CREATE TABLE IF NOT EXISTS results (name VARCHAR PRIMARY KEY, json VARCHAR, "
    "updated TIMESTAMP)",
)


class Store:
    """Panels, unit attributes, ingest reports and results in one DuckDB file."""

    def __init__(self, path: str | Path = ".butfor/butfor.duckdb") -> None:
        self.path = Path(path)

    # -- connections -------------------------------------------------------
    def _connect(self, *, write: bool):
        import duckdb

        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(self.path))
            for statement in _SCHEMA:
                con.execute(statement)
            return con
        if not self.path.exists():
            raise DataError(
                f"there is no store at {self.path}; run 'butfor ingest FILE...' first "
                "(or pass --store with the right file)")
        return duckdb.connect(str(self.path), read_only=True)

    @property
    def exists(self) -> bool:
        return self.path.exists()

    # -- panels ------------------------------------------------------------
    def write_panel(self, panel: Panel, report: IngestReport, name: str = "default",
                    mode: Mode = "merge") -> dict:
        """Store a panel under ``name``; ``merge`` adds to what is there, ``replace`` overwrites.

        In ``merge`` mode a value given again for the same (unit, date, metric)
        replaces the stored one; the returned ``{"replaced": n}`` counts the
        values that changed. The stored report is the merged report of every
        ingest, with ``cells_filled`` recounted over the merged grid.
        """
        if mode not in ("merge", "replace"):
            raise ValueError(f"mode must be 'merge' or 'replace', not {mode!r}")
        replaced = 0
        if mode == "merge" and name in self._names():
            old_panel, old_report = self.read_panel(name), self.read_report(name)
            panel, replaced = _merge_panels(old_panel, panel)
            report = old_report.merge(report)
            report.cells_filled = _count_filled(panel)
        # melt's own column names must not be metric names: a wide file read without
        # --metric holds the metric 'value', which would collide with value_name='value'
        tidy = panel.data.melt(id_vars=["unit", "date"], var_name="_metric",
                               value_name="_value")
        tidy = tidy.rename(columns={"_metric": "metric", "_value": "value"})
        tidy.insert(0, "dataset", name)
        tidy["date"] = pd.to_datetime(tidy["date"])
        units = panel.units.copy()
        extra = [c for c in units.columns if c not in UNIT_COLUMNS]
        units_rows = pd.DataFrame({
            "dataset": name,
            "unit": units["unit"].astype(str),
            "display_name": units["display_name"].astype(object),
            "group": units["group"].astype(object),
            "attributes": [json.dumps({c: _plain(r[c]) for c in extra}, sort_keys=True)
                           for _, r in units.iterrows()],
        })
        con = self._connect(write=True)
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM observations WHERE dataset = ?", [name])
            con.execute("DELETE FROM units WHERE dataset = ?", [name])
            con.execute("DELETE FROM datasets WHERE name = ?", [name])
            con.register("tidy_rows", tidy)
            con.execute("INSERT INTO observations SELECT dataset, unit, CAST(date AS DATE), "
                        "metric, value FROM tidy_rows")
            con.register("unit_rows", units_rows)
            con.execute("INSERT INTO units SELECT dataset, unit, display_name, \"group\", "
                        "attributes FROM unit_rows")
            con.execute("INSERT INTO datasets VALUES (?, ?, ?, ?, now())",
                        [name, panel.frequency, json.dumps(panel.metrics),
                         json.dumps(report.to_dict())])
            con.execute("COMMIT")
        finally:
            con.close()
        return {"replaced": replaced}

    def read_panel(self, name: str = "default") -> Panel:
        con = self._connect(write=False)
        try:
            meta = self._dataset_row(con, name)
            tidy = con.execute("SELECT unit, date, metric, value FROM observations "
                               "WHERE dataset = ?", [name]).df()
            units = con.execute("SELECT unit, display_name, \"group\", attributes FROM units "
                                "WHERE dataset = ? ORDER BY unit", [name]).df()
        finally:
            con.close()
        metrics = json.loads(meta[1])
        tidy["date"] = pd.to_datetime(tidy["date"]).astype("datetime64[ns]")
        data = tidy.pivot(index=["unit", "date"], columns="metric", values="value")
        data = data.reindex(columns=metrics).reset_index()
        data.columns.name = None
        attrs = pd.DataFrame([json.loads(a) for a in units["attributes"]], index=units.index)
        units = pd.concat([units.drop(columns="attributes"), attrs], axis=1)
        units["group"] = units["group"].astype(object).where(units["group"].notna(), None)
        return Panel.from_frame(data, units, frequency=meta[0], source=f"store:{name}")

    def read_report(self, name: str = "default") -> IngestReport:
        con = self._connect(write=False)
        try:
            meta = self._dataset_row(con, name)
        finally:
            con.close()
        return IngestReport.from_dict(json.loads(meta[2]))

    def list_datasets(self) -> list[dict]:
        """One dict per stored panel: name, frequency, units, rows, first, last, metrics, groups."""
        if not self.exists:
            return []
        con = self._connect(write=False)
        try:
            rows = con.execute(
                "SELECT d.name, d.metrics, d.updated, count(DISTINCT o.unit), min(o.date), "
                "max(o.date), count(DISTINCT (o.unit, o.date)), d.frequency FROM datasets d "
                "LEFT JOIN observations o ON o.dataset = d.name "
                "GROUP BY d.name, d.metrics, d.updated, d.frequency ORDER BY d.name").fetchall()
            groups = con.execute(
                "SELECT dataset, \"group\", count(*) FROM units WHERE \"group\" IS NOT NULL "
                "GROUP BY dataset, \"group\" ORDER BY dataset, \"group\"").fetchall()
        finally:
            con.close()
        out = []
        for name, metrics, updated, n_units, first, last, n_rows, frequency in rows:
            out.append({
                "name": name,
                "frequency": NAMES.get(frequency, frequency),
                "units": int(n_units),
                "rows": int(n_rows),
                "first": first,
                "last": last,
                "metrics": json.loads(metrics),
                "groups": {g: int(n) for d, g, n in groups if d == name},
                "updated": updated,
            })
        return out

    def _names(self) -> list[str]:
        if not self.exists:
            return []
        return [d["name"] for d in self.list_datasets()]

    @staticmethod
    def _dataset_row(con, name: str) -> tuple:
        row = con.execute("SELECT frequency, metrics, report FROM datasets WHERE name = ?",
                          [name]).fetchone()
        if row is None:
            names = [r[0] for r in con.execute("SELECT name FROM datasets ORDER BY name")
                     .fetchall()]
            have = f"it holds {', '.join(names)}" if names else "it is empty"
            raise DataError(f"the store has no dataset {name!r} ({have}); ingest data first "
                            "or choose one of the stored names")
        return row

    # -- results -----------------------------------------------------------
    def write_results(self, name: str, json_text: str) -> None:
        """Keep the results JSON of a run under ``name`` (replacing an older one)."""
        json.loads(json_text)  # refuse to store something that is not JSON
        con = self._connect(write=True)
        try:
            con.execute("DELETE FROM results WHERE name = ?", [name])
            con.execute("INSERT INTO results VALUES (?, ?, now())", [name, json_text])
        finally:
            con.close()

    def read_results(self, name: str) -> str:
        con = self._connect(write=False)
        try:
            row = con.execute("SELECT json FROM results WHERE name = ?", [name]).fetchone()
        finally:
            con.close()
        if row is None:
            raise DataError(f"the store has no results named {name!r}; see 'butfor data'")
        return row[0]

    def list_results(self) -> list[tuple[str, object]]:
        if not self.exists:
            return []
        con = self._connect(write=False)
        try:
            return con.execute("SELECT name, updated FROM results ORDER BY name").fetchall()
        finally:
            con.close()

    # -- export ------------------------------------------------------------
    def export_parquet(self, name: str, folder: str | Path) -> list[Path]:
        """Write ``<name>.panel.parquet`` (long, one column per metric) and ``<name>.units.parquet``."""
        panel = self.read_panel(name)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        data_path, units_path = folder / f"{name}.panel.parquet", folder / f"{name}.units.parquet"
        panel.data.to_parquet(data_path, index=False)
        panel.units.to_parquet(units_path, index=False)
        return [data_path, units_path]


# ---------------------------------------------------------------------------
def _merge_panels(old: Panel, new: Panel) -> tuple[Panel, int]:
    """New values win where they are present; returns the merged panel and values changed."""
    if old.frequency != new.frequency:
        raise DataError(
            f"the stored panel is {NAMES.get(old.frequency, old.frequency)} and the new files "
            f"are {NAMES.get(new.frequency, new.frequency)}; one panel has one frequency, so "
            "store them apart (another --store), or state the stored one with --frequency")
    key = ["unit", "date"]
    metrics = list(dict.fromkeys([*old.metrics, *new.metrics]))
    a = old.data.set_index(key).reindex(columns=metrics)
    b = new.data.set_index(key).reindex(columns=metrics)
    index = a.index.union(b.index)
    a, b = a.reindex(index), b.reindex(index)
    changed = (a.notna() & b.notna() & (a != b)).to_numpy().sum()
    merged = b.combine_first(a)[metrics]
    merged = merged[merged.notna().any(axis=1)].reset_index()
    fresh = new.units.copy()
    # a display name equal to the id is the panel's default, not information
    fresh["display_name"] = fresh["display_name"].where(fresh["display_name"] != fresh["unit"])
    units = pd.concat([fresh, old.units], ignore_index=True)
    units = _first_known(units)
    return Panel.from_frame(merged, units, frequency=new.frequency), int(changed)


def _first_known(units: pd.DataFrame) -> pd.DataFrame:
    """One row per unit: the first non-missing value of each attribute."""
    return units.groupby("unit", sort=True).first().reset_index()


def _count_filled(panel: Panel) -> int:
    return int(panel.data[panel.metrics].isna().all(axis=1).sum())


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value
