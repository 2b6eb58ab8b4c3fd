"""The HTTP face: ``/health``, ``/health/details``, ``/livez``, and ``/metrics`` when enabled.

Two ways to use it:

- standalone: :func:`create_app` builds a FastAPI app that starts the checks with its lifespan;
- embedded: mount :func:`health_router` in the application's own FastAPI app and enter
  :meth:`HealthService.lifespan` from the host app's lifespan, so the health check runs in the
  same process and deployment package as real traffic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.engine.health import HealthService
from service.faces.openapi import (
    DETAILS_BEARER,
    DETAILS_RESPONSES,
    HEALTH_RESPONSES,
    LIVEZ_RESPONSES,
    METRICS_RESPONSES,
)
from service.faces.routes import DETAILS, HEALTH, LIVEZ, METRICS, Answer, Route, Routes, error

if TYPE_CHECKING:
    from service.listeners.metrics import Metrics

__all__ = ["create_app", "health_router"]

_RESPONSES: dict[Route, dict[int | str, dict[str, object]]] = {
    HEALTH: HEALTH_RESPONSES,
    DETAILS: DETAILS_RESPONSES,
    LIVEZ: LIVEZ_RESPONSES,
    METRICS: METRICS_RESPONSES,
}
_SUMMARIES = {
    HEALTH: "200 when this region can serve (pass or warn), 503 when it should fail over.",
    DETAILS: "Everything the public body hides; needs ``Authorization: Bearer <token>``.",
    LIVEZ: "The process answers; touches no dependency.",
    METRICS: "Prometheus text exposition; touches no dependency.",
}


def _response(answer: Answer) -> Response:
    return Response(
        answer.body, answer.status, headers=dict(answer.headers), media_type=answer.media_type
    )


def health_router(
    service: HealthService, *, prefix: str = "", metrics: Metrics | None = None
) -> APIRouter:
    """The health routes for ``service``, to include in any FastAPI app.

    One FastAPI route per :class:`service.faces.routes.Route` of
    :class:`service.faces.routes.Routes`, which
    decides every answer: ``/health/details`` exists only when a details token is configured,
    ``/metrics`` only when ``metrics`` is given and ``metrics_port`` does not move it to a port
    of its own.
    """
    routes = Routes(service, metrics=metrics)
    router = APIRouter(prefix=prefix)
    for route in routes.table:
        router.add_api_route(
            route.path,
            _endpoint(routes, route),
            methods=list(route.methods),
            name=route.name,
            description=_SUMMARIES[route],
            response_class=Response,
            responses=_RESPONSES[route],
            dependencies=[Security(DETAILS_BEARER)] if route is DETAILS else None,
        )
    return router


def _endpoint(routes: Routes, route: Route) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return _response(await routes.serve(route, request.headers))

    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, StarletteHTTPException) else 400
    headers = getattr(exc, "headers", None) or {}
    return _response(error(code, tuple(headers.items())))


async def _server_error(request: Request, exc: Exception) -> Response:
    return _response(error(500))


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
        # No 307 from /health/ to /health: its Location would be built from the request's Host
        # header, and a plain HTTP Route 53 check counts any 3xx as healthy.
        redirect_slashes=False,
    )
    app.include_router(health_router(service, metrics=metrics))
    if metrics is not None:
        from service.listeners.metrics import RequestCounter

        app.add_middleware(RequestCounter, metrics=metrics)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _http_error)
    app.add_exception_handler(Exception, _server_error)
    return app
