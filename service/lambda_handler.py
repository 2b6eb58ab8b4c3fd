"""AWS Lambda entry point: ``service.lambda_handler.handler`` (API Gateway HTTP API, v2).

Everything expensive happens once per process, here at import: the config is read and the
checks' clients are created on the runner's own loop, so they survive warm invocations even
though Mangum runs the ASGI lifespan around every invocation (it is turned off here). The time
this init took is charged to the first evaluation's deadline, so a cold start still answers
within Route 53's 2 s.

Lambda defaults (:data:`service.entrypoints.ENTRY_POINTS`): on-request mode (always: nothing
runs between invocations), CloudWatch EMF on (``emf = false`` turns it off), Prometheus off
(nothing would scrape it), JSON logs on stdout, no access logs.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from mangum import Mangum

from service.app import create_app
from service.compose import compose
from service.config import load_config
from service.health import HealthService
from service.logs import configure
from service.renderers import text_media_types
from service.secrets import secret_environment
from service.snapstart import register as register_snapstart_hooks

__all__ = ["handler", "init_seconds", "service"]


def _process_age() -> float:
    """Seconds since this process started (Linux), else 0: what init has cost so far."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as uptime:
            uptime_seconds = float(uptime.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime_seconds - start_ticks / os.sysconf("SC_CLK_TCK"))


def _build() -> tuple[HealthService, Any]:
    configure(logging.INFO)
    # The details token is read from SSM here, once (see service/secrets.py).
    composed = compose(load_config(environ=secret_environment()), "lambda")
    app = create_app(composed.service, manage_lifespan=False, metrics=composed.metrics)
    return composed.service, app


service, _app = _build()
service.start()
register_snapstart_hooks(service)  # they run only under SnapStart: see service.snapstart
_asgi = Mangum(
    _app,
    lifespan="off",
    text_mime_types=text_media_types(),
)
init_seconds = _process_age()
service.charge_deadline(init_seconds)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler."""
    started = time.perf_counter()
    response: dict[str, Any] = _asgi(event, context)
    response.setdefault("headers", {})["server-timing"] = (
        f"total;dur={(time.perf_counter() - started) * 1000:.1f}"
    )
    return response
