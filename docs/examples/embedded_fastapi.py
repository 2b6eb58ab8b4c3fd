"""Embedded mode in FastAPI: the health routes served by the application's own process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.compose import compose
from service.config import load_config
from service.faces.app import health_router

# The one composition point builds the service (its state store and listeners included) with
# the embedded defaults. load_config() reads DEEP_HEALTH_CONFIG; pass a path to pin it.
health = compose(load_config(), "embedded")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with health.service.lifespan():  # starts the checks' clients; stops them at shutdown
        yield


app = FastAPI(lifespan=lifespan)
app.include_router(health_router(health.service, metrics=health.metrics))


@app.get("/orders")  # the application's own routes, in the same process and package
async def orders() -> list[str]:
    return []
