"""EMF records validate against the spec's structure and carry the right values."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from checks import Status
from service.config import parse_config
from service.engine.health import HealthService
from service.engine.report import Report
from service.listeners.emf import EmfEmitter, emf_records
from service.running.runner import Evaluation
from service.verdict.policy import Verdict
from support.lambda_process import run_handler_script
from support.observed import OUTCOMES, SECRET, Clock, Ticker

# The required structure of the Embedded Metric Format specification: a root object with an
# "_aws" metadata member (Timestamp in epoch milliseconds, CloudWatchMetrics directives with a
# Namespace, Dimensions as arrays of up to 30 dimension keys, and up to 100 metric definitions).
UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
]  # fmt: skip
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def validate(record: dict[str, Any]) -> None:
    """The schema, plus the spec's cross-references a JSON Schema cannot state."""
    jsonschema.validate(record, EMF_SCHEMA)
    for directive in record["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                assert isinstance(record[key], str), key  # dimension values are root strings
        for metric in directive["Metrics"]:
            value = record[metric["Name"]]  # metric values are root numbers
            assert isinstance(value, int | float), metric
            assert not isinstance(value, bool), metric


def service_for(*outcomes: str, namespace: str = "Test/Health") -> tuple[HealthService, list[str]]:
    keys = [uuid.uuid4().hex for _ in outcomes]
    for key, outcome in zip(keys, outcomes, strict=True):
        OUTCOMES[key] = outcome
    text = f'[service]\ncache_ttl = 0\nemf_namespace = "{namespace}"\n' + "".join(
        f'[[checks]]\ntype = "support.observed:Scripted"\nname = "c{i}"\nkey = "{k}"\n'
        for i, k in enumerate(keys)
    )
    return HealthService(parse_config(text)), keys


async def test_one_record_set_per_evaluation_validates() -> None:
    service, _ = service_for("pass", "drained")
    stream = io.StringIO()
    settings = service.settings
    service.add_listener(
        EmfEmitter(
            namespace=settings.emf_namespace, service="svc", region="eu-west-1", stream=stream
        )
    )
    await service.astart()
    try:
        report = await service.report()
        await service.report()
    finally:
        await service.aclose()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(records) == 2 * 3  # per evaluation: the region's record and one per check
    for record in records:
        validate(record)
        directive = record["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "Test/Health"
        assert record["service"] == "svc"
        assert record["region"] == "eu-west-1"
        assert SECRET not in json.dumps(record)
    region, passing, failing = records[:3]
    assert region["_aws"]["Timestamp"] == int(report.evaluation.time * 1000)
    assert region["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "region"]]
    assert region["RegionHealthy"] == 0
    assert passing["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "region", "check"]]
    assert (passing["check"], passing["CheckStatus"], passing["CheckFailed"]) == ("c0", 0, 0)
    assert (failing["check"], failing["CheckStatus"], failing["CheckFailed"]) == ("c1", 2, 1)
    assert failing["reason"] == "drained"
    assert failing["CheckDuration"] >= 0


async def test_stale_reports_emit_nothing() -> None:
    service, _ = service_for("pass")
    clock, ticker = Clock(), Ticker()
    service = HealthService(service.config, mode="background", clock=clock, sleep=ticker.sleep)
    stream = io.StringIO()
    service.add_listener(EmfEmitter(namespace="N", service="s", region="r", stream=stream))
    await service.astart()
    try:
        clock.advance(1000)
        assert (await service.report()).stale
    finally:
        await service.aclose()
    assert len(stream.getvalue().splitlines()) == 2  # the first evaluation only


def test_schema_rejects_what_the_spec_forbids() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate({"_aws": {"CloudWatchMetrics": []}})
    with pytest.raises(jsonschema.ValidationError):
        validate({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N"}]}})


LAMBDA = """
import json, sys
from service.faces import lambda_handler
event = json.load(open(sys.argv[1]))
codes = [lambda_handler.handler(event, None)["statusCode"] for _ in range(2)]
event["rawPath"] = "/metrics"
event["requestContext"]["http"]["path"] = "/metrics"
codes.append(lambda_handler.handler(event, None)["statusCode"])
print(json.dumps({"codes": codes}))
"""


def test_lambda_emits_emf_on_stdout_and_serves_no_metrics(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    key = uuid.uuid4().hex
    config.write_text(
        '[service]\ncache_ttl = 0\n[[checks]]\ntype = "support.observed:Scripted"\n'
        f'name = "db"\nkey = "{key}"\n'
    )
    done = run_handler_script(LAMBDA, config, extra={"AWS_REGION": "eu-west-2"})
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines[-1] == {"codes": [200, 200, 404]}
    emf = [line for line in lines if "_aws" in line]
    assert len(emf) == 2 * 2
    for record in emf:
        validate(record)
        assert record["region"] == "eu-west-2"
        assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DeepHealth"


@pytest.mark.parametrize(
    ("reasons", "fallback"),
    [
        ((), 0),
        (("critical check accounts failed (timeout)",), 0),
        (("state_store: dynamodb timeout, local state used for this evaluation",), 1),
        (("held", "state_store: dynamodb throttled, local state used for this evaluation"), 1),
        (("a reason that mentions state_store: later",), 0),
    ],
)
def test_the_region_record_says_when_the_state_store_was_not_used(
    reasons: tuple[str, ...], fallback: int
) -> None:
    config = parse_config('[[checks]]\ntype = "support.misbehaving:Passing"\n')
    evaluation = Evaluation(number=1, results=(), duration=0.0, time=1795428000.0)
    report = Report(evaluation, Verdict(Status.PASS, reasons), config.settings)
    region = emf_records(report, namespace="DeepHealth", service="svc", region="eu-west-1")[0]
    jsonschema.validate(region, EMF_SCHEMA)
    assert region["StateStoreFallback"] == fallback
    names = [m["Name"] for m in region["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert "StateStoreFallback" in names
