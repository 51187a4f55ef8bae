"""`butfor power CASE.toml`: the smallest change each method could detect on this case's data.

For every method of the case that has a power measure and every metric the
case analyses or its claims name, the power curve measured on this very data
(:mod:`butfor.inference.power`): the structural time series refitted at
``[power] pseudo_events`` pre-period pseudo-dates with known changes injected
(:mod:`butfor.methods.sts_pseudo`); the rank tests among peers with each peer
in turn as the subject. It prints the minimum detectable effect (80% power)
each way, and, for each claim, whether the data could detect the smallest
effect that matters; ``--out`` also writes ``power.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from butfor.errors import DataError, ParameterError

PLACEBO_METHODS = ("peer_effects", "prepost", "sdid")  # power from the placebo distribution
POWER_METHODS = ("sts", *PLACEBO_METHODS)
POWER_KINDS = ("declined_after", "beyond_platform_trend", "targeted")  # power decides these


@dataclass(frozen=True)
class PowerRow:
    method: str
    metric: str
    curve: dict | None  # PowerCurve.to_dict(), or None with ``why``
    why: str = ""

    def to_dict(self) -> dict:
        return {"method": self.method, "metric": self.metric, "power": self.curve,
                "why": self.why or None}


def jobs_for(case) -> list[tuple[str, str]]:
    """(method, metric) pairs: every power method on the outcome, and what claims need."""
    from butfor.pipeline import _claim_metrics

    jobs = [(m, case.outcome.metric) for m in case.methods if m in POWER_METHODS]
    for metric, methods in _claim_metrics(case).items():
        jobs += [(m, metric) for m in methods if m in POWER_METHODS]
    return jobs


def measure(case, panel, method: str, metric: str) -> PowerRow:
    """One method's power curve on one metric of the case."""
    other = case.model_copy(update={"outcome": case.outcome.model_copy(
        update={"metric": metric})})
    seed = case.case.seed
    try:
        if method == "sts":
            return PowerRow(method, metric, _sts_curve(other, panel, seed))
        from butfor.analyses.adapters import analyses_and_draws
        from butfor.inference.power import placebo_power_for
        from butfor.results import to_jsonable

        for a in analyses_and_draws(method, other, panel, seed=seed)[0]:
            curve = placebo_power_for(a, effects=case.power.effects)
            if curve is not None:
                return PowerRow(method, metric, to_jsonable(curve))
        return PowerRow(method, metric, None, "no placebo distribution on the log scale")
    except ParameterError as err:  # the structural time series' own: said as the case's key
        from butfor.analyses.case_terms import case_error

        return PowerRow(method, metric, None, str(case_error(err, method) or err))
    except DataError as err:
        return PowerRow(method, metric, None, str(err))


def _sts_curve(case, panel, seed: int) -> dict | None:
    from butfor.analyses.sts import sts_inputs
    from butfor.methods.sts import StructuralTimeSeries
    from butfor.methods.sts_pseudo import sts_pseudo_event_check
    from butfor.results import to_jsonable

    inputs = sts_inputs(case, panel, seed=seed)
    if not inputs.relative_effects:
        raise DataError("a relative change of day-on-day growth (pct_change) is not a change "
                        "in the metric, so no power is measured for it")
    model = StructuralTimeSeries(**inputs.settings)
    check = sts_pseudo_event_check(model, inputs.y, inputs.X, dates=inputs.dates,
                                   event_index=inputs.periods[0][0],
                                   n_events=case.power.pseudo_events, n_draws=None,
                                   effects=case.power.effects)
    return to_jsonable(check.power.to_dict())


def power_command(case_file: Path, *, store_path: Path, console: Console,
                  out: Path | None = None, allow_paths: list[Path] | None = None) -> list[PowerRow]:
    from threadpoolctl import threadpool_limits

    from butfor.pipeline import load_case_data

    loaded = load_case_data(case_file, store_path=store_path, console=console,
                            allow_paths=allow_paths)
    case, panel = loaded.case, loaded.panel
    loaded.case.check_against(panel)
    jobs = jobs_for(case)
    if not jobs:
        raise DataError(f"{case_file}: none of the case's methods ({', '.join(case.methods)}) "
                        f"has a power measure; add one of {', '.join(POWER_METHODS)} to "
                        "'methods'")
    rows: list[PowerRow] = []
    with threadpool_limits(limits=1), Progress(
            TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("power", total=len(jobs))
        for method, metric in jobs:
            progress.update(task, description=f"{method} on {metric}")
            rows.append(measure(case, panel, method, metric))
            progress.advance(task)
    print_power(rows, case, console)
    if out is not None:
        from butfor.results import dumps

        out.mkdir(parents=True, exist_ok=True)
        path = out / "power.json"
        path.write_text(dumps({"power": [r.to_dict() for r in rows],
                               "claims": claim_rows(rows, case)}), encoding="utf-8")
        console.print(f"\npower: {path}")
    return rows


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def claim_rows(rows: list[PowerRow], case) -> list[dict]:
    """For each claim: the curve of the first method its kind prefers, and what it can see."""
    from butfor.claims import PREFERRED_METHODS
    from butfor.verdicts import minimum_detectable

    found = []
    for claim in case.claims:
        if claim.kind not in POWER_KINDS:
            continue  # its verdict reads dating, groups or money, not a power curve
        metric = case.claim_metric(claim)
        smallest = case.smallest_effect(claim)
        row = next((r for m in PREFERRED_METHODS.get(claim.kind, []) for r in rows
                    if r.method == m and r.metric == metric and r.curve), None)
        mde = minimum_detectable(row.curve, claim.direction) if row else None
        found.append({"claim": claim.id, "metric": metric, "direction": claim.direction,
                      "method": row.method if row else None, "mde": mde,
                      "smallest_effect": smallest,
                      "detectable": None if row is None else (mde is not None
                                                              and mde <= smallest)})
    return found


def print_power(rows: list[PowerRow], case, console: Console) -> None:
    table = Table(title="Smallest change each method detects with 80% power "
                        "(measured on this data)", title_justify="left")
    for col in ("method", "metric", "fall", "rise", "how"):
        table.add_column(col, justify="right" if col in ("fall", "rise") else "left")
    for r in rows:
        if r.curve is None:
            table.add_row(r.method, r.metric, "–", "–", Text(f"not measured: {r.why}"))
            continue
        largest = max(abs(e) for e in r.curve["effects"])

        def mde(key: str, curve: dict = r.curve, largest: float = largest) -> str:
            value = curve.get(key)
            return _pct(value) if value is not None else f"> {_pct(largest)}"

        table.add_row(r.method, r.metric, mde("mde_fell"), mde("mde_rose"),
                      Text(f"{r.curve['how']}; level {r.curve['alpha']:g}"))
    console.print(table)
    claims = claim_rows(rows, case)
    if claims:
        t = Table(title="Claims: could the data detect the smallest effect that matters?",
                  title_justify="left")
        for col in ("claim", "metric", "direction", "method", "MDE", "smallest effect",
                    "detectable"):
            t.add_column(col)
        for c in claims:
            t.add_row(Text(c["claim"]), c["metric"], c["direction"], c["method"] or "–",
                      _pct(c["mde"]), _pct(c["smallest_effect"]),
                      {True: "yes", False: "no", None: "not measured"}[c["detectable"]])
        console.print(t)
