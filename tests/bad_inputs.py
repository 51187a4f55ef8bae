"""The bad inputs of issue 17's table, each with the outcome butfor must give.

Each input writes its files into a folder of its own and returns the command
line after ``butfor``. Its expected outcome is one of

- ``error``: exit code 2 and one sentence (``says`` is a fragment of it);
- ``repair``: exit code 0 and a line of the output saying what was repaired,
  flagged or left out (``says`` is a fragment of that line);
- ``tolerated``: exit code 0 and a result ``check`` confirms is right (the same
  panel as the clean file, say), so a tolerated input is never a silent one.

``tests/test_reliability_table.py`` runs these together with the cases of
``test_bad_input.py`` and the corpus in ``tests/data/bad/`` and writes
``docs/reliability.md``. Inputs the issue names carry ``issue=True``.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import export_fixtures as fx
import wikimedia_fixtures as wf

Build = Callable[[Path], list[str]]


@dataclass(frozen=True)
class Input:
    id: str
    what: str  # the input, in words, for the table
    build: Build
    expect: str  # error | repair | tolerated
    says: str = ""
    # (folder, output) -> raises AssertionError if wrong; may return what the table shows
    check: Callable[[Path, str], str | None] | None = None
    issue: bool = False

    @property
    def command(self) -> str:
        return "run" if self.id.startswith("case-") else (
            "audit" if self.id.startswith("audit-") else "ingest")


# ---------------------------------------------------------------------------
# ingest: one file, read into a store in the input's folder
def ingest(name: str, data: str | bytes, *args: str) -> Build:
    def build(d: Path) -> list[str]:
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return ["ingest", str(path), *args, "--store", str(d / "store.duckdb")]
    return build


def ingest_built(make: Callable[[Path], Path | list[str]], *args: str) -> Build:
    def build(d: Path) -> list[str]:
        made = make(d)
        paths = made if isinstance(made, list) else [str(made)]
        return ["ingest", *paths, *args, "--store", str(d / "store.duckdb")]
    return build


CLEAN = "unit,date,likes\nava,2024-01-01,1234\nava,2024-01-02,2\n"


def stored_as(rows: dict[tuple[str, str], dict[str, float | None]]) -> Callable[[Path, str], None]:
    """The store holds exactly these (unit, date) -> {metric: value}; None is missing."""
    def check(d: Path, output: str) -> None:
        from butfor.store import Store

        data = Store(d / "store.duckdb").read_panel().data
        got = {}
        for rec in data.to_dict("records"):
            key = (str(rec["unit"]), rec["date"].strftime("%Y-%m-%d"))
            got[key] = {m: (None if rec[m] != rec[m] else float(rec[m]))
                        for m in data.columns if m not in ("unit", "date")}
        want = {k: {m: (None if v is None else float(v)) for m, v in vals.items()}
                for k, vals in rows.items()}
        assert got == want, f"stored {got}, expected {want}"
    return check


CLEAN_ROWS = {("ava", "2024-01-01"): {"likes": 1234}, ("ava", "2024-01-02"): {"likes": 2}}


def _zip(d: Path, name: str, members: dict[str, str]) -> Path:
    path = d / name
    with zipfile.ZipFile(path, "w") as z:
        for member, text in members.items():
            z.writestr(member, text)
    return path


def _wikimedia_with(d: Path, offset: int, byte: int) -> Path:
    path = wf.wikimedia_json(d)
    data = bytearray(path.read_bytes())
    data[offset] = byte
    path.write_bytes(bytes(data))
    return path


def _socialblade_without_followers(d: Path) -> Path:
    return fx.write_csv(d / "follows.csv", ["username", "display_name", "date", "following",
                                            "tweets"],
                        [["ava", "Ava", "2024-01-01", 10, 50], ["ava", "Ava", "2024-01-02", 11, 52]])


INGEST = [
    Input("plain-wide-csv", "a plain wide CSV `date,a,b,c` with no --metric",
          ingest("wide.csv", "date,a,b,c\n2024-01-01,1,2,3\n2024-01-02,4,5,6\n"),
          "repair", "named 'value'", issue=True),
    Input("wikimedia-corrupted-byte", "a Wikimedia pageviews JSON with one byte turned into 0xFF",
          ingest_built(lambda d: _wikimedia_with(d, 40, 0xFF)), "error",
          "is not UTF-8 text (byte 41 cannot be decoded)", issue=True),
    Input("wikimedia-cut-short", "a Wikimedia pageviews JSON cut off half way",
          ingest_built(lambda d: fx.write(d / "pv.json", wf.wikimedia_json(d).read_text()[:150])),
          "error", "is not valid JSON"),
    Input("socialblade-without-followers",
          "a Social Blade CSV without its `followers` column",
          ingest_built(_socialblade_without_followers), "tolerated",
          check=stored_as({("ava", "2024-01-01"): {"following": 10, "posts": 50},
                           ("ava", "2024-01-02"): {"following": 11, "posts": 52}}), issue=True),
    Input("bom", "a byte-order mark before the header",
          ingest("bom.csv", "\ufeff" + CLEAN), "tolerated", check=stored_as(CLEAN_ROWS),
          issue=True),
    Input("dash-for-missing", "`-` for a missing value",
          ingest("dash.csv", "unit,date,likes\nava,2024-01-01,1234\nava,2024-01-02,-\n"),
          "repair", "'-' read as a missing value", issue=True),
    Input("thousands-separator", "a count written `1,234`",
          ingest("thou.csv", 'unit,date,likes\nava,2024-01-01,"1,234"\nava,2024-01-02,2\n'),
          "repair", "thousands separators removed", issue=True),
    Input("crlf", "Windows line ends (CRLF)",
          ingest("crlf.csv", CLEAN.replace("\n", "\r\n")), "tolerated",
          check=stored_as(CLEAN_ROWS), issue=True),
    Input("unicode-path", "a file name with accents and a check mark",
          ingest("réseau ✓ données.csv", CLEAN), "tolerated", check=stored_as(CLEAN_ROWS),
          issue=True),
    Input("markup-in-file-name", "rich markup and an emoji code in the file name, then a bad cell",
          ingest("[bold]ava[-bold] :x:.csv", "unit,date,likes\nava,2024-01-01,lots\n"),
          "error", "[bold]ava[-bold] :x:.csv, line 2", issue=True),
    Input("markup-in-cell", "rich markup in a bad cell", ingest(
        "cell.csv", "unit,date,likes\nava,2024-01-01,[red]9[/red]\n"), "error",
        "'[red]9[/red]' is not a number"),
    Input("quote-in-metric-name", "a metric header holding quotes and a SQL comment",
          ingest("sql.csv", 'unit,date,"views"" FROM x; --"\nava,2024-01-01,5\n'), "tolerated",
          check=stored_as({("ava", "2024-01-01"): {"views_from_x": 5}})),
    Input("tab-separated", "a tab-separated file named .csv",
          ingest("tabs.csv", CLEAN.replace(",", "\t")), "error", "separated by tabs"),
    Input("blank-lines", "blank lines between and after the rows",
          ingest("blank.csv", "unit,date,likes\nava,2024-01-01,1234\n\n\nava,2024-01-02,2\n\n"),
          "repair", "dropped 3: empty row"),
    Input("jump-by-1000", "a count that jumps 500,000-fold for one day", ingest(
        "jump.csv", "unit,date,likes\n" + "".join(
            f"ava,2024-01-{d:02d},{5000000 if d == 5 else 10}\n" for d in range(1, 10))),
        "repair", "changes by a factor of 1,000 or more"),
    Input("nan-cell", "`nan` in a count", ingest("nan.csv", "unit,date,likes\nava,2024-01-01,nan\n"),
          "error", "'nan' is not a number"),
    Input("na-cell", "`NA` in a count", ingest("na.csv", "unit,date,likes\nava,2024-01-01,NA\n"),
          "error", "'NA' is not a number"),
    Input("hex-cell", "`0x10` in a count", ingest("hex.csv", "unit,date,likes\nava,2024-01-01,0x10\n"),
          "error", "'0x10' is not a number"),
    Input("percent-cell", "`5%` in a count",
          ingest("pct.csv", "unit,date,likes\nava,2024-01-01,5%\n"), "error", "'5%' is not a number"),
    Input("decimal-comma", "`1.234,5` (a decimal comma)",
          ingest("eu.csv", 'unit,date,likes\nava,2024-01-01,"1.234,5"\n'), "error",
          "'1.234,5' is not a number"),
    Input("true-cell", "`true` in a count",
          ingest("bool.csv", "unit,date,likes\nava,2024-01-01,true\n"), "error",
          "'true' is not a number"),
    Input("negative-fraction", "`-1.5` in a count",
          ingest("nf.csv", "unit,date,likes\nava,2024-01-01,-1.5\n"), "error",
          "the count -1.5 is negative"),
    Input("5000-digit-number", "a count 5,000 digits long", ingest(
        "long.csv", "unit,date,likes\nava,2024-01-01," + "9" * 5000 + "\n"), "error",
        "'999999999999999999999999999999999999999…' is not a number"),
    Input("empty-unit", "a row with no account name",
          ingest("eu.csv", "unit,date,likes\n,2024-01-01,1\n"), "error", "the account name is empty"),
    Input("identical-duplicate-row", "the same row twice",
          ingest("dup.csv", "unit,date,likes\nava,2024-01-01,1\nava,2024-01-01,1\n"), "repair",
          "dropped 1: duplicate (unit, date) row"),
    Input("year-2262", "the year 2262 (past pandas' nanosecond range)",
          ingest("d.csv", "unit,date,likes\nava,2262-04-12,1\n"), "error",
          "lies outside the plausible window"),
    Input("year-99999", "a five-digit year", ingest("d.csv", "unit,date,likes\nava,99999-01-01,1\n"),
          "error", "'99999-01-01' is not a date butfor can read"),
    Input("unix-timestamp-date", "a Unix timestamp as the date",
          ingest("d.csv", "unit,date,likes\nava,1704067200,1\n"), "error",
          "'1704067200' is not a date butfor can read"),
    Input("dates-before-1970", "dates on both sides of 1970-01-01",
          ingest("d.csv", "unit,date,likes\nava,1969-12-31,1\nava,1970-01-01,2\n"), "tolerated",
          check=stored_as({("ava", "1969-12-31"): {"likes": 1}, ("ava", "1970-01-01"): {"likes": 2}})),
    Input("dates-window-option", "a year-1850 date with the window widened by --dates",
          ingest("d.csv", "unit,date,likes\nava,1850-10-14,1\n", "--dates", "1800-01-01:2100-12-31"),
          "tolerated", check=stored_as({("ava", "1850-10-14"): {"likes": 1}})),
    Input("metric-all-empty", "a metric column with no values at all",
          ingest("d.csv", "unit,date,likes,shares\nava,2024-01-01,,1\nava,2024-01-02,,2\n"),
          "repair", "metric 'likes' has no values"),
    Input("only-key-columns", "a file with unit and date but no metric",
          ingest("d.csv", "unit,date\nava,2024-01-01\n"), "error", "has no metric columns"),
    Input("json-scalars", "a JSON list of numbers", ingest("s.json", "[1, 2, 3]"), "error",
          "holds no list of records"),
    Input("json-null", "the JSON document `null`", ingest("n.json", "null"), "error",
          "could not tell the format"),
    Input("xlsx-garbage", "a damaged .xlsx (a zip signature, then garbage)",
          ingest("x.xlsx", b"PK\x03\x04garbage"), "error", "is not a readable zip file"),
    Input("gzip", "a gzip file named .csv.gz", ingest("x.csv.gz", b"\x1f\x8b\x08\x00garbage"),
          "error", "is not a text file"),
    Input("dev-null", "/dev/null", lambda d: ["ingest", "/dev/null", "--store",
                                              str(d / "store.duckdb")], "error", "is empty"),
    Input("missing-folder", "a folder that does not exist",
          lambda d: ["ingest", str(d / "nowhere"), "--store", str(d / "store.duckdb")], "error",
          "does not exist"),
    Input("zip-slip-member", "a zip whose member is named `../evil.csv`",
          ingest_built(lambda d: _zip(d, "slip.zip", {"../evil.csv": CLEAN})), "tolerated",
          check=lambda d, out: _read_in_memory(d, out)),
    Input("zip-two-layouts", "a zip holding a long CSV and a Wikimedia JSON",
          ingest_built(lambda d: _zip(d, "both.zip", {
              "long.csv": CLEAN, "pv.json": json.dumps({"items": wf.items(days=2)})})),
          "tolerated", check=lambda d, out: _members_accounted(out, 2)),
    Input("unit-option-ignored", "--unit zed for a file that names its accounts",
          ingest("d.csv", CLEAN, "--unit", "zed"), "repair", "--unit 'zed' is not used"),
    Input("column-option-unknown", "--column nope=likes when no file has a column 'nope'",
          ingest("d.csv", CLEAN, "--column", "nope=likes"), "error",
          "no file read has a column 'nope'"),
    Input("dates-option-reversed", "--dates with the end before the start",
          ingest("d.csv", CLEAN, "--dates", "2030-01-01:2020-01-01"), "error", "--dates"),
    Input("year-option-five-digits", "--year 99999", ingest("d.csv", CLEAN, "--year", "99999"),
          "error", "--year 99999 is not a plausible year"),
]


def _read_in_memory(d: Path, output: str) -> None:
    stored_as(CLEAN_ROWS)(d, output)
    assert not (d.parent / "evil.csv").exists()  # the member was never written outside


def _members_accounted(output: str, n: int) -> None:
    assert f"Read {n} file(s)" in output, output
    assert "dropped" in output and " 0 dropped" in output, output


# ---------------------------------------------------------------------------
# run: a small case on five accounts, 60 days, one of them with a fall on day 40
def _accounts_csv(d: Path, subject_values: Callable[[int], int] | None = None) -> None:
    rows = ["unit,date,group,impressions,pageviews"]
    for i in range(60):
        day = dt.date(2024, 1, 1) + dt.timedelta(i)
        for j, u in enumerate(["ava", "bob", "cat", "dan", "eve"]):
            value = 1000 + 37 * ((i * (j + 3)) % 11) - (300 if u == "ava" and i >= 40 else 0)
            if u == "ava" and subject_values is not None:
                value = subject_values(i)
            rows.append(f"{u},{day},{'left' if j % 2 else 'right'},{value},{50 + (i * j) % 7}")
    (d / "accounts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


CASE = '''methods = ["prepost"]
[data]
files = ["accounts.csv"]
[subject]
unit = "ava"
[outcome]
metric = "impressions"
[controls]
metric = "pageviews"
[[events]]
name = "change"
date = "2024-02-10"
[[claims]]
id = "fell"
kind = "declined_after"
allegation = "It fell."
event = "change"
'''
GROUP_CLAIM = '''[[claims]]
id = "groups"
kind = "disproportionate"
allegation = "Left accounts were hit harder."
event = "change"
group_a = "left"
group_b = "{group_b}"
'''


def case(text: str | Callable[[str], str], *, name: str = "case.toml",
         subject: Callable[[int], int] | None = None, args: tuple[str, ...] = ()) -> Build:
    """A case file beside accounts.csv; ``text`` is the case or an edit of CASE."""
    def build(d: Path) -> list[str]:
        _accounts_csv(d, subject)
        body = text(CASE) if callable(text) else text
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        return ["run", str(path), "--out", str(d / "out"), "--store", str(d / "store.duckdb"),
                *args]
    return build


def edit(old: str, new: str) -> Callable[[str], str]:
    def apply(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return apply


def add(extra: str) -> Callable[[str], str]:
    return lambda text: text + extra


def _symlink_out(d: Path) -> list[str]:
    args = case(edit('"accounts.csv"', '"link.csv"'))(d)
    (d / "link.csv").symlink_to("/etc/passwd")
    return args


def _results_say(fragment: str) -> Callable[[Path, str], None]:
    def check(d: Path, output: str) -> str:
        text = (d / "out" / "results.json").read_text(encoding="utf-8")
        assert fragment in text, f"results.json does not say {fragment!r}"
        return f"results.json says: {fragment}"
    return check


def _case_folder(d: Path) -> list[str]:
    case(CASE)(d)
    return ["run", str(d), "--out", str(d / "out")]


def _utf16_case(d: Path) -> list[str]:
    _accounts_csv(d)
    path = d / "case.toml"
    path.write_text(CASE, encoding="utf-16")
    return ["run", str(path), "--out", str(d / "out")]


def _printed_verbatim(output: str, text: str) -> str:
    assert text in output, output
    return f"printed as written: {text}"


RUN = [
    Input("case-unknown-control-metric", "a control metric the data lacks (`wikiviews`)",
          case(edit('metric = "pageviews"', 'metric = "wikiviews"')), "error",
          "the control metric 'wikiviews' is not a metric of the data", issue=True),
    Input("case-unknown-group-b", "a claim's group_b that no account is in",
          case(add(GROUP_CLAIM.format(group_b="rihgt"))), "error",
          "the group_b of claim 'groups', 'rihgt' is not a group", issue=True),
    Input("case-duplicate-claim-ids", "two claims with the id `fell`",
          case(add('[[claims]]\nid = "fell"\nkind = "declined_after"\nallegation = "Again."\n')),
          "error", "two claims have the id 'fell'", issue=True),
    Input("case-unknown-event-in-claim", "a claim naming an event the case lacks",
          case(edit('event = "change"', 'event = "takeover"')), "error",
          "claim 'fell' names event 'takeover', which is not one of the events", issue=True),
    Input("case-passwd-path", "a data file `../../../../etc/passwd`",
          case(edit('"accounts.csv"', '"../../../../etc/passwd"')), "error",
          "outside the case file's folder", issue=True),
    Input("case-absolute-path", "a data file `/etc/passwd`",
          case(edit('"accounts.csv"', '"/etc/passwd"')), "error", "so it was not opened"),
    Input("case-symlink-out", "a data file that is a symlink to /etc/passwd",
          _symlink_out, "error", "so it was not opened"),
    Input("case-store-outside", "a store path outside the allowed folders",
          case(edit("[data]\n", '[data]\nstore = "/tmp/../etc/butfor.duckdb"\n')), "error",
          "so it was not opened"),
    Input("case-directory", "`butfor run` given a folder",
          lambda d: _case_folder(d), "error",
          "is a folder, not a case file", issue=True),
    Input("case-missing", "a case file that does not exist",
          lambda d: ["run", str(d / "nope.toml"), "--out", str(d / "out")], "error",
          "the case file does not exist"),
    Input("case-not-utf8", "a case file in UTF-16",
          _utf16_case, "error", "is not UTF-8 text"),
    Input("case-not-toml", "a case file with broken TOML", case("methods = [\n"), "error",
          "is not valid TOML"),
    Input("case-empty", "an empty case file", case(""), "error", "is missing; add it"),
    Input("case-unknown-key", "a misspelt key (`unti`)",
          case(edit("[subject]\n", '[subject]\nunti = "x"\n')), "error", "did you mean 'unit'?"),
    Input("case-unknown-method", "an unknown method (`prepst`)",
          case(edit('"prepost"', '"prepst"')), "error", "(got 'prepst')"),
    Input("case-unknown-claim-kind", "an unknown claim kind",
          case(edit('"declined_after"', '"declined"')), "error", "(got 'declined')"),
    Input("case-impossible-date", "an event on 31 February",
          case(edit('"2024-02-10"', '"2024-02-31"')), "error", "day value is outside"),
    Input("case-event-year-2999", "an event in the year 2999",
          case(edit('"2024-02-10"', '"2999-02-10"')), "error",
          "event 'change' on 2999-02-10 is outside the data", issue=True),
    Input("case-event-before-data", "an event on the first day of the data",
          case(edit('"2024-02-10"', '"2024-01-01"')), "error", "an event needs data on both sides"),
    Input("case-unknown-subject", "a subject not in the data",
          case(edit('unit = "ava"', 'unit = "zed"')), "error", "the subject 'zed' is not an account"),
    Input("case-unknown-outcome", "a misspelt outcome metric",
          case(edit('metric = "impressions"', 'metric = "impresions"')), "error",
          "did you mean 'impressions'?"),
    Input("case-unknown-transform", "an unknown transform (`sqrt`)",
          case(edit("[outcome]\n", '[outcome]\ntransform = "sqrt"\n')), "error", "(got 'sqrt')"),
    Input("case-unknown-peer", "a peer the data lacks",
          case(add('[peers]\nunits = ["bob", "zoe"]\n')), "error",
          "peer 'zoe' is not an account in the data"),
    Input("case-peer-twice", "a peer listed twice",
          case(add('[peers]\nunits = ["bob", "bob"]\n')), "error", "peer 'bob' is listed twice"),
    Input("case-unknown-peer-group", "a peer group the data lacks",
          case(add('[peers]\ngroups = ["centre"]\n')), "error", "peer group 'centre' is not a group"),
    Input("case-compare-three-groups", "[groups] compare naming one group",
          case(add('[groups]\ncompare = ["left"]\n')), "error", "name exactly two"),
    Input("case-claim-metric-unknown", "a claim about a metric the data lacks",
          case(edit('event = "change"\n', 'event = "change"\nmetric = "revenue"\n')), "error",
          "the metric of claim 'fell', 'revenue' is not a metric"),
    Input("case-subject-as-peer", "the subject listed among its own peers",
          case(add('[peers]\nunits = ["ava", "bob"]\n')), "error",
          "the subject 'ava' is listed among its own peers"),
    Input("case-no-events", "a case with no events", case(lambda t: t.split("[[events]]")[0]),
          "error", "the required key 'events' is missing"),
    Input("case-no-claims", "a case with no claims (the estimates only)",
          case(lambda t: t.split("[[claims]]")[0]), "tolerated",
          check=_results_say('"verdicts": []')),
    Input("case-markup-allegation", "rich markup and an emoji code in an allegation",
          case(edit('"It fell."', '"[bold]It fell[/bold] :x:"')), "tolerated",
          check=lambda d, out: _printed_verbatim(out, "[bold]It fell[/bold] :x:")),
    Input("case-four-peers", "a placebo test over 4 peers (p can never go below 0.2)",
          case(CASE), "tolerated", check=_results_say(
              "this design cannot support the claim whatever the data show"), issue=True),
    Input("case-constant-series", "an STS fit on a subject constant up to rounding",
          case(edit('"prepost"', '"sts"')(CASE) + "[sts]\nn_draws = 100\n"
               "pseudo_events = 0\n", subject=lambda i: 123457), "repair",
          "sts left out: impressions is constant before the event", issue=True),
]


# ---------------------------------------------------------------------------
# audit: a small simulated platform written as Parquet partitions
def _audit(damage: str) -> Build:
    def build(d: Path) -> list[str]:
        from typer.testing import CliRunner

        from butfor.audit_sim import AuditSimConfig, simulate_audit_panel
        from butfor.cli import app

        cfg = AuditSimConfig(n_accounts=200, days=60, event_day=40, accounts_per_partition=100)
        source = simulate_audit_panel(cfg, d / "sim", seed=3)
        args = ["audit", "--parquet", str(source), "--event", str(cfg.event_date), "--reference",
                "none", "--out", str(d / "out"), "--no-progress"]
        if damage == "input":
            victim = sorted(source.glob("part-*.parquet"))[0]
            victim.write_bytes(victim.read_bytes()[:200])
        else:  # a first run, then one of its partitions cut in half on disk
            first = CliRunner().invoke(app, args)
            assert first.exit_code == 0, first.output
            part = d / "out" / "partitions" / "part-00001.parquet"
            part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
        return args
    return build


AUDIT = [
    Input("audit-truncated-input-partition", "an input Parquet partition cut to 200 bytes",
          _audit("input"), "error", "cannot be read", issue=True),
    Input("audit-truncated-output-partition",
          "a finished audit's partition cut in half, then the audit run again",
          _audit("output"), "repair", "(1 computed now)", issue=True),
]

INPUTS = [*INGEST, *RUN, *AUDIT]
