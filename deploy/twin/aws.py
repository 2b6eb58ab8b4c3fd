"""The twin's AWS: one moto server, and per region a front that puts each dependency behind its
own fault injector.

The function reaches AWS through ``DEEP_HEALTH_AWS_ENDPOINT`` (the one variable the twin adds
to the template's environment: every AWS call of the engine honours it). That endpoint is the
region's :class:`AwsFront`, which reads each request and forwards it through one of two
:class:`~deploy.twin.faults.FaultProxy` to the emulator: the **state store** proxy when the
request names the region's state table, the **dependency** proxy (the checks' DynamoDB, SQS,
S3, SSM) otherwise. A drill breaks one without the other, as a real outage of one would.

:func:`provision` creates what the stack and the application own: the checked table with each
region's canary item, the state table (the stack's ``StateTable``), the SSM details token.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from deploy.twin.faults import FaultProxy
from deploy.twin.loopserver import LoopServer

__all__ = ["CREDENTIALS", "AwsFront", "client", "provision"]

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "twin",
    "AWS_SECRET_ACCESS_KEY": "twin",
    "AWS_SESSION_TOKEN": "twin",
}
"""What Lambda gives every function (its role's credentials), faked."""

_HEAD_LIMIT = 65536
_THROTTLE_BODY = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
    b'"message":"Rate of requests exceeds the allowed throughput."}'
)
_THROTTLED = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\n"
    b"x-amzn-ErrorType: ThrottlingException\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_THROTTLE_BODY), _THROTTLE_BODY)
)


def client(service: str, endpoint: str, region: str) -> Any:
    """A boto3 client of the emulator."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="twin",
        aws_secret_access_key="twin",  # noqa: S106 -- the emulator's, not a secret
    )


def provision(
    endpoint: str,
    region: str,
    *,
    table: str | None,
    canary_key: str,
    state_table: str | None,
    token_parameter: str | None,
    token: str,
) -> None:
    """Create one region's resources in the emulator (idempotent for the checked table)."""
    dynamodb = client("dynamodb", endpoint, region)
    if table:
        with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
            dynamodb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        dynamodb.put_item(TableName=table, Item={"pk": {"S": canary_key}, "status": {"S": "ok"}})
    if state_table:
        from service.state.dynamodb import create_table

        with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
            create_table(dynamodb, state_table)
    if token_parameter:
        client("ssm", endpoint, region).put_parameter(
            Name=token_parameter, Value=token, Type="SecureString", Overwrite=True
        )


class AwsFront(LoopServer):
    """One region's AWS endpoint: each request to the store's or the dependencies' proxy.

    Args:
        emulator_port: the moto server's port.
        state_table: requests whose body names it go to :attr:`store`.
    """

    thread_name = "aws-front"

    def __init__(self, emulator_port: int, state_table: str | None) -> None:
        super().__init__()
        self.state_table = (state_table or "").encode()
        self.dependency = FaultProxy(emulator_port)
        self.store = FaultProxy(emulator_port)
        self.store_throttled = False  # answer every store call with DynamoDB's throttling error
        self.throttled = 0

    def start(self) -> AwsFront:
        """Start the two proxies and the front."""
        self.dependency.start()
        self.store.start()
        super().start()
        return self

    def stop(self) -> None:
        """Stop the front and its proxies."""
        super().stop()
        self.dependency.stop()
        self.store.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track_current()
        try:
            # Keep-alive from the client (botocore pools its connections); one upstream
            # connection per request, so each request meets the fault of its own proxy.
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                if len(head) > _HEAD_LIMIT:
                    return
                length = _content_length(head)
                body = await reader.readexactly(length) if length else b""
                to_store = bool(self.state_table) and self.state_table in body
                if to_store and self.store_throttled:
                    self.throttled += 1
                    writer.write(_THROTTLED)
                    await writer.drain()
                    continue
                proxy = self.store if to_store else self.dependency
                if not await self._forward(head + body, proxy.port, writer):
                    return
        except (asyncio.CancelledError, OSError, asyncio.IncompleteReadError):
            return
        finally:
            writer.transport.abort()

    async def _forward(self, request: bytes, port: int, client: asyncio.StreamWriter) -> bool:
        """One request through a proxy; False when the client's connection must end."""
        try:
            upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        try:
            upstream.write(request)
            await upstream.drain()
            head = await upstream_reader.readuntil(b"\r\n\r\n")
            length = _content_length(head)
            body = await upstream_reader.readexactly(length) if length else b""
            client.write(head + body)
            await client.drain()
            return True
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return False  # a reset or closed upstream: the client sees its connection end
        finally:
            upstream.transport.abort()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip() or 0)
    return 0
