"""``butfor serve``: the app, its settings, security headers and the routes outside the flow.

::

    create_app(Settings(home=Path(".butfor/web")))   -> FastAPI app
    serve(settings, host="127.0.0.1", port=8000)     -> runs it with uvicorn

Everything a user made lives under ``<home>``: ``web.duckdb`` (users,
uploads, cases, jobs) and ``users/<user id>/{uploads,cases}/<id>/``. The
pages are in :mod:`butfor.web.pages`; this module holds the health check,
login, downloads and the JSON job status the live page polls.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from butfor.web.auth import COOKIE, NotSignedIn, current_user, hash_token, token_of
from butfor.web.db import WebStore
from butfor.web.jobs import JobRunner
from butfor.web.worker import OUT, PROGRESS_FILE

STORE_FILE = "web.duckdb"
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".butfor/web")
    max_upload_mb: float = 50.0
    workers: int = 1  # worker processes; 0 runs none (jobs wait in the queue)
    job_timeout_s: float = 1800.0

    def __post_init__(self) -> None:
        # the folders are handed to worker processes, which change directory: absolute paths
        # mean the same folder to every process whatever its working directory
        object.__setattr__(self, "home", Path(self.home).resolve())

    @property
    def store_path(self) -> Path:
        return self.home / STORE_FILE

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)

    def user_dir(self, user_id: str) -> Path:
        return self.home / "users" / user_id

    def case_dir(self, user_id: str, case_id: str) -> Path:
        return self.user_dir(user_id) / "cases" / case_id


templates = Jinja2Templates(directory=str(resources.files("butfor.web") / "templates"))
templates.env.globals["report_css"] = (
    resources.files("butfor.report") / "templates" / "report.css").read_text(encoding="utf-8")


def create_app(settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        store = WebStore(settings.store_path)
        runner = JobRunner(store, settings.case_dir, workers=settings.workers,
                           timeout_s=settings.job_timeout_s)
        app.state.store, app.state.runner = store, runner
        runner.start()
        try:
            yield
        finally:
            runner.stop()
            store.close()

    app = FastAPI(title="butfor", version="1", lifespan=lifespan,
                  description="Upload exports, build a case, run it, read the verdicts.")
    app.state.settings = settings

    @app.middleware("http")
    async def guard(request: Request, call_next):
        length = request.headers.get("content-length")
        limit = settings.max_upload_bytes + 1_000_000  # the form's other fields fit in 1 MB
        if request.method == "POST" and length is not None and (
                not length.isdigit() or int(length) > limit):
            response: Response = _too_large(request, settings)
        elif request.method == "POST" and length is None and request.url.path == "/uploads":
            response = PlainTextResponse("send the upload with a Content-Length", 411)
        else:
            response = await call_next(request)
        for key, value in _HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(NotSignedIn)
    async def to_login(request: Request, exc: NotSignedIn):
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/") or exc.status_code == 401:
            return JSONResponse({"detail": exc.detail}, exc.status_code,
                                headers=getattr(exc, "headers", None))
        return templates.TemplateResponse(request, "error.html.j2",
                                          {"status": exc.status_code, "detail": exc.detail},
                                          status_code=exc.status_code)

    from butfor.web import pages

    pages.add_routes(app)
    _add_routes(app)
    return app


def too_large_message(settings: Settings) -> str:
    return (f"the upload is larger than the {settings.max_upload_mb:g} MB limit; upload "
            "fewer or smaller files (or start the server with a larger --max-upload-mb)")


def _too_large(request: Request, settings: Settings) -> Response:
    """Refused unread: on the upload page beside the file field, else a page of its own.

    The body is never read, so the other fields cannot be kept; the page's
    script (upload.js) makes the same check before sending, keeping them.
    """
    message = too_large_message(settings)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, 413)
    token = token_of(request)
    user = request.app.state.store.user_by_token_hash(hash_token(token)) if token else None
    if request.url.path == "/uploads" and user is not None:
        from butfor.web.pages import home_page

        return home_page(request, user, {}, {"files": message}, status=413)
    return HTMLResponse(templates.get_template("error.html.j2").render(
        request=request, status=413, detail=message), 413)


User = Annotated[dict, Depends(current_user)]


class Download(StrEnum):
    results = "results.json"
    report = "report.html"
    pdf = "report.pdf"
    case = "case.toml"
    verdicts = "verdicts.csv"
    bundle = "case.zip"


def _add_routes(app: FastAPI) -> None:
    @app.get("/health", response_class=JSONResponse, tags=["status"])
    def health() -> dict:
        """The only route without a token: for a load balancer or a supervisor."""
        return {"status": "ok"}

    @app.get("/login", response_class=HTMLResponse, tags=["account"])
    def login_page(request: Request):
        return templates.TemplateResponse(request, "login.html.j2", {"error": None})

    @app.post("/login", response_class=HTMLResponse, tags=["account"])
    def login(request: Request, token: Annotated[str, Form(max_length=200)] = ""):
        user = request.app.state.store.user_by_token_hash(hash_token(token)) if token else None
        if user is None:
            return templates.TemplateResponse(
                request, "login.html.j2", status_code=401,
                context={"error": "that token is not known here; paste the token "
                                  "'butfor user add NAME' printed"})
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=30 * 24 * 3600)
        return response

    @app.post("/logout", tags=["account"])
    def logout(user: User):
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/static/live.js", tags=["status"])
    def live_js(user: User):
        return _script("live.js")

    @app.get("/static/upload.js", tags=["status"])
    def upload_js(user: User):
        return _script("upload.js")

    @app.get("/api/jobs/{job_id}", tags=["status"])
    def job_status(job_id: str, request: Request, user: User) -> dict:
        """A job's state, attempts and latest progress line (the case page polls this)."""
        job = request.app.state.store.job(user["id"], job_id)
        if job is None:
            raise HTTPException(404, "no such job")
        return job_view(request.app.state.settings, job)

    @app.get("/cases/{case_id}/download/{what}", tags=["cases"])
    def download(case_id: str, what: Download, request: Request, user: User):
        settings: Settings = request.app.state.settings
        if request.app.state.store.case(user["id"], case_id) is None:
            raise HTTPException(404, "no such case")
        folder = settings.case_dir(user["id"], case_id)
        if what is Download.case:
            return FileResponse(folder / "case.toml", media_type="text/plain; charset=utf-8",
                                filename="case.toml")
        if what is Download.bundle:
            return Response(_bundle(folder), media_type="application/zip", headers={
                "Content-Disposition": f'attachment; filename="case-{case_id}.zip"'})
        results = folder / OUT / "results.json"
        if not results.is_file():
            raise HTTPException(404, "the case has not been run yet")
        if what is Download.verdicts:
            return Response(verdicts_csv(json.loads(results.read_text(encoding="utf-8"))),
                            media_type="text/csv; charset=utf-8", headers={
                                "Content-Disposition": 'attachment; filename="verdicts.csv"'})
        path = folder / OUT / what.value
        if not path.is_file():
            raise HTTPException(404, f"this run wrote no {what.value}")
        if what is Download.report:
            return FileResponse(path, media_type="text/html; charset=utf-8")
        return FileResponse(path, filename=what.value)


