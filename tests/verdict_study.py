"""The verdict study (issue 13): how often each verdict is wrong, on the simulated platform.

Every run simulates a small platform (:func:`butfor.simulate.simulate_platform`) with a
known truth, files the same five claims against it, and runs them through the whole
pipeline (:func:`butfor.pipeline.run_case`) as a user's case would. Each claim is true or
false **by construction** from what the scenario injected; the study counts, for every
(claim kind, scenario), how often the verdict was ``supported``, ``not supported`` and
``inconclusive``. The promise of ``docs/verdict-policy.md`` is that ``supported`` is rare
when the claim is false and ``not supported`` is rare when it is true (at most 5% each).

What a claim means here (its truth is decided by the injected effect **of the event**,
the but-for question the product answers, not by what the series did afterwards):

- ``declined_after`` -- the event lowered the subject's reach (any of the platform,
  group or subject shocks is negative for the subject).
- ``beyond_platform_trend`` and ``targeted`` -- the event lowered the subject's reach by
  more than it lowered its peers' (the subject's own shock is negative; a group shock to
  the subject's whole group does not count for ``targeted``, and the scenarios never give
  the subject's group a shock the subject alone escapes).
- ``not_preexisting`` -- no decline of the subject began before the event (minus the
  claim's 14-day tolerance).
- ``disproportionate`` -- the event lowered the left group's reach more than the right's.

``python tests/verdict_study.py --seeds 100 --workers 2`` runs the study and writes its
table into ``docs/verdict-study.md``; ``tests/test_verdict_study.py`` asserts the
promise at CI size (and at full size with ``--full``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from butfor.case import parse_case
from butfor.errors import AssumptionWarning, DataError
from butfor.ingest_report import IngestReport
from butfor.panel import Panel
from butfor.pipeline import run_case
from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script too
from test_verdicts import assert_sentence_agrees

SUBJECT = "ava_sterling"
START = dt.date(2022, 1, 1)
DAYS, EVENT_DAY, N_PEERS = 300, 200, 40  # 200 days before the event, 100 after
METHODS = ["sts", "peer_effects", "prepost", "event_study", "changepoint"]
STS_DRAWS = 1000  # the case default; 500 fails the convergence gate on these series
STS_PSEUDO_EVENTS = 10  # the case default: the known error rate and the power curve
CLAIM_KINDS = ("declined_after", "beyond_platform_trend", "targeted", "not_preexisting",
               "disproportionate")
VERDICTS = ("supported", "not supported", "inconclusive")
PROMISED_RATE = 0.05  # docs/verdict-policy.md: each wrong verdict at most 5% of the time


@dataclass(frozen=True)
class Scenario:
    """One simulated world: what happened at the event, and which claims are true in it."""

    name: str
    words: str  # for the table
    platform: float = 0.0  # log-scale shocks at the event: every account ...
    left: float = 0.0  # ... the left group on top (the subject is in it) ...
    subject: float = 0.0  # ... the subject alone on top
    pre_decline_days: int = 0  # the subject declines from this many days before the event
    pre_decline_per_day: float = 0.0  # log scale a day, going on after the event
    misspecified: bool = False
    days: int = DAYS
    event_day: int = EVENT_DAY
    n_peers: int = N_PEERS
    truth: dict[str, bool] = field(default_factory=dict)

    def event_date(self) -> dt.date:
        return START + dt.timedelta(days=self.event_day)


def _truth(s: Scenario) -> dict[str, bool]:
    """Each claim's truth from the injected shocks (the module docstring says why)."""
    subject_total = s.platform + s.left + s.subject
    return {
        "declined_after": subject_total < 0,
        "beyond_platform_trend": s.subject < 0,
        "targeted": s.subject < 0,
        "not_preexisting": not (s.pre_decline_days > 14 and s.pre_decline_per_day < 0),
        "disproportionate": s.left < 0,
    }


