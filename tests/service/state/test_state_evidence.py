"""Both stores give the gray-failure rule the same evidence: counts per time bucket.

The shared store keeps one counter item per bucket (``window / 12`` wide, aligned on the
epoch); the memory store keeps one entry per evaluation and buckets them on the same grid. The
rule (:func:`service.verdict.rules.gray_failing`) must judge a fleet's DynamoDB window as it
judges one process's memory, on the emulator's real HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from service.state.dynamodb import DynamoDBStore, create_table
from service.state.memory import MemoryStore
from service.verdict.rules import TrackerSettings, gray_failing
from support.emulator import Emulator

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0  # a bucket boundary for a 60 s window (5 s buckets)
SETTINGS = TrackerSettings(window=60.0, min_samples=20)

# (seconds after NOW, failed samples, samples): two instances' evaluations, 3 samples each.
BURST = [(t * 0.5, 3 if 10 <= t < 20 else 0, 3) for t in range(100)]  # 5 s down: one event
SPREAD = [(t * 0.5, 1 if t % 3 == 0 else 0, 3) for t in range(100)]  # 11 %, all along


@pytest.fixture
def table(emulator: Emulator) -> Iterator[str]:
    name = f"state-{uuid.uuid4().hex[:8]}"
    create_table(emulator.client("dynamodb"), name)
    yield name
    emulator.client("dynamodb").delete_table(TableName=name)


@pytest.mark.parametrize(
    ("entries", "gray"), [(BURST, False), (SPREAD, True)], ids=["burst", "spread"]
)
async def test_the_shared_store_and_memory_give_the_rule_the_same_buckets(
    emulator: Emulator, table: str, entries: list[tuple[float, int, int]], gray: bool
) -> None:
    shared = DynamoDBStore(
        table=table, fleet="f", window=60.0, endpoint_url=emulator.endpoint, timeout=5.0
    )
    memory = MemoryStore(window=60.0)
    try:
        for offset, failed, total in entries:
            snapshot = await shared.exchange({"db": (failed, total)}, NOW + offset)
            memory.record({"db": (failed, total)}, NOW + offset)
    finally:
        await shared.close()
    now = NOW + entries[-1][0]
    from_store, from_memory = snapshot.window["db"], memory.counts(now)["db"]
    assert sorted(from_store.buckets) == sorted(from_memory.buckets)
    assert len(from_store.buckets) == 10  # 50 s of evaluations, 5 s buckets
    assert gray_failing(from_store, SETTINGS) is gray
    assert gray_failing(from_memory, SETTINGS) is gray
    # The burst has as many failed samples as a gray failure needs; it is one event all the same.
    assert from_store.failures > SETTINGS.threshold * from_store.total
