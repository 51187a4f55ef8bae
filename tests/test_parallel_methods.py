"""A case's methods shared with a pool worker give what they give run one by one.

Reference: butfor.pipeline._run_method called for each method in turn in this
process (how the pipeline ran them before the worker existed), on the demo case
trimmed to three quick methods and a smaller simulated platform (60 peers).
"""

from __future__ import annotations

import os
import pickle
import tomllib
import warnings

import pytest

from butfor import parallel_methods
from butfor.case import parse_case
from butfor.demo import demo_case_text
from butfor.errors import AssumptionWarning
from butfor.simulate import PlatformConfig, simulate_platform
from butfor.threads import single_threaded

METHODS = ["prepost", "changepoint", "peer_effects"]


@pytest.fixture(scope="module")
def case_and_panel():
    text = demo_case_text()
    raw = tomllib.loads(text)
    raw["methods"] = METHODS
    raw.pop("damages", None)
    raw["claims"] = [c for c in raw["claims"] if c["kind"] == "declined_after"]
    case = parse_case(raw, text, "demo_case.toml")
    panel = simulate_platform(PlatformConfig(n_peers=60), seed=case.case.seed).panel
    return case, panel


def _bytes(done) -> list[bytes]:
    return [pickle.dumps((out, sorted(draws), [draws[k].tobytes() for k in sorted(draws)]))
            for out, draws, _ in done]


def test_the_worker_gives_the_methods_outputs_in_the_cases_order(case_and_panel, monkeypatch):
    case, panel = case_and_panel
    with single_threaded():
        alone = [parallel_methods._one(m, case, panel, 7) for m in METHODS]
        monkeypatch.setattr(parallel_methods, "_cores", lambda: 2)
        monkeypatch.setattr(parallel_methods, "MIN_CELLS", 0)
        started = []
        together = parallel_methods.run_methods(METHODS, case, panel, 7, started.append)
    assert _bytes(together) == _bytes(alone)
    dealt = [METHODS[i] for i in parallel_methods.dealt(METHODS)]
    assert started == dealt[:len(started)]  # this process starts from the front


def test_the_heaviest_methods_are_dealt_to_both_ends_first():
    # the demo's methods, by parallel_methods.COST: this process (the front) starts on the
    # event study, the worker (the back) on SDID; they meet over the light ones
    demo = ["sts", "peer_effects", "synthetic_control", "sdid", "event_study", "changepoint",
            "prepost", "attribution"]
    order = [demo[i] for i in parallel_methods.dealt(demo)]
    assert order == ["event_study", "synthetic_control", "peer_effects", "prepost",
                     "attribution", "changepoint", "sts", "sdid"]
    assert sorted(parallel_methods.dealt(demo)) == list(range(len(demo)))


def test_one_run_helper_serves_every_share_of_a_run(case_and_panel, monkeypatch):
    from butfor import parallel

    case, panel = case_and_panel
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setattr(parallel_methods, "_cores", lambda: 2)
    monkeypatch.setattr(parallel_methods, "MIN_CELLS", 0)
    with single_threaded():
        alone = [parallel_methods._one(m, case, panel, 7) for m in METHODS]
        with parallel.run_helper():
            pool = parallel._HELPER.get().pool
            parallel_methods.warm_methods(METHODS, panel)
            together = parallel_methods.run_methods(METHODS, case, panel, 7)
            assert parallel._HELPER.get().pool is pool  # not shut by share
    assert _bytes(together) == _bytes(alone)
    assert parallel._HELPER.get() is None


def test_the_worker_keeps_butfors_warnings_and_they_are_shown_here(case_and_panel,
                                                                   monkeypatch):
    case, panel = case_and_panel

    def warn_then_run(method, *args):
        warnings.warn(f"from {method}", AssumptionWarning, stacklevel=1)
        warnings.warn("a library's deprecation note", DeprecationWarning, stacklevel=1)
        return [], {}, 0.0

    monkeypatch.setattr(parallel_methods, "_one", warn_then_run)
    answer = parallel_methods._there(("peer_effects", case, panel, 7))
    assert [str(w.message) for w in answer[1]] == ["from peer_effects"]
    with pytest.warns(AssumptionWarning, match="from peer_effects"):
        assert parallel_methods._received(answer) == ([], {}, 0.0)


def _die(job) -> None:
    os._exit(3)


def test_a_worker_that_fails_leaves_every_method_run_here(case_and_panel, monkeypatch):
    case, panel = case_and_panel
    monkeypatch.setattr(parallel_methods, "_cores", lambda: 2)
    monkeypatch.setattr(parallel_methods, "MIN_CELLS", 0)
    monkeypatch.setattr(parallel_methods, "_there", _die)
    with single_threaded():
        together = parallel_methods.run_methods(METHODS, case, panel, 7)
        alone = [parallel_methods._one(m, case, panel, 7) for m in METHODS]
    assert _bytes(together) == _bytes(alone)
