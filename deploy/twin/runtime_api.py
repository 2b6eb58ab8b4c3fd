"""The Lambda Runtime API of one execution environment, served to AWS's runtime client.

Each twin container is a separate process running ``awslambdaric`` (what Lambda's Python images
run), pointed at its own instance of this server by ``AWS_LAMBDA_RUNTIME_API``, the way Lambda
gives every execution environment its own. The routes are Lambda's (version ``2018-06-01``),
over HTTP/1.1 with the ``Lambda-Runtime-*`` headers:

- ``GET  /2018-06-01/runtime/invocation/next``: blocks until an event is assigned, then answers
  it with ``Lambda-Runtime-Aws-Request-Id``, ``-Deadline-Ms``, ``-Invoked-Function-Arn`` and
  ``-Trace-Id``. A ``next`` call is the runtime saying "idle": :attr:`RuntimeApi.on_idle` runs
  then (the pool freezes the process there, as Lambda does once the runtime asks for the next
  event).
- ``POST .../invocation/{id}/response`` and ``.../error``: the invocation's outcome (``202``).
- ``POST /2018-06-01/runtime/init/error``: init failed; the process exits after it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Invocation", "RuntimeApi"]

_PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    """One event given to a container, and its outcome.

    Attributes:
        event: the event's JSON body.
        timeout: seconds the function may run (its ``Timeout``).
        request_id: Lambda's request id.
        outcome: ``"response"``, ``"error"`` or ``"timeout"`` once done; empty until then.
        body: what the runtime posted.
        done: set when the outcome is known.
    """

    event: bytes
    timeout: float
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    outcome: str = ""
    body: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)

    def result(self) -> dict[str, Any] | None:
        """The handler's return value (the response's JSON), or None after an error."""
        if self.outcome != "response":
            return None
        loaded = json.loads(self.body or b"null")
        return loaded if isinstance(loaded, dict) else None


class RuntimeApi:
    """One execution environment's Runtime API on an ephemeral port of 127.0.0.1.

    Args:
        function_arn: what ``Lambda-Runtime-Invoked-Function-Arn`` says.
        on_idle: called (on the server's thread) when the runtime asks for the next event
            while none is waiting: the pool freezes the process there.
    """

    def __init__(self, function_arn: str, on_idle: Callable[[], None] = lambda: None) -> None:
        self.function_arn = function_arn
        self.on_idle = on_idle
        self.init_error: bytes | None = None
        self.ready = threading.Event()  # init done: the first ``next`` arrived
        self._cond = threading.Condition()
        self._pending: Invocation | None = None
        self._current: Invocation | None = None
        self._closed = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="lambda-runtime-api", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        """``host:port``, as ``AWS_LAMBDA_RUNTIME_API`` gives it."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def assign(self, invocation: Invocation) -> None:
        """Hand ``invocation`` to the runtime's (pending or next) ``next`` call."""
        with self._cond:
            self._pending = invocation
            self._cond.notify_all()

    def close(self) -> None:
        """Stop serving; a blocked ``next`` is answered with nothing."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # -- the routes -----------------------------------------------------------------------

    def _next(self) -> Invocation | None:
        with self._cond:
            self.ready.set()
            idle = self._pending is None
        if idle:
            self.on_idle()
        with self._cond:
            while self._pending is None and not self._closed:
                self._cond.wait()
            invocation, self._pending = self._pending, None
            self._current = invocation
            return invocation

    def _outcome(self, request_id: str, outcome: str, body: bytes) -> bool:
        with self._cond:
            current = self._current
            if current is None or current.request_id != request_id:
                return False
            self._current = None
        current.outcome, current.body = outcome, body
        current.done.set()
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return  # the runtime's requests are not news

            def _reply(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # a killed container: nobody to answer

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self) -> None:
                if self.path != f"{_PREFIX}/invocation/next":
                    self._reply(404, b'{"errorType":"NotFound"}')
                    return
                invocation = api._next()
                if invocation is None:
                    self.close_connection = True
                    return
                deadline = int((time.time() + invocation.timeout) * 1000)
                self._reply(
                    200,
                    invocation.event,
                    {
                        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-"
                        f"{uuid.uuid4().hex[:24]};Sampled=0",
                    },
                )

            def do_POST(self) -> None:
                body = self._body()
                if self.path == f"{_PREFIX}/init/error":
                    api.init_error = body
                    api.ready.set()
                    self._reply(202, b'{"status":"OK"}')
                    return
                parts = self.path.removeprefix(f"{_PREFIX}/invocation/").split("/")
                if (
                    self.path.startswith(f"{_PREFIX}/invocation/")
                    and len(parts) == 2
                    and parts[1] in ("response", "error")
                    and api._outcome(parts[0], parts[1], body)
                ):
                    self._reply(202, b'{"status":"OK"}')
                    return
                self._reply(400, b'{"errorType":"InvalidRequestID"}')

        return Handler
