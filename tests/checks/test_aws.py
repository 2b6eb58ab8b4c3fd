"""Every AWS check through a fault-injecting proxy in front of the emulator (real TCP).

For each check: passes normally; fails with ``timeout`` within its timeout when blackholed;
fails fast with ``connection`` on a reset; reports added latency; and a fraction of failed
connections shows up as that fraction of failed evaluations (result cache off).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from checks import Check, CheckResult, Status
from checks.dynamodb_read import DynamoDBRead
from checks.s3_object import S3Object
from checks.sqs import SQSQueue
from service.running.runner import Runner
from support.emulator import Emulator, create_canary_table
from support.proxy import FaultProxy

pytestmark = pytest.mark.integration

TIMEOUT = 0.3
# Generous bounds that cannot flake yet fail if the timeout is not enforced (botocore's
# defaults would wait 60 s) or if a reset were treated as a hang.
ANSWERED_WITHIN = 2.0
LATENCY = 0.2


def dynamodb(emulator: Emulator, endpoint: str) -> Check:
    table = f"canary-{uuid.uuid4().hex[:8]}"
    create_canary_table(emulator, table, {"pk": {"S": "canary"}, "status": {"S": "ok"}})
    return DynamoDBRead(table=table, key={"pk": "canary"}, endpoint_url=endpoint)


def sqs(emulator: Emulator, endpoint: str) -> Check:
    url = emulator.client("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return SQSQueue(queue_url=url, endpoint_url=endpoint)


def sqs_round_trip(emulator: Emulator, endpoint: str) -> Check:
    client = emulator.client("sqs")
    url = client.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    probe = client.create_queue(QueueName=f"p-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return SQSQueue(queue_url=url, round_trip_queue_url=probe, endpoint_url=endpoint)


def s3(emulator: Emulator, endpoint: str) -> Check:
    bucket = f"canary-{uuid.uuid4().hex[:8]}"
    client = emulator.client("s3")
    client.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    client.put_object(Bucket=bucket, Key="canary", Body=b"ok")
    return S3Object(bucket=bucket, key="canary", endpoint_url=endpoint)


Factory = Callable[[Emulator, str], Check]
FACTORIES = [dynamodb, sqs, sqs_round_trip, s3]
ids = pytest.mark.parametrize("factory", FACTORIES, ids=[f.__name__ for f in FACTORIES])


@pytest.fixture
def proxy(emulator: Emulator) -> Iterator[FaultProxy]:
    with FaultProxy(emulator.port) as running:
        yield running


class Probe:
    """A started runner around one check (timeout ``TIMEOUT``, cache off)."""

    def __init__(self, check: Check) -> None:
        check.timeout = TIMEOUT
        self.check = check
        self.runner = Runner([check], deadline=1.5, cache_ttl=0)
        self.runner.start()

    async def once(self) -> tuple[CheckResult, float]:
        began = time.monotonic()
        evaluation = await self.runner.evaluate()
        return evaluation.results[0], time.monotonic() - began


@pytest.fixture
def probe(emulator: Emulator, proxy: FaultProxy) -> Iterator[Callable[[Factory], Probe]]:
    made: list[Probe] = []

    def make(factory: Factory) -> Probe:
        made.append(Probe(factory(emulator, proxy.url)))
        return made[-1]

    yield make
    for p in made:
        p.runner.close(timeout=2.0)


@ids
async def test_passes_through_a_clean_proxy(
    probe: Callable[[Factory], Probe], factory: Factory
) -> None:
    result, _ = await probe(factory).once()
    assert result.status is Status.PASS, result.error


@ids
async def test_blackholed_fails_as_timeout_within_its_timeout(
    probe: Callable[[Factory], Probe], proxy: FaultProxy, factory: Factory
) -> None:
    checker = probe(factory)
    proxy.blackhole = True
    result, elapsed = await checker.once()
    assert (result.status, result.reason) == (Status.FAIL, "timeout"), result.error
    assert elapsed < ANSWERED_WITHIN


@ids
async def test_blackholed_on_a_kept_alive_connection_times_out(
    probe: Callable[[Factory], Probe], proxy: FaultProxy, factory: Factory
) -> None:
    checker = probe(factory)
    assert (await checker.once())[0].status is Status.PASS
    proxy.blackhole = True
    result, elapsed = await checker.once()
    assert (result.status, result.reason) == (Status.FAIL, "timeout"), result.error
    assert elapsed < ANSWERED_WITHIN
    proxy.blackhole = False
    # The abandoned run was cancelled, so the next evaluation probes again and recovers.
    assert (await checker.once())[0].status is Status.PASS


@ids
async def test_reset_fails_fast_as_connection(
    probe: Callable[[Factory], Probe], proxy: FaultProxy, factory: Factory
) -> None:
    checker = probe(factory)
    proxy.reset = True
    result, elapsed = await checker.once()
    assert (result.status, result.reason) == (Status.FAIL, "connection"), result.error
    assert elapsed < ANSWERED_WITHIN


@pytest.mark.parametrize("factory", [dynamodb, s3], ids=["dynamodb", "s3"])
async def test_reports_added_latency(
    probe: Callable[[Factory], Probe], proxy: FaultProxy, factory: Factory
) -> None:
    checker = probe(factory)
    checker.check.timeout = 1.0
    proxy.latency = LATENCY
    result, _ = await checker.once()
    assert result.status is Status.PASS, result.error
    assert result.observations["latency"].value >= LATENCY * 1000
    assert result.duration >= LATENCY


@pytest.mark.parametrize("factory", [dynamodb, sqs], ids=["dynamodb", "sqs"])
async def test_failed_fraction_of_connections_fails_that_fraction_of_evaluations(
    probe: Callable[[Factory], Probe], proxy: FaultProxy, factory: Factory
) -> None:
    checker = probe(factory)
    assert (await checker.once())[0].status is Status.PASS  # warm: client and connection
    proxy.clear()
    proxy.fail_fraction = 0.25
    results = [(await checker.once())[0] for _ in range(20)]
    failed = [r for r in results if r.status is Status.FAIL]
    assert (proxy.requests, proxy.failed, len(failed)) == (20, 5, 5)
    assert {r.reason for r in failed} == {"connection"}


async def test_round_trip_fails_one_evaluation_per_failed_connection(
    probe: Callable[[Factory], Probe], proxy: FaultProxy
) -> None:
    checker = probe(sqs_round_trip)
    assert (await checker.once())[0].status is Status.PASS
    proxy.clear()
    proxy.fail_fraction = 0.25
    results = [(await checker.once())[0] for _ in range(12)]
    failed = [r for r in results if r.status is Status.FAIL]
    assert len(failed) == proxy.failed > 0  # no retry anywhere: each reset is one failure
    assert {r.reason for r in failed} == {"connection"}


async def test_s3_head_survives_resets_of_kept_alive_connections(
    probe: Callable[[Factory], Probe], proxy: FaultProxy
) -> None:
    """aiohttp retries an idempotent request (HEAD/GET) once on a fresh connection when a
    kept-alive one was reset: with one reset in four requests, no evaluation fails."""
    checker = probe(s3)
    assert (await checker.once())[0].status is Status.PASS
    proxy.clear()
    proxy.fail_fraction = 0.25
    results = [(await checker.once())[0] for _ in range(20)]
    assert all(r.status is Status.PASS for r in results), [r.error for r in results]
    assert proxy.failed >= 5
    assert proxy.requests == 20 + proxy.failed


@ids
async def test_start_warms_the_client_so_the_first_evaluation_is_not_a_cold_call(
    emulator: Emulator, proxy: FaultProxy, factory: Factory
) -> None:
    # A fresh instance's first call pays for credentials, endpoint rules and a connection;
    # start() pays it, so the first evaluation (shared with the region's window) is warm.
    check = factory(emulator, proxy.url)
    await check.start()
    try:
        assert proxy.requests >= 1
    finally:
        await check.stop()
