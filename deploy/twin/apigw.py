"""An HTTP API (API Gateway v2) stand-in: HTTP requests in, payload-format-2.0 events to the
function, its proxy response back as HTTP.

What it keeps of API Gateway:

- the event: ``version``, ``routeKey``, ``rawPath``, ``rawQueryString``, lower-cased
  ``headers``, ``requestContext`` (``http.method``/``path``/``sourceIp``, ``requestId``,
  ``stage``, ``timeEpoch``: when the gateway received the request, which the handler charges
  init against), ``isBase64Encoded``;
- the stage's route throttling (``RouteSettings``: ``GET /health`` and ``HEAD /health`` have
  their own rate and burst, everything else the ``DefaultRouteSettings``): a token bucket per
  route; an empty bucket answers ``429 {"message":"Too Many Requests"}``;
- Lambda's throttling (reserved concurrency reached) and a failed or timed-out invocation
  answer ``500`` / ``503`` with API Gateway's bodies, never the handler's text;
- the response: ``statusCode``, ``headers``, ``cookies`` ignored, ``body`` (base64 when
  ``isBase64Encoded``); every answer closes the connection (as the balancer does), so a
  keep-alive checker is not pinned.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from deploy.twin.lambda_pool import LambdaPool, Throttled
from deploy.twin.loopserver import LoopServer

__all__ = ["HttpApi", "RouteThrottle", "TokenBucket", "event_for"]

_HEAD_LIMIT = 65536


@dataclass(frozen=True)
class RouteThrottle:
    """A route's throttling settings (``ThrottlingRateLimit`` rps, ``ThrottlingBurstLimit``)."""

    rate: float
    burst: int


class TokenBucket:
    """API Gateway's throttle: ``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(self, throttle: RouteThrottle) -> None:
        self.throttle = throttle
        self._tokens = float(throttle.burst)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take one token; False when the bucket is empty (the request is throttled)."""
        with self._lock:
            now = time.monotonic()
            refill = (now - self._at) * self.throttle.rate
            self._tokens = min(float(self.throttle.burst), self._tokens + refill)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


def event_for(
    method: str, target: str, headers: Mapping[str, str], body: bytes, *, api_id: str, region: str
) -> dict[str, Any]:
    """The payload-format-2.0 event API Gateway sends for one request."""
    path, _, query = target.partition("?")
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    now = time.time()
    lowered = {name.lower(): value for name, value in headers.items()}
    lowered["host"] = domain
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": api_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if body:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    return event


class HttpApi(LoopServer):
    """One region's HTTP API in front of its function.

    Args:
        pool: the function.
        routes: throttling per route key (``"GET /health"``), for the routes that have their
            own ``RouteSettings``.
        default: the stage's ``DefaultRouteSettings``.
    """

    thread_name = "http-api"

    def __init__(
        self, pool: LambdaPool, routes: Mapping[str, RouteThrottle], default: RouteThrottle
    ) -> None:
        super().__init__()
        self.pool = pool
        self.api_id = uuid.uuid4().hex[:10]
        self._buckets = {key: TokenBucket(value) for key, value in routes.items()}
        self._default = TokenBucket(default)
        self.requests = 0
        self.throttled = 0
        self.statuses: dict[int, int] = {}
        # One waiting thread per invocation in flight: asyncio's default executor (a handful of
        # threads) would queue requests behind slow invocations, which API Gateway never does.
        self._invokers = ThreadPoolExecutor(max_workers=256, thread_name_prefix="invoke")

    def _bucket(self, method: str, path: str) -> TokenBucket:
        return self._buckets.get(f"{method} {path}", self._default)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track_current()
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                return
            if len(head) > _HEAD_LIMIT:
                return
            method, target, headers = _parse_head(head)
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            status, out_headers, out_body = await self._answer(method, target, headers, body)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            writer.write(_http_response(status, out_headers, b"" if method == "HEAD" else out_body))
            await writer.drain()
        except (asyncio.CancelledError, OSError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            writer.close()

    async def _answer(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        self.requests += 1
        if not self._bucket(method, target.partition("?")[0]).take():
            self.throttled += 1
            return 429, {"content-type": "application/json"}, b'{"message":"Too Many Requests"}'
        event = event_for(method, target, headers, body, api_id=self.api_id, region=self.region)
        try:
            invocation = await asyncio.get_running_loop().run_in_executor(
                self._invokers, self.pool.invoke, json.dumps(event).encode()
            )
        except Throttled:
            return 503, {"content-type": "application/json"}, b'{"message":"Service Unavailable"}'
        result = invocation.result()
        if result is None or not isinstance(result.get("statusCode"), int):
            return (
                500,
                {"content-type": "application/json"},
                b'{"message":"Internal Server Error"}',
            )
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        out = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        return int(result["statusCode"]), out, payload

    def stop(self) -> None:
        """Stop serving, and the invocation threads with it."""
        super().stop()
        self._invokers.shutdown(wait=False, cancel_futures=True)

    @property
    def region(self) -> str:
        """The function's region."""
        return self.pool.spec.region


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


def _http_response(status: int, headers: Mapping[str, str], body: bytes) -> bytes:
    from http import HTTPStatus

    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    kept = {k: v for k, v in headers.items() if k not in ("content-length", "connection")}
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in kept.items()]
    lines += [f"content-length: {len(body)}", "connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body
