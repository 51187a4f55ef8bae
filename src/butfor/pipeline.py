"""Run a case end to end: check, analyse, judge, price, write.

The pipeline runs every method the case names; methods know nothing of
files, plots or each other. Each method's case adapter,
``analyses_for_case(case, panel, *, seed) -> list[dict]``, is found by
:func:`butfor.analyses.adapters.adapter_for`, and its analyses read into typed
records (:mod:`butfor.records`) by
:func:`butfor.analyses.adapters.analyses_and_draws`.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from butfor import __version__
from butfor.analyses.adapters import analyses_and_draws
from butfor.case import Case, load_case
from butfor.errors import ButforError
from butfor.ingest_report import IngestReport
from butfor.panel import Panel
from butfor.records import Analysis, replace_fields
from butfor.results import Results, dumps, to_jsonable

_VERSIONED = ["numpy", "scipy", "pandas", "duckdb", "pyfixest", "pydantic", "ruptures"]


@dataclass(frozen=True)
class InputFile:
    name: str
    sha256: str


@dataclass(frozen=True)
class RunOutput:
    results: Results
    timings: dict[str, float]


def run_case(
    case: Case,
    panel: Panel,
    report: IngestReport,
    *,
    inputs: list[InputFile],
    case_toml: str | None,
    command: str,
    console: Console | None = None,
) -> RunOutput:
    """Every analysis the case asks for, then claims and damages, as Results."""
    from butfor.threads import single_threaded

    # one thread in every backend (BLAS, the regression's demeaner): faster on these
    # small matrices, and the same bits every run whatever else the machine is doing
    with single_threaded():
        return _run_case(case, panel, report, inputs=inputs, case_toml=case_toml,
                         command=command, console=console)


def _run_case(case: Case, panel: Panel, report: IngestReport, *, inputs: list[InputFile],
              case_toml: str | None, command: str, console: Console | None) -> RunOutput:
    case.check_against(panel)
    timings: dict[str, float] = {}
    analyses: list[Analysis] = []
    seed = case.case.seed
    claimed = _claim_metrics(case)
    extra = [m for m in _damages_metrics(case) if m not in claimed]
    draws: dict[tuple[str, str], object] = {}
    with _progress(console) as progress:
        task = progress.add_task("analysing", total=len(case.methods) + len(extra) + 1
                                 + sum(len(v) for v in claimed.values()))
        # the case's own methods, shared with a helper process on a large panel
        # (butfor.parallel_methods), then put back in the case's order
        from butfor.parallel_methods import run_methods, shared, warm_methods

        if shared(list(case.methods), panel):  # the run's helper (if any) imports now
            warm_methods(list(case.methods), panel)

        def started(method: str) -> None:
            progress.update(task, description=f"{method}")

        for method, (out, taken, seconds) in zip(
                case.methods, run_methods(list(case.methods), case, panel, seed, started),
                strict=True):
            analyses.extend(out)
            draws.update(taken)
            timings[method] = seconds
            progress.advance(task)
        analyses = [_attach_power(_name_event(a, case), case) for a in analyses]
        for metric, methods in claimed.items():
            # a claim about another metric (replies in an impressions case) gets the
            # analyses its kind needs, on that metric, with the case's own settings
            other = case.model_copy(update={"outcome": case.outcome.model_copy(
                update={"metric": metric})})
            for method in methods:
                progress.update(task, description=f"{method} on {metric}")
                analyses.extend(_run_method(method, other, panel, seed, draws))
                progress.advance(task)
        for metric in extra:
            # damages price a metric the case did not analyse: estimate it against the
            # peers (pre/post on the log scale), which suits stock metrics such as
            # followers that grow along with the peers', so its draws can be priced
            progress.update(task, description=f"prepost on {metric}")
            other = case.model_copy(update={"outcome": case.outcome.model_copy(
                update={"metric": metric, "transform": "none"})})
            analyses.extend(_run_method("prepost", other, panel, seed, draws))
            progress.advance(task)
        analyses = [_attach_power(_name_event(a, case), case) for a in analyses]
        progress.update(task, description="damages")
        start = time.perf_counter()
        damages = _damages(case, panel, analyses, draws, seed)
        timings["damages"] = round(time.perf_counter() - start, 3)
        progress.advance(task)

    from butfor.claims import evaluate_claims

    unit_groups = dict(zip(panel.units["unit"], panel.units["group"], strict=True))
    verdicts = [v.to_dict() for v in evaluate_claims(case, analyses, damages, unit_groups,
                                                     frequency=panel.frequency)]
    results = Results(
        case=to_jsonable(case.model_dump(mode="json")),
        analyses=analyses,
        verdicts=verdicts,
        damages=damages,
        ingest=report.to_dict(),
        provenance=_provenance(case, inputs, case_toml, command),
        summary_table=_summary_table(analyses, case),
    )
    return RunOutput(results=results, timings=timings)


def _run_method(method: str, case: Case, panel: Panel, seed: int,
                draws: dict | None = None) -> list[Analysis]:
    """The method's analyses as typed records; their counterfactual draws go into ``draws``."""
    records, taken = analyses_and_draws(method, case, panel, seed=seed)
    if draws is not None:
        draws.update(taken)
    return records


