"""Operator switches: drain (force this region unhealthy) and hold (stay failed over).

Each has two local sources, read once per evaluation, neither a network call:

- an environment variable (``DEEP_HEALTH_DRAIN`` / ``DEEP_HEALTH_HOLD`` set to a non-empty
  value other than ``0``/``false``), fixed for the process's life — for a redeploy;
- a file whose existence flips it (``drain_file`` / ``hold_file`` in ``[failover]``) — for an
  operator on the host or a mounted volume; delete the file to release.

The third drain source is the ``dynamodb_read`` canary item's ``drain`` attribute, which fails
that check (reason ``drained``) without any new dependency.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DRAIN_ENV", "HOLD_ENV", "SwitchState", "Switches"]

DRAIN_ENV = "DEEP_HEALTH_DRAIN"
HOLD_ENV = "DEEP_HEALTH_HOLD"
_OFF = {"", "0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class SwitchState:
    """Which switches are on, each with its source (``None`` when off)."""

    drained: str | None = None
    held: str | None = None

    def reasons(self) -> tuple[str, ...]:
        found = []
        if self.drained:
            found.append(f"drained by operator ({self.drained})")
        if self.held:
            found.append(f"hold engaged ({self.held}): stays failed over until released")
        return tuple(found)


class Switches:
    """Reads the switches.

    Args:
        drain_file: a path whose existence drains the region; ``None`` disables it.
        hold_file: a path whose existence engages the hold; ``None`` disables it.
        environ: the environment (``os.environ`` by default), read once here.
    """

    def __init__(
        self,
        *,
        drain_file: str | None = None,
        hold_file: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._drain_env = _on(env.get(DRAIN_ENV))
        self._hold_env = _on(env.get(HOLD_ENV))
        self._drain_file = Path(drain_file) if drain_file else None
        self._hold_file = Path(hold_file) if hold_file else None

    def read(self) -> SwitchState:
        """The switches now."""
        return SwitchState(
            drained=_source(self._drain_env, DRAIN_ENV, self._drain_file),
            held=_source(self._hold_env, HOLD_ENV, self._hold_file),
        )


def _on(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in _OFF


def _source(env_on: bool, env_name: str, file: Path | None) -> str | None:
    if env_on:
        return f"env {env_name}"
    if file is not None and file.exists():
        return f"file {file}"
    return None
