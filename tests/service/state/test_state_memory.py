"""The in-memory store and the fleet glue's fallback logic: pure, no I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from service.state import Counts, LatchRecord, Snapshot, StoreUnavailable, SwitchRecord
from service.state.fleet import STATE_STORE, FleetState
from service.state.memory import MemoryStore
from service.verdict.rules import WindowCounts


def sums(window: Mapping[str, WindowCounts]) -> dict[str, tuple[int, int]]:
    """Per check, ``(failures, total)`` in the window."""
    return {check: (counts.failures, counts.total) for check, counts in window.items()}


async def test_window_counts_samples_and_expires_them_by_time() -> None:
    store = MemoryStore(window=10.0)
    await store.exchange({"a": (1, 3)}, now=100.0)
    snapshot = await store.exchange({"a": (0, 3), "b": (2, 2)}, now=105.0)
    assert sums(snapshot.window) == {"a": (1, 6), "b": (2, 2)}
    later = await store.exchange({}, now=110.5)  # the first entry left the window
    assert sums(later.window) == {"a": (0, 3), "b": (2, 2)}


async def test_latch_write_is_conditional_on_its_version() -> None:
    store = MemoryStore(window=10.0)
    assert await store.save_latch({"latched_at": 5.0}, 0, now=5.0)
    assert not await store.save_latch({"latched_at": 6.0}, 0, now=6.0)  # lost the race
    assert await store.load_latch() == LatchRecord({"latched_at": 5.0}, 1)


class Broken:
    """A shared store that fails every call the way the test says."""

    kind = "dynamodb"

    def __init__(self, error: BaseException | None = None, hang: bool = False) -> None:
        self.error = error
        self.hang = hang
        self.calls = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def exchange(self, samples: Mapping[str, Counts], now: float) -> Snapshot:
        self.calls += 1
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error
        return Snapshot(
            window={"a": WindowCounts(((7, 70),))},
            latch=LatchRecord({"latched_at": 0.5}, 3),
            switches={"hold": SwitchRecord("hold", True, "ops", 1.0, "drill")},
        )

    async def load_latch(self) -> LatchRecord:
        return LatchRecord()

    async def save_latch(self, state: Mapping[str, Any], expected: int, now: float) -> bool:
        return True

    async def set_switch(self, record: SwitchRecord) -> None:
        return None


@pytest.mark.parametrize(
    ("store", "reason"),
    [
        (Broken(StoreUnavailable("throttled", "ThrottlingException")), "throttled"),
        (Broken(hang=True), "timeout"),
        (Broken(KeyError("sk")), "error"),  # a bug in a store: still only a fallback
    ],
)
async def test_a_failing_store_falls_back_to_local_state_and_says_so(
    store: Broken, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    fleet = FleetState(store, window=10.0, timeout=0.05)
    first = await fleet.read({"a": (1, 3)}, now=100.0, budget=1.0)
    second = await fleet.read({"a": (0, 3)}, now=101.0, budget=1.0)
    assert first.source == second.source == "local"
    assert sums(second.window) == {"a": (1, 6)}  # this process's own samples, both evaluations
    assert second.problem is not None
    assert second.problem.startswith(f"{STATE_STORE}: dynamodb {reason}")
    assert fleet.fallbacks == {reason: 2}
    errors = [r for r in caplog.records if r.name == "deep_health.state"]
    assert len(errors) == 1  # logged on the change, not on every evaluation


async def test_the_store_gets_no_more_than_the_budget_left() -> None:
    store = Broken(hang=True)
    fleet = FleetState(store, window=10.0, timeout=5.0)
    view = await asyncio.wait_for(fleet.read({}, now=1.0, budget=0.05), 2.0)
    assert view.source == "local"
    spent = FleetState(store, window=10.0, timeout=5.0)
    view = await spent.read({}, now=1.0, budget=0.0)
    assert view.problem is not None
    assert "timeout" in view.problem


async def test_fallback_keeps_the_switches_last_read_and_the_fleet_latch() -> None:
    store = Broken()
    fleet = FleetState(store, window=10.0, timeout=0.5)
    view = await fleet.read({"a": (0, 3)}, now=1.0, budget=1.0)
    assert view.source == "dynamodb"
    assert view.held_by() is not None
    fleet.commit(view, {"latched_at": 1.0}, lambda s: {"latched_at": 1.0}, now=1.0)
    await fleet.flush()
    store.error = StoreUnavailable("connection")
    fallen = await fleet.read({"a": (0, 3)}, now=2.0, budget=1.0)
    assert fallen.source == "local"
    assert fallen.held_by() is not None  # a hold does not vanish with the store
    assert fallen.latch.state == {"latched_at": 1.0}  # continues from the fleet's latch


async def test_memory_only_never_reports_a_problem() -> None:
    fleet = FleetState(None, window=10.0)
    view = await fleet.read({"a": (1, 1)}, now=1.0, budget=0.0)
    assert (view.source, view.problem, sums(view.window)) == ("memory", None, {"a": (1, 1)})


async def test_a_new_instance_starts_from_the_fleets_latch_and_switches() -> None:
    """Its fallback then continues from them, not from a blank (healthy) state."""
    store = Broken()
    fleet = FleetState(store, window=10.0, timeout=0.5)
    await fleet.start(now=1.0)
    store.error = StoreUnavailable("timeout")
    view = await fleet.read({"a": (0, 3)}, now=2.0, budget=1.0)
    assert view.source == "local"
    assert view.latch == LatchRecord({"latched_at": 0.5}, 3)
    assert view.held_by() is not None


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


def test_an_evaluation_without_samples_takes_no_place_in_the_window() -> None:
    store = MemoryStore(window=100.0, max_entries=2)
    store.record({"a": (1, 1)}, now=1.0)
    store.record({"a": (0, 0), "b": (1, 2)}, now=2.0)  # a took no sample; b is still recorded
    store.record({"a": (0, 1)}, now=3.0)
    assert sums(store.counts(now=3.0)) == {"a": (1, 2), "b": (1, 2)}


def test_the_window_keeps_the_newest_max_entries_evaluations() -> None:
    store = MemoryStore(window=100.0, max_entries=2)
    for now, failures in ((1.0, 1), (2.0, 0), (3.0, 1)):
        store.record({"a": (failures, 1)}, now)
    assert sums(store.counts(now=3.0)) == {"a": (1, 2)}  # the first one left to make room
    store.record({"a": (0, 1)}, now=4.0)
    assert sums(store.counts(now=4.0)) == {"a": (1, 2)}


def test_an_entry_at_the_horizon_is_outside_the_window() -> None:
    """The window is (now - window, now], as the shared store's buckets are."""
    store = MemoryStore(window=10.0)
    store.record({"a": (1, 1)}, now=100.0)
    assert sums(store.counts(now=109.999)) == {"a": (1, 1)}
    assert sums(store.counts(now=110.0)) == {}


def test_the_latch_state_of_a_never_written_latch_is_none() -> None:
    assert MemoryStore(window=1.0).latch_state() is None


def test_keeping_a_latch_state_moves_the_version_only_when_it_changes() -> None:
    from service.verdict.rules import LatchState

    store = MemoryStore(window=1.0)
    store.keep_latch_state(LatchState(latched_at=5.0))
    assert (store.latch_state(), store._latch.version) == (LatchState(latched_at=5.0), 1)
    store.keep_latch_state(LatchState(latched_at=5.0))
    assert store._latch.version == 1
    store.keep_latch_state(LatchState())
    assert (store.latch_state(), store._latch.version) == (LatchState(), 2)
