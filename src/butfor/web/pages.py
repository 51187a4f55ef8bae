"""The flow's pages: upload -> ingest report -> case form -> case (run, verdicts).

Every handler looks rows up by the signed-in user's id and the row's id
together, so another user's id is simply not found (404). Bad input comes
back on the same page with the CLI's sentence beside its field and every
value the user entered still in the form.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from butfor.errors import ButforError, DataError
from butfor.web import casebuild
from butfor.web.auth import current_user
from butfor.web.db import new_id
from butfor.web.uploads import (
    Received,
    UploadError,
    field_of_upload_error,
    shown_names,
    store_files,
    unpack,
)

User = Annotated[dict, Depends(current_user)]
_TEXT = Annotated[str, Field(max_length=500)]


class _FormBase(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _case_form_model() -> type[BaseModel]:
    fields: dict = {}
    for key in casebuild.blank_form({"metrics": ["x"], "units": ["x"]}):
        fields[key] = ((list[_TEXT], []) if key in ("methods", "claims")
                       else (_TEXT, ""))
    for i in range(1, casebuild.N_EVENTS + 1):
        for part in ("name", "date", "scope"):
            fields[f"event_{part}_{i}"] = (_TEXT, "")
    for kind in casebuild.CLAIM_CHOICES:
        fields[f"allegation_{kind}"] = (_TEXT, "")
    return create_model("CaseForm", __base__=_FormBase, **fields)


CaseForm = _case_form_model()


def _templates():
    from butfor.web.app import templates

    return templates


def _settings(request: Request):
    return request.app.state.settings


def add_routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, tags=["pages"])
    def home(request: Request, user: User):
        return home_page(request, user, {}, {})

    @app.post("/uploads", response_class=HTMLResponse, tags=["uploads"])
    def upload(request: Request, user: User,
               files: Annotated[list[UploadFile], File(description="export files or a zip")],
               format: Annotated[str, Form(max_length=40)] = "auto",
               unit: Annotated[str, Form(max_length=200)] = "",
               timezone: Annotated[str, Form(max_length=60)] = ""):
        """Store the exports and read them; the page shows what was kept and dropped."""
        options = {"format": format.strip() or "auto", "unit": unit.strip(),
                   "timezone": timezone.strip()}
        settings = _settings(request)
        upload_id = new_id()
        folder = settings.user_dir(user["id"]) / "uploads" / upload_id
        try:
            received = [_read(f, settings.max_upload_bytes) for f in files if f.filename]
            if sum(len(r.data) for r in received) > settings.max_upload_bytes:
                from butfor.web.app import too_large_message

                raise UploadError(too_large_message(settings))
            kept = store_files(unpack(received, settings.max_upload_bytes), folder)
            report, summary = _ingest(folder, kept, options)
        except ButforError as err:
            shutil.rmtree(folder, ignore_errors=True)
            message = shown_names(str(err), locals().get("kept") or [], f"{folder}/")
            return home_page(request, user, options, {field_of_upload_error(message): message},
                             status=400)
        request.app.state.store.add_upload(upload_id, user["id"], kept, options, report, summary)
        return RedirectResponse(f"/uploads/{upload_id}", status_code=303)

    @app.get("/uploads/{upload_id}", response_class=HTMLResponse, tags=["uploads"])
    def upload_page(upload_id: str, request: Request, user: User):
        found = _upload(request, user, upload_id)
        return _case_form_page(request, found, casebuild.blank_form(found["summary"]), {})

    @app.post("/uploads/{upload_id}/cases", response_class=HTMLResponse, tags=["cases"])
    def make_case(upload_id: str, request: Request, user: User,
                  fields: Annotated[CaseForm, Form()]):
        """Build the case file from the form; refuse it beside the field at fault."""
        found = _upload(request, user, upload_id)
        form = {**casebuild.blank_form(found["summary"]), "methods": [], "claims": [],
                "pdf": False, **casebuild.form_from(fields.model_dump())}
        data = {"files": [f"data/{f['stored']}" for f in found["files"]], **{
            k: v for k, v in found["options"].items() if v and v != "auto"}}
        text = casebuild.case_toml(form, data)
        folder = _settings(request).user_dir(user["id"]) / "uploads" / upload_id
        try:
            case = casebuild.validate(text)
            _check_against_data(case, folder, found, form)
        except ButforError as err:
            message = shown_names(str(err), found["files"], "data/")
            errors = {getattr(err, "field", "form"): message}
            return _case_form_page(request, found, form, errors, status=400)
        case_id = new_id()
        case_dir = _settings(request).case_dir(user["id"], case_id)
        (case_dir / "data").mkdir(parents=True)
        for f in found["files"]:
            shutil.copyfile(folder / f["stored"], case_dir / "data" / f["stored"])
        (case_dir / casebuild.CASE_FILE).write_text(text, encoding="utf-8")
        request.app.state.store.add_case(case_id, user["id"], upload_id, form, text)
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.get("/cases/{case_id}", response_class=HTMLResponse, tags=["cases"])
    def case_page(case_id: str, request: Request, user: User):
        store, settings = request.app.state.store, _settings(request)
        case = store.case(user["id"], case_id)
        if case is None:
            raise HTTPException(404, "no such case")
        job = store.job_of_case(user["id"], case_id)
        folder = settings.case_dir(user["id"], case_id)
        results = None
        if job is not None and job["status"] == "done":
            results = json.loads((folder / "out" / "results.json").read_text(encoding="utf-8"))
        from butfor.web.app import job_view

        upload = store.upload(user["id"], case["upload_id"]) or {"files": []}
        view = job_view(settings, job) if job else None
        if view and view["error"]:
            view["error"] = shown_names(view["error"], upload["files"], "data/")
        return _templates().TemplateResponse(request, "case.html.j2", {
            "user": user, "case": case, "job": view, "results": results,
            "has_pdf": (folder / "out" / "report.pdf").is_file()})

    @app.post("/cases/{case_id}/run", tags=["cases"])
    def run(case_id: str, request: Request, user: User):
        """Queue the case as a job; a worker process runs it (never this request)."""
        store = request.app.state.store
        if store.case(user["id"], case_id) is None:
            raise HTTPException(404, "no such case")
        job = store.job_of_case(user["id"], case_id)
        if job is None or job["status"] in ("done", "failed"):
            store.add_job(new_id(), user["id"], case_id)
            request.app.state.runner.notify()
        return RedirectResponse(f"/cases/{case_id}", status_code=303)


def home_page(request: Request, user: dict, options: dict, errors: dict, status: int = 200):
    from butfor.readers import FORMATS
    from butfor.web.app import too_large_message

    store = request.app.state.store
    return _templates().TemplateResponse(request, "home.html.j2", {
        "user": user, "uploads": store.uploads(user["id"]), "cases": store.cases(user["id"]),
        "options": {"format": "auto", "unit": "", "timezone": "", **options}, "errors": errors,
        "formats": ["auto", *FORMATS], "limit_mb": _settings(request).max_upload_mb,
        "limit_bytes": _settings(request).max_upload_bytes,
        "too_large": too_large_message(_settings(request))},
        status_code=status)


def _read(file: UploadFile, limit: int) -> Received:
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise UploadError(f"{file.filename}: is larger than the {limit / 1e6:g} MB limit; upload "
                          "a smaller file")
    return Received(file.filename or "", data)


def _ingest(folder: Path, kept: list[dict], options: dict) -> tuple[dict, dict]:
    from butfor.ingest import ingest_files

    panel, report = ingest_files([folder / f["stored"] for f in kept],
                                 format=options["format"], unit=options["unit"] or None,
                                 timezone=options["timezone"] or None)
    doc = json.loads(shown_names(json.dumps(report.to_dict()), kept, f"{folder}/"))
    dates = panel.dates
    summary = {"units": list(panel.unit_ids), "metrics": list(panel.metrics),
               "first": f"{dates.min():%Y-%m-%d}", "last": f"{dates.max():%Y-%m-%d}",
               "days": len(dates), "groups": {g: len(u) for g, u in panel.groups().items()}}
    return doc, summary


def _check_against_data(case, folder: Path, upload: dict, form: dict) -> None:
    """The check ``butfor run`` makes before fitting: subject, metrics, event dates."""
    from butfor.ingest import ingest_files

    options = upload["options"]
    panel, _ = ingest_files([folder / f["stored"] for f in upload["files"]],
                            format=options.get("format") or "auto",
                            unit=options.get("unit") or None,
                            timezone=options.get("timezone") or None)
    try:
        case.check_against(panel)
    except DataError as err:
        err.field = casebuild.field_of_data_error(str(err), form)
        raise


def _upload(request: Request, user: dict, upload_id: str) -> dict:
    found = request.app.state.store.upload(user["id"], upload_id)
    if found is None:
        raise HTTPException(404, "no such upload")
    return found


def _case_form_page(request: Request, upload: dict, form: dict, errors: dict, status: int = 200):
    return _templates().TemplateResponse(request, "upload.html.j2", {
        "user": request.state.user, "upload": upload, "form": form, "errors": errors, "events": range(1, casebuild.N_EVENTS + 1),
        "methods": casebuild.METHOD_CHOICES, "claims": casebuild.CLAIM_CHOICES,
        "transforms": casebuild.TRANSFORMS}, status_code=status)
