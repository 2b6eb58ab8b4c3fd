"""One AWS client module for the checks and the engine's state store alike.

:class:`AwsClient` is an aiobotocore client that lives from ``open()`` to ``close()``, with
tight connect/read timeouts and a single attempt: the caller's deadline, not botocore's retry
loop, decides how long a call may take. Clients of a process share one session per region and
one TLS context per CA bundle (both are most of a client's creation cost on a cold start).

:func:`failure_reason` is the one translation of what an AWS call raises into a short, public
reason code (``timeout``, ``connection``, ``credentials``, ``access_denied``, ``throttled``,
``not_found``); the checks (:func:`checks.aws.aws_errors`) and the state store
(:func:`service.state.dynamodb.store_errors`) both use it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from checks.base import Endpoint

__all__ = [
    "ENDPOINT_ENV",
    "AwsClient",
    "endpoint_for",
    "error_code",
    "failure_reason",
    "forget_sessions",
    "resolve_region",
]

ENDPOINT_ENV = "DEEP_HEALTH_AWS_ENDPOINT"
"""An endpoint URL for every AWS call (a local emulator); an explicit ``endpoint_url`` wins."""


_ENDPOINT_PREFIX = {"cloudwatch": "monitoring"}
"""Services whose endpoint host differs from the botocore service name."""


_SESSIONS: dict[str, Any] = {}
_TLS_CONTEXTS: dict[str, Any] = {}
# Checks start their clients at once, each in its own lane's thread: without the lock, two of
# them could each create "the" session, or parse the same files twice (see below).
_SHARED = threading.Lock()


def _shared_session(region: str) -> Any:
    """One session per region for the process: its clients share botocore's loaded service
    models and endpoint rules, which is most of a client's creation cost on a cold start."""
    import aioboto3
    from botocore.exceptions import UnknownRegionError

    with _SHARED:
        if region not in _SESSIONS:
            session = aioboto3.Session(region_name=region)
            # Loads botocore's endpoint data (17 ms of CPU) once, here: every client's creation
            # needs it, and clients created at once in two threads would each load it.
            with contextlib.suppress(UnknownRegionError):  # the client's business, not ours
                session.get_partition_for_region(region)
            _SESSIONS[region] = session
        return _SESSIONS[region]


def _tls_context(ca_bundle: str, build: Callable[[], Any]) -> Any:
    """The one TLS context of the process for clients that verify against ``ca_bundle``."""
    with _SHARED:
        if ca_bundle not in _TLS_CONTEXTS:
            _TLS_CONTEXTS[ca_bundle] = build()
        return _TLS_CONTEXTS[ca_bundle]


@functools.cache
def _http_session_class() -> type:
    """aiobotocore's HTTP session, but clients verifying against the same CA bundle share one
    TLS context: parsing the bundle (about 20 ms of CPU) was each client's largest cost.

    aiohttp itself shares one default context between all its connectors; this does the same
    for botocore's bundle. A proxy, a client certificate or ``verify=False`` keeps
    aiobotocore's own path.
    """
    import aiohttp
    from aiobotocore.httpsession import AIOHTTPSession
    from botocore.httpsession import get_cert_path

    class SharedTlsSession(AIOHTTPSession):  # type: ignore[misc]
        def _create_connector(self, proxy_url: str | None) -> Any:
            ca_bundle = get_cert_path(self._verify) if self._verify else None
            if proxy_url or self._cert_file or not ca_bundle:
                return super()._create_connector(proxy_url)

            def build() -> Any:  # what aiobotocore does for each client
                context = self._get_ssl_context()
                context.load_verify_locations(ca_bundle, None, None)
                return context

            return aiohttp.TCPConnector(
                limit=self._max_pool_connections,
                ssl=_tls_context(ca_bundle, build),
                **self._connector_args,
            )

    return SharedTlsSession


def forget_sessions() -> None:
    """Drop the shared sessions, the credentials they cached and the shared TLS contexts; the
    next client makes new ones.

    For a process about to be copied (a Lambda SnapStart snapshot): no copy may reuse another's
    credentials or endpoint state.
    """
    with _SHARED:
        _SESSIONS.clear()
        _TLS_CONTEXTS.clear()


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
            http_session_cls=_http_session_class(),
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

    def forget(self) -> None:
        """Drop the client without closing it, so the next :meth:`open` makes a new one.

        For when no event loop can run the close: before a Lambda SnapStart snapshot, so that
        restored copies never reuse its connections or credentials.
        """
        self._stack = None
        self.client = None

    def endpoint(self) -> Endpoint:
        return endpoint_for(self.service, self.region, self.endpoint_url)


_CLIENT_ERROR_REASONS = {
    "AccessDenied": "access_denied",
    "AccessDeniedException": "access_denied",
    "403": "access_denied",
    "UnrecognizedClientException": "credentials",
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


def error_code(exc: Any) -> str:
    """The AWS error code of a botocore ``ClientError`` (``NoSuchKey``, ``InvalidRange``, ...);
    ``""`` for an error without one (a timeout's ``response`` is ``None``)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def failure_reason(exc: BaseException, *, unknown: str) -> str | None:
    """The public reason code for what an AWS call raised, or ``None`` when it is not an AWS
    call's failure (a bug of the caller's, to let through).

    Args:
        exc: What the call raised.
        unknown: The code of an AWS error this table does not name (a check says
            ``aws_error``, the state store ``error``).

    Returns:
        ``timeout`` (connect or read timeout), ``connection`` (refused, reset, closed, or an
        ``OSError`` on the way), ``credentials``, ``not_found``, ``access_denied``,
        ``throttled``, else ``unknown``.
    """
    from botocore import exceptions as bx

    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return "timeout"
    if isinstance(exc, (bx.ConnectionError, bx.HTTPClientError)):
        return "connection"
    if isinstance(exc, bx.NoCredentialsError):
        return "credentials"
    if isinstance(exc, bx.ClientError):
        return _CLIENT_ERROR_REASONS.get(error_code(exc), unknown)
    if isinstance(exc, bx.BotoCoreError):
        return unknown
    if isinstance(exc, OSError):
        return "connection"
    return None
