"""dynamodb_read against the emulator: canary read, expected values, drain, config."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from checks import Status
from checks.dynamodb_read import DynamoDBRead
from checks.testing import run_check
from service.config import parse_config
from support.emulator import Emulator, create_canary_table

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
