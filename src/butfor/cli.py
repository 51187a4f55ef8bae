"""The command line: thin wrappers that call the library and print.

Every command catches :class:`ButforError`, prints its one sentence and exits
with code 2, so bad input never shows a traceback. Any other exception is a
bug: it is told in one sentence (exit code 1) with the traceback written to
``butfor-error.log`` in the output folder; ``butfor --debug COMMAND`` shows it
instead. Text that comes from the user's files is printed with rich markup and
emoji codes off, so ``[red]`` or ``:x:`` in a file name or a cell stays as written.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from butfor.choices import FdrMethod, Format, Frequency, Reference, Transform, value
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
# a pipe or a CI log has no width of its own; 110 columns keeps the tables whole.
# markup and emoji off: what we print echoes file names, unit ids and allegations
console = Console(stderr=False, highlight=False, markup=False, emoji=False,
                  width=None if sys.stdout.isatty() else 110)
err_console = Console(stderr=True, highlight=False, markup=False, emoji=False)

DEFAULT_STORE = Path(".butfor/butfor.duckdb")
ERROR_LOG = "butfor-error.log"
_state = {"debug": False}


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of an unexpected error instead of one sentence.")
    ] = False,
) -> None:
    """But for a platform change, what would this account's reach, engagement and income
    have been, and what is the difference worth?"""
    _state["debug"] = debug


def _log_folder(kwargs: dict) -> Path:
    """Where the traceback goes: the command's output folder, else the store's folder."""
    for key in ("out", "store"):
        value = kwargs.get(key)
        if isinstance(value, Path):
            return value if key == "out" else value.parent
    results = kwargs.get("results_file")
    if isinstance(results, Path):
        return results.parent
    return Path(".")


def _write_log(folder: Path, text: str) -> Path | None:
    for place in (folder, Path(".")):
        try:
            place.mkdir(parents=True, exist_ok=True)
            path = place / ERROR_LOG
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            with path.open("a", encoding="utf-8") as fh:
                fh.write(f"--- {stamp}: butfor {' '.join(sys.argv[1:])}\n{text}\n")
            return path
        except OSError:
            continue
    return None


def _friendly(command):
    """ButforError: one sentence on stderr, exit code 2. Anything else: one sentence, exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ButforError as err:
            text = str(err).strip()
            err_console.print(f"error: {text}{'' if text.endswith('.') else '.'}",
                              soft_wrap=True)
            raise typer.Exit(code=2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as err:  # a bug: say so in one sentence, keep the traceback
            if _state["debug"]:
                raise
            log = _write_log(_log_folder(kwargs), traceback.format_exc())
            where = f"the traceback is in {log}" if log else "the traceback could not be saved"
            first = (str(err).strip().splitlines() or [""])[0][:200]
            err_console.print(
                f"error: butfor stopped on an unexpected {type(err).__name__}"
                f"{': ' + first if first else ''} (a bug in butfor, not in your input); "
                f"{where}; rerun as 'butfor --debug {command.__name__} ...' to see it here, "
                "and report it with that file.", soft_wrap=True)
            raise typer.Exit(code=1) from None

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
    pdf: Annotated[bool | None, typer.Option(
        "--pdf/--no-pdf", help="Also print report.pdf (needs Chromium; default: the case's "
        "[report] pdf).")] = None,
    allow_path: Annotated[list[Path] | None, typer.Option(
        "--allow-path", help="A folder the case file may read from besides its own folder and "
        "the current one (repeatable).")] = None,
    fetch: Annotated[bool, typer.Option(
        "--fetch", help="Fetch the case's [[controls.fetched]] series (goes online).")] = False,
    png: Annotated[bool, typer.Option(
        "--png", help="Also write each figure as a PNG file beside its SVG (drawn by "
        "matplotlib).")] = False,
) -> None:
    """Run a case file end to end: analyses, verdicts, damages, report."""
    from butfor.pipeline import run_case_file

    run_case_file(case_file, out=out, store_path=store, console=console, pdf=pdf,
                  allow_paths=allow_path or [], fetch=fetch, png=png)


