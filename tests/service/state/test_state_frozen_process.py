"""The fleet glue for a process frozen between requests (Lambda): the first read of the fleet's
state, settling the latch write before answering, and forgetting before a snapshot.

Pure: a scripted store in memory stands for the shared one. The same rules through the real
Lambda handler and DynamoDB: tests/service/faces/test_lambda_fleet_state.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from service.state import Counts, LatchRecord, Snapshot, StoreUnavailable, SwitchRecord
from service.state.fleet import FleetState
from service.verdict.rules import LatchState

NOW = 1_000.0
LATCHED = dataclasses.asdict(LatchState(latched_at=NOW, last_bad=NOW))
HOLD = SwitchRecord(name="hold", on=True, by="tester", at=NOW, reason="drill")


class Store:
    """A shared store whose answers take ``delay`` seconds; ``hang_save`` never answers a
    write; ``down`` refuses every exchange."""

    kind = "dynamodb"

    def __init__(self, snapshot: Snapshot, *, delay: float = 0.0) -> None:
        self.snapshot = snapshot
        self.delay = delay
        self.down = False
        self.hang_save = False
        self.saved: list[Mapping[str, Any]] = []
        self.forgotten = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def forget_client(self) -> None:
        self.forgotten += 1

    async def exchange(self, samples: Mapping[str, Counts], now: float) -> Snapshot:
        if self.down:
            raise StoreUnavailable("connection", "refused")
        await asyncio.sleep(self.delay)
        return self.snapshot

    async def load_latch(self) -> LatchRecord:
        return self.snapshot.latch

    async def save_latch(self, state: Mapping[str, Any], expected: int, now: float) -> bool:
        if self.hang_save:
            await asyncio.Event().wait()
        await asyncio.sleep(self.delay)
        self.saved.append(dict(state))
        return True

    async def set_switch(self, record: SwitchRecord) -> None:
        return None


def fleet_of(store: Store, *, timeout: float = 0.3) -> FleetState:
    return FleetState(store, window=60.0, timeout=timeout)


async def test_until_the_fleet_was_read_once_an_exchange_may_use_the_deadline() -> None:
    """A slow first exchange (a client still opening) is waited for within the deadline; once
    the fleet's state has been read, the store's own timeout applies again."""
    store = Store(Snapshot(latch=LatchRecord(LATCHED, 1), switches={"hold": HOLD}), delay=0.2)
    fleet = fleet_of(store, timeout=0.02)
    first = await fleet.read({}, NOW, budget=5.0)
    assert first.source == "dynamodb"
    assert first.held_by() == HOLD
    second = await fleet.read({}, NOW + 1, budget=5.0)
    assert second.source == "local"
    assert second.problem is not None
    assert "timeout" in second.problem
    assert second.held_by() == HOLD


async def test_a_read_at_start_makes_the_store_timeout_apply_from_the_first_exchange() -> None:
    store = Store(Snapshot(latch=LatchRecord(LATCHED, 1)))
    fleet = fleet_of(store, timeout=0.02)
    await fleet.start(NOW)
    store.delay = 0.2
    view = await fleet.read({}, NOW, budget=5.0)
    assert view.source == "local"
    assert view.latch.state == LATCHED


async def test_settle_finishes_the_latch_write_before_the_caller_answers() -> None:
    store = Store(Snapshot(), delay=0.01)
    fleet = fleet_of(store)
    view = await fleet.read({}, NOW, budget=1.0)
    fleet.commit(view, LATCHED, lambda state: LATCHED, NOW, blank={})
    assert store.saved == []  # a trailing task so far
    assert await fleet.settle(1.0) == 0
    assert store.saved == [LATCHED]
    assert fleet.write_failures == 0


async def test_settle_cancels_a_write_that_does_not_finish_in_time_and_counts_it() -> None:
    store = Store(Snapshot())
    store.hang_save = True
    fleet = fleet_of(store)
    view = await fleet.read({}, NOW, budget=1.0)
    fleet.commit(view, LATCHED, lambda state: LATCHED, NOW, blank={})
    assert await fleet.settle(0.01) == 1
    assert fleet.write_failures == 1
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert await fleet.settle(1.0) == 0  # nothing left


async def test_forget_drops_the_client_and_what_was_read_of_the_fleet() -> None:
    """Before a SnapStart snapshot: a restored copy must not judge from the publisher's state."""
    store = Store(Snapshot(latch=LatchRecord(LATCHED, 1), switches={"hold": HOLD}))
    fleet = fleet_of(store, timeout=0.02)
    await fleet.start(NOW)
    fleet.forget()
    assert store.forgotten == 1
    store.down = True
    view = await fleet.read({}, NOW, budget=1.0)
    assert view.source == "local"
    assert view.latch.state is None
    assert view.switches == {}
    store.down, store.delay = False, 0.2  # the restored copy's first exchange opens a client
    view = await fleet.read({}, NOW, budget=5.0)
    assert view.source == "dynamodb"
