"""JSON-lines logs: transitions exactly once each, evaluations at debug, no secrets at start-up."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.config import parse_config
from service.engine.health import HealthService
from service.faces.app import create_app
from service.listeners.logs import JsonFormatter, LogListener, config_summary, configure
from support.observed import OUTCOMES, SECRET, Clock, Ticker

TOKEN = "logs-details-token-0123456789"


class Captured:
    def __init__(self, logger: logging.Logger, stream: io.StringIO) -> None:
        self.logger = logger
        self.stream = stream

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def messages(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["message"] == message]


@pytest.fixture
def captured() -> Iterator[Captured]:
    logger = logging.getLogger(f"deep_health.test.{uuid.uuid4().hex}")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield Captured(logger, stream)
    logger.removeHandler(handler)


def config_text(key: str, extra: str = "") -> str:
    # Hysteresis off: these tests pin each evaluation's own transitions.
    return (
        f'[service]\ncache_ttl = 0\nrelease_id = "r-7"\ndetails_token = "{TOKEN}"\n{extra}'
        "[failover]\nenabled = false\n"
        f'[[checks]]\ntype = "support.observed:Scripted"\nname = "db"\nkey = "{key}"\n'
        f'[[checks]]\ntype = "support.observed:Scripted"\nname = "other"\nkey = "{key}-other"\n'
    )


async def test_one_transition_record_per_transition(captured: Captured) -> None:
    key = uuid.uuid4().hex
    service = HealthService(parse_config(config_text(key)))
    LogListener(captured.logger).attach(service)
    await service.astart()
    try:
        for outcome in ["pass", "pass", "drained", "drained", "drained", "pass", "warn", "warn"]:
            OUTCOMES[key] = outcome
            await service.report()
    finally:
        await service.aclose()
    transitions = captured.messages("transition")
    assert [(t["from"], t["to"]) for t in transitions] == [
        ("unknown", "pass"),
        ("pass", "fail"),
        ("fail", "pass"),
        ("pass", "warn"),
    ]
    failing = transitions[1]
    assert failing["failing"] == ["db"]
    assert failing["reasons"] == ["critical check db failed (drained)"]
    assert failing["releaseId"] == "r-7"
    assert failing["level"] == "info"
    assert failing["evaluation"] == 3
    assert SECRET not in captured.stream.getvalue()  # error text is never logged
    assert captured.messages("evaluation") == []  # debug only


async def test_stale_logs_one_transition_however_many_requests(captured: Captured) -> None:
    key = uuid.uuid4().hex
    clock, ticker = Clock(), Ticker()
    service = HealthService(
        parse_config(config_text(key, "interval = 1\nmax_age = 3\n")),
        mode="background",
        clock=clock,
        sleep=ticker.sleep,
    )
    LogListener(captured.logger).attach(service)
    await service.astart()
    transport = httpx.ASGITransport(app=create_app(service, manage_lifespan=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            clock.advance(3.5)
            codes = {(await http.get("/health")).status_code for _ in range(20)}
            await ticker.tick()
            healthy = {(await http.get("/health")).status_code for _ in range(20)}
    finally:
        await service.aclose()
    assert (codes, healthy) == ({503}, {200})
    transitions = captured.messages("transition")
    assert [(t["from"], t["to"], t["stale"]) for t in transitions] == [
        ("unknown", "pass", False),
        ("pass", "fail", True),
        ("fail", "pass", False),
    ]
    assert transitions[1]["reasons"][0].startswith("stale:")


async def test_each_evaluation_logs_at_debug(captured: Captured) -> None:
    captured.logger.setLevel(logging.DEBUG)
    key = uuid.uuid4().hex
    service = HealthService(parse_config(config_text(key)))
    LogListener(captured.logger).attach(service)
    await service.astart()
    try:
        OUTCOMES[key] = "timeout"
        for _ in range(3):
            await service.report()
    finally:
        await service.aclose()
    evaluations = captured.messages("evaluation")
    assert [e["evaluation"] for e in evaluations] == [1, 2, 3]
    assert evaluations[0]["level"] == "debug"
    assert evaluations[0]["status"] == "fail"
    assert evaluations[0]["checks"]["db"] == {"status": "fail", "reason": "timeout"}
    assert evaluations[0]["durationMs"] >= 0


def test_config_summary_has_no_secrets(captured: Captured) -> None:
    key = f"{SECRET}-{uuid.uuid4().hex}"  # a check option carrying a secret
    service = HealthService(parse_config(config_text(key)), mode="background")
    LogListener(captured.logger).attach(service)
    [line] = captured.messages("config")
    text = captured.stream.getvalue()
    assert SECRET not in text
    assert TOKEN not in text
    assert line["settings"]["details_token"] == "set"
    assert line["settings"]["mode"] == "background"
    assert line["checks"][0] == {
        "name": "db",
        "type": "support.observed:Scripted",
        "critical": True,
        "scope": "regional",
        "timeout": 1.0,
    }
    assert config_summary(service.config)["settings"]["release_id"] == "r-7"


def test_configure_writes_json_lines() -> None:
    stream = io.StringIO()
    handler = configure(logging.INFO, stream)
    root = logging.getLogger("deep_health")
    try:
        logging.getLogger("deep_health.anything").info(
            "hello %s", "there", extra={"fields": {"n": 1}}
        )
    finally:
        root.removeHandler(handler)
        root.propagate = True
        root.setLevel(logging.NOTSET)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["message"], line["level"], line["n"]) == ("hello there", "info", 1)
    assert line["logger"] == "deep_health.anything"