def _scenario(name: str, words: str, **kw) -> Scenario:
    s = Scenario(name, words, **kw)
    return Scenario(**{**s.__dict__, "truth": _truth(s)})


# the effects are log-scale: -0.3 is a 26% fall, -0.2 an 18% fall
SCENARIOS: dict[str, Scenario] = {s.name: s for s in [
    _scenario("no_effect", "nothing happened at the event"),
    _scenario("effect", "the event cut every account 5%, the left group 18% more and the "
              "subject 26% more", platform=-0.05, left=-0.2, subject=-0.3),
    _scenario("opposite", "the same shocks with the opposite sign (the subject rose)",
              platform=0.05, left=0.2, subject=0.3),
    _scenario("pre_decline", "the subject began falling 60 days before the event (0.4% a "
              "day, going on after it); the event did nothing",
              pre_decline_days=60, pre_decline_per_day=-0.004),
    _scenario("platform", "the event cut every account 26% alike", platform=-0.3),
    _scenario("misspecified", "nothing happened at the event, but the subject's series has "
              "heavy-tailed noise (Student t, 3 df), viral spikes and a weekly pattern of "
              "its own, which no model assumes", misspecified=True),
    _scenario("little_data_null", "too little data: 8 peers, 21 days before the event, "
              "nothing happened", days=60, event_day=21, n_peers=8),
    _scenario("little_data_effect", "too little data: 8 peers, 21 days before the event, "
              "the shocks of 'effect'", days=60, event_day=21, n_peers=8,
              platform=-0.05, left=-0.2, subject=-0.3),
]}


# ---------------------------------------------------------------------------
def simulate(s: Scenario, seed: int) -> Panel:
    """The scenario's panel; the same scenario and seed give the same panel."""
    event = EventSpec("change", s.event_date(), platform_shock=s.platform,
                      group_shocks={"left": s.left} if s.left else {},
                      subject_shock=s.subject)
    pre = (s.event_date() - dt.timedelta(days=s.pre_decline_days)
           if s.pre_decline_days else None)
    cfg = PlatformConfig(start=START, days=s.days, n_peers=s.n_peers, events=(event,),
                         pre_decline_start=pre, pre_decline_per_day=s.pre_decline_per_day)
    panel = simulate_platform(cfg, seed=seed).panel
    if not s.misspecified:
        return panel
    # the subject's impressions break the models' Gaussian, shared-season assumptions
    # (the same noise whatever the event did: it did nothing here)
    rng = np.random.default_rng([seed, 13])
    data = panel.data.copy()
    mine = (data["unit"] == SUBJECT).to_numpy()
    n = int(mine.sum())
    weekday = data.loc[mine, "date"].dt.day_of_week.to_numpy()
    shift = (0.15 * rng.standard_t(3, n)
             + np.where(rng.random(n) < 0.02, rng.uniform(1.0, 2.3, n), 0.0)
             + np.array([0.25, -0.1, -0.1, 0.0, 0.1, -0.3, 0.15])[weekday])
    data.loc[mine, "impressions"] = np.round(data.loc[mine, "impressions"] * np.exp(shift))
    return Panel.from_frame(data, panel.units)


def case_for(s: Scenario, seed: int):
    """The case a user would file: five claims, the methods each kind reads first."""
    claims = [
        {"id": "declined_after", "kind": "declined_after",
         "allegation": "My reach fell after the change."},
        {"id": "beyond_platform_trend", "kind": "beyond_platform_trend",
         "allegation": "It was not a decline every account shared."},
        {"id": "targeted", "kind": "targeted",
         "allegation": "The change was aimed at me."},
        {"id": "not_preexisting", "kind": "not_preexisting",
         "allegation": "My decline did not start before the change."},
        {"id": "disproportionate", "kind": "disproportionate", "group_a": "left",
         "group_b": "right", "allegation": "The change hit left accounts harder."},
    ]
    return parse_case({
        "methods": METHODS,
        "case": {"title": f"verdict study: {s.name}", "seed": seed},
        "subject": {"unit": SUBJECT},
        "outcome": {"metric": "impressions", "transform": "log1p"},
        "events": [{"name": "change", "date": s.event_date()}],
        "peers": {"groups": ["left", "right"]},
        "controls": {"metric": "pageviews"},
        "groups": {"compare": ["left", "right"]},
        "sts": {"pseudo_events": STS_PSEUDO_EVENTS, "n_draws": STS_DRAWS},
        "event_study": {"n_placebo": 3},  # its subject study is read by no claim here
        "claims": claims,
    })


