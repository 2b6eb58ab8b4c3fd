"""The base of every check that calls one AWS service: :class:`AwsCheck`, and :func:`aws_errors`.

A check's client is opened once, in ``start()``, through :class:`checks.aws_client.AwsClient`
(tight timeouts, one attempt: the runner's deadline decides). A team's own AWS check subclasses
:class:`AwsCheck` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from checks.aws_client import AwsClient, failure_reason
from checks.base import Check, Endpoint
from checks.exceptions import CheckFailed

__all__ = ["AwsCheck", "aws_errors"]


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


@contextmanager
def aws_errors() -> Iterator[None]:
    """Translate what an AWS call raises into :class:`~checks.CheckFailed` with a reason code.

    The codes are :func:`checks.aws_client.failure_reason`'s, ``aws_error`` for an AWS error it
    does not name; anything else (a bug) goes through unchanged.
    """
    try:
        yield
    except Exception as exc:
        reason = failure_reason(exc, unknown="aws_error")
        if reason is None:
            raise
        raise CheckFailed(str(exc), reason=reason) from None
