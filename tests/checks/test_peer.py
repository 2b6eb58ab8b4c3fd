"""peer: the other region's /health, informing only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checks import Status
from checks.peer import PeerCheck
from service.config import parse_config
from service.running.testing import run_check
from support.proxy import FaultProxy, StubHttpServer

HEALTHY = b'{"status":"pass","description":"DEEP-HEALTH-OK","checks":{}}'
UNHEALTHY = b'{"status":"fail","checks":{}}'


@pytest.fixture
def peer() -> Iterator[StubHttpServer]:
    with StubHttpServer(200, HEALTHY) as running:
        yield running


def test_defaults_inform_without_failing_the_region() -> None:
    check = PeerCheck(url="https://health.us-west-2.example.com/health", region="us-west-2")
    assert (check.critical, check.scope) == (False, "peer")
    (endpoint,) = check.endpoints()
    assert (endpoint.region, endpoint.global_service) == ("us-west-2", False)


async def test_healthy_peer_passes_and_reports_its_status(peer: StubHttpServer) -> None:
    result = await run_check(PeerCheck(url=peer.url + "/health"))
    assert result.status is Status.PASS, result.error
    assert result.observations["peerStatus"].value == "pass"
    assert (result.critical, result.scope) == (False, "peer")


async def test_unhealthy_peer_fails_as_peer_unhealthy(peer: StubHttpServer) -> None:
    peer.status, peer.body = 503, UNHEALTHY
    result = await run_check(PeerCheck(url=peer.url + "/health"))
    assert (result.status, result.reason) == (Status.FAIL, "peer_unhealthy")
    assert result.critical is False


async def test_unhealthy_peer_reports_which_of_its_checks_fail(peer: StubHttpServer) -> None:
    peer.status = 503
    peer.body = (
        b'{"status":"fail","checks":{"accounts:responseTime":[{"status":"fail"}],'
        b'"jobs:responseTime":[{"status":"pass"}],"org:responseTime":[{"status":"fail"}]}}'
    )
    result = await run_check(PeerCheck(url=peer.url + "/health"))
    assert result.reason == "peer_unhealthy"
    assert result.observations["failingChecks"].value == "accounts,org"


async def test_unreachable_peer_fails_as_timeout(peer: StubHttpServer) -> None:
    with FaultProxy(peer.port) as proxy:
        proxy.blackhole = True
        check = PeerCheck(url=proxy.url + "/health")
        check.timeout = 0.3
        result = await run_check(check)
    assert (result.status, result.reason) == (Status.FAIL, "timeout")


def test_config_keeps_the_peer_defaults() -> None:
    (check,) = parse_config(
        '[[checks]]\ntype = "peer"\nurl = "https://h.example.com/health"\n'
    ).checks
    assert (check.critical, check.scope) == (False, "peer")


async def test_an_endless_peer_body_is_read_up_to_64_kib_only(peer: StubHttpServer) -> None:
    peer.endless = True
    result = await run_check(PeerCheck(url=peer.url + "/health"))
    assert result.status is Status.PASS, result.error  # its marker is in the first 64 KiB
    assert result.observations["peerStatus"].value == "pass"


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "marker", "healthy"),
    [
        pytest.param(200, b'{"status":"pass","checks":{}}', None, False, id="200-without-marker"),
        pytest.param(200, HEALTHY, "REGION-IS-FINE", False, id="200-with-another-marker"),
        pytest.param(
            200,
            b'{"status":"warn","notes":["REGION-IS-FINE"],"checks":{}}',
            "REGION-IS-FINE",
            True,
            id="200-with-its-own-marker",
        ),
        pytest.param(503, HEALTHY, None, False, id="503-with-the-marker"),
        pytest.param(500, HEALTHY, None, False, id="500-with-the-marker"),
    ],
)
async def test_a_peer_is_healthy_only_with_200_and_the_marker(
    peer: StubHttpServer, status: int, body: bytes, marker: str | None, healthy: bool
) -> None:
    peer.status, peer.body = status, body
    options = {"marker": marker} if marker else {}
    result = await run_check(PeerCheck(url=peer.url + "/health", **options))
    if healthy:
        assert result.status is Status.PASS, result.error
        assert result.observations["peerStatus"].value == "warn"
        latency = result.observations["latency"]
        assert latency.unit == "ms"
        assert isinstance(latency.value, float)
        assert 0 < latency.value <= result.duration * 1000
    else:
        assert (result.status, result.reason) == (Status.FAIL, "peer_unhealthy")


@pytest.mark.parametrize(
    ("body", "peer_status", "failing"),
    [
        pytest.param(b"<html>bad gateway</html>", "unknown", "", id="not-json"),
        pytest.param(b'["fail"]', "unknown", "", id="not-an-object"),
        pytest.param(b'{"checks":{}}', "unknown", "", id="no-status"),
        pytest.param(
            b'{"status":"fail","checks":{"a:responseTime":[{"status":"warn"}],'
            b'"b:x:latency":[{"status":"pass"},{"status":"fail"}]}}',
            "fail",
            "b",
            id="only-failing-entries-count-and-names-stop-at-the-first-colon",
        ),
        pytest.param(b'{"status":"fail","checks":{"a:r":[{}]}}', "fail", "", id="no-entry-status"),
        pytest.param(b'{"status":"fail"}', "fail", "", id="no-checks"),
    ],
)
async def test_an_unhealthy_peer_reports_what_it_can_read(
    peer: StubHttpServer, body: bytes, peer_status: str, failing: str
) -> None:
    peer.status, peer.body = 503, body
    result = await run_check(PeerCheck(url=peer.url + "/health"))
    assert (result.status, result.reason) == (Status.FAIL, "peer_unhealthy")
    assert result.observations["failingChecks"].value == failing
    assert result.error is not None
    assert result.error.endswith(f"peer answered 503 ({peer_status})")