@dataclass(frozen=True)
class Outcome:
    scenario: str
    seed: int
    verdicts: dict[str, str]  # claim kind -> verdict word
    failed_gates: dict[str, list[str]]
    group_pretrend_p: float | None  # the group comparison's pre-trend test (see the doc)
    seconds: float
    refused: str | None = None  # the sentence a refused case ends in (counted inconclusive)


def run_one(scenario: str, seed: int) -> Outcome:
    """One simulated world through the whole pipeline; an error is a failed study, not a row."""
    s = SCENARIOS[scenario]
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # the little-data worlds warn of few clusters, as they should
        warnings.simplefilter("ignore", AssumptionWarning)
        try:
            out = run_case(case_for(s, seed), simulate(s, seed), IngestReport(), inputs=[],
                           case_toml=None, command="verdict study")
        except DataError as err:  # butfor run refuses the case (exit 2): no verdict at all
            return Outcome(scenario, seed, dict.fromkeys(CLAIM_KINDS, "inconclusive"),
                           {k: ["refused"] for k in CLAIM_KINDS}, None,
                           time.perf_counter() - t0, refused=str(err))
    for v in out.results.verdicts:  # docs/verdict-policy.md: the study checks every sentence
        assert_sentence_agrees(v)
    verdicts = {v["kind"]: v["verdict"] for v in out.results.verdicts}
    gates = {v["kind"]: list(v["figures"].get("failed_gates") or [])
             for v in out.results.verdicts}
    group = next((a for a in out.results.analyses if a.method == "group_disproportion"), None)
    test = None if group is None else group.group_disproportion.event_study.pretrend
    p = None if test is None else test.p_value
    if test is not None and test.test == "untestable":  # no test: NaN, counted apart
        p = math.nan
    return Outcome(scenario, seed, verdicts, gates, p, time.perf_counter() - t0)


def _run_pair(pair: tuple[str, int]) -> Outcome:
    return run_one(*pair)