def _claim_metrics(case: Case) -> dict[str, list[str]]:
    """Metrics claims name beyond the outcome, each with the case methods its claims need."""
    from butfor.claims import methods_for

    wanted: dict[str, list[str]] = {}
    for claim in case.claims:
        metric = case.claim_metric(claim)
        if metric == case.outcome.metric:
            continue
        needs = set(methods_for(claim.kind))
        for method in case.methods:
            if method in needs and method not in wanted.setdefault(metric, []):
                wanted[metric].append(method)
    return {m: v for m, v in wanted.items() if v}


def _attach_power(analysis: Analysis, case: Case) -> Analysis:
    """A rank test's power curve, from its own placebo distribution (no refit needed)."""
    if analysis.power is not None:
        return analysis
    from butfor.inference.power import placebo_power_for

    curve = placebo_power_for(analysis, effects=case.power.effects)
    if curve is None:
        return analysis
    return replace_fields(analysis, power=to_jsonable(curve))


def _damages_metrics(case: Case) -> list[str]:
    """Metrics the damages price that the case's own analyses do not estimate."""
    if case.damages is None:
        return []
    metrics = {p.metric for p in case.damages.pricing if hasattr(p, "metric")}
    return sorted(metrics - {case.outcome.metric})


def _damages(case: Case, panel: Panel, analyses: list[Analysis], draws: dict,
             seed: int) -> dict | None:
    """Price, apportion and test the subject's loss (:mod:`butfor.damages.from_analyses`)."""
    if case.damages is None:
        return None
    from butfor.damages.from_analyses import run_damages

    return run_damages(case, panel, analyses, draws, seed, _run_method)


def _name_event(analysis: Analysis, case: Case) -> Analysis:
    """Tag an analysis with the event it is about, matched by the effect's event date."""
    effect = getattr(analysis, "effect", None)
    if analysis.event is not None or effect is None:
        return analysis
    for e in case.events:
        if e.date is not None and str(e.date) == effect.event_date:
            return replace_fields(analysis, event=e.name)
    return analysis


def write_outputs(output: RunOutput, out: Path, *, pdf: bool = False,
                  png: bool = False) -> dict[str, Path]:
    """results.json (byte-reproducible), run.json (timings), report.html (and .pdf, and
    PNG figure files beside the SVG ones)."""
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    text = output.results.to_json()
    results_path.write_text(text, encoding="utf-8")
    run_path = out / "run.json"
    run_path.write_text(dumps({"timings_seconds": output.timings}), encoding="utf-8")
    written = {"results": results_path, "run": run_path}
    from butfor.report import write_report

    # the report is drawn from what results.json holds (floats at 12 digits), so that
    # `butfor report results.json` redraws the very same page
    written["report"] = write_report(json.loads(text), out, pdf=pdf, png=png)
    if pdf:
        from butfor.report import REPORT_PDF

        written["pdf"] = out / REPORT_PDF
    return written


@dataclass(frozen=True)
class LoadedCase:
    case: Case
    case_text: str
    panel: Panel
    report: IngestReport
    inputs: list[InputFile]


def load_case_data(case_file: Path, *, store_path: Path, console: Console,
                   allow_paths: list[Path] | None = None, fetch: bool = False) -> LoadedCase:
    """The case and its data, checked: what `butfor run` and `butfor power` start from.

    The case may read only inside its own folder, the current folder and ``allow_paths``.
    """
    case = load_case(case_file)  # validate the whole case before touching any data
    case_text = case_file.read_text(encoding="utf-8-sig")

    from butfor.confine import confine_case_paths
    from butfor.crossref import check_references
    from butfor.ingest import ingest_files
    from butfor.store import Store

    paths = confine_case_paths(case, case_file, case_text, allow_paths or [])
    data = case.data
    if data.files:
        panel, report = ingest_files(paths.files, format=data.format, unit=data.unit,
                                     groups_files=paths.groups_files, timezone=data.timezone,
                                     metric=data.metric, columns=data.columns, year=data.year,
                                     dates=data.dates, frequency=data.frequency)
    else:
        store = Store(paths.store or store_path)
        panel = store.read_panel(data.dataset)
        report = store.read_report(data.dataset)
        _check_stored_frequency(case, panel, case_file, case_text)
    if case.controls.fetched:  # from the cache, or (with --fetch) the network
        from butfor.connectors.commands import default_cache_dir
        from butfor.connectors.controls import add_fetched_controls

        panel, report = add_fetched_controls(case, panel, report, fetch=fetch,
                                             cache_dir=default_cache_dir(paths.store or store_path),
                                             case_file=case_file, console=console)
    inputs = [InputFile(s.file, s.sha256) for s in report.sources]
    check_references(case, panel, text=case_text, path=case_file)  # before any estimation
    inputs.append(InputFile(case_file.name, sha256_text(case_text)))
    return LoadedCase(case, case_text, panel, report, inputs)


