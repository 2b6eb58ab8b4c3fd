"""The shared store against the emulator (real HTTP), and through the fault proxy."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest

from service.state import LatchRecord, SwitchRecord
from service.state.dynamodb import (
    RETAIN,
    STORE_ACTIONS,
    TTL_ATTRIBUTE,
    DynamoDBStore,
    create_table,
)
from service.state.fleet import FleetState
from service.verdict.rules import WindowCounts
from support.emulator import Emulator
from support.proxy import FaultProxy

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0  # epoch seconds, a round bucket boundary for a 12 s window


@pytest.fixture
def table(emulator: Emulator) -> Iterator[str]:
    name = f"state-{uuid.uuid4().hex[:8]}"
    create_table(emulator.client("dynamodb"), name)
    yield name
    emulator.client("dynamodb").delete_table(TableName=name)


def store(endpoint: str, table: str, fleet: str = "fleet", timeout: float = 5.0) -> DynamoDBStore:
    return DynamoDBStore(
        table=table, fleet=fleet, window=12.0, endpoint_url=endpoint, timeout=timeout
    )


@pytest.fixture
async def pair(emulator: Emulator, table: str) -> AsyncIterator[tuple[DynamoDBStore, ...]]:
    stores = (store(emulator.endpoint, table), store(emulator.endpoint, table))
    yield stores
    for each in stores:
        await each.close()


async def test_instances_of_a_fleet_judge_one_window(pair: tuple[DynamoDBStore, ...]) -> None:
    a, b = pair
    await a.exchange({"accounts": (1, 3)}, NOW)
    seen = await b.exchange({"accounts": (0, 3), "queue": (2, 2)}, NOW + 1)
    # Per 1 s bucket (a 12 s window has twelve), as the rule counts its evidence.
    assert sorted(seen.window["accounts"].buckets) == [(0, 3), (1, 3)]
    assert seen.window["queue"] == WindowCounts(((2, 2),))
    assert seen.requests == 2  # the query and the bucket's update, in parallel


async def test_other_fleets_and_buckets_outside_the_window_are_not_counted(
    emulator: Emulator, table: str, pair: tuple[DynamoDBStore, ...]
) -> None:
    a, _ = pair
    other = store(emulator.endpoint, table, fleet="other-region")
    await other.exchange({"accounts": (5, 5)}, NOW)
    await other.close()
    await a.exchange({"accounts": (3, 3)}, NOW - 20)  # older than the 12 s window
    seen = await a.exchange({"accounts": (0, 3)}, NOW)
    assert seen.window == {"accounts": WindowCounts(((0, 3),))}


async def test_instances_sharing_a_bucket_never_lose_or_double_count_a_sample(
    emulator: Emulator, table: str
) -> None:
    """Eight instances add to one bucket: each sees every earlier sample and its own once.

    One after another, not concurrently: DynamoDB's ``ADD`` is atomic, but moto's UpdateItem
    is a read-modify-write across its server threads, so concurrent adds would test the
    emulator (it loses one now and then under load), not this code.
    """
    fleet = [store(emulator.endpoint, table) for _ in range(8)]
    for seen_before, s in enumerate(fleet):
        snapshot = await s.exchange({"accounts": (1, 3)}, NOW + 0.5)
        counts = (seen_before + 1, 3 * (seen_before + 1))
        assert snapshot.window == {"accounts": WindowCounts((counts,))}
    seen = await fleet[0].exchange({}, NOW + 1)
    assert seen.window == {"accounts": WindowCounts(((8, 24),))}
    for s in fleet:
        await s.close()


async def test_buckets_carry_a_ttl(emulator: Emulator, table: str) -> None:
    s = store(emulator.endpoint, table)
    await s.exchange({"accounts": (0, 1)}, NOW)
    await s.close()
    items = emulator.client("dynamodb").scan(TableName=table)["Items"]
    bucket = next(i for i in items if i["sk"]["S"].startswith("w#"))
    # The window, then RETAIN more for an operator to look, then TTL may delete it.
    assert bucket[TTL_ATTRIBUTE] == {"N": str(math.ceil(NOW + 12 + RETAIN))}
    assert (bucket["e"], bucket["f_accounts"], bucket["n_accounts"]) == (
        {"N": "1"},
        {"N": "0"},
        {"N": "1"},
    )  # one evaluation counted, its samples beside it
    ttl = emulator.client("dynamodb").describe_time_to_live(TableName=table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == TTL_ATTRIBUTE
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] in ("ENABLED", "ENABLING")


async def test_latch_write_is_conditional(pair: tuple[DynamoDBStore, ...]) -> None:
    a, b = pair
    assert await a.save_latch({"latched_at": NOW}, 0, NOW)
    assert not await b.save_latch({"latched_at": NOW + 1}, 0, NOW + 1)
    record = await b.load_latch()
    assert (record.state, record.version) == ({"latched_at": NOW}, 1)
    seen = await b.exchange({}, NOW)
    assert seen.latch == record


async def test_racing_latch_updates_are_each_applied_once(emulator: Emulator, table: str) -> None:
    """Every instance counts one clean evaluation from the same view: the count is exact."""
    # A generous read timeout: the first read creates the client, which a busy machine may take
    # longer than the default 0.3 s for, and a local view would not race at all.
    instances = [
        FleetState(store(emulator.endpoint, table), window=12.0, timeout=5.0) for _ in range(4)
    ]
    views = [await f.read({}, NOW, budget=5.0) for f in instances]
    assert [view.source for view in views] == ["dynamodb"] * 4

    def bump(state: Mapping[str, Any] | None) -> Mapping[str, Any]:
        return {"clean": int((state or {}).get("clean", 0)) + 1}

    for fleet, view in zip(instances, views, strict=True):
        fleet.commit(view, bump(view.latch.state), bump, NOW)
    await asyncio.gather(*(f.flush() for f in instances))
    assert (await instances[0].store.load_latch()).state == {"clean": 4}  # type: ignore[union-attr]
    for f in instances:
        await f.close()


async def test_switches_are_records_with_who_when_why(pair: tuple[DynamoDBStore, ...]) -> None:
    a, b = pair
    await a.set_switch(SwitchRecord("hold", True, "alice", NOW, "failover drill"))
    seen = await b.exchange({}, NOW)
    record = seen.switches["hold"]
    assert record == SwitchRecord("hold", True, "alice", NOW, "failover drill")
    assert "alice" in record.describe()
    assert "failover drill" in record.describe()
    await a.set_switch(SwitchRecord("hold", False, "bob", NOW + 1, "drill over"))
    assert not (await b.exchange({}, NOW + 1)).switches["hold"].on


async def shared_read(fleet: FleetState, now: float) -> None:
    """Read until the shared store answers (a busy emulator may miss one short timeout)."""
    for _ in range(10):
        view = await fleet.read({"accounts": (0, 3)}, now, budget=1.0)
        if view.source == "dynamodb":
            return
    pytest.fail("the store never answered")


@pytest.mark.parametrize("fault", ["blackhole", "reset", "latency"])
async def test_an_unanswering_store_falls_back_within_the_budget(
    emulator: Emulator, table: str, fault: str
) -> None:
    with FaultProxy(emulator.port) as proxy:
        fleet = FleetState(store(proxy.url, table, timeout=0.5), window=12.0, timeout=0.5)
        try:
            await shared_read(fleet, NOW)
            if fault == "latency":
                proxy.latency = 5.0
            else:
                setattr(proxy, fault, True)
            # Bounded: a read that waited for the hang would never return.
            view = await asyncio.wait_for(fleet.read({"accounts": (1, 3)}, NOW + 1, budget=1.0), 10)
            assert view.source == "local"
            assert view.problem is not None
            assert view.window["accounts"].failures == 1  # this process's own, this one's too
            proxy.clear()
            await shared_read(fleet, NOW + 2)
            assert fleet.available
        finally:
            await fleet.close()


async def test_a_missing_table_is_a_fallback_not_a_failure(emulator: Emulator) -> None:
    fleet = FleetState(store(emulator.endpoint, "no-such-table"), window=12.0)
    view = await fleet.read({"accounts": (0, 3)}, NOW, budget=1.0)
    assert view.source == "local"
    assert view.problem is not None
    assert "not_found" in view.problem
    await fleet.close()


async def test_the_store_calls_only_what_the_template_grants(
    emulator: Emulator, table: str
) -> None:
    s = store(emulator.endpoint, table)
    await s.start()
    called: set[str] = set()
    s._aws.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: called.add(f"dynamodb:{model.name}")
    )
    await s.exchange({"accounts": (0, 3)}, NOW)
    await s.save_latch({"x": 1}, 0, NOW)
    await s.load_latch()
    await s.set_switch(SwitchRecord("drain", False, "ops", NOW))
    await s.close()
    assert called == set(STORE_ACTIONS)


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


async def test_requests_are_counted_per_call(emulator: Emulator, table: str) -> None:
    s = store(emulator.endpoint, table)
    counted = []
    await s.exchange({}, NOW)  # nothing to add: the query alone
    counted.append(s.requests)
    await s.exchange({"idle": (0, 0)}, NOW)  # a check that took no sample adds nothing either
    counted.append(s.requests)
    await s.exchange({"accounts": (0, 3), "idle": (0, 0)}, NOW)  # the query and the update
    counted.append(s.requests)
    await s.save_latch({"clean": 1}, 0, NOW)
    counted.append(s.requests)
    await s.load_latch()
    counted.append(s.requests)
    await s.set_switch(SwitchRecord("drain", False, "ops", NOW))
    counted.append(s.requests)
    await s.close()
    assert counted == [1, 2, 4, 5, 6, 7]


async def test_the_latch_item_says_who_wrote_it_and_when(emulator: Emulator, table: str) -> None:
    from service.state.dynamodb import instance_id

    s = store(emulator.endpoint, table)
    await s.save_latch({"latched_at": NOW, "clean": 0}, 0, NOW + 0.25)
    await s.close()
    (item,) = emulator.client("dynamodb").scan(TableName=table)["Items"]
    assert item["sk"] == {"S": "z#latch"}
    assert item["state"] == {"S": '{"clean": 0, "latched_at": 1800000000.0}'}  # sorted keys
    assert item["v"] == {"N": "1"}
    assert float(item["at"]["N"]) == NOW + 0.25
    assert item["by"] == {"S": instance_id()}


async def test_the_reread_after_a_lost_race_is_strongly_consistent(
    emulator: Emulator, table: str
) -> None:
    s = store(emulator.endpoint, table)
    await s.start()
    sent: list[dict[str, Any]] = []
    s._aws.client.meta.events.register(
        "provide-client-params.dynamodb.GetItem", lambda params, **_: sent.append(dict(params))
    )
    assert await s.load_latch() == LatchRecord()  # never written
    await s.close()
    (params,) = sent
    assert params["ConsistentRead"] is True
