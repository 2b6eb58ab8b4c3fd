"""The details token is read from SSM once at init, never from the function's configuration."""

from __future__ import annotations

import logging

import pytest

from service.config import parse_config
from service.faces.secrets import TOKEN_ENV, TOKEN_PARAMETER_ENV, secret_environment
from support.emulator import REGION, Emulator

TOKEN = "a-details-token-of-32-characters!"
CONFIG = (
    '[service]\ndetails_token = "${DEEP_HEALTH_DETAILS_TOKEN:-}"\n'
    '[[checks]]\ntype = "support.misbehaving:Passing"\n'  # a config without checks is refused
)


@pytest.mark.integration
def test_the_token_is_read_from_its_securestring(emulator: Emulator) -> None:
    emulator.client("ssm").put_parameter(
        Name="/deep-health/test/token", Value=TOKEN, Type="SecureString", Overwrite=True
    )
    environ = {TOKEN_PARAMETER_ENV: "/deep-health/test/token", "AWS_REGION": REGION}
    env = secret_environment(environ, endpoint_url=emulator.endpoint)
    assert env[TOKEN_ENV] == TOKEN
    assert TOKEN_ENV not in environ  # the caller's mapping (os.environ) is left alone
    assert parse_config(CONFIG, environ=env).settings.details_token == TOKEN


@pytest.mark.integration
def test_an_unreadable_token_turns_details_off_and_says_why_without_the_name(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    environ = {TOKEN_PARAMETER_ENV: "/deep-health/test/absent", "AWS_REGION": REGION}
    with caplog.at_level(logging.WARNING, logger="deep_health.secrets"):
        env = secret_environment(environ, endpoint_url=emulator.endpoint)
    assert env[TOKEN_ENV] == ""
    assert parse_config(CONFIG, environ=env).settings.details_token is None
    (record,) = caplog.records
    assert "ParameterNotFound" in record.getMessage()
    assert "/deep-health/test/absent" not in record.getMessage()


def test_without_a_parameter_nothing_is_read() -> None:
    environ = {"AWS_REGION": REGION, "OTHER": "x"}
    assert secret_environment(environ) == environ