@app.command()
@_friendly
def power(
    case_file: Annotated[Path, typer.Argument(help="The case file (TOML).")],
    out: Annotated[Path | None, typer.Option(help="Also write power.json here.")] = None,
    store: Annotated[Path, typer.Option(help="DuckDB store file.")] = DEFAULT_STORE,
    allow_path: Annotated[list[Path] | None, typer.Option(
        "--allow-path", help="A folder the case file may read from besides its own folder and "
        "the current one (repeatable).")] = None,
) -> None:
    """The smallest change each method could detect on the case's data (80% power)."""
    from butfor.power_command import power_command

    power_command(case_file, store_path=store, console=console, out=out,
                  allow_paths=allow_path or [])


@app.command()
@_friendly
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Export files, zips or folders to read.")],
    format: Annotated[Format, typer.Option("--format", help="Reader name, or 'auto'.")] = Format.auto,
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
    year: Annotated[
        int | None, typer.Option(help="Year of the latest date, for exports whose dates have "
                                 "none (TikTok Studio).")
    ] = None,
    dates: Annotated[
        str | None, typer.Option(help="START:END, the plausible window of dates (default "
                                 "1900-01-01:2100-12-31).")
    ] = None,
    frequency: Annotated[
        Frequency, typer.Option(help="The panel's frequency: auto (from the dates), daily, "
                                "weekly, monthly, quarterly or annual.")
    ] = Frequency.auto,
) -> None:
    """Read exports (files, zips or folders) into the store, accounting for every row."""
    from butfor.ingest import ingest_command

    ingest_command(files, format=value(format), unit=unit, group=group, groups_files=groups_file or [],
                   timezone=timezone, store_path=store, console=console, metric=metric,
                   columns=column or [], year=year, dates=dates, frequency=value(frequency))


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
    pdf: Annotated[bool | None, typer.Option(
        "--pdf/--no-pdf", help="Also print report.pdf (needs Chromium; default: the case's "
        "[report] pdf).")] = None,
    png: Annotated[bool, typer.Option(
        "--png", help="Also write each figure as a PNG file beside its SVG (drawn by "
        "matplotlib).")] = False,
) -> None:
    """Re-render the report from results.json without re-running the analysis."""
    from butfor.report import REPORT_PDF, render_report_file

    written = render_report_file(results_file, out=out, pdf=pdf, png=png)
    console.print(f"report written to {written}")
    pdf_path = written.parent / REPORT_PDF
    if pdf is not False and pdf_path.is_file() and pdf_path.stat().st_mtime >= written.stat().st_mtime:
        console.print(f"PDF written to {pdf_path}")


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
    reference: Annotated[Reference, typer.Option(
        help="Counterfactual change from: platform, group or none.")] = Reference.platform,
    reference_group: Annotated[str | None, typer.Option(
        help="Compare every account with this group's accounts instead.")] = None,
    base_group: Annotated[str | None, typer.Option(
        help="Comparison group of the disproportion test (default: first by name).")] = None,
    pre_days: Annotated[int | None, typer.Option(help="Days before the event to use.")] = None,
    post_days: Annotated[int | None, typer.Option(help="Days from the event on to use.")] = None,
    transform: Annotated[Transform, typer.Option(help="log1p or identity.")] = Transform.log1p,
    out: Annotated[Path, typer.Option(help="Output folder (resumes if it holds this audit).")] = Path(
        "butfor-output/audit"),
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address, or 'local' for a local Dask cluster.")] = None,
    workers: Annotated[int, typer.Option(help="Processes (local pool or local Dask cluster).")] = 1,
    alpha: Annotated[float, typer.Option(help="False-discovery rate for flagging accounts.")] = 0.05,
    fdr_method: Annotated[FdrMethod, typer.Option(
        help="bh (Benjamini-Hochberg), by (Benjamini-Yekutieli: any dependence) or auto "
             "(bh when a reference or control removes the shared movement, else by).")] = FdrMethod.auto,
    level: Annotated[float, typer.Option(help="Level of every interval the audit writes.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed (recorded; used by --simulate).")] = 0,
    simulate: Annotated[int | None, typer.Option(
        help="Simulate a platform with this many accounts and audit it.")] = None,
    simulate_days: Annotated[int | None, typer.Option(
        help="Days of the simulated platform (default 365; the event at day 250 of 365).")] = None,
    partition_accounts: Annotated[int, typer.Option(
        help="Accounts per partition where butfor writes them (--simulate, --store).")] = 2000,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Audit every account around an event: effects, group disproportion, most affected."""
    from butfor.audit import audit_command

    audit_command(parquet=parquet, store=store, dataset=dataset, event=event,
                  event_column=event_column, metric=metric, group_column=group_column,
                  control_metric=control_metric or [], reference=value(reference),
                  reference_group=reference_group, base_group=base_group, pre_days=pre_days,
                  post_days=post_days, transform=value(transform), out=out, scheduler=scheduler,
                  workers=workers, alpha=alpha, seed=seed, console=console, progress=progress,
                  simulate=simulate, simulate_days=simulate_days,
                  partition_accounts=partition_accounts, level=level,
                  fdr_method=value(fdr_method))


@app.command()
@_friendly
def events(
    platform: Annotated[str | None, typer.Argument(help="Only this platform (e.g. x).")] = None,
    sources: Annotated[bool, typer.Option(help="Print each change's sources.")] = False,
) -> None:
    """List the dated platform changes in butfor's registry, with their sources."""
    from rich.table import Table

    from butfor.errors import CaseError
    from butfor.registry import load_registry

    registry = load_registry()
    if platform is not None and platform not in registry.platforms:
        raise CaseError(None, f"the events registry has no platform {platform!r}",
                        f"use one of {', '.join(registry.platforms)}")
    table = Table(title="Platform changes: in a case, an event may say registry = \"<id>\"",
                  title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("date", no_wrap=True)
    table.add_column("what changed", overflow="fold", min_width=36)
    table.add_column("scope", overflow="fold", min_width=18)
    for change in registry.for_platform(platform):
        dated = change.dated() + ("\n(announced)" if change.date_basis == "announced" else "")
        table.add_row(change.id, dated, change.title, change.scope)
    console.print(table)
    if sources:
        for change in registry.for_platform(platform):
            console.print(f"{change.id}: {change.citation()}", markup=False, soft_wrap=True)
            if change.note:
                console.print(f"  note: {change.note}", markup=False, soft_wrap=True)
    else:
        console.print("--sources prints where each date comes from.")


DEFAULT_WEB_HOME = Path(".butfor/web")
user_app = typer.Typer(help="Users of 'butfor serve'.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@app.command()
@_friendly
def serve(
    home: Annotated[Path, typer.Option(help="Folder of the web store and users' files.")] = DEFAULT_WEB_HOME,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes that run the cases.")] = 1,
    max_upload_mb: Annotated[float, typer.Option(help="Largest upload accepted, in MB.")] = 50.0,
    job_timeout: Annotated[float, typer.Option(help="Seconds a run may take.")] = 1800.0,
) -> None:
    """Serve the web page: upload exports, build a case, run it, read the verdicts."""
    from butfor.web.app import Settings
    from butfor.web.app import serve as run_server

    console.print(f"butfor serve on http://{host}:{port}/ (store {home / 'web.duckdb'}); "
                  "add a user with 'butfor user add NAME'.")
    run_server(Settings(home=home, workers=workers, max_upload_mb=max_upload_mb,
                        job_timeout_s=job_timeout), host=host, port=port)


@user_app.command("add")
@_friendly
def user_add(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    home: Annotated[Path, typer.Option(help="Folder of the web store.")] = DEFAULT_WEB_HOME,
) -> None:
    """Create a user of 'butfor serve' and print their token (shown only this once)."""
    from butfor.web.app import STORE_FILE
    from butfor.web.auth import add_user

    token = add_user(home / STORE_FILE, name)
    console.print(f"user {name} added; their token (shown once, kept only as a hash):")
    console.print(token, markup=False, soft_wrap=True)


register_fetch(app, _friendly, console, DEFAULT_STORE)


def main() -> None:
    from butfor.threads import pin_environment

    # before any library starts a thread pool; `serve`'s and the audit's worker
    # processes inherit it
    pin_environment()
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
