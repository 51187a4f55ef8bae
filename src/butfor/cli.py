"""The command line: thin wrappers that call the library and print.

Every command catches :class:`ButforError`, prints its one sentence and exits
with code 2, so bad input never shows a traceback.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from butfor.connectors.cli import register_fetch
from butfor.errors import ButforError

app = typer.Typer(
    name="butfor",
    help="But for a platform change, what would this account's reach, engagement and income "
    "have been, and what is the difference worth?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# a pipe or a CI log has no width of its own; 110 columns keeps the tables whole
console = Console(stderr=False, highlight=False,
                  width=None if sys.stdout.isatty() else 110)
err_console = Console(stderr=True, highlight=False)

DEFAULT_STORE = Path(".butfor/butfor.duckdb")


def _friendly(command):
    """Turn ButforError into one sentence on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ButforError as err:
            err_console.print(f"error: {err}", markup=False, soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper


@app.command()
@_friendly
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("butfor-output/demo"),
    seed: Annotated[int, typer.Option(help="Random seed of the simulated platform.")] = 2022,
    store: Annotated[Path, typer.Option(help="DuckDB store file.")] = DEFAULT_STORE,
) -> None:
    """Simulate a platform, run every analysis on its public figure, write a report."""
    from butfor.demo import run_demo

    run_demo(out=out, seed=seed, store_path=store, console=console)


@app.command()
@_friendly
def run(
    case_file: Annotated[Path, typer.Argument(help="The case file (TOML).")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("butfor-output/case"),
    store: Annotated[Path, typer.Option(help="DuckDB store file.")] = DEFAULT_STORE,
    fetch: Annotated[bool, typer.Option(
        "--fetch", help="Fetch the case's [[controls.fetched]] series (goes online).")] = False,
) -> None:
    """Run a case file end to end: analyses, verdicts, damages, report."""
    from butfor.pipeline import run_case_file

    run_case_file(case_file, out=out, store_path=store, console=console, fetch=fetch)


@app.command()
@_friendly
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Export files to read.")],
    format: Annotated[str, typer.Option("--format", help="Reader name, or 'auto'.")] = "auto",
    unit: Annotated[str | None, typer.Option(help="Unit id for single-account exports.")] = None,
    group: Annotated[str | None, typer.Option(help="Group label for every unit read.")] = None,
    groups_file: Annotated[
        list[str] | None,
        typer.Option("--groups-file", help="LABEL=FILE: a list of handles in that group."),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="Time zone for post-level exports (e.g. UTC).")
    ] = None,
    store: Annotated[Path, typer.Option(help="DuckDB store file.")] = DEFAULT_STORE,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help="SOURCE=TARGET: read header SOURCE as unit, date or a "
                     "metric name (an empty TARGET leaves the column out)."),
    ] = None,
    metric: Annotated[
        str | None, typer.Option(help="Metric held by a wide file's unit columns.")
    ] = None,
) -> None:
    """Read exports into the store, accounting for every row."""
    from butfor.ingest import ingest_command

    ingest_command(files, format=format, unit=unit, group=group, groups_files=groups_file or [],
                   timezone=timezone, store_path=store, console=console, metric=metric,
                   columns=column or [])


@app.command()
@_friendly
def data(
    store: Annotated[Path, typer.Option(help="DuckDB store file.")] = DEFAULT_STORE,
    export: Annotated[
        Path | None, typer.Option(help="Write the panel and units as Parquet into this folder.")
    ] = None,
) -> None:
    """List what is stored (and optionally export it to Parquet)."""
    from butfor.ingest import data_command

    data_command(store_path=store, export=export, console=console)


@app.command()
@_friendly
def report(
    results_file: Annotated[Path, typer.Argument(help="A results.json written by butfor.")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default: beside it).")] = None,
) -> None:
    """Re-render the report from results.json without re-running the analysis."""
    from butfor.report import render_report_file

    written = render_report_file(results_file, out=out)
    console.print(f"report written to {written}")


@app.command()
@_friendly
def audit(
    parquet: Annotated[Path | None, typer.Option(
        help="Folder of Parquet partitions (one file or sub-folder per partition of accounts).")] = None,
    store: Annotated[Path | None, typer.Option(
        help="DuckDB store to read --dataset from; results are written into it too.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset name in the store.")] = None,
    event: Annotated[str | None, typer.Option(help="Event date (YYYY-MM-DD) for every account.")] = None,
    event_column: Annotated[str | None, typer.Option(
        help="Per-account event dates: a column of units.parquet or of the panel.")] = None,
    metric: Annotated[str, typer.Option(help="Outcome metric.")] = "impressions",
    group_column: Annotated[str, typer.Option(help="Unit attribute holding the group.")] = "group",
    control_metric: Annotated[list[str] | None, typer.Option(
        "--control-metric", help="Off-platform control series (repeatable).")] = None,
    reference: Annotated[str, typer.Option(
        help="Counterfactual change from: platform, group or none.")] = "platform",
    reference_group: Annotated[str | None, typer.Option(
        help="Compare every account with this group's accounts instead.")] = None,
    base_group: Annotated[str | None, typer.Option(
        help="Comparison group of the disproportion test (default: first by name).")] = None,
    pre_days: Annotated[int | None, typer.Option(help="Days before the event to use.")] = None,
    post_days: Annotated[int | None, typer.Option(help="Days from the event on to use.")] = None,
    transform: Annotated[str, typer.Option(help="log1p or identity.")] = "log1p",
    out: Annotated[Path, typer.Option(help="Output folder (resumes if it holds this audit).")] = Path(
        "butfor-output/audit"),
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address, or 'local' for a local Dask cluster.")] = None,
    workers: Annotated[int, typer.Option(help="Processes (local pool or local Dask cluster).")] = 1,
    alpha: Annotated[float, typer.Option(help="False-discovery rate for flagging accounts.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Seed (recorded; used by --simulate).")] = 0,
    simulate: Annotated[int | None, typer.Option(
        help="Simulate a platform with this many accounts and audit it.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Audit every account around an event: effects, group disproportion, most affected."""
    from butfor.audit import audit_command

    audit_command(parquet=parquet, store=store, dataset=dataset, event=event,
                  event_column=event_column, metric=metric, group_column=group_column,
                  control_metric=control_metric or [], reference=reference,
                  reference_group=reference_group, base_group=base_group, pre_days=pre_days,
                  post_days=post_days, transform=transform, out=out, scheduler=scheduler,
                  workers=workers, alpha=alpha, seed=seed, console=console, progress=progress,
                  simulate=simulate)


register_fetch(app, _friendly, console, DEFAULT_STORE)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
