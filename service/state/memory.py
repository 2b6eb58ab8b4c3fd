"""The in-memory store: one process's state (a single instance, tests, the local fallback).

The window is exact: one entry per evaluation, expired by time, bounded in number.

Example:
    >>> import asyncio
    >>> store = MemoryStore(window=60.0)
    >>> asyncio.run(store.exchange({"accounts": (1, 3)}, now=100.0)).window["accounts"]
    WindowCounts(buckets=((1, 3),))
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from service.state import Counts, LatchRecord, Snapshot, SwitchName, SwitchRecord
from service.verdict.rules import WindowCounts, window_counts

if TYPE_CHECKING:
    from service.config import Config
    from service.verdict.rules import LatchState

__all__ = ["MemoryStore", "from_config"]


class MemoryStore:
    """A :class:`~service.state.StateStore` in this process's memory.

    Args:
        window: Seconds of sample history.
        max_entries: Evaluations kept per check at most (bounds memory under a burst).
    """

    kind = "memory"

    def __init__(self, *, window: float, max_entries: int = 1024) -> None:
        self.window = window
        self._max_entries = max_entries
        self._entries: dict[str, deque[tuple[float, int, int]]] = {}
        self._totals: dict[str, list[int]] = {}
        self._latch = LatchRecord()
        self._kept: LatchState | None = None  # the latch as the rule's type, while current
        self._switches: dict[SwitchName, SwitchRecord] = {}

    def describe(self) -> str:
        """``memory of this process``."""
        return "memory of this process"

    async def start(self) -> None:
        """Nothing to create."""

    async def close(self) -> None:
        """Nothing to release."""

    def forget_client(self) -> None:
        """Nothing to drop: memory has no client."""

    def record(self, samples: Mapping[str, Counts], now: float) -> None:
        """Add one evaluation's ``(failures, total)`` per check at ``now``."""
        for check, (failures, total) in samples.items():
            if total <= 0:
                continue
            entries = self._entries.setdefault(check, deque())
            totals = self._totals.setdefault(check, [0, 0])
            entries.append((now, failures, total))
            totals[0] += failures
            totals[1] += total
            while len(entries) > self._max_entries:
                self._pop(entries, totals)

    def counts(self, now: float) -> dict[str, WindowCounts]:
        """Per check, its counts within the window ending at ``now``, bucketed by time."""
        horizon = now - self.window
        found: dict[str, WindowCounts] = {}
        for check, entries in self._entries.items():
            totals = self._totals[check]
            while entries and entries[0][0] <= horizon:
                self._pop(entries, totals)
            if totals[1]:
                found[check] = window_counts(entries, self.window)
        return found

    async def exchange(self, samples: Mapping[str, Counts], now: float) -> Snapshot:
        """Record ``samples`` and read the window, latch and switches (no I/O)."""
        self.record(samples, now)
        return Snapshot(window=self.counts(now), latch=self._latch, switches=dict(self._switches))

    async def load_latch(self) -> LatchRecord:
        """The latch record."""
        return self._latch

    async def save_latch(self, state: Mapping[str, Any], expected: int, now: float) -> bool:
        """Write the latch if its version is still ``expected``."""
        if self._latch.version != expected:
            return False
        # A copy through JSON, as the shared store keeps it: no aliasing with the caller.
        self._latch = LatchRecord(json.loads(json.dumps(dict(state))), expected + 1)
        self._kept = None
        return True

    def adopt_latch(self, record: LatchRecord) -> None:
        """Take the fleet's latch as this process's own (the fallback continues from it)."""
        self._latch = record
        self._kept = None

    def latch_state(self) -> LatchState | None:
        """The latch's state as the rule's type (synchronous: the simulator's fleet model)."""
        if self._kept is not None:
            return self._kept
        from service.state.records import latch_from

        return latch_from(self._latch.state) if self._latch.state is not None else None

    def keep_latch_state(self, state: LatchState) -> None:
        """Replace the latch's state unconditionally (synchronous: one process, no race)."""
        if state == self._kept:
            return  # unchanged (the simulator's common case: skip the serialisation)
        changed = self._latch.state != dataclasses.asdict(state)
        self._latch = LatchRecord(dataclasses.asdict(state), self._latch.version + int(changed))
        self._kept = state

    async def set_switch(self, record: SwitchRecord) -> None:
        """Record an operator switch."""
        self._switches[record.name] = record

    @staticmethod
    def _pop(entries: deque[tuple[float, int, int]], totals: list[int]) -> None:
        _, failures, total = entries.popleft()
        totals[0] -= failures
        totals[1] -= total


def from_config(config: Config, *, timeout: float) -> None:
    """``[state] store = "memory"`` (see :mod:`service.state.registry`): no shared store; each
    process keeps its own state (:class:`~service.state.fleet.FleetState`'s local memory)."""
    del config, timeout
    return
