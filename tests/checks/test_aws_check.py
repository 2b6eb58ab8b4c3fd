"""A team's own ``AwsCheck`` subclass, named in the config, against the emulator."""

from __future__ import annotations

import uuid

import pytest

from checks import CheckResult, Status
from service.config import parse_config
from service.running.runner import Runner
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


def readme_orders(table: str, endpoint: str, cls: str = "OrdersAsReadme") -> str:
    return (
        f'[[checks]]\ntype = "support.team_checks:{cls}"\n'
        f'table = "{table}"\nendpoint_url = "{endpoint}"\nregion = "eu-west-2"\n'
    )


@pytest.mark.parametrize("cls", ["OrdersAsReadme", "NarrowOrders"])
def test_endpoint_url_and_region_work_for_a_subclass_that_does_not_declare_them(cls: str) -> None:
    # The docs document both options for every AwsCheck; their own example's __init__ takes
    # only region. This was "checks[0].endpoint_url: unknown key".
    (check,) = parse_config(readme_orders("t", "http://127.0.0.1:9", cls)).checks
    (endpoint,) = check.endpoints()
    assert (endpoint.url, endpoint.region) == ("http://127.0.0.1:9", "eu-west-2")


async def test_a_readme_shaped_check_reaches_the_configured_endpoint(emulator: Emulator) -> None:
    table = f"orders-{uuid.uuid4().hex[:8]}"
    create_canary_table(emulator, table, {"pk": {"S": "canary"}})
    text = readme_orders(table, emulator.endpoint).replace('"eu-west-2"', '"eu-west-1"')
    result = await evaluate(text)
    assert result.status is Status.PASS, result.error


def test_an_unknown_option_of_a_readme_shaped_check_is_still_refused() -> None:
    from checks import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config(readme_orders("t", "http://127.0.0.1:9") + "endpoint = 'x'\n")
    assert caught.value.key == "checks[0].endpoint"
