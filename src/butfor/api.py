"""The Python API for notebooks: the same answers as the command line.

::

    import butfor

    data = butfor.ingest("exports/account_overview.csv", "pageviews.json")
    data.summary()                       # every input row accounted for
    data.save("store.duckdb")            # what `butfor ingest` writes

    run = butfor.run("case.toml", out="butfor-out")
    run.verdicts()                       # one row per claim
    run.summary()                        # the report's summary table
    run.plot("fig-sts-impressions-1-counterfactual")   # a matplotlib Figure

    fit = butfor.StructuralTimeSeries(seed=1).fit(y, X, event_index=400)
    fit.summary(), fit.plot()

:func:`run` goes through exactly the path of ``butfor run`` (the case file's
checks, path confinement, ingest or the store, the analyses, claims, damages,
the report), and reads back the ``results.json`` it wrote, so a notebook and the
command line cannot disagree.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from butfor.case import Case
from butfor.case import load_case as _load_case
from butfor.results import Results

__all__ = ["CaseRun", "Ingested", "ingest", "load_case", "run"]


def load_case(path: str | Path) -> Case:
    """Read and check a case file; the same errors as ``butfor run`` (ButforError)."""
    return _load_case(Path(path))


@dataclass(frozen=True)
class Ingested:
    """A validated panel and the account of every input row (``butfor ingest``)."""

    panel: Any  # butfor.panel.Panel
    report: Any  # butfor.ingest_report.IngestReport

    def summary(self) -> pd.DataFrame:
        """One row per input file: rows read, kept, repaired and dropped."""
        return pd.DataFrame([s.to_dict() for s in self.report.sources])

    def notes(self) -> pd.DataFrame:
        """Each repair, drop and check, with its reason."""
        return pd.DataFrame([n.to_dict() for n in self.report.notes])

    def save(self, store: str | Path, dataset: str = "default") -> Path:
        """Write the panel into a DuckDB store, as ``butfor ingest --store`` does."""
        from butfor.store import Store

        Store(store).write_panel(self.panel, self.report, name=dataset)
        return Path(store)


def ingest(*paths: str | Path, format: str = "auto", unit: str | None = None,
           groups: list[str] | tuple[str, ...] = (), timezone: str | None = None,
           columns: dict[str, str] | None = None, year: int | None = None) -> Ingested:
    """Read export files (zips and folders opened) as ``butfor ingest`` does.

    ``groups`` takes ``"name=file"`` items like ``--groups``; ``columns`` maps a
    file's column names to butfor's like ``--column``.
    """
    from butfor.ingest import ingest_files

    panel, report = ingest_files([str(p) for p in paths], format=format, unit=unit,
                                 groups_files=list(groups), timezone=timezone,
                                 columns=columns, year=year)
    return Ingested(panel, report)


@dataclass(frozen=True)
class CaseRun:
    """What ``butfor run`` wrote, read back: the results and where the files are."""

    results: Results
    out: Path
    timings: dict

    @property
    def report_path(self) -> Path:
        return self.out / "report.html"

    def verdicts(self) -> pd.DataFrame:
        """One row per claim: its kind, verdict and the sentence that explains it."""
        rows = [{"claim": v.get("claim"), "kind": v.get("kind"),
                 "verdict": v.get("verdict"), "allegation": v.get("allegation"),
                 "sentence": v.get("sentence")}
                for v in self.results.verdicts]
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """The report's summary table: each analysis's estimate, in its own units."""
        return pd.DataFrame(self.results.summary_table)

    def figures(self) -> pd.DataFrame:
        """The report's figures, in the page's order: id, kind, title."""
        from butfor.report.plotdata import figures_for

        return pd.DataFrame([{"id": p.id, "kind": p.kind, "title": p.title}
                             for p in figures_for(self.results.to_dict())])

    def plot(self, figure: str | int = 0):
        """One of the report's figures as a matplotlib Figure, by id or position."""
        from butfor.report.figures import draw
        from butfor.report.plotdata import figures_for

        plots = figures_for(self.results.to_dict())
        if isinstance(figure, int):
            return draw(plots[figure])
        for p in plots:
            if p.id == figure:
                return draw(p)
        raise KeyError(f"no figure {figure!r}; the figures are "
                       + ", ".join(p.id for p in plots))


def run(case_file: str | Path, *, out: str | Path | None = None,
        store: str | Path = ".butfor/butfor.duckdb", pdf: bool = False, png: bool = False,
        allow_paths: list[str | Path] | tuple[str | Path, ...] = (),
        fetch: bool = False, quiet: bool = True) -> CaseRun:
    """Run a case file exactly as ``butfor run`` does and return what it wrote.

    ``out`` defaults to ``butfor-out`` beside the case file; ``png`` also writes each
    figure as a PNG file beside its SVG. ``quiet`` keeps the
    summary the command prints out of the notebook.
    """
    from rich.console import Console

    from butfor.pipeline import run_case_file

    case_file = Path(case_file)
    out_dir = Path(out) if out is not None else case_file.parent / "butfor-out"
    console = Console(file=io.StringIO()) if quiet else Console()
    run_case_file(case_file, out=out_dir, store_path=Path(store), console=console, pdf=pdf,
                  allow_paths=[Path(p) for p in allow_paths], fetch=fetch, png=png)
    results = Results.from_dict(json.loads((out_dir / "results.json").read_text("utf-8")))
    run_json = out_dir / "run.json"
    timings = json.loads(run_json.read_text("utf-8")).get("timings_seconds", {}) \
        if run_json.is_file() else {}
    return CaseRun(results, out_dir, timings)
