"""Shared fixtures: where the real data is, how big slow checks run, and one demo run.

How the suite is spread over cores (pyproject: ``-n auto --dist loadgroup``): a
module with a module-scoped fixture runs on one xdist worker (its tests get an
``xdist_group`` of the module's name here), so the fixture is built once, not
once per worker; the tests that read the demo's output are one group, "demo".
Units holding a ``slow``, ``browser`` or ``realdata`` test are handed out first,
then the module groups, then the rest, so the last minutes are spent on short
tests, not waiting on one long one.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from butfor.threads import pin_environment

# Every test process runs numpy, scipy and pyfixest at one thread, as a run does
# (butfor.threads): the xdist workers already share the cores, and multi-threaded BLAS
# on small matrices oversubscribes them. A Sun-Abraham fit with its pre-trend bootstrap
# took 10.8 s with OpenBLAS's default threads at load 10, 2.7 s at one thread.
pin_environment()  # read by the pools that have not started yet, and by child processes

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # the BLAS numpy may have loaded before the environment was set


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run slow statistical checks at full size (CI runs them smaller)",
    )


def _group(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    if mark is not None:
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    return None


def _has_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(d.scope in ("module", "class", "package")
               for name in info.names_closure for d in info.name2fixturedefs.get(name, ()))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group each module with a module-scoped fixture, and put long units first.

    Runs before xdist's own hook (tryfirst), which reads the ``xdist_group`` marks.
    Only the order and grouping change: every collected test still runs.
    """
    grouped = {item.module.__name__ for item in items
               if hasattr(item, "module") and _has_module_fixture(item)}
    for item in items:
        module = getattr(item, "module", None)
        if _group(item) is None and module is not None and module.__name__ in grouped:
            item.add_marker(pytest.mark.xdist_group(module.__name__))

    def unit(item: pytest.Item) -> str:
        return _group(item) or item.nodeid

    long_units = {unit(i) for i in items if any(
        i.get_closest_marker(m) for m in ("slow", "browser", "realdata"))}

    def tier(item: pytest.Item) -> int:
        # 0: statistical, browser and real-data checks; 1: a module sharing a fixture;
        # 2: the rest, mostly well under a second each
        if unit(item) in long_units:
            return 0
        return 1 if _group(item) is not None else 2

    # a stable sort: within each tier the collection order is kept
    items.sort(key=tier)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Put each item's ``xdist_group`` into its node id, as ``--dist loadgroup`` needs.

    xdist (3.8) does this by setting ``item._nodeid``, which pytest 9.2 no longer reads
    (node ids live in ``item._id``), so its groups were silently ignored and every module
    fixture was built on both workers. Runs on a worker only (where ``loadgroup`` is
    set), before xdist's own hook reports the collection; a no-op if xdist's suffix took.
    """
    if not getattr(session.config.option, "loadgroup", False):
        return
    try:  # pytest's own node-id type (9.2): private, so only ever an optimisation
        from _pytest.nodeid import NodeId
    except ImportError:  # another pytest: groups may be ignored, every test still runs
        return
    for item in session.items:
        group = _group(item)
        if group is not None and "@" not in item.nodeid and hasattr(item, "_id"):
            item._id = NodeId.parse(f"{item.nodeid}@{group}")


@pytest.fixture(scope="session")
def slow_size(request: pytest.FixtureRequest):
    """Pick a size for a slow check: ``slow_size(ci=40, full=200)``."""
    full = request.config.getoption("--full")

    def pick(*, ci: int, full_size: int) -> int:
        return full_size if full else ci

    return pick


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder beside the project; skip when a machine lacks it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not present at {SHARED_DATA} (see ../shared/data/README.md)")
    return SHARED_DATA


def _shared_folder(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
                   name: str) -> Path:
    """A folder in the session's temporary root that every xdist worker sees."""
    root = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):  # an xdist worker: share with the others
        root = root.parent
    base = root / name
    base.mkdir(exist_ok=True)
    return base


def _run_once(base: Path, args: list[str], prepare=None) -> str:
    """`butfor ARGS` run once for the session under a lock in ``base``; what it printed.

    The first worker to ask runs it; the rest wait for the lock and read the same
    folder. ``prepare`` (writing the run's inputs) is called under the lock too. A
    failed run fails every test that asked for it, with its output.
    """
    from typer.testing import CliRunner

    from butfor.cli import app

    printed = base / "printed.txt"
    with open(base / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not printed.exists():
            if prepare is not None:
                prepare()
            done = CliRunner().invoke(app, args)
            assert done.exit_code == 0, done.output
            printed.write_text(done.output, encoding="utf-8")
    return printed.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> tuple[Path, str]:
    """`butfor demo` run once for the whole session: (its --out folder, what it printed).

    The folder holds results.json, run.json, case.toml, report.html and figures/, and
    the store beside it is ``store.duckdb``. Tests only read them (copy before
    changing anything). Under xdist the run is shared by every worker: the first to
    ask runs it under a lock file in the session's common temporary folder, and the
    rest wait for it and read the same folder.
    """
    base = _shared_folder(tmp_path_factory, request, "shared-demo")
    out = base / "demo"
    printed = _run_once(base, ["demo", "--out", str(out), "--store", str(base / "store.duckdb")])
    return out, printed


@pytest.fixture(scope="session")
def report_case_output(tmp_path_factory: pytest.TempPathFactory,
                       request: pytest.FixtureRequest) -> Path:
    """The small case of tests/report_case.py run once by `butfor run`: its --out folder.

    results.json, run.json, report.html and figures/ as `butfor run` wrote them, shared
    by every worker as :func:`demo_output` is (about 10 s on the 2-core machine). Read
    only: copy before changing anything.
    """
    import report_case

    base = _shared_folder(tmp_path_factory, request, "shared-report-case")
    out = base / "out"
    case = base / "case" / "case.toml"
    _run_once(base, ["run", str(case), "--out", str(out), "--store", str(base / "s.duckdb")],
              prepare=lambda: report_case.write_case(case.parent))
    return out