def _script(name: str) -> Response:
    text = (resources.files("butfor.web") / "static" / name).read_text(encoding="utf-8")
    return Response(text, media_type="text/javascript")


def job_view(settings: Settings, job: dict) -> dict:
    progress = settings.case_dir(job["user_id"], job["case_id"]) / PROGRESS_FILE
    line = progress.read_text(encoding="utf-8") if progress.is_file() else ""
    return {"id": job["id"], "case_id": job["case_id"], "status": job["status"],
            "attempts": job["attempts"], "error": job["error"],
            "progress": line if job["status"] == "running" else job["status"]}


def _bundle(folder: Path) -> bytes:
    """case.toml and its data/ folder: unzip and run 'butfor run case.toml --out out' there."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(folder / "case.toml", "case.toml")
        for path in sorted((folder / "data").iterdir()):
            z.write(path, f"data/{path.name}")
    return buf.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ gets a leading quote.

    Numbers are left as they are (a negative effect is a number, not a formula).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def verdicts_csv(results: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = ["claim", "kind", "allegation", "verdict", "method", "relative_effect",
               "relative_lower", "relative_upper", "p_value", "sentence"]
    writer.writerow(columns)
    for v in results.get("verdicts", []):
        figures = v.get("figures") or {}
        row = {**figures, **{k: v.get(k) for k in ("claim", "kind", "allegation", "verdict",
                                                   "sentence")}}
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000,
          log_level: str = "info") -> None:
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level,
                proxy_headers=False, server_header=False)