def run_study(scenarios: list[str], seeds: list[int], workers: int = 1,
              progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    pairs = [(s, seed) for seed in seeds for s in scenarios]
    if workers <= 1:
        done = []
        for p in pairs:
            done.append(_run_pair(p))
            if progress:
                progress(done[-1])
        return done
    with ProcessPoolExecutor(workers) as pool:
        done = []
        for o in pool.map(_run_pair, pairs, chunksize=1):
            done.append(o)
            if progress:
                progress(o)
        return done


# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    kind: str
    scenario: str
    true: bool
    counts: dict[str, int]  # verdict word -> runs

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def wrong(self) -> int:
        """Runs whose verdict says the opposite of the truth."""
        return self.counts["supported" if not self.true else "not supported"]


def tabulate(outcomes: list[Outcome]) -> list[Cell]:
    cells = []
    for kind in CLAIM_KINDS:
        for name, s in SCENARIOS.items():
            mine = [o.verdicts[kind] for o in outcomes if o.scenario == name]
            if not mine:
                continue
            counts = {v: mine.count(v) for v in VERDICTS}
            cells.append(Cell(kind, name, s.truth[kind], counts))
    return cells


def tolerance(n: int, rate: float = PROMISED_RATE, confidence: float = 0.99) -> int:
    """The most wrong verdicts among ``n`` a true rate of ``rate`` gives with ``confidence``.

    One-sided binomial: a count above it is evidence (at 1 - confidence) that the
    rate is above ``rate``; runs are independent seeds, so the count is binomial.
    """
    return int(stats.binom.ppf(confidence, n, rate))


def upper_bound(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound on a rate seen k times in n."""
    return 1.0 if k >= n else float(stats.beta.ppf(confidence, k + 1, n - k))


def markdown(cells: list[Cell], outcomes: list[Outcome], seeds: list[int]) -> str:
    n_runs = len(outcomes)
    lines = [
        "# The verdict study",
        "",
        "How often is a verdict wrong? On the simulated platform (`src/butfor/simulate.py`) "
        "the truth is known by construction, so every claim is true or false before any "
        "method runs. Each run simulates one world, files five claims against it and runs "
        "them through the whole pipeline (`run_case`), as a user's case would. The policy "
        "(`docs/verdict-policy.md`) promises that `supported` is at most 5% of the verdicts "
        "on a false claim and `not supported` at most 5% on a true one.",
        "",
        f"- measured by `python tests/verdict_study.py` (tabulated "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC): seeds {seeds[0]}-{seeds[-1]}, "
        f"{n_runs} runs, {sum(o.seconds for o in outcomes) / 60:.0f} minutes of run time "
        "added up; each row's n is its runs",
        f"- each run: {N_PEERS} peers (half left, half right) x {DAYS} days, event on day "
        f"{EVENT_DAY} (the little-data scenarios: 8 peers x 60 days, event on day 21); "
        f"methods {', '.join(METHODS)}; structural time series with {STS_DRAWS} draws and "
        f"{STS_PSEUDO_EVENTS} pseudo-events (the case default); the event study's subject "
        "study, which no claim here reads, with 3 placebo accounts to save time",
        "- a claim's truth is the injected effect **of the event** (the but-for question), "
        "not what the series did afterwards: see `tests/verdict_study.py` for each kind",
        "- *wrong* is `supported` on a false claim and `not supported` on a true one; "
        "*95% upper* is its one-sided Clopper-Pearson bound; **bold** marks a cell whose "
        "wrong rate is above 5% beyond binomial noise (its count exceeds the 99% binomial "
        "quantile at 5%)",
        "",
        "## Scenarios",
        "",
        "| scenario | what the simulator injected |",
        "| --- | --- |",
    ]
    lines += [f"| `{s.name}` | {s.words} |" for s in SCENARIOS.values()]
    lines += ["", "## Verdicts", "",
              "| claim kind | scenario | claim is | n | supported | not supported | "
              "inconclusive | wrong | 95% upper |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in cells:
        rate = {v: c.counts[v] / c.n for v in VERDICTS}
        broken = c.wrong() > tolerance(c.n)
        wrong = f"{c.wrong() / c.n:.0%}"
        lines.append(
            f"| {c.kind} | {c.scenario} | {'true' if c.true else 'false'} | {c.n} | "
            f"{rate['supported']:.0%} | {rate['not supported']:.0%} | "
            f"{rate['inconclusive']:.0%} | {f'**{wrong}**' if broken else wrong} | "
            f"{upper_bound(c.wrong(), c.n):.0%} |")
    broken = [c for c in cells if c.wrong() > tolerance(c.n)]
    lines += ["", "## Where the promise breaks", ""]
    if not broken:
        lines.append("Nowhere at this size: no cell's wrong rate is above 5% beyond "
                     "binomial noise.")
    for c in broken:
        what = "supported on a false claim" if not c.true else "not supported on a true claim"
        lines.append(f"- `{c.kind}` in `{c.scenario}`: {what} in {c.wrong()} of {c.n} runs "
                     f"({c.wrong() / c.n:.0%}; promised at most 5%)")
    refused = [o for o in outcomes if o.refused]
    if refused:
        why: dict[str, list[str]] = {}
        for o in refused:
            why.setdefault(o.refused.split(";")[0], []).append(f"`{o.scenario}` {o.seed}")
        lines += ["", f"{len(refused)} runs were refused by the pipeline (a sentence, exit 2, no "
                  "verdict; counted `inconclusive` above): " + "; ".join(
                      f"{', '.join(runs)}: {reason}" for reason, runs in why.items())]
    ps = [o.group_pretrend_p for o in outcomes if o.group_pretrend_p is not None
          and math.isfinite(o.group_pretrend_p)]
    untestable = sum(o.group_pretrend_p is not None and not math.isfinite(o.group_pretrend_p)
                     for o in outcomes)
    if untestable:
        lines += ["", f"The group comparison's pre-trend test could not be run in {untestable} "
                  "runs (no more accounts than pre-period coefficients + 1): its gate failed "
                  "there."]
    if ps:  # no scenario gives the groups different paths before the event
        k = sum(p <= 0.05 for p in ps)
        lines += ["", f"The group comparison's pre-trend test (a wild cluster bootstrap of the "
                  f"Wald statistic, `src/butfor/methods/wild_bootstrap.py`) rejected parallel "
                  f"paths (p <= 0.05) in {k} of {len(ps)} runs ({k / len(ps):.0%}); every "
                  "scenario gives the two groups parallel paths before the event by "
                  "construction, so a test of the right size rejects in about 5% of them "
                  "(runs of one seed share the groups' paths, so the runs are not independent "
                  "draws)."]
    gates: dict[str, int] = {}
    for o in outcomes:
        for names in o.failed_gates.values():
            for g in names:
                gates[g] = gates.get(g, 0) + 1
    if gates:
        lines += ["", "Gates that failed (making a verdict `inconclusive`), over all runs "
                  "and claims: " + ", ".join(f"{g} {k}" for g, k in sorted(gates.items())) + "."]
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- measured: written by tests/verdict_study.py -->", "<!-- end of measured -->"


def _into(path: Path, table: str) -> str:
    """The study's text between the markers of ``path``, keeping what people wrote around it."""
    old = path.read_text() if path.exists() else ""
    if BEGIN not in old or END not in old:
        return f"{BEGIN}\n{table}{END}\n"
    head, rest = old.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{table}{END}{rest.split(END, 1)[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="seeds per scenario")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated scenario names (default: all)")
    parser.add_argument("--workers", type=int, default=1, help="processes (at most 2 here)")
    parser.add_argument("--raw", type=Path, help="append each run's verdicts here (JSON lines)")
    parser.add_argument("--from-raw", type=Path, nargs="+", default=[],
                        help="tabulate these JSON-lines files instead of running")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parents[1] / "docs" / "verdict-study.md")
    args = parser.parse_args(argv)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    scenarios = args.scenarios.split(",")
    total = len(seeds) * len(scenarios)

    def progress(o: Outcome, done=[0]) -> None:  # noqa: B006 - a counter across calls
        done[0] += 1
        print(f"[{done[0]}/{total}] {o.scenario} seed {o.seed} {o.seconds:.1f}s "
              f"{o.verdicts}", flush=True)

    if args.from_raw:  # several runs (e.g. seeds 0-99 and 100-199) as one table
        rows = [json.loads(line) for f in args.from_raw for line in f.read_text().splitlines()]
        outcomes = [Outcome(**r) for r in rows]
        seeds = sorted({o.seed for o in outcomes})
    else:
        def keep(o: Outcome) -> None:
            progress(o)
            if args.raw:
                with args.raw.open("a") as f:
                    f.write(json.dumps(o.__dict__) + "\n")

        outcomes = run_study(scenarios, seeds, args.workers, keep)
    text = markdown(tabulate(outcomes), outcomes, seeds)
    args.out.write_text(_into(args.out, text))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
