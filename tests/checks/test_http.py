"""http: status and body expectations against a local server, and network faults."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from checks import Check, CheckFailed, CheckResult, ConfigError, Observation, Status
from checks.http import HttpCheck
from service.config import parse_config
from service.running.runner import Runner
from support.httpserver import QuietHandler, ThreadedHttpServer
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
    # The detail names what went wrong (httpx's error and its text), for the details view.
    assert re.match(r"^CheckFailed: [A-Za-z]+Error: ", result.error or ""), result.error


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


def test_a_url_must_be_http_or_https() -> None:
    with pytest.raises(ValueError, match=r"^url must be http:// or https://, not 'ftp://x'$"):
        HttpCheck(url="ftp://x")


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


class _Recording(ThreadedHttpServer):
    """An HTTP/1.1 server on 127.0.0.1 that records each request's path and headers; ``/moved``
    redirects to ``/status``, ``/latin-1`` answers in that charset, every other path answers
    200 ``operational``."""

    def __init__(self) -> None:
        recording = self
        self.requests: list[tuple[str, dict[str, str]]] = []

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                recording.requests.append((self.path, dict(self.headers.items())))
                latin = self.path == "/latin-1"
                body = "opérationnel".encode("latin-1") if latin else b"operational"
                self.send_response(302 if self.path == "/moved" else 200)
                if self.path == "/moved":
                    self.send_header("Location", "/status")
                if latin:
                    self.send_header("Content-Type", "text/plain; charset=latin-1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


async def test_configured_headers_are_sent_and_never_shown() -> None:
    secret = "Bearer s3cr3t-token"
    with _Recording() as server:
        check = HttpCheck(
            url=server.url + "/status", headers={"Authorization": secret, "X-Team": "orders"}
        )
        passed, _ = await evaluate(check)
        check.expect_status = [204]
        failed, _ = await evaluate(check)
    assert passed.status is Status.PASS, passed.error
    assert (failed.status, failed.reason) == (Status.FAIL, "status")
    ((path, headers), _again) = server.requests
    assert path == "/status"
    lowered = {name.lower(): value for name, value in headers.items()}
    assert lowered["authorization"] == secret
    assert lowered["x-team"] == "orders"
    assert lowered["user-agent"] == "deep-health"
    for shown in (repr(check), repr(passed), repr(failed), str(failed.error)):
        assert "s3cr3t" not in shown


async def test_a_redirect_is_not_followed() -> None:
    with _Recording() as server:
        result, _ = await evaluate(HttpCheck(url=server.url + "/moved", contains="operational"))
        followed = [path for path, _ in server.requests]
    assert (result.status, result.reason) == (Status.FAIL, "status")
    assert result.error == "CheckFailed: status 302, expected [200]"
    assert followed == ["/moved"]


@pytest.mark.parametrize(
    ("offset", "found"),
    [(65536 - len("operational"), True), (65536 - len("operational") + 1, False)],
    ids=["ends-at-64-KiB", "one-byte-past"],
)
async def test_only_the_first_64_kib_of_the_body_count(
    server: StubHttpServer, offset: int, found: bool
) -> None:
    server.body = b" " * offset + b"operational" + b" " * 1000
    result, _ = await evaluate(HttpCheck(url=server.url, contains="operational"))
    if found:
        assert result.status is Status.PASS, result.error
    else:
        assert (result.status, result.reason) == (Status.FAIL, "body")


async def test_the_client_itself_times_out_a_hung_server(server: StubHttpServer) -> None:
    # Without the runner around it, a blackholed GET must still end, as a timeout: the
    # client's own timeout is the check's (no infinite default).
    with FaultProxy(server.port) as proxy:
        proxy.blackhole = True
        check = HttpCheck(url=proxy.url)
        check.timeout = 0.3
        await check.start()
        try:
            # Every phase bounded by the check's timeout (httpx's own default is 5 s), and the
            # pool bounded too (httpx's own default is 100 connections).
            assert check._client.timeout == httpx.Timeout(0.3)
            pool = check._client._transport._pool
            assert (pool._max_connections, pool._max_keepalive_connections) == (10, 5)
            with pytest.raises(CheckFailed) as caught:
                await asyncio.wait_for(check.fetch(), timeout=30)
        finally:
            await check.stop()
    assert caught.value.reason == "timeout"
    assert str(caught.value).startswith("ReadTimeout: ")


async def test_the_body_is_read_in_its_declared_charset() -> None:
    with _Recording() as server:
        result, _ = await evaluate(HttpCheck(url=server.url + "/latin-1", contains="opération"))
    assert result.status is Status.PASS, result.error


async def test_stopping_twice_is_harmless(server: StubHttpServer) -> None:
    check = HttpCheck(url=server.url)
    await check.stop()  # never started: nothing to close
    await check.start()
    await check.stop()
    await check.stop()
    await check.start()  # and it starts again, with a new client
    try:
        status, body, _ = await check.fetch()
    finally:
        await check.stop()
    assert (status, body) == (200, '{"status": "operational"}')


async def test_bytes_that_are_not_text_do_not_hide_the_substring(server: StubHttpServer) -> None:
    # A body with bytes invalid in its charset is still searched (they become U+FFFD).
    server.body = b"\xff\xfe status: operational \xc3"
    result, _ = await evaluate(HttpCheck(url=server.url, contains="operational"))
    assert result.status is Status.PASS, result.error
    latency = result.observations["latency"]
    assert latency.value == round(latency.value, 2)
