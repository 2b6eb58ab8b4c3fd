"""dynamodb_read against the emulator: canary read, expected values, drain, config."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from checks import Status
from checks.dynamodb_read import DynamoDBRead
from service.config import parse_config
from service.running.testing import run_check
from support.emulator import Emulator, create_canary_table
from support.httpserver import QuietHandler, ThreadedHttpServer

pytestmark = pytest.mark.integration

CANARY = {"pk": {"S": "canary"}, "status": {"S": "ok"}, "version": {"N": "3"}}


@pytest.fixture
def table(emulator: Emulator) -> Iterator[str]:
    name = f"canary-{uuid.uuid4().hex[:8]}"
    create_canary_table(emulator, name, CANARY)
    yield name
    emulator.client("dynamodb").delete_table(TableName=name)


def read(emulator: Emulator, table: str, **options: Any) -> DynamoDBRead:
    return DynamoDBRead(
        table=table, key={"pk": "canary"}, endpoint_url=emulator.endpoint, **options
    )


async def test_reads_the_canary_and_reports_latency(emulator: Emulator, table: str) -> None:
    result = await run_check(read(emulator, table, expect={"status": "ok", "version": 3}))
    assert result.status is Status.PASS, result.error
    assert result.observations["latency"].unit == "ms"
    assert result.observations["latency"].value > 0


async def test_missing_item_fails(emulator: Emulator, table: str) -> None:
    check = DynamoDBRead(table=table, key={"pk": "absent"}, endpoint_url=emulator.endpoint)
    result = await run_check(check)
    assert (result.status, result.reason) == (Status.FAIL, "missing")


async def test_unexpected_value_fails_as_mismatch(emulator: Emulator, table: str) -> None:
    result = await run_check(read(emulator, table, expect={"status": "ok", "version": 4}))
    assert (result.status, result.reason) == (Status.FAIL, "mismatch")
    assert "version" in (result.error or "")


async def test_drain_attribute_fails_the_region_over(emulator: Emulator, table: str) -> None:
    emulator.client("dynamodb").put_item(TableName=table, Item={**CANARY, "drain": {"BOOL": True}})
    result = await run_check(read(emulator, table))
    assert (result.status, result.reason) == (Status.FAIL, "drained")


async def test_missing_table_fails_as_not_found(emulator: Emulator) -> None:
    result = await run_check(read(emulator, "no-such-table"))
    assert (result.status, result.reason) == (Status.FAIL, "not_found")


async def test_config_builds_the_check(emulator: Emulator, table: str) -> None:
    config = parse_config(
        f"""
        [[checks]]
        type = "dynamodb_read"
        name = "accounts"
        timeout = 0.5
        table = "{table}"
        key = {{ pk = "canary" }}
        expect = {{ status = "ok" }}
        endpoint_url = "{emulator.endpoint}"
        """
    )
    (check,) = config.checks
    assert check.check_name == "accounts"
    assert check.timeout == 0.5
    assert (await run_check(check)).status is Status.PASS  # type: ignore[arg-type]


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


async def test_expect_on_a_missing_attribute_fails(emulator: Emulator, table: str) -> None:
    # The canary item has no `region` attribute: an expectation on it must not pass.
    result = await run_check(read(emulator, table, expect={"status": "ok", "region": "eu"}))
    assert (result.status, result.reason) == (Status.FAIL, "mismatch")
    assert result.error == "CheckFailed: attribute 'region' is None, expected 'eu'"


TYPED = {
    "pk": {"S": "canary"},
    "ratio": {"N": "1.5"},
    "count": {"N": "7"},
    "enabled": {"BOOL": False},
    "name": {"S": "7"},
    "tags": {"SS": ["a"]},
}


@pytest.mark.parametrize(
    ("expect", "passes"),
    [
        pytest.param({"ratio": 1.5, "count": 7, "enabled": False, "name": "7"}, True, id="typed"),
        pytest.param({"count": "7"}, False, id="a-number-is-not-a-string"),
        pytest.param({"name": 7}, False, id="a-string-is-not-a-number"),
        pytest.param({"enabled": True}, False, id="false-is-not-true"),
        pytest.param({"ratio": 1}, False, id="fraction-kept"),
        pytest.param({"tags": "a"}, False, id="a-set-is-not-a-scalar"),
    ],
)
async def test_expect_compares_typed_values(
    emulator: Emulator, expect: dict[str, Any], passes: bool
) -> None:
    name = f"canary-{uuid.uuid4().hex[:8]}"
    create_canary_table(emulator, name, TYPED)
    try:
        result = await run_check(read(emulator, name, expect=expect))
    finally:
        emulator.client("dynamodb").delete_table(TableName=name)
    assert result.status is (Status.PASS if passes else Status.FAIL), result.error
    if not passes:
        assert result.reason == "mismatch"


@pytest.mark.parametrize(
    ("drain", "attribute"),
    [
        pytest.param({"BOOL": False}, "drain", id="false-is-not-drained"),
        pytest.param({"S": "true"}, "drain", id="only-a-boolean-true-drains"),
        pytest.param({"BOOL": True}, "offline", id="another-attribute-is-not-the-drain"),
    ],
)
async def test_drain_needs_its_own_attribute_set_true(
    emulator: Emulator, table: str, drain: dict[str, Any], attribute: str
) -> None:
    emulator.client("dynamodb").put_item(TableName=table, Item={**CANARY, "drain": drain})
    result = await run_check(read(emulator, table, drain_attribute=attribute))
    assert result.status is Status.PASS, result.error


async def test_a_configured_drain_attribute_drains(emulator: Emulator, table: str) -> None:
    emulator.client("dynamodb").put_item(
        TableName=table, Item={**CANARY, "offline": {"BOOL": True}}
    )
    result = await run_check(read(emulator, table, drain_attribute="offline"))
    assert (result.status, result.reason) == (Status.FAIL, "drained")


def test_key_values_become_typed_attributes() -> None:
    check = DynamoDBRead(table="t", key={"s": "x", "n": 7, "f": 1.5, "b": True}, region="eu-west-1")
    assert check.key == {
        "s": {"S": "x"},
        "n": {"N": "7"},
        "f": {"N": "1.5"},
        "b": {"BOOL": True},
    }
    assert (check.table, check.drain_attribute, check.expect) == ("t", "drain", {})


async def test_latency_is_milliseconds_of_the_call(emulator: Emulator, table: str) -> None:
    began = time.perf_counter()
    result = await run_check(read(emulator, table))
    elapsed_ms = (time.perf_counter() - began) * 1000
    latency = result.observations["latency"]
    assert latency.unit == "ms"
    assert isinstance(latency.value, float)
    assert 0 < latency.value <= elapsed_ms
    assert latency.value == round(latency.value, 2)


@pytest.mark.parametrize(
    ("expect", "error"),
    [
        pytest.param({"version": 4}, "attribute 'version' is 3, expected 4", id="number"),
        pytest.param({"version": "3"}, "attribute 'version' is 3, expected '3'", id="whole"),
        pytest.param({"status": "bad"}, "attribute 'status' is 'ok', expected 'bad'", id="text"),
    ],
)
async def test_a_mismatch_says_what_was_read(
    emulator: Emulator, table: str, expect: dict[str, Any], error: str
) -> None:
    result = await run_check(read(emulator, table, expect=expect))
    assert (result.status, result.reason) == (Status.FAIL, "mismatch")
    assert result.error == f"CheckFailed: {error}"


async def test_missing_and_drained_say_which_table(emulator: Emulator, table: str) -> None:
    check = DynamoDBRead(table=table, key={"pk": "absent"}, endpoint_url=emulator.endpoint)
    missing = await run_check(check)
    assert (
        missing.error
        == f"CheckFailed: canary item {{'pk': {{'S': 'absent'}}}} not found in {table}"
    )
    emulator.client("dynamodb").put_item(TableName=table, Item={**CANARY, "drain": {"BOOL": True}})
    drained = await run_check(read(emulator, table))
    assert drained.error == f"CheckFailed: drain set on the canary item of {table}"


def test_endpoint_is_in_the_configured_region() -> None:
    (endpoint,) = DynamoDBRead(table="t", key={"pk": "k"}, region="us-west-2").endpoints()
    assert (endpoint.url, endpoint.region) == (
        "https://dynamodb.us-west-2.amazonaws.com",
        "us-west-2",
    )


class _RecordingTable(ThreadedHttpServer):
    """A DynamoDB endpoint on 127.0.0.1 (HTTP, its JSON protocol) that records each request and
    answers every ``GetItem`` with ``item``: what the check asks for, seen on the wire."""

    def __init__(self, item: dict[str, Any]) -> None:
        recording = self
        self.requests: list[tuple[str, dict[str, Any]]] = []

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"{}")
                recording.requests.append((self.headers.get("X-Amz-Target", ""), request))
                body = json.dumps({"Item": item}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


async def test_the_canary_is_read_strongly_consistent() -> None:
    # An eventually consistent read may return the canary as it was before the last write (a
    # drain just set, a fixed item): the check must ask for the latest.
    with _RecordingTable({"pk": {"S": "canary"}, "status": {"S": "ok"}}) as table:
        check = DynamoDBRead(
            table="accounts",
            key={"pk": "canary"},
            expect={"status": "ok"},
            region="eu-west-1",
            endpoint_url=table.url,
        )
        result = await run_check(check)
    assert result.status is Status.PASS, result.error
    assert table.requests
    for target, request in table.requests:
        assert target == "DynamoDB_20120810.GetItem"
        assert request == {
            "TableName": "accounts",
            "Key": {"pk": {"S": "canary"}},
            "ConsistentRead": True,
        }
