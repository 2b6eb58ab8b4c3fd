"""Records that break the fleet (issue 23), reproduced on the emulator: damaged, hand-written,
paged or skewed items in the state table, read by real instances over real HTTP.

Each test failed before :mod:`service.state.records` checked what the store returns (its
docstring says which way).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from checks import Status
from service.cli.main import main
from service.config import parse_config
from service.engine.health import HealthService
from service.state import LatchRecord, SwitchRecord
from service.state.dynamodb import DynamoDBStore, create_table
from service.state.fleet import FleetState
from service.state.registry import factory
from service.verdict.rules import WindowCounts
from support.emulator import Emulator
from support.httpserver import QuietHandler, ThreadedHttpServer
from support.observed import OUTCOMES, Clock

pytestmark = pytest.mark.integration

FLEET = "orders"
FAILOVER = (
    "[failover]\nwindow = 30\nthreshold = 0.1\nmin_samples = 10\nfail_after = 2\n"
    "recover_after = 3\nmin_hold = 60\nquiet = 0\nburst = 0\n"
)


@pytest.fixture
def table(emulator: Emulator) -> Iterator[str]:
    name = f"records-{uuid.uuid4().hex[:8]}"
    create_table(emulator.client("dynamodb"), name)
    yield name
    emulator.client("dynamodb").delete_table(TableName=name)


def put(emulator: Emulator, table: str, sk: str, **attributes: Any) -> None:
    """Write an item as a person or another version might: no check on its shape."""
    item = {"pk": {"S": FLEET}, "sk": {"S": sk}, **attributes}
    emulator.client("dynamodb").put_item(TableName=table, Item=item)


def get(emulator: Emulator, table: str, sk: str) -> dict[str, Any]:
    key = {"pk": {"S": FLEET}, "sk": {"S": sk}}
    found: dict[str, Any] = emulator.client("dynamodb").get_item(TableName=table, Key=key)
    return found.get("Item", {})


def config_text(endpoint: str, table: str, key: str) -> str:
    return (
        "[service]\ncache_ttl = 0\n"
        + FAILOVER
        + f'[state]\nstore = "dynamodb"\ntable = "{table}"\nendpoint_url = "{endpoint}"\n'
        + f'fleet = "{FLEET}"\ntimeout = 1.0\n'
        + f'[[checks]]\ntype = "support.observed:Scripted"\nname = "db"\nkey = "{key}"\n'
    )


Make = Callable[[str, Clock], HealthService]


@pytest.fixture
async def make(emulator: Emulator, table: str) -> AsyncIterator[Make]:
    made: list[HealthService] = []

    def build(key: str, clock: Clock) -> HealthService:
        config = parse_config(config_text(emulator.endpoint, table, key))
        store = factory("dynamodb")(config, timeout=config.state.timeout)
        service = HealthService(config, store=store, clock=clock, wall_clock=clock)
        made.append(service)
        return service

    yield build
    for service in made:
        await service.aclose()


async def evaluate(service: HealthService, clock: Clock, step: float = 1.0) -> Any:
    clock.advance(step)
    report = await service.report()
    await service.fleet.flush()  # the latch's trailing write, before the next evaluation
    return report


# -- the latch -----------------------------------------------------------------------------------

DAMAGED_LATCHES = [
    pytest.param({"state": {"S": "{not json"}, "v": {"N": "2"}}, id="state-not-json"),
    pytest.param({"state": {"S": "{}"}, "v": {"S": "2"}}, id="version-not-a-number"),
    pytest.param({"state": {"M": {"clean": {"N": "1"}}}, "v": {"N": "2"}}, id="state-as-a-map"),
    pytest.param({"state": {"S": "{}"}, "v": {"N": "1.5"}}, id="fractional-version"),
    pytest.param({"state": {"S": "{}"}}, id="no-version"),
]


@pytest.mark.parametrize("damaged", DAMAGED_LATCHES)
async def test_a_damaged_latch_is_replaced_and_a_hold_keeps_the_region_failed(
    emulator: Emulator, table: str, make: Make, damaged: dict[str, Any]
) -> None:
    """Before: a damaged ``z#latch`` read as "never written", whose write requires the item not
    to exist: it failed for ever, the fleet never latched, and a hold answered 200 next to
    "hold engaged"."""
    put(emulator, table, "z#latch", **damaged)
    clock, key = Clock(time.time()), uuid.uuid4().hex
    put(emulator, table, "z#switch#hold", on={"BOOL": True}, by={"S": "ops"}, at={"N": "1"})
    service = make(key, clock)
    await service.astart()
    OUTCOMES[key] = "connection"
    first = await evaluate(service, clock)
    await evaluate(service, clock)  # fail_after = 2: latched
    OUTCOMES[key] = "pass"
    held = await evaluate(service, clock, step=600.0)
    assert held.verdict.status is Status.FAIL
    assert "held" in held.verdict.reasons
    assert any(r.startswith("state_record: latch record: ") for r in first.verdict.reasons)
    item = get(emulator, table, "z#latch")
    assert json.loads(item["state"]["S"])["latched_at"] is not None
    assert int(item["v"]["N"]) >= 1
    assert service.fleet.write_failures == 0
    # Read damaged at start and by the first evaluation, whose write replaced it.
    assert service.fleet.damaged == {"latch": 2}


@pytest.mark.parametrize("damaged", DAMAGED_LATCHES)
async def test_of_two_instances_repairing_one_damaged_latch_one_wins_and_the_other_rereads(
    emulator: Emulator, table: str, damaged: dict[str, Any]
) -> None:
    put(emulator, table, "z#latch", **damaged)
    stores = [
        DynamoDBStore(
            table=table, fleet=FLEET, window=30, endpoint_url=emulator.endpoint, timeout=5.0
        )
        for _ in range(2)
    ]
    try:
        now = time.time()
        for store in stores:
            latch = (await store.exchange({}, now)).latch
            assert latch.damaged
        version = latch.version
        won = [await store.save_latch({"clean": i}, version, now) for i, store in enumerate(stores)]
        assert won == [True, False]
        assert await stores[1].load_latch() == LatchRecord({"clean": 0}, version + 1)
    finally:
        for store in stores:
            await store.close()


@pytest.mark.parametrize("latched_at", ["3600", "NaN", "1e300"])
async def test_a_latch_time_that_is_no_time_up_to_now_does_not_hold_the_fleet_for_good(
    emulator: Emulator, table: str, make: Make, latched_at: str
) -> None:
    """Before: ``latched_at`` an hour ahead, NaN or 1e300 kept the fleet at 503 "recovering
    61/10 clean" for good: ``now - latched_at`` never reached ``min_hold``."""
    clock, key = Clock(time.time()), uuid.uuid4().hex
    when = clock() + 3600 if latched_at == "3600" else float(latched_at)
    state = json.dumps({"latched_at": when, "last_bad": clock(), "failures": 2, "clean": 0})
    put(emulator, table, "z#latch", state={"S": state}, v={"N": "5"})
    service = make(key, clock)
    await service.astart()
    OUTCOMES[key] = "pass"
    seen = [(await evaluate(service, clock, step=20.0)).verdict for _ in range(6)]
    assert seen[0].status is Status.FAIL  # still latched: its hold counts from now
    assert seen[-1].status is Status.PASS  # min_hold (60 s) and 3 clean later: recovered
    assert service.fleet.damaged == {"latch": 2}  # at start, and by the first evaluation


