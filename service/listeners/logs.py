"""JSON-lines logs on stdout: transitions, evaluations (debug), a start-up config summary.

Every line is one JSON object with ``time``, ``level``, ``logger``, ``message`` and the record's
``fields`` (pass ``extra={"fields": {...}}``). What is logged:

- ``transition`` (info, once per change of the region's status): ``from``, ``to``, ``reasons``,
  ``failing`` (failing check names), ``releaseId``, ``evaluation``;
- ``evaluation`` (debug, once per new evaluation): its number, verdict, duration and each
  check's status and reason;
- ``config`` (info, at start-up): the settings and each check's name, type, criticality, scope
  and timeout. No secrets: the details token appears as set/unset, check options not at all.

Error text from checks may carry secrets, so it is never logged here (``/health/details`` and
the CLI show it).

Lines for stdout are queued and written by a thread of their own (:mod:`service.listeners.stdout`):
a log
agent that stops reading never stalls a request; lines it cannot take are dropped and counted.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, TextIO

from checks.result import Status
from service.config import Config
from service.engine.health import HealthService
from service.engine.report import Report, Transition
from service.listeners.stdout import LineWriter, stdout_writer

__all__ = [
    "LOGGER",
    "JsonFormatter",
    "LogListener",
    "QueuedHandler",
    "config_summary",
    "configure",
]

LOGGER = "deep_health"
"""The root of every deep-health logger."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the record's ``fields`` are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class QueuedHandler(logging.Handler):
    """A handler that formats on the caller's thread and queues the line; never blocks.

    Args:
        writer: where lines go; ``None``: the process's stdout writer.
    """

    def __init__(self, writer: LineWriter | None = None) -> None:
        super().__init__()
        self.writer = writer if writer is not None else stdout_writer()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.writer.write(line + "\n")


def configure(level: int | str = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Send the ``deep_health`` loggers to ``stream`` as JSON lines.

    ``None`` (the default): stdout, through the bounded queue of :mod:`service.listeners.stdout`. An
    explicit stream is written directly (tests, an embedding application's own stream).
    """
    handler: logging.Handler = QueuedHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler


def config_summary(config: Config, *, mode: str | None = None) -> dict[str, Any]:
    """The configuration without secrets: no token, no check options."""
    settings = config.settings.model_dump(exclude={"details_token"})
    settings["details_token"] = "set" if config.settings.details_token else "unset"
    if mode is not None:
        settings["mode"] = mode
    return {
        "source": config.source,
        "settings": settings,
        "checks": [
            {
                "name": check.check_name,
                "type": f"{type(check).__module__}:{type(check).__qualname__}",
                "critical": check.critical,
                "scope": check.scope,
                "timeout": check.timeout,
            }
            for check in config.checks
        ],
    }


class LogListener:
    """A :data:`~service.engine.report.Listener` logging transitions and evaluations.

    Args:
        logger: where to log; default ``deep_health.events``.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(f"{LOGGER}.events")

    def attach(self, service: HealthService) -> LogListener:
        """Listen to ``service`` and log its configuration summary now."""
        self.logger.info(
            "config", extra={"fields": config_summary(service.config, mode=service.mode)}
        )
        service.add_listener(self)
        return self

    def __call__(self, report: Report, transition: Transition | None) -> None:
        evaluation = report.evaluation
        if transition is not None:
            self.logger.info(
                "transition",
                extra={
                    "fields": {
                        "from": transition.before,
                        "to": transition.after,
                        "reasons": list(report.verdict.reasons),
                        "failing": [r.name for r in evaluation.results if r.status is Status.FAIL],
                        "stale": report.stale,
                        "releaseId": report.settings.release_id,
                        "evaluation": evaluation.number,
                    }
                },
            )
        if report.stale or not self.logger.isEnabledFor(logging.DEBUG):
            return
        self.logger.debug(
            "evaluation",
            extra={
                "fields": {
                    "evaluation": evaluation.number,
                    "status": report.verdict.status.value,
                    "durationMs": round(evaluation.duration * 1000, 2),
                    "checks": {
                        r.name: {"status": r.status.value, "reason": r.reason}
                        for r in evaluation.results
                    },
                }
            },
        )
