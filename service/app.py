"""The HTTP face: ``/health``, ``/health/details``, ``/livez``, and ``/metrics`` when enabled.

Two ways to use it:

- standalone: :func:`create_app` builds a FastAPI app that starts the checks with its lifespan;
- embedded: mount :func:`health_router` in the application's own FastAPI app and enter
  :meth:`HealthService.lifespan` from the host app's lifespan, so the health check runs in the
  same process and deployment package as real traffic.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from service.body import MEDIA_TYPE, status_code
from service.health import HealthService
from service.openapi import (
    DETAILS_BEARER,
    DETAILS_RESPONSES,
    HEALTH_RESPONSES,
    LIVEZ_RESPONSES,
    METRICS_RESPONSES,
)
from service.renderers import negotiate

if TYPE_CHECKING:
    from service.metrics import Metrics

__all__ = ["create_app", "health_router"]

_NO_STORE = {"Cache-Control": "no-store"}
_MAX_AUTHORIZATION = 512


def _authorized(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    if len(header) > _MAX_AUTHORIZATION or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].encode(), token.encode())


def health_router(
    service: HealthService, *, prefix: str = "", metrics: Metrics | None = None
) -> APIRouter:
    """The health routes for ``service``, to include in any FastAPI app.

    ``/health/details`` exists only when a details token is configured, ``/metrics`` only when
    ``metrics`` is given and ``metrics_port`` does not move it to a port of its own.
    """
    router = APIRouter(prefix=prefix)

    @router.api_route(
        "/health", methods=["GET", "HEAD"], response_class=Response, responses=HEALTH_RESPONSES
    )
    async def health(request: Request) -> Response:
        """200 when this region can serve (pass or warn), 503 when it should fail over."""
        report = await service.report()
        renderer = negotiate(request.headers.get("accept"))
        return Response(
            renderer.public(report),
            status_code(report),
            headers=_NO_STORE,
            media_type=renderer.media_type,
        )

    token = service.settings.details_token
    if token:

        @router.get(
            "/health/details",
            response_class=Response,
            responses=DETAILS_RESPONSES,
            dependencies=[Security(DETAILS_BEARER)],
        )
        async def health_details(request: Request) -> Response:
            """Everything the public body hides; needs ``Authorization: Bearer <token>``."""
            if not _authorized(request, token):
                return JSONResponse(
                    {"error": "unauthorized"},
                    401,
                    headers={**_NO_STORE, "WWW-Authenticate": "Bearer"},
                )
            report = await service.report()
            renderer = negotiate(request.headers.get("accept"))
            return Response(
                renderer.detailed(report),
                status_code(report),
                headers=_NO_STORE,
                media_type=renderer.media_type,
            )

    @router.get("/livez", response_class=Response, responses=LIVEZ_RESPONSES)
    async def livez() -> Response:
        """The process answers; touches no dependency."""
        return Response(b'{"status":"pass"}', 200, headers=_NO_STORE, media_type=MEDIA_TYPE)

    if metrics is not None and service.settings.metrics_port is None:
        exposition = metrics

        @router.get("/metrics", response_class=Response, responses=METRICS_RESPONSES)
        async def prometheus_metrics() -> Response:
            """Prometheus text exposition; touches no dependency."""
            from service.metrics import CONTENT_TYPE

            return Response(exposition.exposition(), 200, media_type=CONTENT_TYPE)

    return router


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, StarletteHTTPException) else 400
    messages = {404: "not found", 405: "method not allowed", 400: "bad request"}
    headers = getattr(exc, "headers", None)
    return JSONResponse({"error": messages.get(code, "error")}, code, headers=headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "internal error"}, 500)


def create_app(
    service: HealthService, *, manage_lifespan: bool = True, metrics: Metrics | None = None
) -> FastAPI:
    """A standalone app serving ``service``'s routes.

    Args:
        service: the health service.
        manage_lifespan: start and stop the checks with the app's lifespan. The Lambda handler
            passes ``False`` and starts them once per process itself.
        metrics: Prometheus metrics to serve on ``/metrics`` and to count requests into;
            ``None``: no metrics.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifespan:
            async with service.lifespan():
                yield
        else:
            yield

    app = FastAPI(
        title="deep-health",
        version=service.settings.version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.include_router(health_router(service, metrics=metrics))
    if metrics is not None:
        from service.metrics import RequestCounter

        app.add_middleware(RequestCounter, metrics=metrics)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _http_error)
    app.add_exception_handler(Exception, _server_error)
    return app