# -- the window --------------------------------------------------------------------------------


async def test_a_half_counter_neither_stops_start_up_nor_hides_the_stores_drain(
    emulator: Emulator, table: str, make: Make
) -> None:
    """Before: ``int("0.5")`` raised out of the store: ``serve`` exited at start-up, and an
    instance that started anyway ignored the store's drain (200)."""
    clock, key = Clock(time.time()), uuid.uuid4().hex
    service = make(key, clock)
    assert isinstance(service.fleet.store, DynamoDBStore)
    sk = f"w#{service.fleet.store.bucket(clock()):015d}"
    put(emulator, table, sk, f_db={"N": "0.5"}, n_db={"N": "3"}, f_queue={"N": "0"})
    put(emulator, table, "z#switch#drain", on={"BOOL": True}, by={"S": "ops"}, at={"N": "5"})
    await service.astart()
    report = await evaluate(service, clock, step=0.001)
    assert report.verdict.status is Status.FAIL
    assert any(r.startswith("drained by operator (state store") for r in report.verdict.reasons)
    assert any(r.startswith("state_record: bucket w#") for r in report.verdict.reasons)


async def test_buckets_from_a_clock_ahead_are_not_counted_until_their_time(
    emulator: Emulator, table: str
) -> None:
    """Before: buckets an instance whose clock is 10 min ahead wrote counted in every
    instance's window (a 33 % gray failure there diluted to 8 %: never detected)."""
    now = time.time()
    ahead, honest = (
        DynamoDBStore(
            table=table, fleet=FLEET, window=30, endpoint_url=emulator.endpoint, timeout=5.0
        )
        for _ in range(2)
    )
    try:
        await ahead.exchange({"db": (0, 30)}, now + 600)  # its own idea of now
        seen = await honest.exchange({"db": (1, 3)}, now)
        assert sums(seen.window) == {"db": (1, 3)}
        assert [d.kind for d in seen.damage] == ["bucket"]
    finally:
        await ahead.close()
        await honest.close()


