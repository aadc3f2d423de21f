"""The application factory: one FastAPI app mounting every context's router."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shafa import prescriptions, registries, terminology
from shafa.config import Settings, get_settings
from shafa.db.engine import create_engine, create_search_engine
from shafa.db.migrate import ensure_migrated
from shafa.fhir import validation
from shafa.fhir.errors import FhirError, Issue
from shafa.fhir.routes import FhirApi, render_error
from shafa.registries import medicines_routes
from shafa.security import audit
from shafa.security.routes import router as oauth_router
from shafa.web import pages

log = logging.getLogger(__name__)

_HTTP_ISSUE_CODES = {
    404: "not-found",
    405: "not-supported",
    413: "too-costly",
    415: "not-supported",
}


class BodyLimit:
    """413 with an OperationOutcome for bodies over the limit, before they are read whole.

    Content-Length is checked up front; a chunked body is counted as it streams in.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> Response:
        return render_error(
            FhirError.of(
                413, "too-costly", f"The request body is larger than {self.max_bytes} bytes"
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await self._too_large()(scope, receive, send)


class _BodyTooLarge(Exception):
    """Raised from inside BodyLimit's receive to stop reading a body that is too large."""


class Shafa:
    """The ASGI application: the FHIR API at /fhir served directly, everything else by FastAPI.

    FHIR requests are the bulk of the traffic and need none of the web framework's middleware,
    routing or dependency injection, which would cost more than a read by id itself.
    """

    def __init__(self, web: FastAPI, fhir: ASGIApp, prefix: str = "/fhir") -> None:
        self.web = web
        self.fhir = fhir
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == self.prefix or path.startswith(self.prefix + "/"):
                root = scope.get("root_path", "")
                # As a Starlette Mount would: root_path ends at the FHIR base, app_root_path
                # stays the server's, so request.base_url is the server's root.
                scope = {**scope, "root_path": root + self.prefix, "app_root_path": root}
                await self.fhir(scope, receive, send)
                return
        await self.web(scope, receive, send)


def create_app(settings: Settings | None = None, *, check_migrations: bool = True) -> Shafa:
    """Build the Shafa application for the given settings (default: from the environment)."""
    settings = settings or get_settings()
    registries.install()
    terminology.install()
    prescriptions.install()
    engine = create_engine(settings)
    search_engine = create_search_engine(settings)
    recorder = audit.AuditRecorder(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if check_migrations:
            await ensure_migrated(engine, settings.database_url)
        validation.warm_up()
        terminology.warm_up()
        yield
        await recorder.close()  # the audit records still buffered, before the pool goes
        await engine.dispose()
        if search_engine is not None:
            await search_engine.dispose()

    app = FastAPI(
        title="Shafa",
        summary="FHIR-native national digital-health platform",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> Response:
        if error.status_code == 404 and "text/html" in request.headers.get("accept", ""):
            return pages.not_found(request)
        code = _HTTP_ISSUE_CODES.get(error.status_code, "processing")
        return render_error(
            FhirError(
                error.status_code, [Issue(code, str(error.detail))], dict(error.headers or {})
            )
        )

    @app.exception_handler(RequestValidationError)
    async def _request_error(_request: Request, error: RequestValidationError) -> Response:
        issues = [
            Issue("invalid", str(e.get("msg")), expression=(".".join(map(str, e.get("loc", ()))),))
            for e in error.errors()
        ]
        return render_error(FhirError(400, issues))

    @app.exception_handler(ClientDisconnect)
    async def _gone_client(_request: Request, _error: ClientDisconnect) -> Response:
        # The client hung up mid-request: nobody reads the answer, and it is no server fault.
        return Response(status_code=499)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> Response:
        log.exception("Unhandled error", exc_info=error)
        return render_error(FhirError.of(500, "exception", "Internal error; it has been logged"))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    pages.mount(app)
    app.include_router(oauth_router)
    app.include_router(medicines_routes.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return Shafa(
        app, BodyLimit(FhirApi(engine, settings, search_engine, recorder), settings.max_body_bytes)
    )
