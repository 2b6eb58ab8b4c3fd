"""Operator switches: drain (force this region unhealthy) and hold (stay failed over).

Each has two local sources, read once per evaluation, neither a network call:

- an environment variable (``DEEP_HEALTH_DRAIN`` / ``DEEP_HEALTH_HOLD``), fixed for the
  process's life — for a redeploy. It applies to THIS PROCESS ONLY: the region's other
  instances (Lambda containers, tasks) do not see it, and with Route 53's 18 % rule a minority
  of instances that still answer healthy holds the region up. For the region, use
  ``deep-health switch hold on`` / ``switch drain on`` (records in the shared state store that
  every instance reads, :mod:`service.cli.switch`). Parsed strictly: on is
  ``1``/``true``/``yes``/``on``, off is ``0``/``false``/``no``/``off`` or empty (any case,
  surrounding spaces ignored); anything else (``disabled``, a typo) stops start-up with a
  :class:`~checks.ConfigError` naming the variable (exit 2) rather than being guessed;
- a file whose existence flips it (``drain_file`` / ``hold_file`` in ``[failover]``) — for an
  operator on the host or a mounted volume; delete the file to release. A file that cannot be
  checked (permission denied on its directory, a name too long, an I/O error) keeps the
  switch's last known state (off until one was read) and adds a reason naming the switch and
  the OS error (``drain file unreadable (EACCES) ...``): a broken mount neither drains a
  healthy region nor releases a drained one.

The third drain source is the ``dynamodb_read`` canary item's ``drain`` attribute, which fails
that check (reason ``drained``) without any new dependency.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from checks.exceptions import ConfigError

__all__ = [
    "DRAIN_ENV",
    "HOLD_ENV",
    "SwitchState",
    "Switches",
    "env_flag",
    "flag_word",
    "hold_reason",
]

DRAIN_ENV = "DEEP_HEALTH_DRAIN"
HOLD_ENV = "DEEP_HEALTH_HOLD"
_ON = {"1", "true", "yes", "on"}
_OFF = {"", "0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class SwitchState:
    """Which switches are on, each with its source (``None`` when off)."""

    drained: str | None = None
    held: str | None = None
    unreadable: tuple[str, ...] = ()
    """A reason per switch file that could not be checked (its last known state is kept)."""

    def reasons(self, *, failing: bool = True) -> tuple[str, ...]:
        """The verdict's reasons for these switches.

        Args:
            failing: The region reports unhealthy: a hold is *engaged* (it stays failed over);
                else the hold is only *armed* (see :func:`hold_reason`).
        """
        found = []
        if self.drained:
            found.append(f"drained by operator ({self.drained})")
        if self.held:
            found.append(hold_reason(self.held, failing=failing))
        return (*found, *self.unreadable)


def hold_reason(source: str, *, failing: bool) -> str:
    """What a hold does, in the words the details and logs use.

    A hold never fails a healthy region (that is a drain): on a healthy region it is *armed*,
    and the region keeps serving until a failure latches; from then on it is *engaged*, and the
    region stays failed over until the hold is released.

    Args:
        source: Where the hold comes from and who set it (``state store, by alice at ...``).
        failing: The region reports unhealthy now.
    """
    if failing:
        return f"hold engaged ({source}): stays failed over until released"
    return (
        f"hold armed ({source}): the region is healthy and keeps serving; once a failure "
        "latches it stays failed over until released (to fail over now: drain)"
    )


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
        self._drain_env = env_flag(DRAIN_ENV, env.get(DRAIN_ENV))
        self._hold_env = env_flag(HOLD_ENV, env.get(HOLD_ENV))
        self._drain_file = Path(drain_file) if drain_file else None
        self._hold_file = Path(hold_file) if hold_file else None
        self._last = {"drain": False, "hold": False}  # each file's last known state

    def from_environment(self) -> tuple[str, ...]:
        """The switch variables that are on (``DEEP_HEALTH_HOLD``...): fixed for this process."""
        on = ((DRAIN_ENV, self._drain_env), (HOLD_ENV, self._hold_env))
        return tuple(name for name, flag in on if flag)

    def read(self) -> SwitchState:
        """The switches now; never raises."""
        unreadable: list[str] = []
        drained = self._source("drain", self._drain_env, DRAIN_ENV, self._drain_file, unreadable)
        held = self._source("hold", self._hold_env, HOLD_ENV, self._hold_file, unreadable)
        return SwitchState(drained=drained, held=held, unreadable=tuple(unreadable))

    def _source(
        self, switch: str, env_on: bool, env_name: str, file: Path | None, unreadable: list[str]
    ) -> str | None:
        if env_on:
            return f"env {env_name}"
        if file is None:
            return None
        try:
            present = _exists(file)
        except OSError as exc:
            code = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
            kept = "on" if self._last[switch] else "off"
            unreadable.append(
                f"{switch} file unreadable ({code}): keeping its last known state ({kept})"
            )
            present = self._last[switch]
        self._last[switch] = present
        return f"file {file}" if present else None


def env_flag(name: str, value: str | None) -> bool:
    """A switch variable's value: on (1/true/yes/on), off (0/false/no/off/empty or unset).

    Raises:
        ConfigError: any other value, naming the variable (start-up stops with exit 2).
    """
    if value is None:
        return False
    flag = flag_word(value)
    if flag is not None:
        return flag
    raise ConfigError(
        name, f"{value!r} is neither on (1, true, yes, on) nor off (0, false, no, off, empty)"
    )


def flag_word(value: str) -> bool | None:
    """On (``1``/``true``/``yes``/``on``), off (``0``/``false``/``no``/``off``/empty), any case,
    surrounding spaces ignored; ``None`` for any other word. The one vocabulary of the
    switch variables and of a hand-written switch record's ``on``."""
    word = value.strip().lower()
    if word in _ON:
        return True
    if word in _OFF:
        return False
    return None


def _exists(file: Path) -> bool:
    """Whether ``file`` exists; only "it is not there" is False, every other error raises."""
    try:
        os.stat(file)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True
