"""schemathesis against `butfor serve`'s OpenAPI: no generated request gets a 5xx.

Every operation is fuzzed with schema-valid and schema-invalid requests,
signed in as a user with a real upload, case and job, and half the time with
those real ids in the path, so the case form and the downloads are reached
past their 404s. Size: 15 examples per operation and mode on CI (13
operations, 17 operation-modes, about 250 requests), 200 with ``--full``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from butfor.web.app import Settings, create_app
from butfor.web.auth import add_user
from web_fixtures import case_form, job_id_on, write_export


@pytest.fixture(scope="module")
def app_with_a_case(tmp_path_factory):
    root = tmp_path_factory.mktemp("schema")
    home = root / "home"
    token = add_user(home / "web.duckdb", "alice")
    export = write_export(root)
    app = create_app(Settings(home=home, workers=0, max_upload_mb=1))  # jobs wait in the queue
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:  # holds the app's store open while schemathesis calls it
        r = client.post("/uploads", headers=headers, follow_redirects=False,
                        files=[("files", ("accounts.csv", export.read_bytes(), "text/csv"))])
        upload = r.headers["location"].rsplit("/", 1)[1]
        r = client.post(f"/uploads/{upload}/cases", headers=headers, data=case_form(),
                        follow_redirects=False)
        case = r.headers["location"].rsplit("/", 1)[1]
        client.post(f"/cases/{case}/run", headers=headers)
        job = job_id_on(client.get(f"/cases/{case}", headers=headers).text)
        yield app, headers, {"upload_id": upload, "case_id": case, "job_id": job}


def _operations() -> list:
    """(label, mode) for every operation; invalid requests only where there is input to spoil."""
    schema = schemathesis.openapi.from_dict(
        create_app(Settings(home=Path("unused"), workers=0)).openapi())
    out = []
    for result in schema.get_all_operations():
        op = result.ok()
        label = f"{op.method.upper()} {op.path}"
        out.append(pytest.param(label, GenerationMode.POSITIVE, id=f"{label} valid"))
        spoilable = [p for p in op.path_parameters if "enum" in p.definition.get("schema", {})]
        if op.body or op.query or spoilable:  # any string is a valid id, so ids alone are not
            out.append(pytest.param(label, GenerationMode.NEGATIVE, id=f"{label} invalid"))
    return out


@pytest.mark.parametrize(("label", "mode"), _operations())
def test_no_request_gets_a_server_error(app_with_a_case, slow_size, label, mode):
    app, headers, real_ids = app_with_a_case
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema.find_operation_by_label(label)
    names = {p.name for p in operation.path_parameters}
    known = {k: v for k, v in real_ids.items() if k in names}
    strategies = [operation.as_strategy(generation_mode=mode)]
    if known:
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=known))

    @settings(max_examples=slow_size(ci=15, full_size=200), deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=st.one_of(strategies))
    def check(case):
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    check()
