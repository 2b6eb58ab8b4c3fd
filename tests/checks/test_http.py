"""http: status and body expectations against a local server, and network faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from checks import Check, CheckResult, ConfigError, Observation, Status
from checks.http import HttpCheck
from service.config import parse_config
from service.runner import Runner
from support.proxy import FaultProxy, StubHttpServer

ANSWERED_WITHIN = 2.0


@pytest.fixture
def server() -> Iterator[StubHttpServer]:
    with StubHttpServer(200, b'{"status": "operational"}') as running:
        yield running


async def evaluate(check: Check) -> tuple[CheckResult, float]:
    runner = Runner([check], deadline=1.5, cache_ttl=0)
    runner.start()
    try:
        began = time.monotonic()
        result = (await runner.evaluate()).results[0]
        return result, time.monotonic() - began
    finally:
        runner.close()


async def test_expected_status_and_body_pass(server: StubHttpServer) -> None:
    result, _ = await evaluate(HttpCheck(url=server.url + "/status", contains="operational"))
    assert result.status is Status.PASS, result.error
    assert result.observations["status"].value == 200


async def test_unexpected_status_fails(server: StubHttpServer) -> None:
    server.status = 500
    result, _ = await evaluate(HttpCheck(url=server.url))
    assert (result.status, result.reason) == (Status.FAIL, "status")


async def test_other_expected_statuses_are_accepted(server: StubHttpServer) -> None:
    server.status = 204
    result, _ = await evaluate(HttpCheck(url=server.url, expect_status=[200, 204]))
    assert result.status is Status.PASS, result.error


async def test_missing_substring_fails_as_body(server: StubHttpServer) -> None:
    result, _ = await evaluate(HttpCheck(url=server.url, contains="all systems go"))
    assert (result.status, result.reason) == (Status.FAIL, "body")


async def test_blackholed_fails_as_timeout(server: StubHttpServer) -> None:
    with FaultProxy(server.port) as proxy:
        proxy.blackhole = True
        check = HttpCheck(url=proxy.url)
        check.timeout = 0.3
        result, elapsed = await evaluate(check)
    assert (result.status, result.reason) == (Status.FAIL, "timeout")
    assert elapsed < ANSWERED_WITHIN


async def test_reset_fails_as_connection(server: StubHttpServer) -> None:
    with FaultProxy(server.port) as proxy:
        proxy.reset = True
        result, elapsed = await evaluate(HttpCheck(url=proxy.url))
    assert (result.status, result.reason) == (Status.FAIL, "connection")
    assert elapsed < ANSWERED_WITHIN


async def test_added_latency_is_reported(server: StubHttpServer) -> None:
    with FaultProxy(server.port) as proxy:
        proxy.latency = 0.2
        result, _ = await evaluate(HttpCheck(url=proxy.url))
    assert result.status is Status.PASS, result.error
    assert result.observations["latency"].value >= 200


def test_headers_never_reach_the_repr() -> None:
    check = HttpCheck(url="https://x.example.com", headers={"Authorization": "Bearer s3cr3t"})
    assert "s3cr3t" not in repr(check)


@pytest.mark.parametrize(
    ("url", "region", "global_service", "expected"),
    [
        ("https://api.example.com/x", "eu-west-1", False, ("eu-west-1", False)),
        ("https://api.example.com/x", None, True, (None, True)),
        ("https://sts.amazonaws.com/", None, False, ("us-east-1", True)),
    ],
)
def test_endpoint_for_the_audit(
    url: str, region: str | None, global_service: bool, expected: tuple[str | None, bool]
) -> None:
    (endpoint,) = HttpCheck(url=url, region=region, global_service=global_service).endpoints()
    assert (endpoint.region, endpoint.global_service) == expected


def test_non_http_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="http"):
        parse_config('[[checks]]\ntype = "http"\nurl = "ftp://example.com"\n')


async def test_an_endless_body_is_read_up_to_64_kib_only(server: StubHttpServer) -> None:
    server.endless = True  # "operational", then padding for ever
    result, _ = await evaluate(HttpCheck(url=server.url, contains="operational"))
    assert result.status is Status.PASS, result.error


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


@pytest.mark.parametrize(
    ("status", "expect", "contains", "outcome"),
    [
        pytest.param(200, None, None, (Status.PASS, None, None), id="default-expects-200"),
        pytest.param(
            201, None, None, (Status.FAIL, "status", "status 201, expected [200]"), id="201"
        ),
        pytest.param(500, [500], None, (Status.PASS, None, None), id="500-when-expected"),
        pytest.param(
            200, [204], None, (Status.FAIL, "status", "status 200, expected [204]"), id="not-204"
        ),
        pytest.param(
            200,
            None,
            "Operational",
            (Status.FAIL, "body", "body lacks 'Operational'"),
            id="contains-is-case-sensitive",
        ),
        pytest.param(200, None, '"operational"', (Status.PASS, None, None), id="contains"),
    ],
)
async def test_status_and_body_decide(
    server: StubHttpServer,
    status: int,
    expect: list[int] | None,
    contains: str | None,
    outcome: tuple[Status, str | None, str | None],
) -> None:
    server.status = status
    check = HttpCheck(url=server.url, expect_status=expect, contains=contains)
    result, _ = await evaluate(check)
    error = result.error.partition(": ")[2] if result.error else None
    assert (result.status, result.reason, error) == outcome
    if result.status is Status.PASS:
        assert result.observations["status"] == Observation(status)
        assert result.observations["latency"].unit == "ms"


@pytest.mark.parametrize("global_service", [False, True])
def test_global_service_marks_the_endpoint(global_service: bool) -> None:
    check = HttpCheck(url="https://pay.example.com/s", global_service=global_service)
    (endpoint,) = check.endpoints()
    assert endpoint.global_service is global_service
