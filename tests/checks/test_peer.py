"""peer: the other region's /health, informing only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checks import Status
from checks.peer import PeerCheck
from checks.testing import run_check
from service.config import parse_config
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
