"""Shared plumbing for checks that call AWS: one session and client per check, created once.

Clients get tight connect/read timeouts and a single attempt: the runner's deadline, not
botocore's retry loop, decides how long a probe may take.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import Any

from checks.base import Endpoint

__all__ = ["ENDPOINT_ENV", "AwsClient", "endpoint_for", "resolve_region"]

ENDPOINT_ENV = "DEEP_HEALTH_AWS_ENDPOINT"
"""An endpoint URL for every AWS call (a local emulator); an explicit ``endpoint_url`` wins."""


def resolve_region(region: str | None) -> str:
    """The explicit region, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``."""
    found = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not found:
        raise ValueError("no region: set the check's 'region' option or AWS_REGION")
    return found


def endpoint_for(service: str, region: str, endpoint_url: str | None) -> Endpoint:
    """The regional endpoint a client for ``service`` calls, for the dependency audit."""
    url = endpoint_url or f"https://{service}.{region}.amazonaws.com"
    return Endpoint(url, region=region)


class AwsClient:
    """An aiobotocore client that lives from ``open()`` to ``close()``.

    Args:
        service: the botocore service name (``dynamodb``, ``sqs``, ...).
        region: the region; ``None`` falls back to the environment.
        endpoint_url: overrides the endpoint (``DEEP_HEALTH_AWS_ENDPOINT`` otherwise).
        connect_timeout: seconds to establish a connection.
        read_timeout: seconds to wait for a response.
    """

    def __init__(
        self,
        service: str,
        *,
        region: str | None,
        endpoint_url: str | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self.service = service
        self.region = resolve_region(region)
        self.endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._stack: AsyncExitStack | None = None
        self.client: Any = None

    async def open(self) -> Any:
        """Create the client (idempotent) and return it."""
        if self.client is not None:
            return self.client
        import aioboto3
        from aiobotocore.config import AioConfig

        config = AioConfig(
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            retries={"max_attempts": 1, "mode": "standard"},
            max_pool_connections=20,
        )
        self._stack = AsyncExitStack()
        session = aioboto3.Session(region_name=self.region)
        self.client = await self._stack.enter_async_context(
            session.client(self.service, endpoint_url=self.endpoint_url, config=config)
        )
        return self.client

    async def close(self) -> None:
        """Close the client's connections."""
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = None
        self.client = None

    def endpoint(self) -> Endpoint:
        return endpoint_for(self.service, self.region, self.endpoint_url)
