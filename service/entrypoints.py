"""Per-entry-point defaults: what ``serve``, Lambda and embedded use choose when the config is
silent. The one table; :func:`service.compose.compose` and
:class:`service.engine.health.HealthService`
read it.

============  ==============================  =======  ====  ==========
entry point   mode                            metrics  EMF   JSON logs
============  ==============================  =======  ====  ==========
``serve``     background                      on       off   on
``lambda``    on-request (always: see below)  off      on    on
``embedded``  on-request                      off      off   off (host)
``check``     on-request (always)             never    never never
============  ==============================  =======  ====  ==========

Lambda runs nothing between invocations, so background mode is impossible there: a configured
``mode = "background"`` is ignored with a warning. Embedded use is a host application calling
:class:`~service.engine.health.HealthService` or :func:`~service.faces.app.create_app` itself; it
owns its
logging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from service.config import DEFAULT_MODE, Mode

__all__ = ["ENTRY_POINTS", "EntryPoint", "EntryPointDefaults", "enabled"]

EntryPoint = Literal["serve", "lambda", "embedded", "check"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryPointDefaults:
    """What one entry point does when the config leaves a setting unset.

    Attributes:
        mode: The evaluation mode.
        mode_fixed: The mode is the only one possible here; a configured other is ignored.
        metrics: Prometheus metrics on.
        emf: CloudWatch EMF lines on stdout.
        logs: JSON logs of transitions and evaluations.
        listeners: False: no listener at all, whatever the config sets (``deep-health check``
            prints its one report; an EMF line or a log would mix into it).
    """

    mode: Mode
    mode_fixed: bool = False
    metrics: bool
    emf: bool
    logs: bool
    listeners: bool = True


ENTRY_POINTS: Final[dict[EntryPoint, EntryPointDefaults]] = {
    "serve": EntryPointDefaults(mode="background", metrics=True, emf=False, logs=True),
    "lambda": EntryPointDefaults(
        mode="on-request", mode_fixed=True, metrics=False, emf=True, logs=True
    ),
    "embedded": EntryPointDefaults(mode=DEFAULT_MODE, metrics=False, emf=False, logs=False),
    "check": EntryPointDefaults(
        mode="on-request", mode_fixed=True, metrics=False, emf=False, logs=False, listeners=False
    ),
}


def enabled(setting: bool | None, default: bool) -> bool:
    """A config switch: its value when set, else the entry point's default."""
    return default if setting is None else setting