def run_case_file(case_file: Path, *, out: Path, store_path: Path, console: Console,
                  pdf: bool | None = None, allow_paths: list[Path] | None = None,
                  fetch: bool = False, png: bool = False) -> None:
    """`butfor run CASE.toml`: load, ingest or read the store, check, run, write.

    ``pdf`` None follows the case's ``[report] pdf``; ``png`` also writes the figures
    as PNG files. The case may read only
    inside its own folder, the current folder and ``allow_paths``.
    """
    loaded = load_case_data(case_file, store_path=store_path, console=console,
                            allow_paths=allow_paths, fetch=fetch)
    case = loaded.case
    from butfor.analyses.case_terms import CaseKeyError
    from butfor.parallel import run_helper

    with run_helper():  # one helper process for the methods
        try:
            output = run_case(case, loaded.panel, loaded.report, inputs=loaded.inputs,
                              case_toml=loaded.case_text,
                              command=f"butfor run {shlex.quote(str(case_file))} "
                              f"--out {shlex.quote(str(out))}" + (" --fetch" if fetch else ""),
                              console=console)
        except CaseKeyError as err:  # a method's parameter, said as this file's key and line
            raise err.located(case_file, loaded.case_text) from None
        written = write_outputs(output, out, pdf=case.report.pdf if pdf is None else pdf,
                                png=png)
    print_summary(output.results, console)
    console.print(f"\nresults: {written['results']}\nreport:  {written['report']}")
    if "pdf" in written:
        console.print(f"PDF:     {written['pdf']}")


def _check_stored_frequency(case: Case, panel: Panel, case_file: Path, text: str) -> None:
    """A frequency the case states must be the stored panel's (butfor does not re-grid)."""
    from butfor import frequency as freq
    from butfor.case_lines import find_line
    from butfor.errors import CaseError

    stated = freq.code(case.data.frequency)
    if stated is not None and stated != panel.frequency:
        raise CaseError(case_file, f"[data] frequency is {case.data.frequency!r} but the stored "
                        f"dataset {case.data.dataset!r} is {freq.NAMES[panel.frequency]}",
                        "state the stored frequency, or ingest the files again with "
                        f"--frequency {case.data.frequency}",
                        line=find_line(text, ("data", "frequency")), column="frequency")


