"""Shared plumbing for checks that call AWS: one session and client per check, created once.

Clients get tight connect/read timeouts and a single attempt: the runner's deadline, not
botocore's retry loop, decides how long a probe may take. :class:`AwsCheck` is the base of
every check that calls one AWS service; a team's own AWS check subclasses it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import threading
from collections.abc import Callable, Iterator
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
    "error_code",
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__ = _with_aws_options(cls.__init__)  # type: ignore[method-assign]

    def __init__(self, *, region: str | None = None, endpoint_url: str | None = None) -> None:
        # A subclass whose __init__ does not take region/endpoint_url still accepts them (see
        # _with_aws_options): an explicit argument here wins over those.
        given: dict[str, str | None] = self.__dict__.get("_aws_options", {})
        self._aws = AwsClient(
            self.aws_service,
            region=region or given.get("region"),
            endpoint_url=endpoint_url or given.get("endpoint_url"),
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
        # The first call on a new client pays for credentials, endpoint rules and the first
        # connection (0.2-0.6 s on a busy host): paid here, not by the first evaluation, so a
        # fresh instance answers like the others from its first request.
        # Bounded by the check's timeout; any outcome is ignored (the evaluations judge).
        if inspect.iscoroutinefunction(self.run):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.run(), self.timeout)

    async def stop(self) -> None:
        await self._aws.close()

    def endpoints(self) -> list[Endpoint]:
        return [self._aws.endpoint()]


_AWS_OPTIONS = ("region", "endpoint_url")


def _with_aws_options(init: Callable[..., None]) -> Callable[..., None]:
    """Let a subclass's ``__init__`` take ``region`` and ``endpoint_url`` even when it does not
    declare them, so every AWS check accepts the documented options (the config reads the
    returned signature).

    The wrapped ``__init__`` sees neither; :meth:`AwsCheck.__init__` picks them up.
    """
    signature = inspect.signature(init)
    absent = [name for name in _AWS_OPTIONS if name not in signature.parameters]
    if not absent or any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return init

    @functools.wraps(init)
    def wrapper(self: AwsCheck, *args: Any, **kwargs: Any) -> None:
        # A wrapped subclass of a wrapped subclass: the outermost call saw the options.
        options = self.__dict__.setdefault("_aws_options", {})
        options.update({name: kwargs.pop(name) for name in absent if name in kwargs})
        init(self, *args, **kwargs)

    extra = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None"
        )
        for name in absent
    ]
    params = list(signature.parameters.values())
    tail = [p for p in params if p.kind is p.VAR_KEYWORD]
    head = [p for p in params if p.kind is not p.VAR_KEYWORD]
    wrapper.__signature__ = signature.replace(parameters=[*head, *extra, *tail])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**init.__annotations__, **dict.fromkeys(absent, "str | None")}
    return wrapper


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


def error_code(exc: Any) -> str:
    """The AWS error code of a botocore ``ClientError`` (``NoSuchKey``, ``InvalidRange``, ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


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
        reason = _CLIENT_ERROR_REASONS.get(error_code(exc), "aws_error")
        raise CheckFailed(str(exc), reason=reason) from None
