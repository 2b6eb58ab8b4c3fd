"""Test network parts: the fault-injecting proxy (it lives in :mod:`deploy.twin.faults`, which
the twin ships) and a stub HTTP upstream for the http and peer checks' tests."""

from __future__ import annotations

from deploy.twin.faults import FaultProxy
from support.httpserver import QuietHandler, ThreadedHttpServer

__all__ = ["FaultProxy", "StubHttpServer"]


class StubHttpServer(ThreadedHttpServer):
    """A plain HTTP server on 127.0.0.1 answering every GET with ``status`` and ``body``
    (mutable between requests): the upstream for the http and peer checks' tests."""

    def __init__(self, status: int = 200, body: bytes = b"ok") -> None:
        stub = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/health+json")
                if stub.endless:
                    self._endless()
                    return
                self.send_header("Content-Length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)

            def _endless(self) -> None:
                """``body``, then padding for ever (chunked), until the client hangs up."""
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                padding = b" " * 65536
                try:
                    for chunk in [stub.body, *([padding] * 1_000_000)]:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        stub.sent += len(chunk)
                except OSError:
                    self.close_connection = True

        self.status, self.body = status, body
        self.endless = False  # then: body, then padding for ever
        self.sent = 0  # bytes of endless bodies sent
        super().__init__(Handler)
