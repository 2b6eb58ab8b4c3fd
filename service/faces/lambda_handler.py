"""AWS Lambda entry point: ``service.faces.lambda_handler.handler`` (API Gateway HTTP API, v2).

Everything expensive happens once per process, here at import: the config is read and the
checks' clients are created on the runner's own loop, so they survive warm invocations. Requests
go through :mod:`service.faces.apigw` to :class:`service.faces.routes.Routes` (the same rules the
FastAPI
app serves), so neither FastAPI, Starlette nor Mangum is imported on a cold start. The part
of this init that the first request waited through is charged to its evaluation's deadline
(:func:`init_charge`), so a cold start still answers within Route 53's 2 s, while a request
reaching an instance initialised earlier (provisioned concurrency, SnapStart) is charged
nothing.

Lambda runs this process only while an invocation is in progress: it is frozen once the
handler returns, until the next request (seconds away, or never). So the fleet's failover state
(:mod:`service.state`) is handled inside the invocation: init reads the fleet's latch and
switches before the first answer (:func:`read_fleet_state`), and every
invocation finishes its latch write before it returns (:meth:`FleetState.settle
<service.state.fleet.FleetState.settle>`): nothing the next answer depends on is left on the
loop. See docs/lambda-execution.md.

Lambda defaults (:data:`service.entrypoints.ENTRY_POINTS`): on-request mode (always: nothing
runs between invocations), CloudWatch EMF on (``emf = false`` turns it off), Prometheus off
(nothing would scrape it), JSON logs on stdout, no access logs.
"""

from __future__ import annotations

import gc

# Init makes some 130,000 objects that live as long as the process, and the cyclic collector
# would walk them over and over while they are being made (10-20 % of init's CPU): it is off
# until init is done, and they are then frozen out of its way (the end of this module).
gc.disable()

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from service.compose import compose
from service.config import load_config
from service.engine.health import HealthService
from service.faces.apigw import respond
from service.faces.routes import Routes
from service.faces.secrets import secret_environment
from service.faces.snapstart import register as register_snapstart_hooks
from service.listeners.logs import configure
from service.listeners.stdout import stdout_writer
from service.state import StoreUnavailable

if TYPE_CHECKING:
    from service.listeners.metrics import Metrics

__all__ = [
    "handler",
    "init_charge",
    "init_seconds",
    "read_fleet_state",
    "reset_init_charge",
    "service",
    "write_budget",
]

# Without a request time in the event, an invocation this soon after init is taken to be the
# request that caused the cold start.
_ON_DEMAND_GAP = 0.05
_LOG_FLUSH = 0.05  # seconds an invocation waits for its log and EMF lines to reach stdout

logger = logging.getLogger("deep_health.lambda")


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


def _build() -> tuple[HealthService, Routes, Metrics | None]:
    configure(logging.INFO)
    # The details token is read from SSM here, once (see service/faces/secrets.py).
    composed = compose(load_config(environ=secret_environment()), "lambda")
    routes = Routes(composed.service, metrics=composed.metrics)
    return composed.service, routes, composed.metrics


def _request_time(event: Mapping[str, Any]) -> float | None:
    """When API Gateway received the request (Unix seconds), if the event says."""
    context = event.get("requestContext")
    epoch = context.get("timeEpoch") if isinstance(context, Mapping) else None
    if isinstance(epoch, int | float) and not isinstance(epoch, bool) and epoch > 0:
        return float(epoch) / 1000
    return None


_init: tuple[float, float] | None = None
"""Init not yet charged: (started, ended) in Unix seconds; ``None`` once charged."""


def reset_init_charge(started: float, ended: float) -> None:
    """Record an init (Unix seconds) for the next request to be charged (a SnapStart restore)."""
    global _init
    _init = (started, ended)


def init_charge(event: Mapping[str, Any], now: float) -> float:
    """Seconds of init that the first request waited through; 0 after the first request.

    Only init that ran after the request was received counts: with the event's request time,
    the overlap of init with [received, now]; without it, the whole init when the invocation
    follows it at once (a cold start on demand), else nothing (an instance initialised ahead).
    """
    global _init
    pending, _init = _init, None
    if pending is None:
        return 0.0
    started, ended = pending
    received = _request_time(event)
    if received is not None:
        return max(0.0, min(ended, now) - max(started, received))
    return ended - started if now - ended <= _ON_DEMAND_GAP else 0.0


def read_fleet_state(service: HealthService, loop: asyncio.AbstractEventLoop) -> None:
    """At init: open the state store's client and read the fleet's latch and switches.

    A new container thus answers its first request from the fleet's state, even when that
    request's own exchange fails, and opening the client is not done inside the store's
    per-evaluation timeout. Opening is CPU work (on Lambda the credentials are in the
    environment), so it gets no timer that a slow CPU would trip; the read is bounded by the
    store's own timeouts (:meth:`~service.state.fleet.FleetState.start`). A store that does not
    answer is logged; the first evaluation then tries again with what is left of its deadline,
    and failing that judges by local state and says so. The first request waited through all
    of this, and is charged for it (:func:`init_charge`): a late first answer counts as one
    failed probe, a wrong 200 would hold up a region the fleet holds failed over.
    """
    store = service.fleet.store
    if store is None:
        return
    try:
        loop.run_until_complete(store.start())
        loop.run_until_complete(service.fleet.start(time.time()))
    except StoreUnavailable as exc:
        logger.error("state store: client not created at init (%s)", exc.reason)
    except Exception as exc:  # a store bug must not stop the function from answering
        logger.error("state store: reading the fleet's state at init failed", exc_info=exc)


def write_budget(started: float, now: float) -> float:
    """Seconds an invocation that began at ``started`` (``perf_counter``) may still wait for its
    latch write: what is left of the deadline, and at least the store's own timeout."""
    left = service.settings.deadline - (now - started)
    return max(service.fleet.timeout, left)


def _resume_collector() -> None:
    """Turn the collector back on, init's objects frozen (``gc.freeze``) so that it never walks
    them again: they live as long as the process. The few cycles init left unreachable stay
    with them (about 2,000 objects, under 1 MB), which is cheaper than collecting them."""
    gc.freeze()
    gc.enable()


try:
    _init_started = time.time() - _process_age()
    service, _routes, _metrics = _build()
    service.start()
    register_snapstart_hooks(service)  # they run only under SnapStart: see service.faces.snapstart
    # Requests run on this loop, one per process like the clients; the checks run on the
    # runner's.
    _loop = asyncio.new_event_loop()
    # The store's client lives on this loop, the one the evaluations' exchanges run on.
    read_fleet_state(service, _loop)
    init_seconds = _process_age()
    reset_init_charge(_init_started, _init_started + init_seconds)
finally:
    _resume_collector()


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda handler: any event gets an answer (a malformed one a small 400)."""
    started = time.perf_counter()
    charge = init_charge(event if isinstance(event, Mapping) else {}, time.time())
    if charge:  # never overwrite a charge already made (the SnapStart restore hook's own time)
        service.charge_deadline(charge)
    response = _loop.run_until_complete(respond(_routes, event, metrics=_metrics))
    # The process is frozen once this returns: the latch write this evaluation decided is done
    # now (the answer waits for it), never left on the loop for a thaw that may not come.
    _loop.run_until_complete(service.fleet.settle(write_budget(started, time.perf_counter())))
    # Lambda may freeze the process once this returns: give queued lines a moment to go out.
    stdout_writer().flush(_LOG_FLUSH)
    response.setdefault("headers", {})["server-timing"] = (
        f"total;dur={(time.perf_counter() - started) * 1000:.1f}"
    )
    return response
