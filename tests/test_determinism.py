"""Byte-identical results whatever the load, the hash seed, the cores and the thread settings.

Issue 20: two demo runs gave event-study and group-comparison figures that
differed in the 12th digit, because pyfixest ordered the fixed effects by string
hash (PYTHONHASHSEED). Here the demo case's event study and group comparison, and
an audit's tables, are computed in two fresh processes that differ in everything
that should not matter: hash seed, CPU affinity (one core, shared with a busy
loop, vs all cores), and the thread counts the environment asks for. The output
is compared at full float precision (``repr``), not results.json's 12 digits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).with_name("determinism_runner.py")
SRC = Path(__file__).resolve().parents[1] / "src"


def _cores() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _start(args: list[str], *, hash_seed: str, cores: list[int], threads: str,
           capture: bool = True):
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(SRC),
           "RAYON_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
           "OPENBLAS_NUM_THREADS": threads, "NUMBA_NUM_THREADS": threads}

    def pin() -> None:
        if cores:
            os.sched_setaffinity(0, cores)

    pipe = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, *args], env=env, preexec_fn=pin,
                            stdout=pipe, stderr=pipe)


@pytest.mark.slow
def test_event_study_group_comparison_and_audit_identical_across_processes(slow_size):
    n_placebo = str(slow_size(ci=3, full_size=19))
    cores = _cores()
    one = cores[:1]
    # a CPU-bound loop on the first core, beside run A
    busy = _start(["-c", "while True: pass"], hash_seed="0", cores=one, threads="1",
                  capture=False)
    try:
        a = _start([str(RUNNER), n_placebo], hash_seed="0", cores=one, threads="1")
        b = _start([str(RUNNER), n_placebo], hash_seed="1", cores=cores,
                   threads=str(max(2, len(cores))))
        out_a, err_a = a.communicate(timeout=600)
        out_b, err_b = b.communicate(timeout=600)
    finally:
        busy.kill()
        busy.wait()
    assert a.returncode == 0, err_a.decode()[-2000:]
    assert b.returncode == 0, err_b.decode()[-2000:]
    # the hash seeds put pyfixest's fixed effects in opposite orders before the fix
    assert b'"event_study"' in out_a and b'"audit"' in out_a
    assert out_a == out_b, _first_difference(out_a, out_b)


def _first_difference(a: bytes, b: bytes) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
             min(len(a), len(b)))
    return f"first difference at byte {i}: {a[i - 80:i + 80]!r} vs {b[i - 80:i + 80]!r}"


def test_fixed_effects_are_encoded_in_the_order_the_formula_gives():
    from butfor.methods._fixest import in_given_order

    encoded = "__fixed_effect__(time) + __fixed_effect__(unit) - 1"
    assert in_given_order(encoded, "unit + time") == (
        "__fixed_effect__(unit) + __fixed_effect__(time) - 1")
    assert in_given_order(encoded, "time+unit") == encoded
    # interactions are encoded with "_" for "^"
    assert in_given_order("__fixed_effect__(b) + __fixed_effect__(a_c) - 1", "a^c + b") == (
        "__fixed_effect__(a_c) + __fixed_effect__(b) - 1")
    # a shape this does not know is left alone
    assert in_given_order("C(unit) + C(time)", "unit + time") == "C(unit) + C(time)"


def test_pyfixest_encoder_is_wrapped_where_the_model_matrix_calls_it():
    # if a pyfixest release moves the encoder, the wrap silently stops working: say so here
    import pandas as pd
    from pyfixest.estimation.formula import model_matrix

    from butfor.methods._fixest import feols

    data = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0, 5.0, 7.0], "x": [0.0, 1, 0, 1, 1, 0],
                         "unit": [1, 1, 2, 2, 3, 3], "time": [1, 2, 1, 2, 1, 2]})
    feols("y ~ x | unit + time", data)
    assert getattr(model_matrix._encode_fixed_effects, "_butfor_ordered", False)
    assert model_matrix._encode_fixed_effects("unit + time", data.copy()).startswith(
        "__fixed_effect__(unit)")
