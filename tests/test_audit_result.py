"""The audit's typed result: frozen, its summary follows the generated schema, level is used."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pydantic
import pytest
from scipy import stats

from butfor.audit import AuditSpec, run_audit
from butfor.audit.result import AuditSummary, audit_schema, validate_summary
from butfor.audit_sim import AuditSimConfig, simulate_audit_panel
from butfor.results import dumps

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "butfor" / "schemas" / "audit.schema.json"
SMALL = AuditSimConfig(n_accounts=400, days=120, event_day=80, accounts_per_partition=200)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    return simulate_audit_panel(SMALL, tmp_path_factory.mktemp("sim"), seed=11)


def test_schema_file_is_the_generated_one():
    # The committed schema must be regenerated when the model changes:
    # python -c "from butfor.audit.result import audit_schema; ..." (see result.py).
    assert json.loads(SCHEMA.read_text()) == audit_schema()


def test_summary_validates_and_result_is_frozen(panel, tmp_path):
    res = run_audit(panel, AuditSpec(event=SMALL.event_date), tmp_path / "a", report=False)
    written = json.loads((tmp_path / "a" / "summary.json").read_text())
    validate_summary(written)
    assert written == res.summary
    # round trip through the typed model and the shared writer (12 significant digits)
    assert json.loads(dumps(AuditSummary.model_validate(written).model_dump())) == written
    assert "seconds" not in written and json.loads((tmp_path / "a" / "run.json").read_text())
    with pytest.raises(pydantic.ValidationError):
        res.result.summary.n_accounts = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.result.accounts = None  # type: ignore[misc]
    # a second run of the same audit writes the same bytes (no clock in summary.json)
    again = run_audit(panel, AuditSpec(event=SMALL.event_date), tmp_path / "b", report=False)
    assert (tmp_path / "a" / "summary.json").read_bytes() == \
        (tmp_path / "b" / "summary.json").read_bytes()
    assert again.summary == res.summary


def test_level_sets_every_interval(panel, tmp_path):
    # Hand computation: each interval's half-width is its quantile times its se,
    # the quantile at the audit's level (t with n_clusters - 1 df for the
    # regression, normal for the mean of per-account effects, t with the
    # account's df for each account).
    level = 0.8
    res = run_audit(panel, AuditSpec(event=SMALL.event_date, level=level), tmp_path / "l",
                    report=False)
    r = res.result
    d = r.disproportion.iloc[0]
    t = stats.t.ppf(0.5 + level / 2, d["n_clusters"] - 1)
    assert d["upper"] - d["coef"] == pytest.approx(t * d["se"], rel=1e-12)
    g = r.groups.iloc[0]
    assert g["upper"] - g["mean_effect"] == pytest.approx(stats.norm.ppf(0.9) * g["se"], rel=1e-12)
    a = r.accounts.dropna(subset=["se"]).iloc[0]
    assert a["upper"] - a["effect"] == pytest.approx(stats.t.ppf(0.9, a["df"]) * a["se"],
                                                     rel=1e-10)
    assert res.summary["settings"]["level"] == level
    assert np.isfinite(r.accounts["lower"]).all()
