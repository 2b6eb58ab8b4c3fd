"""Statuses, observations and the immutable result of one check run."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["FAILING_CHECKS", "CheckResult", "Observation", "Scope", "Status"]

FAILING_CHECKS = "failingChecks"
"""The observation a failing ``peer`` check reports the peer region's failing checks under
(comma-separated names); the policy compares them with ours to tell a shared failure."""

Scope = Literal["regional", "global", "peer"]
"""Where a dependency lives: ``regional`` (failing over can fix it), ``global`` (shared by
every region: failing over cannot fix it, so it only warns) or ``peer`` (the other region:
informs only)."""


class Status(enum.Enum):
    """A health status, ordered by severity: ``PASS < WARN < FAIL``."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def worst(cls, statuses: Iterable[Status]) -> Status:
        """The most severe of ``statuses``; ``PASS`` when there are none."""
        return max(statuses, key=_SEVERITY.__getitem__, default=cls.PASS)


_SEVERITY = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2}


@dataclass(frozen=True, slots=True)
class Observation:
    """A measured value a check reports, e.g. ``Observation(12.5, "ms")``."""

    value: float | int | str | bool
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check in one evaluation.

    ``error`` is private text (never in the public body); ``reason`` is a short public code.
    ``samples`` holds the pass/fail outcome of each sample the check took (one by default).
    """

    name: str
    status: Status
    duration: float
    critical: bool = True
    scope: Scope = "regional"
    reason: str | None = None
    error: str | None = None
    observations: Mapping[str, Observation] = field(default_factory=dict)
    samples: tuple[bool, ...] = ()
    time: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is not Status.FAIL
