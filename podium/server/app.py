"""The FastAPI app behind ``podium serve``: the chat page, the run API and the OpenAI API.

    from podium import Podium
    from podium.server import create_app
    app = create_app(Podium())          # then: uvicorn.run(app, host="127.0.0.1", port=8700)

Every error is JSON of one shape, ``{"error": {"message", "type", "code", "hint"}}`` (the
shape OpenAI clients read too), with the status of the Podium error behind it.

What stands between a web page in the user's browser and this server (see SECURITY.md): the
Host check (no DNS rebinding), the token when one is set, the same-origin check on every
state-changing request (no cross-site form posts), and CSP plus ``X-Frame-Options`` on every
response (no framing of the Approve button, no third-party scripts).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.errors import PodiumError
from podium.runner import Podium

from . import feedback_api, openai_api, routes, workspace_api
from .databases import DatabasePolicy
from .runs import RunHub

STATIC = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]


@dataclass(frozen=True)
class ServerLimits:
    """What one request may carry. Tasks have their own limit (``limits.max_task_chars``)."""

    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 5_000_000
    header_timeout_s: float = 10.0  # a connection must finish its request head within this


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def create_app(
    podium: Podium,
    *,
    token: str | None = None,
    limits: ServerLimits | None = None,
    allowed_hosts: list[str] | None = None,
    databases: DatabasePolicy | None = None,
    docs: bool = False,
) -> FastAPI:
    """The app for one Podium.

    ``token``: when set, ``/api`` and ``/v1`` need ``Authorization: Bearer <token>`` (the chat
    page asks for it once). ``allowed_hosts``: the Host names requests may carry (``podium
    serve`` on loopback allows only loopback names, so a web page cannot reach the server
    through DNS rebinding); ``None`` allows any. ``databases``: what the page may connect
    (loopback PostgreSQL and SQLite files inside the workspace by default). ``docs``: serve
    the interactive API docs at ``/docs`` (off by default: they load scripts from a CDN
    on the server's origin); ``/openapi.json`` is always there.
    """
    limits = limits or ServerLimits()
    hub = RunHub(podium)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.shutdown()
        if podium.store:
            with contextlib.suppress(Exception):
                podium.store.flush()

    app = FastAPI(
        title="Podium",
        summary="A large model plans, a team of small expert models does the work.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
    )
    app.state.hub = hub
    app.state.limits = limits
    app.state.started = time.time()
    app.state.token_required = bool(token)
    app.state.db_policy = databases or DatabasePolicy()
    # Starlette runs the last added middleware first: hosts, headers, origin, token, body.
    app.add_middleware(_BodyLimit, limits=limits)
    if token:
        app.add_middleware(_TokenAuth, token=token)
    app.add_middleware(_SameOrigin)
    app.add_middleware(_SecurityHeaders, docs=docs)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    _error_handlers(app)
    app.include_router(routes.router)
    app.include_router(workspace_api.router)
    app.include_router(openai_api.router)
    app.include_router(feedback_api.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    return app


def error_body(status: int, kind: str, message: str, hint: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": status, "hint": hint}}


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PodiumError)
    async def podium_error(_request: Request, exc: PodiumError) -> JSONResponse:
        status = exc.http_status
        return JSONResponse(
            error_body(status, type(exc).__name__, exc.message, exc.hint), status_code=status
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            detail = next(e for e in errors if e.get("type") == "json_invalid")
            reason = (detail.get("ctx") or {}).get("error", "")
            return JSONResponse(
                error_body(
                    400,
                    "MalformedJSON",
                    f"the request body is not valid JSON ({reason})".replace(" ()", ""),
                    "send a JSON object with Content-Type: application/json",
                ),
                status_code=400,
            )
        if any(
            e.get("loc") == ("body",) and e.get("type") == "model_attributes_type" for e in errors
        ):
            return JSONResponse(
                error_body(
                    400,
                    "MalformedJSON",
                    "the request body is not a JSON object",
                    "send a JSON object with Content-Type: application/json",
                ),
                status_code=400,
            )
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e['msg']}"
            for e in errors
        )
        return JSONResponse(
            error_body(422, "InvalidRequest", f"invalid request: {problems}"), status_code=422
        )

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status_code, "HTTPError", str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


class _BodyLimit:
    """Refuse request bodies over the limit with 413, by their header or by counting."""

    UPLOADS = ("/api/documents",)

    def __init__(self, app: ASGIApp, limits: ServerLimits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope.get("path", "") in self.UPLOADS
        limit = self.limits.max_upload_bytes if upload else self.limits.max_body_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_json(send, 413, self._body(int(declared), limit))
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # No Content-Length (a chunked body): read it up to the limit, then hand it on.
        chunks: list[bytes] = []
        seen, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            more = message.get("more_body", False)
            if seen > limit:
                await _send_json(send, 413, self._body(seen, limit))
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    def _body(self, size: int, limit: int) -> dict[str, Any]:
        return error_body(
            413,
            "RequestTooLarge",
            f"the request body ({size:,} bytes) is over this server's limit of {limit:,} bytes",
            "send a shorter message or a smaller file",
        )


class _TokenAuth:
    """``/api`` and ``/v1`` need the server's token; the page itself and its files do not."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(("/api", "/v1")) and path != "/api/info":
            headers = dict(scope.get("headers") or [])
            scheme, _, given = headers.get(b"authorization", b"").strip().partition(b" ")
            given = given.strip() if scheme.lower() == b"bearer" else b""
            if not hmac.compare_digest(given, self.token):
                body = error_body(
                    401,
                    "Unauthorized",
                    "this server needs its API token",
                    "send the header Authorization: Bearer <token> (podium serve --token)",
                )
                await _send_json(send, 401, body, {"www-authenticate": "Bearer"})
                return
        await self.app(scope, receive, send)


class _SecurityHeaders:
    """CSP, ``X-Frame-Options: DENY`` and friends on every HTTP response (the page, its
    files, the APIs and the errors alike). ``/docs``, when switched on, loads its scripts from
    a CDN, so it alone gets a CSP that allows them."""

    def __init__(self, app: ASGIApp, docs: bool = False) -> None:
        self.app, self.docs = app, docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        relaxed = self.docs and scope.get("path") == "/docs"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    h for h in SECURITY_HEADERS if not (relaxed and h[0].startswith(b"content-sec"))
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class _SameOrigin:
    """State-changing requests must not come from another site (CSRF).

    A browser marks cross-site requests (``Sec-Fetch-Site``, ``Origin``); those are refused.
    A request a cross-site form could send — a simple content type (form, multipart, text)
    with neither mark — needs the custom header ``X-Podium-Client`` or ``Authorization``
    (a cross-site page cannot add either without a CORS preflight, which this server never
    grants). JSON clients (``curl``, the ``openai`` client) are not browsers and pass.
    """

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
    SIMPLE_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data", b"text/plain")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method", "GET") in self.SAFE:
            await self.app(scope, receive, send)
            return
        reason = self.refusal(scope)
        if reason:
            body = error_body(
                403,
                "CrossSiteRequest",
                f"refused a cross-site request: {reason}",
                "send requests from the server's own page, or add the header "
                "X-Podium-Client: 1 (or the API token) from a program",
            )
            await _send_json(send, 403, body)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> str | None:
        headers = dict(scope.get("headers") or [])
        site = headers.get(b"sec-fetch-site", b"").lower()
        origin = headers.get(b"origin")
        if site and site not in (b"same-origin", b"none"):
            return f"Sec-Fetch-Site is {site.decode('latin-1')}"
        if origin is not None and not _same_origin(origin, headers.get(b"host", b""), scope):
            return f"Origin {origin.decode('latin-1')[:100]} is not this server"
        if site or origin is not None:
            return None
        if b"x-podium-client" in headers or b"authorization" in headers:
            return None
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind in self.SIMPLE_TYPES:
            return "a form-like request without an Origin needs the X-Podium-Client header"
        return None


def _same_origin(origin: bytes, host: bytes, scope: Scope) -> bool:
    scheme = scope.get("scheme", "http")
    return bool(host) and origin.strip().lower() == f"{scheme}://".encode() + host.lower()


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    raw = json.dumps(body).encode()
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})
