"""Where the failover state lives: one store the whole fleet of a region shares.

Route 53 reaches a region through a balancer, so the gray-failure window, the latch and its
recovery hold, and the operator switches must be the region's, not one process's. A
:class:`StateStore` keeps them:

- :class:`~service.state.memory.MemoryStore`: this process only (one instance, unit tests, and
  every instance's local fallback);
- :class:`~service.state.dynamodb.DynamoDBStore`: a regional DynamoDB table every instance of
  the region shares.

The store is chosen by name from :mod:`~service.state.registry` and passed in by
:mod:`service.compose`. Beside the stores: :mod:`~service.state.fleet` (the store with the local
fallback), :mod:`~service.state.tracking` (each evaluation judged with the rules),
:mod:`~service.state.records` (stored records checked before use), :mod:`~service.state.switches`
(drain and hold from the environment and files), :mod:`~service.state.settings` (``[state]``),
:mod:`~service.state.instance` (this process's id).

One evaluation makes one round trip: :meth:`StateStore.exchange` records its sample counts and
reads the fleet's window, latch and switches back. Writing the latch is a conditional write that
may trail the answer (:meth:`StateStore.save_latch`).

Exceptions::

    StoreUnavailable      the store did not answer in time, refused, throttled or denied;
                          the caller falls back to its local state for that evaluation
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from service.verdict.rules import WindowCounts

__all__ = [
    "SWITCHES",
    "Counts",
    "Damage",
    "LatchRecord",
    "Snapshot",
    "StateStore",
    "StoreUnavailable",
    "SwitchName",
    "SwitchRecord",
]

SwitchName = Literal["drain", "hold"]
SWITCHES: tuple[SwitchName, ...] = ("drain", "hold")

Counts = tuple[int, int]
"""``(failures, total)`` samples of one check."""


class StoreUnavailable(Exception):
    """The store could not answer; ``reason`` is a short public-safe code.

    Codes: ``timeout``, ``connection``, ``throttled``, ``access_denied``, ``not_found``,
    ``credentials``, ``bad_response`` (an answer that is not the store's API: a proxy's page,
    a truncated body), ``error``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Damage:
    """A stored record that could not be used as it is, and what was done instead.

    Attributes:
        kind: ``latch``, ``switch`` or ``bucket`` (a fixed set: a metric's label).
        text: For people: which record, what is wrong (types and ranges, never its content),
            what was done. Safe for logs and ``/health/details``.
    """

    kind: Literal["latch", "switch", "bucket"]
    text: str

    def __str__(self) -> str:
        return f"{self.kind} {self.text}"


@dataclass(frozen=True, slots=True)
class SwitchRecord:
    """An operator switch as the store keeps it: who set it, when (epoch seconds), why."""

    name: SwitchName
    on: bool
    by: str
    at: float
    reason: str = ""

    def describe(self) -> str:
        """``by alice at 2026-11-28T22:00:00Z: failover drill`` (for details and logs).

        Never raises: a time that is no date (``1E+20``, NaN, 0 for "unknown") reads
        ``at an unknown time``.
        """
        try:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at)) if self.at > 0 else ""
        except (OverflowError, ValueError, OSError):
            when = ""
        why = f": {self.reason}" if self.reason else ""
        return f"by {self.by} at {when or 'an unknown time'}{why}"


@dataclass(frozen=True, slots=True)
class LatchRecord:
    """The serialised latch state and its version (0: never written).

    ``state`` is whatever the latch rule serialises (a mapping of plain values); the store
    neither reads nor changes it. ``version`` is what a conditional write compares.
    ``damaged``: the stored record could not be read as it is (see
    :mod:`service.state.records`); the next evaluation writes it again even if the rule's
    state did not change, by a write the store makes able to replace the damaged item.
    """

    state: Mapping[str, Any] | None = None
    version: int = 0
    damaged: bool = False


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The fleet's state as one evaluation sees it.

    Attributes:
        window: Per check, its samples in the window (this evaluation's own included) and the
            time buckets they fall in.
        latch: The latch record.
        switches: Switch records the store holds (on or off), by name.
        requests: Store requests this read took (for the benchmark).
        damage: What was wrong with the records read, one line each, for people (nothing
            damaged: empty). Each damaged record was left out, repaired or read as its safe
            value (:mod:`service.state.records`).
        clock_skew: Seconds this instance's clock is off from the store's (positive: ahead),
            when certainly more than :data:`~service.state.records.MAX_CLOCK_SKEW`; its
            samples were then not written. ``None``: within the bound, or not measured.
    """

    window: Mapping[str, WindowCounts] = field(default_factory=dict)
    latch: LatchRecord = field(default_factory=LatchRecord)
    switches: Mapping[SwitchName, SwitchRecord] = field(default_factory=dict)
    requests: int = 0
    damage: tuple[Damage, ...] = ()
    clock_skew: float | None = None


class StateStore(Protocol):
    """Keeps a region's failover state.

    To add a store, implement these coroutines; raise :class:`StoreUnavailable` for anything
    that stops an answer (the caller falls back to its local state), never anything else.
    """

    kind: str
    """``"memory"`` or ``"dynamodb"``: named in details, logs and metrics."""

    def describe(self) -> str:
        """Where the state lives, for people (``deep-health switch status``)."""
        ...

    async def start(self) -> None:
        """Create clients (once per process)."""
        ...

    async def close(self) -> None:
        """Release clients."""
        ...

    def forget_client(self) -> None:
        """Drop clients unclosed, so the next call opens new ones (before a SnapStart snapshot,
        where no event loop can run :meth:`close`)."""
        ...

    async def exchange(self, samples: Mapping[str, Counts], now: float) -> Snapshot:
        """Record one evaluation's samples at ``now`` (epoch) and read the fleet's state back.

        Args:
            samples: Per check, this evaluation's ``(failures, total)``; may be empty.
            now: Wall-clock time in epoch seconds (the same across the fleet).

        Returns:
            The window (``samples`` included), the latch and the switches.
        """
        ...

    async def load_latch(self) -> LatchRecord:
        """Read the latch record alone, strongly consistent (after a lost race)."""
        ...

    async def save_latch(self, state: Mapping[str, Any], expected: int, now: float) -> bool:
        """Write the latch if its version is still ``expected``.

        Returns:
            True when written (the version is then ``expected + 1``); False when another
            instance wrote first (nothing changed: re-read and re-apply).
        """
        ...

    async def set_switch(self, record: SwitchRecord) -> None:
        """Record an operator switch (on or off, with who/when/why)."""
        ...
