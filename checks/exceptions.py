"""Exceptions raised by checks and by configuration.

The tree::

    DeepHealthError
    ├── CheckError            an outcome a check signals by raising
    │   ├── CheckFailed       the dependency is broken (status fail, with a reason code)
    │   └── CheckWarning      it works but is degraded (status warn)
    └── ConfigError           the configuration is invalid; start-up stops (exit code 2)

Any other exception a check raises is also a failure, reported with the reason ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["CheckError", "CheckFailed", "CheckWarning", "ConfigError", "DeepHealthError"]


class DeepHealthError(Exception):
    """Base of every exception deep-health defines."""


class CheckError(DeepHealthError):
    """An outcome signalled by a check.

    Args:
        message: private detail, shown only with a details token or in the CLI.
        reason: a short, stable code (``[a-z_]+``) that is safe to show publicly and to use as
            a metric label.
        observations: measured values to report with the outcome (as ``run()`` returns them).
    """

    default_reason = "error"

    def __init__(
        self,
        message: str = "",
        *,
        reason: str | None = None,
        observations: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason or self.default_reason
        self.observations = observations


class CheckFailed(CheckError):
    """The dependency cannot serve: the check fails."""

    default_reason = "error"


class CheckWarning(CheckError):
    """The dependency works but is degraded: the check warns."""

    default_reason = "degraded"


class ConfigError(DeepHealthError):
    """The configuration is invalid.

    Args:
        key: the dotted path of the offending key, e.g. ``checks[1].table``.
        message: what is wrong with it.
        more: further ``(key, message)`` problems found in the same file; every one is in
            ``errors`` and in the text, so one round of fixes is enough.
    """

    def __init__(self, key: str, message: str, *, more: Sequence[tuple[str, str]] = ()) -> None:
        self.key = key
        self.message = message
        self.errors: tuple[tuple[str, str], ...] = ((key, message), *more)
        super().__init__("\n".join(_line(k, m) for k, m in self.errors))


def _line(key: str, message: str) -> str:
    return f"{key}: {message}" if key else message
