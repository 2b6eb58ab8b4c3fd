"""The one composition point: build the health service for an entry point, its state store and
listeners included.

``deep-health serve`` and ``check`` (:mod:`service.cli.main`), the Lambda handler
(:mod:`service.faces.lambda_handler`) and a host application all build their service here, with
the defaults of :data:`service.entrypoints.ENTRY_POINTS`; the state store comes from
:mod:`service.state.registry` and is passed in. Only transport stays with the callers (uvicorn,
the API Gateway adapter :mod:`service.faces.apigw`, a metrics port, the logging setup).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.config import Config
from service.engine.health import HealthService
from service.entrypoints import ENTRY_POINTS, EntryPoint, enabled
from service.state.registry import factory

if TYPE_CHECKING:
    from service.listeners.metrics import Metrics

__all__ = ["Composed", "compose"]

logger = logging.getLogger("deep_health.compose")


@dataclass(frozen=True, slots=True)
class Composed:
    """A built service and what an adapter serves besides it.

    Attributes:
        service: The health service, listeners attached.
        metrics: Prometheus metrics to serve, or None when they are off.
    """

    service: HealthService
    metrics: Metrics | None


def compose(config: Config, entry_point: EntryPoint) -> Composed:
    """Build the service for ``entry_point`` and attach its listeners (logs, metrics, EMF).

    Args:
        config: A validated configuration; its set switches beat the entry point's defaults.
        entry_point: ``serve``, ``lambda``, ``embedded`` or ``check``.

    Returns:
        The service and its metrics.
    """
    defaults = ENTRY_POINTS[entry_point]
    settings = config.settings
    mode = settings.mode or defaults.mode
    if defaults.mode_fixed and mode != defaults.mode:
        logger.warning(
            "mode = %s is not possible on %s: evaluating %s", mode, entry_point, defaults.mode
        )
        mode = defaults.mode
    store = factory(config.state.store)(config, timeout=config.state.timeout)
    service = HealthService(config, store=store, mode=mode)
    if not defaults.listeners:
        return Composed(service, None)
    if defaults.logs:
        from service.listeners.logs import LogListener

        LogListener().attach(service)
    metrics = None
    if enabled(settings.metrics, defaults.metrics):
        from service.listeners.metrics import Metrics

        metrics = Metrics(service)
    if enabled(settings.emf, defaults.emf):
        from service.listeners.emf import EmfEmitter

        service.add_listener(
            EmfEmitter(namespace=settings.emf_namespace, service=settings.service_id)
        )
    return Composed(service, metrics)
