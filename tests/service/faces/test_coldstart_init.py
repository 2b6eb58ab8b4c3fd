"""A cold start does each expensive thing once: one AWS session per region, one TLS context;
and the Lambda handler's init runs with the cyclic garbage collector paused.

Checks start their clients at once, each in its own lane's thread, and the failover state
store opens its DynamoDB client on the serving loop: without sharing, each of them parsed the
CA bundle again and two could each create "the" region's session (with its endpoint data).
Clients here run on loops in threads of their own, as the lanes' do, against moto over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aioboto3
import pytest

from checks import aws_client as aws
from checks.aws_client import AwsClient, forget_sessions
from support.emulator import REGION, Emulator
from support.lambda_process import last_json, run_handler_script


@pytest.fixture(autouse=True)
def fresh_sessions() -> Iterator[None]:
    forget_sessions()
    yield
    forget_sessions()


def _in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in a thread of its own, all at once; their results in order."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # reported by the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def _one_call(emulator: Emulator, service: str) -> Callable[[], str]:
    """A client opened, called once and closed on a loop of its own (as a lane's)."""

    async def call() -> str:
        client = AwsClient(
            service,
            region=REGION,
            endpoint_url=emulator.endpoint,
            connect_timeout=5.0,
            read_timeout=5.0,
        )
        opened = await client.open()
        try:
            if service == "dynamodb":
                await opened.list_tables()
            else:
                await opened.list_queues()
        finally:
            await client.close()
        return service

    return lambda: asyncio.run(call())


def test_threads_creating_the_session_at_once_share_one(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []
    both_inside = threading.Barrier(2, timeout=1.0)
    real = aioboto3.Session

    def session(**kwargs: Any) -> Any:
        made.append(kwargs)
        # Waits for a second thread to be creating a session too: without the lock it is
        # (two sessions, the race this pins down); with it, the wait times out alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_inside.wait()
        return real(**kwargs)

    monkeypatch.setattr(aioboto3, "Session", session)
    first, second = _in_threads(
        lambda: aws._shared_session(REGION), lambda: aws._shared_session(REGION)
    )
    assert first is second
    assert made == [{"region_name": REGION}]


def test_clients_in_several_threads_parse_the_ca_bundle_once(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loaded.append(args[0] if args else kwargs.get("cafile"))
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    done = _in_threads(
        _one_call(emulator, "dynamodb"), _one_call(emulator, "sqs"), _one_call(emulator, "dynamodb")
    )
    assert done == ["dynamodb", "sqs", "dynamodb"]
    assert len(loaded) == 1
    (context,) = aws._TLS_CONTEXTS.values()
    # Still botocore's verification: certificates required, the bundle's CAs loaded.
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert len(context.get_ca_certs()) > 50


def test_forgetting_the_sessions_makes_the_next_client_load_its_own_tls_context(
    emulator: Emulator,
) -> None:
    _in_threads(_one_call(emulator, "sqs"))
    (before,) = aws._TLS_CONTEXTS.values()
    forget_sessions()  # what the SnapStart before-snapshot hook calls
    assert aws._TLS_CONTEXTS == {}
    assert aws._SESSIONS == {}
    _in_threads(_one_call(emulator, "sqs"))
    (after,) = aws._TLS_CONTEXTS.values()
    assert after is not before


# The handler's init runs with the cyclic collector off; afterwards it is on again, init's
# objects frozen out of its way, also when init fails.
PROBE = """
import gc

from checks import Check


class CollectorProbe(Check):
    name = "collector-probe"
    enabled_at_start: list[bool] = []

    async def start(self) -> None:
        type(self).enabled_at_start.append(gc.isenabled())

    async def run(self) -> None:
        return None
"""

COLLECTOR_SCRIPT = """
import gc, json, sys
try:
    from service.faces import lambda_handler
    from collector_probe import CollectorProbe
    started = CollectorProbe.enabled_at_start
except Exception as exc:
    started = type(exc).__name__
print(json.dumps({"started": started, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def _import_handler(tmp_path: Path, config: str) -> dict[str, Any]:
    (tmp_path / "collector_probe.py").write_text(PROBE)
    (tmp_path / "health.toml").write_text(config)
    done = run_handler_script(COLLECTOR_SCRIPT, tmp_path / "health.toml", path=[tmp_path])
    result: dict[str, Any] = last_json(done)
    return result


def test_the_handler_inits_with_the_collector_off_and_freezes_what_init_made(
    tmp_path: Path,
) -> None:
    out = _import_handler(
        tmp_path, '[service]\ncache_ttl = 0\n[[checks]]\ntype = "collector_probe:CollectorProbe"\n'
    )
    assert out["started"] == [False]
    assert out["enabled"] is True
    assert out["frozen"] > 10_000  # the modules, config and clients: long-lived


def test_a_failing_init_turns_the_collector_back_on(tmp_path: Path) -> None:
    out = _import_handler(tmp_path, '[service]\ncache_tll = 0\n[[checks]]\ntype = "nope"\n')
    assert out["started"] == "ConfigError"
    assert out["enabled"] is True


def test_a_client_that_verifies_otherwise_keeps_its_own_tls_context() -> None:
    import certifi

    session_class = aws._http_session_class()

    async def connect(verify: bool | str) -> None:
        connector = session_class(verify=verify)._create_connector(None)
        await connector.close()

    asyncio.run(connect(False))  # verify = false: aiobotocore's path, nothing shared
    assert aws._TLS_CONTEXTS == {}
    asyncio.run(connect(certifi.where()))
    asyncio.run(connect(True))  # botocore's default bundle is certifi's: the same context
    assert list(aws._TLS_CONTEXTS) == [certifi.where()]


def test_a_region_botocore_does_not_know_still_gets_its_session() -> None:
    # Loading the endpoint data ahead must not turn a region botocore has no partition for (a
    # new one, a local emulator's) into an error here: creating its client decides that.
    session = aws._shared_session("local")
    assert session.region_name == "local"
    assert aws._shared_session("local") is session