# ---------------------------------------------------------------------------
def print_summary(results: Results, console: Console) -> None:
    """Two short tables: the effects each method found, and the verdicts."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(str(results.case.get("case", {}).get("title", "butfor"))),
                  title_justify="left")
    for col in ["method", "metric", "event", "effect", "95% interval", "p"]:
        table.add_column(col, justify="left" if col in ("method", "metric", "event") else "right",
                         no_wrap=True)
    for row in results.summary_table:
        if row.get("relative") is None:
            # a regression coefficient on the outcome's own (not a log) scale, or an effect on
            # day-on-day growth (whose relative change means nothing)
            effect = f"{row['average']:+.4g}"
            interval = f"{row['average_lower']:+.4g} to {row['average_upper']:+.4g}"
        else:
            effect = _pct(row["relative"])
            interval = f"{_pct(row['relative_lower'])} to {_pct(row['relative_upper'])}"
        method = _method_label(row)
        table.add_row(method, row["metric"], row["event_date"] or "", effect, interval,
                      _fmt(row["p_value"], 3))
    if results.summary_table:  # a run of timing analyses only has no effect to tabulate
        console.print(table)
        for row in results.summary_table:
            if row.get("placebo_p_value") is not None:
                console.print(Text(
                    f"{_method_label(row)}: p from its interval (normal, placebo standard error); "
                    f"the claims read its placebo rank test, p = "
                    f"{_fmt(row['placebo_p_value'], 3)}."))
    for a in results.analyses:  # a method that could not fit says so here, not only in the report
        if getattr(a, "left_out", None):
            console.print(Text(f"{a.method} left out: {a.left_out}."))
        for flag in a.flags or []:  # a result that cannot mean what it says
            console.print(Text(f"{a.id} flagged {flag.name}: {flag.message}.", style="yellow"))
    if results.verdicts:
        verdicts = Table(title="Claims (the report gives the reasons)", title_justify="left")
        verdicts.add_column("allegation")
        verdicts.add_column("verdict")
        colour = {"supported": "green", "not supported": "red", "inconclusive": "yellow"}
        for v in results.verdicts:  # Text: an allegation's own brackets are not markup
            verdicts.add_row(Text(v["allegation"]),
                             Text(v["verdict"], style=colour[v["verdict"]]))
        console.print(verdicts)
    if results.damages:
        dmg = results.damages
        head = next((s for s in dmg["scenarios"] if s["name"] == dmg.get("headline")),
                    dmg["scenarios"][0])
        q = head["quantiles"]
        cur = dmg.get("currency", "USD")
        console.print(Text(f"Damages ({head['name']}, valued at {dmg.get('valuation_date')}): "
                           f"median {_fmt(q['50'])} {cur}, 90% interval {_fmt(q['5'])} to "
                           f"{_fmt(q['95'])} {cur}."))
        for warning in dmg.get("warnings") or []:
            console.print(Text(f"Damages warning: {warning}", style="yellow"))


def _method_label(row: dict) -> str:
    """The summary row's method; the SDID family's SC and DiD estimators named beside it."""
    return row["method"] + (f" ({row['estimator']})" if row.get("estimator") not in
                            (None, "sdid") else "")


def _summary_table(analyses: list[Analysis], case: Case) -> list[dict]:
    """One row per effect path (kind "effect") and per headline coefficient ("coefficient")."""
    from butfor.records import Coefficient

    rows = []
    for a in analyses:
        c = getattr(a, "estimate", None)
        if getattr(a, "effect", None) is None and isinstance(c, Coefficient):
            rows.append({
                "analysis": a.title, "id": a.id, "method": a.method,
                "metric": a.metric, "unit": None, "kind": "coefficient",
                "event_date": _event_date_of(a, case), "average": c.estimate,
                "average_lower": c.lower, "average_upper": c.upper, "cumulative": None,
                "cumulative_lower": None, "cumulative_upper": None,
                # a coefficient on a log scale (or a count model's) is also a relative change
                "relative": c.relative, "relative_lower": c.relative_lower,
                "relative_upper": c.relative_upper, "p_value": c.p_value,
            })
        # SDID's p comes from its interval (normal, placebo standard error) and the claims
        # read its placebo rank test: where the two differ the row carries both, named
        placebo = getattr(a, "placebo", None)
        placebo_p = None if placebo is None else placebo.p_value
        estimator = getattr(a, "estimator", None)
        # an effect on day-on-day growth (pct_change) has no relative change that means
        # anything: growth of 0.09% a day falling to -0.06% is not "165% lower"
        growth = case.outcome.transform == "pct_change"
        for e in a.paths():
            s = e.summary
            other = (placebo_p if placebo_p is not None and s.p_value is not None
                     and abs(placebo_p - s.p_value) > 1e-12 else None)
            rows.append({
                "analysis": a.title, "id": a.id, "method": a.method,
                **({"estimator": estimator} if estimator is not None else {}),
                "metric": e.metric, "unit": e.unit, "kind": "effect",
                "event_date": e.event_date,
                **{k: getattr(s, k) for k in ("average", "average_lower", "average_upper",
                                               "cumulative", "cumulative_lower",
                                               "cumulative_upper", "relative", "relative_lower",
                                               "relative_upper", "p_value")},
                **({"placebo_p_value": other} if other is not None else {}),
            })
            if growth:
                rows[-1].update(relative=None, relative_lower=None, relative_upper=None)
    return rows


def _event_date_of(analysis: Analysis, case: Case) -> str | None:
    for e in case.events:
        if e.name == analysis.event and e.date is not None:
            return str(e.date)
    return None


def _provenance(case: Case, inputs: list[InputFile], case_toml: str | None,
                command: str) -> dict:
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    versions["python"] = ".".join(map(str, sys.version_info[:3]))
    return {
        "butfor_version": __version__,
        "versions": versions,
        "seed": case.case.seed,
        "inputs": [{"name": i.name, "sha256": i.sha256} for i in inputs],
        "command": command,
        "case_toml": case_toml,
    }


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_panel(panel: Panel) -> str:
    """A hash of the panel's contents (order-independent of how it was built)."""
    data = panel.data.sort_values(["unit", "date"]).reset_index(drop=True)
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(panel.units.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


def _fmt(x, digits: int = 0) -> str:
    if x is None:
        return "–"
    if digits:
        return f"{x:.{digits}f}"
    return f"{x:,.0f}"


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:+.1f}%"


def _progress(console: Console | None) -> Progress:
    """The run's stage bar; with no console (a library call, the web app) rich's own
    ``disable`` keeps it silent."""
    return Progress(TextColumn("{task.description:<20}"), BarColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=console is None)


__all__ = ["ButforError", "InputFile", "RunOutput", "run_case", "write_outputs"]
