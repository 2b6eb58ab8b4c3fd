"""Embedded mode in Starlette: the health app mounted beside the application's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from service.compose import compose
from service.config import load_config
from service.faces.app import create_app

health = compose(load_config(), "embedded")


async def orders(request: Request) -> JSONResponse:
    return JSONResponse([])


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # A mounted app's own lifespan does not run: the host starts and stops the checks.
    async with health.service.lifespan():
        yield


app = Starlette(
    routes=[
        Route("/orders", orders),
        Mount("/", app=create_app(health.service, manage_lifespan=False, metrics=health.metrics)),
    ],
    lifespan=lifespan,
)
