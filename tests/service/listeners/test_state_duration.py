"""Where an answer's time goes: the checks (``durationMs``) and the state store's round trip
after them (``stateMs``), in ``/health/details``, EMF and Prometheus alike.

Before: only the checks' time was reported anywhere, while the store's round trip runs after
them (measured: +0.5 ms in ``durationMs``, +11 ms in the answer).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Mapping

from service.config import parse_config
from service.engine.health import HealthService
from service.listeners.emf import EmfEmitter
from service.listeners.metrics import Metrics
from service.output.body import detailed_body
from service.state import Counts, LatchRecord, Snapshot, SwitchRecord

STORE_DELAY = 0.05  # seconds the store takes at least: a lower bound, never a race


class SlowStore:
    """A shared store that answers an empty fleet after :data:`STORE_DELAY`."""

    kind = "dynamodb"

    def describe(self) -> str:
        return "slow"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def forget_client(self) -> None:
        return None

    async def exchange(self, samples: Mapping[str, Counts], now: float) -> Snapshot:
        await asyncio.sleep(STORE_DELAY)
        return Snapshot()

    async def load_latch(self) -> LatchRecord:
        return LatchRecord()

    async def save_latch(self, state: Mapping[str, object], expected: int, now: float) -> bool:
        return True

    async def set_switch(self, record: SwitchRecord) -> None:
        return None


async def test_details_emf_and_prometheus_report_the_stores_round_trip_beside_the_checks() -> None:
    config = parse_config(
        "[service]\ncache_ttl = 0\n[state]\ntimeout = 1.0\n"
        '[[checks]]\ntype = "support.misbehaving:Passing"\n'
    )
    service = HealthService(config, store=SlowStore())
    metrics = Metrics(service)
    stream = io.StringIO()
    service.add_listener(EmfEmitter(namespace="T", service="svc", region="r", stream=stream))
    await service.astart()
    try:
        report = await service.report()
    finally:
        await service.aclose()
    evaluation = json.loads(detailed_body(report))["evaluation"]
    assert evaluation["stateMs"] >= STORE_DELAY * 1000
    assert evaluation["totalMs"] == round(
        (report.evaluation.duration + report.state_duration) * 1000, 2
    )
    assert evaluation["durationMs"] < evaluation["totalMs"]
    region = json.loads(stream.getvalue().splitlines()[0])
    assert region["StateDuration"] >= STORE_DELAY * 1000
    assert "StateDuration" in [m["Name"] for m in region["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    text = metrics.exposition().decode()
    assert "deep_health_state_duration_seconds_count 1.0" in text
    assert 'deep_health_state_duration_seconds_bucket{le="0.025"} 0.0' in text
