"""Hostile input: small 4xx answers, no evaluation triggered, nothing private leaked."""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import socket
import threading
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks import CheckResult, Status
from service.config import Settings, parse_config
from service.engine.health import HealthService
from service.engine.report import Report
from service.faces.app import create_app
from service.output.body import detailed_body, public_body
from service.running.runner import Evaluation
from service.verdict.policy import PolicySettings, decide
from support.misbehaving import FAKE_SECRET
from support.process import serve

TOKEN = "hardening-token-0123456789"


def details_number(url: str) -> int:
    response = httpx.get(
        f"{url}/health/details", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    return int(response.json()["evaluation"]["number"])


def raw_request(port: int, payload: bytes) -> tuple[bytes, bool]:
    """Send raw bytes; return what came back and whether the server reset the connection.

    A server that refuses a flood while the client is still sending resets the connection, and
    TCP may then drop its answer: only such a reset may come with no answer at all.
    """
    chunks = []
    reset = False
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(payload)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            reset = True
    return b"".join(chunks), reset


@pytest.mark.e2e
def test_hostile_requests_get_small_4xx_and_trigger_nothing(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text(
        f'[service]\nmode = "on-request"\ncache_ttl = 0\ndetails_token = "{TOKEN}"\n'
        '[[checks]]\ntype = "support.misbehaving:Raises"\n'
    )
    with serve(config) as url, httpx.Client(base_url=url, timeout=10) as http:
        port = int(url.rsplit(":", 1)[1])
        before = details_number(url)
        answers = [
            http.request("OPTIONS", "/health"),
            http.request("TRACE", "/health"),
            http.put("/health", content=b"x"),
            http.delete("/health/details"),
            http.get("/health/../../etc/passwd"),
            http.get("/%2e%2e/%2e%2e/etc/passwd"),
            http.get("/health/details", headers={"Authorization": "Bearer " + "a" * 1_000_000}),
            http.get("/health/details", headers={"Authorization": "Bearer " + TOKEN[:-1]}),
            http.get("/health/details", headers={"X-Huge": "b" * 60_000}),
            http.get("/livez?" + "q=" * 30_000),
            http.get("/health/", headers={"Host": "evil.example"}),
            http.get("/health/details/", headers={"Host": "evil.example"}),
        ]
        long_query = http.get("/livez?" + "q=" * 30_000)
        head = b"GET /health HTTP/1.1\r\nHost: x\r\n"
        # A head still unfinished after ~21 KiB, over h11's 16 KiB cap, sent at once so the
        # server has read it all when it refuses: it must be answered, not merely dropped.
        over_cap, over_cap_reset = raw_request(port, head + b"X: y\r\n" * 3000)
        flood, flood_reset = raw_request(port, head + b"X: y\r\n" * 200_000)
        after = details_number(url)
    for response in answers:
        assert 400 <= response.status_code < 500 or response.url.path == "/livez", response
        assert "location" not in response.headers  # no redirect built from the Host header
        assert len(response.content) < 200
        assert FAKE_SECRET not in response.text
        assert "Traceback" not in response.text
    # The query string is ignored, not evaluated: /livez still answers its fixed body.
    assert (long_query.status_code, long_query.content) == (200, b'{"status":"pass"}')
    assert over_cap.startswith(b"HTTP/1.1 4"), (over_cap[:80], over_cap_reset)
    assert len(over_cap) < 1024
    # 1.4 MB still arriving when the server refuses it: an answer, or a reset (never a clean
    # close without one); the server keeps serving either way (`after` below).
    assert flood.startswith(b"HTTP/1.1 4") or (flood == b"" and flood_reset), flood[:80]
    # Only the two details calls made here evaluated: nothing hostile did.
    assert after == before + 1


def report_for(results: list[CheckResult], settings: Settings) -> Report:
    evaluation = Evaluation(number=1, results=tuple(results), duration=0.01, time=0.0)
    verdict = decide(results, 0.01, PolicySettings())
    return Report(evaluation=evaluation, verdict=verdict, settings=settings)


PRIVATE = [
    FAKE_SECRET,
    "arn:aws:dynamodb:eu-west-1:123456789012:table/accounts",
    "123456789012",
    "ResourceNotFoundException",
    "Traceback (most recent call last)",
]

names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
outcomes = st.builds(
    lambda name, status, critical, scope, error, reason: CheckResult(
        name=name,
        status=status,
        duration=0.02,
        critical=critical,
        scope=scope,
        reason=reason,
        error=error,
    ),
    names,
    st.sampled_from(list(Status)),
    st.booleans(),
    st.sampled_from(["regional", "global", "peer"]),
    st.one_of(
        st.none(), st.sampled_from(PRIVATE), st.text(max_size=40).map(lambda t: t + FAKE_SECRET)
    ),
    st.sampled_from([None, "error", "timeout", "drained"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(outcomes, max_size=6, unique_by=lambda r: r.name))
def test_public_body_never_leaks(results: list[CheckResult]) -> None:
    config = Settings(details_token=TOKEN, marker="DEEP-HEALTH-OK")
    report = report_for(results, config)
    body = public_body(report).decode()
    for private in [*PRIVATE, TOKEN, "observedValue", "output"]:
        assert private not in body
    healthy = report.verdict.status is not Status.FAIL
    assert ("DEEP-HEALTH-OK" in body[:5120]) is healthy
    details = json.loads(detailed_body(report))["checks"]
    for r in results:
        if r.error:
            assert details[f"{r.name}:responseTime"][0]["output"] == r.error


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _threads_but_workers() -> int:
    return sum("-worker_" not in t.name for t in threading.enumerate())


async def test_soak_leaks_no_tasks_threads_or_memory() -> None:
    config = parse_config(
        # Each evaluation's verdict stands alone (no latch), so both outcomes keep coming; the
        # timeouts leave room for a busy machine's thread hand-offs.
        "[service]\ncache_ttl = 0\ndeadline = 0.2\n[failover]\nenabled = false\n"
        '[[checks]]\ntype = "support.misbehaving:Flaky"\nname = "a"\nseed = 1\ntimeout = 0.1\n'
        '[[checks]]\ntype = "support.misbehaving:Flaky"\nname = "b"\nseed = 2\ntimeout = 0.1\n'
        '[[checks]]\ntype = "support.misbehaving:SyncPassing"\n'
    )
    service = HealthService(config)
    service.start()
    app = create_app(service, manage_lifespan=False)
    transport = httpx.ASGITransport(app=app)
    loops = [service.runner.lane(c.check_name).loop for c in service.runner.checks]

    async def tasks_on_checks_loop() -> int:
        return len(asyncio.all_tasks())

    def count_tasks() -> int:
        return sum(
            asyncio.run_coroutine_threadsafe(tasks_on_checks_loop(), loop).result(timeout=5)
            for loop in loops
        )

    codes: set[int] = set()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://soak") as http:

            async def batch(n: int) -> None:
                responses = await asyncio.gather(*(http.get("/health") for _ in range(n)))
                codes.update(r.status_code for r in responses)

            for _ in range(20):  # warm-up: pools, caches, first-use allocations
                await batch(50)
            gc.collect()
            threads, tasks, rss = _threads_but_workers(), count_tasks(), _rss_kib()
            for _ in range(200):  # 10,000 requests
                await batch(50)
            gc.collect()
            grown_threads = _threads_but_workers() - threads
            workers = threading.active_count() - _threads_but_workers()
            grown_tasks = count_tasks() - tasks
            grown_rss = _rss_kib() - rss
    finally:
        service.close()
    assert codes <= {200, 503}
    assert 503 in codes
    assert 200 in codes
    assert grown_threads <= 0
    assert workers <= 3 * 4  # each check's own worker threads (4), started on demand
    assert grown_tasks <= 0
    assert grown_rss < 20 * 1024, f"RSS grew {grown_rss} KiB"


MISBEHAVING_CHECKS = "".join(
    f'[[checks]]\ntype = "support.misbehaving:{kind}"\ncritical = false\n{extra}'
    for kind, extra in [
        ("BlocksLoop", "seconds = 2.5\n"),
        ("CancelsOwnTask", ""),
        ("RaisesUnprintable", ""),
        ("FailsWithBadObservations", ""),
        ("OddObservations", ""),
        ("HangsInThread", ""),
        ("HangsInToThread", ""),
        ("StartRaises", 'kind = "SystemExit"\n'),
        ("StopRaises", ""),
    ]
)


def _strict_json(text: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["background", "on-request"])
def test_misbehaving_checks_cause_no_unexpected_5xx(tmp_path: Path, mode: str) -> None:
    config = tmp_path / "health.toml"
    config.write_text(
        f'[service]\nmode = "{mode}"\ncache_ttl = 0\ndeadline = 0.5\ninterval = 0.2\n'
        f'details_token = "{TOKEN}"\n[failover]\nenabled = false\n'
        '[[checks]]\ntype = "support.misbehaving:Passing"\n' + MISBEHAVING_CHECKS
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    codes: dict[str, set[int]] = {"/health": set(), "/health/details": set(), "/livez": set()}
    with serve(config) as url, httpx.Client(base_url=url, timeout=10) as http:
        for _ in range(15):
            for path in codes:
                response = http.get(path, headers=auth)
                codes[path].add(response.status_code)
                if path == "/health/details" and response.status_code != 401:
                    body = _strict_json(response.text)
                    assert isinstance(body, dict)
                    checks = body["checks"]
                    # The healthy critical check keeps its real result beside the culprits.
                    assert checks["passing:responseTime"][0]["status"] == "pass"
                assert FAKE_SECRET not in response.text
        metrics = http.get("/metrics").status_code
    assert codes["/livez"] == {200}
    assert codes["/health"] <= {200, 503}
    assert 200 in codes["/health"]  # the non-critical culprits only warn (after starting)
    assert codes["/health/details"] <= {200, 503}
    assert metrics == 200