async def test_an_instance_whose_clock_is_off_says_so_and_does_not_feed_the_window(
    emulator: Emulator, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Its host clock 10 min ahead of the store's ``Date``: it judges on its local window,
    keeps the store's switches, and writes no bucket; an honest instance sees none."""
    put(emulator, table, "z#switch#drain", on={"BOOL": True}, by={"S": "ops"}, at={"N": "5"})
    skewed = DynamoDBStore(
        table=table,
        fleet=FLEET,
        window=30,
        endpoint_url=emulator.endpoint,
        timeout=5.0,
        clock=lambda: time.time() + 600,
    )
    fleet = FleetState(skewed, window=30, timeout=5.0)
    try:
        now = time.time() + 600
        await fleet.start(now)
        view = await fleet.read({"db": (3, 3)}, now, budget=5.0)
        assert view.source == "local"
        assert view.problem is not None
        assert "off the store's" in view.problem
        assert sums(view.window) == {"db": (3, 3)}  # its own samples, locally
        assert view.drained_by() is not None  # the operator's drain still holds
        assert fleet.fallbacks == {"clock_skew": 1}
        assert any("off the store's" in r.message for r in caplog.records)
        items = emulator.client("dynamodb").scan(TableName=table)["Items"]
        assert not [i for i in items if i["sk"]["S"].startswith("w#")]
    finally:
        await fleet.close()


async def test_a_window_in_many_pages_still_reads_the_latch_and_switches_sorted_last(
    emulator: Emulator, table: str
) -> None:
    """The ``z#`` items sort after every bucket: a query answered in several pages (DynamoDB
    pages at 1 MB; here ``Limit`` 2) must be followed to its end."""
    store = DynamoDBStore(
        table=table,
        fleet=FLEET,
        window=30,
        endpoint_url=emulator.endpoint,
        page_size=2,
        timeout=5.0,
    )
    try:
        now = time.time()
        for back in (20, 15, 10, 5):
            await store.exchange({"db": (1, 2)}, now - back)
        await store.set_switch(SwitchRecord("drain", True, "ops", now - 1, "drill"))
        assert await store.save_latch({"clean": 1}, 0, now)
        store.requests = 0
        seen = await store.exchange({}, now)  # 4 buckets, the latch, the switch: 6 items
        assert sums(seen.window) == {"db": (4, 8)}
        assert seen.switches["drain"].on
        assert seen.latch == LatchRecord({"clean": 1}, 1)
        assert seen.requests >= 3  # pages of 2
        assert seen.requests == store.requests
    finally:
        await store.close()


# -- switches ----------------------------------------------------------------------------------


@pytest.mark.parametrize("on", [{"S": "true"}, {"N": "1"}])
async def test_a_hand_written_drain_whose_on_is_not_a_boolean_is_honoured_and_reported(
    emulator: Emulator,
    table: str,
    make: Make,
    on: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before: dropped silently (200, no log, ``switch status`` said "off (never set)")."""
    put(emulator, table, "z#switch#drain", on=on, by={"S": "ops"}, at={"N": "5"})
    clock, key = Clock(time.time()), uuid.uuid4().hex
    service = make(key, clock)
    await service.astart()
    report = await evaluate(service, clock)
    assert report.verdict.status is Status.FAIL
    assert any(r.startswith("drained by operator (state store") for r in report.verdict.reasons)
    assert any(r.startswith("state_record: switch drain") for r in report.verdict.reasons)
    path = tmp_path / "health.toml"
    path.write_text(config_text(emulator.endpoint, table, key))
    assert await asyncio.to_thread(main, ["switch", "status", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "drain: on by ops" in out
    assert "DAMAGED record: switch drain: on is not a boolean: read as on" in out


async def test_a_switch_time_of_1e20_does_not_make_every_evaluation_raise(
    emulator: Emulator, table: str, make: Make
) -> None:
    """Before: ``time.gmtime(1e20)`` raised in every evaluation (Lambda: 500 on every request)."""
    put(emulator, table, "z#switch#drain", on={"BOOL": True}, by={"S": "ops"}, at={"N": "1E+20"})
    clock, key = Clock(time.time()), uuid.uuid4().hex
    service = make(key, clock)
    await service.astart()
    report = await evaluate(service, clock)
    assert report.verdict.status is Status.FAIL
    assert "drained by operator (state store, by ops at an unknown time)" in report.verdict.reasons


# -- an endpoint that answers 200 with something else --------------------------------------------


class NotDynamoDB(QuietHandler):
    """Answers every request 200 with a body that is JSON but no DynamoDB answer."""

    body = b"[1, 2]"

    def handle(self) -> None:
        # The client may hang up on a body it could not use: not this test's subject.
        with contextlib.suppress(OSError):
            super().handle()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.mark.parametrize("body", [b"[1, 2]", b"null", b"<html>portal</html>", b"{}"])
async def test_an_endpoint_answering_200_with_no_dynamodb_answer_is_a_store_fault(
    body: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: botocore's parser raised AttributeError out of the store: ``serve`` exited at
    start-up, ``switch status`` printed a traceback; a body without ``Items`` read as an empty
    table (no drain)."""
    handler = type("Handler", (NotDynamoDB,), {"body": body})
    with ThreadedHttpServer(handler) as server:
        store = DynamoDBStore(
            table="t-1", fleet=FLEET, window=30, endpoint_url=server.url, timeout=5.0
        )
        fleet = FleetState(store, window=30, timeout=5.0)
        await fleet.start(time.time())  # logged, never raised
        view = await fleet.read({"db": (0, 1)}, time.time(), budget=5.0)
        await fleet.close()
        assert view.source == "local"
        assert fleet.fallbacks == {"bad_response": 1}
        path = tmp_path / "health.toml"
        path.write_text(config_text(server.url, "t-1", "k"))
        assert await asyncio.to_thread(main, ["switch", "status", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "bad_response" in err
    assert "Traceback" not in err


def sums(window: Mapping[str, WindowCounts]) -> dict[str, tuple[int, int]]:
    """Per check, ``(failures, total)`` in the window (the rule reads it per bucket)."""
    return {check: (counts.failures, counts.total) for check, counts in window.items()}
