"""dns: resolution through the system resolver, bounded by the runner."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from typing import Any

import pytest

from checks import CheckFailed, ConfigError, Observation, Observations, Status
from checks.dns import DnsCheck
from service.config import parse_config
from service.running.testing import run_check


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


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


@pytest.mark.parametrize("host", ["", "https://example.com", "example.com/x", "a..b", "."])
def test_a_host_must_be_a_host_name(host: str) -> None:
    # "a..b" or "." would reach the resolver and fail every evaluation with an encoding error
    # instead of stopping start-up.
    with pytest.raises(ValueError, match=f"^host must be a host name, not {re.escape(repr(host))}"):
        DnsCheck(host=host)


def test_a_malformed_host_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[[checks]]\ntype = "dns"\nhost = "a..b"\n')
    assert caught.value.key.startswith("checks[0]")


async def test_localhost_is_observed_in_milliseconds() -> None:
    began = time.perf_counter()
    result = await run_check(DnsCheck(host="localhost"))
    elapsed_ms = (time.perf_counter() - began) * 1000
    assert result.status is Status.PASS, result.error
    latency = result.observations["latency"]
    assert latency.unit == "ms"
    assert isinstance(latency.value, float)
    assert 0 < latency.value <= elapsed_ms
    assert latency.value == round(latency.value, 2)
    answers = socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)
    distinct = {info[4][0] for info in answers}
    assert result.observations["addresses"] == Observation(len(distinct), "addresses")


class Resolver:
    """Stands in for the system resolver on the running loop: records what it was asked and
    answers ``answers`` (or raises ``error``). The check's decisions on an answer are the
    subject here; a real resolver cannot be made to answer nothing, or duplicates, on demand."""

    def __init__(self, answers: list[str] | None = None, error: Exception | None = None) -> None:
        self.answers = answers or []
        self.error = error
        self.asked: list[tuple[object, ...]] = []

    async def __call__(self, host: str, port: object, **kwargs: object) -> list[Any]:
        self.asked.append((host, port, kwargs))
        if self.error is not None:
            raise self.error
        family, kind = socket.AF_INET, socket.SOCK_STREAM
        return [(family, kind, 6, "", (address, 0)) for address in self.answers]


async def decide(
    monkeypatch: pytest.MonkeyPatch, resolver: Resolver, expect: list[str] | None = None
) -> Observations:
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolver)
    return await DnsCheck(host="db.internal", expect=expect).run()


async def test_each_distinct_address_counts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = Resolver(["10.0.0.2", "10.0.0.1", "10.0.0.2"])
    observed = await decide(monkeypatch, resolver, expect=["10.0.0.1", "10.0.0.2"])
    assert observed is not None
    assert observed["addresses"] == Observation(2, "addresses")
    assert resolver.asked == [("db.internal", None, {"type": socket.SOCK_STREAM})]


async def test_a_missing_expected_address_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = Resolver(["10.0.0.2", "10.0.0.1", "10.0.0.2"])
    with pytest.raises(CheckFailed) as caught:
        await decide(monkeypatch, resolver, expect=["10.0.0.1", "10.0.0.3", "10.0.0.4"])
    assert caught.value.reason == "unexpected"
    assert str(caught.value) == (
        "db.internal resolved to ['10.0.0.1', '10.0.0.2'], missing ['10.0.0.3', '10.0.0.4']"
    )


async def test_no_answer_fails_as_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CheckFailed) as caught:
        await decide(monkeypatch, Resolver([]))
    assert (caught.value.reason, str(caught.value)) == ("resolution", "db.internal: no addresses")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "Name or service not known",
        ),
        (socket.gaierror("no strerror"), "no strerror"),
    ],
)
async def test_a_name_that_does_not_resolve_fails_as_resolution(
    monkeypatch: pytest.MonkeyPatch, error: socket.gaierror, message: str
) -> None:
    with pytest.raises(CheckFailed) as caught:
        await decide(monkeypatch, Resolver(error=error))
    assert (caught.value.reason, str(caught.value)) == ("resolution", f"db.internal: {message}")
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_endpoint_keeps_the_host_and_the_configured_region() -> None:
    (endpoint,) = DnsCheck(host="db.internal", region="eu-west-2").endpoints()
    assert (endpoint.url, endpoint.region, endpoint.global_service) == (
        "db.internal",
        "eu-west-2",
        False,
    )
