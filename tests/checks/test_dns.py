"""dns: resolution through the system resolver, bounded by the runner."""

from __future__ import annotations

import pytest

from checks import Status
from checks.dns import DnsCheck
from checks.testing import run_check


async def test_resolves_localhost_with_the_expected_address() -> None:
    result = await run_check(DnsCheck(host="localhost", expect=["127.0.0.1"]))
    assert result.status is Status.PASS, result.error
    assert result.observations["addresses"].value >= 1


async def test_missing_expected_address_fails_as_unexpected() -> None:
    result = await run_check(DnsCheck(host="localhost", expect=["192.0.2.1"]))
    assert (result.status, result.reason) == (Status.FAIL, "unexpected")


async def test_name_that_cannot_exist_fails() -> None:
    # RFC 6761: .invalid never resolves. Without a reachable resolver the lookup may hang
    # instead: then it must fail as a timeout.
    result = await run_check(DnsCheck(host="deep-health-canary.invalid"))
    assert result.status is Status.FAIL
    assert result.reason in {"resolution", "timeout"}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("dynamodb.eu-west-1.amazonaws.com", ("eu-west-1", False)),
        ("sts.amazonaws.com", ("us-east-1", True)),
        ("db.internal.example", (None, False)),
    ],
)
def test_endpoint_classifies_aws_hosts(host: str, expected: tuple[str | None, bool]) -> None:
    (endpoint,) = DnsCheck(host=host).endpoints()
    assert (endpoint.region, endpoint.global_service) == expected
