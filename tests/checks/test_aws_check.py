"""A team's own ``AwsCheck`` subclass, named in the config, against the emulator."""

from __future__ import annotations

import uuid

import pytest

from checks import CheckResult, Status
from service.config import parse_config
from service.runner import Runner
from support.emulator import Emulator, create_canary_table
from support.team_checks import Orders

pytestmark = pytest.mark.integration


async def evaluate(config_text: str) -> CheckResult:
    config = parse_config(config_text)
    runner = Runner(config.checks, deadline=1.5, cache_ttl=0)
    runner.start()
    try:
        return (await runner.evaluate()).results[0]
    finally:
        runner.close()


def orders(table: str, endpoint: str, extra: str = "") -> str:
    return (
        '[[checks]]\ntype = "support.team_checks:Orders"\n'
        f'table = "{table}"\nendpoint_url = "{endpoint}"\n{extra}'
    )


async def test_a_team_check_calls_its_service_through_the_shared_client(
    emulator: Emulator,
) -> None:
    table = f"orders-{uuid.uuid4().hex[:8]}"
    create_canary_table(emulator, table, {"pk": {"S": "canary"}})
    result = await evaluate(orders(table, emulator.endpoint))
    assert result.status is Status.PASS, result.error
    assert result.observations["status"].value == "ACTIVE"


async def test_its_aws_errors_get_the_standard_reasons(emulator: Emulator) -> None:
    result = await evaluate(orders("no-such-table", emulator.endpoint))
    assert (result.status, result.reason) == (Status.FAIL, "not_found")


def test_it_takes_the_configured_timeout_and_declares_its_regional_endpoint() -> None:
    extra = 'region = "eu-west-2"\ntimeout = 0.4\n'
    (check,) = parse_config(orders("t", "http://127.0.0.1:9", extra)).checks
    assert isinstance(check, Orders)
    assert check.client_timeout() == 0.4
    (endpoint,) = check.endpoints()
    assert (endpoint.url, endpoint.region, endpoint.global_service) == (
        "http://127.0.0.1:9",
        "eu-west-2",
        False,
    )
