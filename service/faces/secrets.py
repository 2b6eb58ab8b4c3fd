"""Secrets read once at start-up, never stored in the function's configuration.

The details token lives in SSM Parameter Store (a SecureString); the function's environment
names the parameter (``DEEP_HEALTH_DETAILS_TOKEN_PARAMETER``), and :func:`secret_environment`
reads it once, at init, from this region's SSM endpoint. The value then reaches the config as
``${DEEP_HEALTH_DETAILS_TOKEN}`` through the environment mapping the config is interpolated
with, not through ``os.environ``.

A token that cannot be read turns ``/health/details`` off and is logged by error type only:
the health verdict never depends on SSM.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["TOKEN_ENV", "TOKEN_PARAMETER_ENV", "read_parameter", "secret_environment"]

TOKEN_PARAMETER_ENV = "DEEP_HEALTH_DETAILS_TOKEN_PARAMETER"  # noqa: S105 (a name)
"""Names the SSM SecureString holding the details token."""

TOKEN_ENV = "DEEP_HEALTH_DETAILS_TOKEN"  # noqa: S105 (a variable name)
"""What the config interpolates the token from: ``"${DEEP_HEALTH_DETAILS_TOKEN:-}"``."""

_log = logging.getLogger("deep_health.secrets")


def read_parameter(
    name: str, *, region: str | None, endpoint_url: str | None = None, timeout: float = 2.0
) -> str:
    """Read and decrypt one SSM parameter, once, with one bounded attempt.

    Args:
        name: the parameter's name.
        region: the region whose SSM endpoint to call (this region's: no us-east-1 dependency).
        endpoint_url: another endpoint (tests: a moto server).
        timeout: seconds to connect and to read.

    Returns:
        The decrypted value.
    """
    import botocore.config
    import botocore.session

    client: Any = botocore.session.get_session().create_client(
        "ssm",
        region_name=region,
        endpoint_url=endpoint_url,
        config=botocore.config.Config(
            connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}
        ),
    )
    try:
        value: str = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    finally:
        client.close()
    return value


def secret_environment(
    environ: Mapping[str, str] | None = None, *, endpoint_url: str | None = None
) -> dict[str, str]:
    """The environment to interpolate the config with, the details token read from SSM.

    Args:
        environ: the process environment (default: ``os.environ``).
        endpoint_url: an SSM endpoint to use instead of the region's (tests).

    Returns:
        A copy of ``environ``; with ``DEEP_HEALTH_DETAILS_TOKEN_PARAMETER`` set, it also holds
        ``DEEP_HEALTH_DETAILS_TOKEN`` (empty when the parameter cannot be read).
    """
    env = dict(os.environ if environ is None else environ)
    name = env.get(TOKEN_PARAMETER_ENV)
    if not name:
        return env
    try:
        env[TOKEN_ENV] = read_parameter(
            name, region=env.get("AWS_REGION"), endpoint_url=endpoint_url
        )
    except Exception as exc:  # any failure: run without /health/details, never fail start-up
        _log.warning("details token unavailable (%s): /health/details is off", type(exc).__name__)
        env[TOKEN_ENV] = ""
    return env
