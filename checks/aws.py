"""Shared plumbing for checks that call AWS: one session and client per check, created once.

Clients get tight connect/read timeouts and a single attempt: the runner's deadline, not
botocore's retry loop, decides how long a probe may take. :class:`AwsCheck` is the base of
every check that calls one AWS service; a team's own AWS check subclasses it too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any, ClassVar

from checks.base import Check, Endpoint
from checks.exceptions import CheckFailed
from checks.support import endpoint_from_url

__all__ = [
    "ENDPOINT_ENV",
    "AwsCheck",
    "AwsClient",
    "aws_errors",
    "endpoint_for",
    "endpoint_from_url",
    "forget_sessions",
    "resolve_region",
]

ENDPOINT_ENV = "DEEP_HEALTH_AWS_ENDPOINT"
"""An endpoint URL for every AWS call (a local emulator); an explicit ``endpoint_url`` wins."""


_ENDPOINT_PREFIX = {"cloudwatch": "monitoring"}
"""Services whose endpoint host differs from the botocore service name."""


_SESSIONS: dict[str, Any] = {}


def _shared_session(region: str) -> Any:
    """One session per region for the process: its clients share botocore's loaded service
    models and endpoint rules, which is most of a client's creation cost on a cold start."""
    import aioboto3

    if region not in _SESSIONS:
        _SESSIONS[region] = aioboto3.Session(region_name=region)
    return _SESSIONS[region]


def forget_sessions() -> None:
    """Drop the shared sessions and the credentials they cached; the next client makes new ones.

    For a process about to be copied (a Lambda SnapStart snapshot): no copy may reuse another's
    credentials or endpoint state.
    """
    _SESSIONS.clear()


def resolve_region(region: str | None) -> str:
    """The explicit region, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``."""
    found = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not found:
        raise ValueError("no region: set the check's 'region' option or AWS_REGION")
    return found


def endpoint_for(service: str, region: str, endpoint_url: str | None) -> Endpoint:
    """The regional endpoint a client for ``service`` calls, for the dependency audit."""
    host = _ENDPOINT_PREFIX.get(service, service)
    url = endpoint_url or f"https://{host}.{region}.amazonaws.com"
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

    async def open(self, *, timeout: float | None = None) -> Any:
        """Create the client (idempotent) and return it.

        Args:
            timeout: when given, replaces both the connect and the read timeout (a check
                passes its own ``timeout``, which the config may have changed since
                ``__init__``).
        """
        if self.client is not None:
            return self.client
        if timeout is not None:
            self._connect_timeout = self._read_timeout = timeout
        from aiobotocore.config import AioConfig

        config = AioConfig(
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            # botocore reads a client config's "max_attempts" as *retries* (so 1 meant two
            # attempts and a backoff of up to 1 s); "total_max_attempts" counts them all.
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=20,
        )
        self._stack = AsyncExitStack()
        session = _shared_session(self.region)
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


class AwsCheck(Check):
    """A check that calls one AWS service through a client opened in ``start()``.

    Set ``aws_service`` (the botocore name), call ``super().__init__(region=...,
    endpoint_url=...)`` from ``__init__``, and use ``self.client`` in ``run()`` inside
    :func:`aws_errors`. The client's connect and read timeouts are the check's ``timeout``
    (as configured); override :meth:`client_timeout` when a call may legitimately wait longer.

    Example::

        class Orders(AwsCheck):
            name = "orders"
            aws_service = "dynamodb"

            def __init__(self, *, table: str, region: str | None = None) -> None:
                super().__init__(region=region)
                self.table = table

            async def run(self) -> Observations:
                with aws_errors():
                    await self.client.describe_table(TableName=self.table)
                return None
    """

    aws_service: ClassVar[str]
    timeout = 0.8

    def __init__(self, *, region: str | None = None, endpoint_url: str | None = None) -> None:
        self._aws = AwsClient(
            self.aws_service,
            region=region,
            endpoint_url=endpoint_url,
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
        )

    @property
    def client(self) -> Any:
        """The aiobotocore client; ``None`` before ``start()``."""
        return self._aws.client

    def client_timeout(self) -> float:
        """Seconds for the client's connect and read timeouts: the check's ``timeout``."""
        return self.timeout

    async def start(self) -> None:
        await self._aws.open(timeout=self.client_timeout())

    async def stop(self) -> None:
        await self._aws.close()

    def endpoints(self) -> list[Endpoint]:
        return [self._aws.endpoint()]


_CLIENT_ERROR_REASONS = {
    "AccessDenied": "access_denied",
    "AccessDeniedException": "access_denied",
    "403": "access_denied",
    "ThrottlingException": "throttled",
    "ProvisionedThroughputExceededException": "throttled",
    "RequestLimitExceeded": "throttled",
    "ResourceNotFoundException": "not_found",
    "AWS.SimpleQueueService.NonExistentQueue": "not_found",
    "QueueDoesNotExist": "not_found",
    "NoSuchKey": "not_found",
    "NoSuchBucket": "not_found",
    "404": "not_found",
}


@contextmanager
def aws_errors() -> Iterator[None]:
    """Translate botocore's exceptions into :class:`~checks.CheckFailed` with a reason code.

    ``timeout`` (connect or read timeout), ``connection`` (refused, reset, closed),
    ``credentials``, ``not_found``, ``access_denied``, ``throttled``, else ``aws_error``.
    """
    from botocore import exceptions as bx

    try:
        yield
    except (bx.ConnectTimeoutError, bx.ReadTimeoutError) as exc:
        raise CheckFailed(str(exc), reason="timeout") from None
    except (bx.ConnectionError, bx.HTTPClientError) as exc:  # refused, reset, closed
        raise CheckFailed(str(exc), reason="connection") from None
    except bx.NoCredentialsError as exc:
        raise CheckFailed(str(exc), reason="credentials") from None
    except bx.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        raise CheckFailed(str(exc), reason=_CLIENT_ERROR_REASONS.get(code, "aws_error")) from None
