"""The gate between regions: is the region just deployed healthy, before touching the next?

Two views, both read-only: this region's own health URL (the stack's ``HealthUrl`` output, never
the shared name) must answer 2xx/3xx with the marker in the first 5,120 bytes, as Route 53's
``HTTPS_STR_MATCH`` reads it (no redirects followed, 4 s to connect, 2 s to the status line,
2 s more for the body: :func:`probe`); and, against real AWS, ``GetHealthCheckStatus`` of the
region's health check must show more than 18 % of its checkers healthy (Route 53's rule). The gate
polls a bounded number of times (a fresh function, or a health check whose checkers have not
caught up, needs a moment) and then says no.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from deploy.facts import BODY_LIMIT, BODY_TIMEOUT, CONNECT_TIMEOUT, HEALTHY_SHARE, STATUS_TIMEOUT

__all__ = ["Gate", "GateResult", "checker_share", "probe"]


@dataclass(frozen=True)
class GateResult:
    """What the gate saw.

    Attributes:
        healthy: the region may be left behind.
        seen: one line per observation, for the log.
    """

    healthy: bool
    seen: tuple[str, ...] = field(default_factory=tuple)


def probe(
    url: str,
    marker: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    status_timeout: float = STATUS_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
) -> tuple[bool, str]:
    """GET a health URL as a Route 53 ``HTTPS_STR_MATCH`` checker judges it.

    Like Route 53: no redirect is followed (a 3xx counts by its own body); the connection
    (TCP and TLS) within ``connect_timeout``, the status line within ``status_timeout`` of the
    request, the body within ``body_timeout`` more; 2xx or 3xx with the marker in the first
    5,120 bytes. Stricter than Route 53 in one way: the certificate is verified (clients do).

    Args:
        url: the region's own health URL.
        marker: the search string.
        connect_timeout: seconds to connect (Route 53: 4).
        status_timeout: seconds to the status line (Route 53: 2).
        body_timeout: seconds for the body after it (Route 53: 2).

    Returns:
        ``(healthy, what was seen)``.
    """
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "https"
    connection: http.client.HTTPConnection
    if secure:
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=connect_timeout,
            context=ssl.create_default_context(),
        )  # fmt: skip
    else:
        connection = http.client.HTTPConnection(
            parts.hostname or "", parts.port, timeout=connect_timeout
        )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    stage = f"no connection within {connect_timeout:g} s"
    try:
        connection.connect()
        stage = f"no status line within {status_timeout:g} s"
        # Kept: the connection forgets its socket once a closing response is read.
        sock = _socket(connection)
        sock.settimeout(status_timeout)
        connection.request("GET", target, headers={"User-Agent": "deep-health-deploy-gate"})
        response = connection.getresponse()
        stage = f"no body within {body_timeout:g} s of the status line"
        body = _read_body(sock, response, body_timeout)
    except TimeoutError:
        return False, f"{url}: {stage} (Route 53 would count a failure)"
    except (OSError, http.client.HTTPException) as error:
        return False, f"{url} unreachable ({type(error).__name__})"
    finally:
        connection.close()
    status = response.status
    if not 200 <= status < 400:
        return False, f"{url} answered {status}"
    text = body.decode("utf-8", "replace")
    if marker not in text:
        redirect = " (Route 53 does not follow redirects)" if status >= 300 else ""
        return False, f"{url} answered {status} without the marker {marker!r}{redirect}"
    return True, f"{url} answered {status} with the marker"


def _socket(connection: http.client.HTTPConnection) -> socket.socket:
    sock = connection.sock
    if sock is None:  # connect() succeeded, so it is set; keeps mypy honest
        raise OSError("not connected")
    return cast(socket.socket, sock)


def _read_body(sock: socket.socket, response: http.client.HTTPResponse, timeout: float) -> bytes:
    """The first 5,120 bytes, all of them within ``timeout`` (not per read)."""
    deadline = time.monotonic() + timeout
    body = b""
    while len(body) < BODY_LIMIT:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = response.read1(BODY_LIMIT - len(body))
        if not chunk:
            break
        body += chunk
    return body


def checker_share(route53: Any, health_check_id: str) -> tuple[float, int]:
    """The share of Route 53 checkers whose last observation is healthy, and their count."""
    observations = route53.get_health_check_status(HealthCheckId=health_check_id)[
        "HealthCheckObservations"
    ]
    healthy = sum(
        1
        for observation in observations
        if str(observation.get("StatusReport", {}).get("Status", "")).startswith("Success")
    )
    return (healthy / len(observations) if observations else 0.0), len(observations)


class Gate:
    """Polls one region until healthy, a bounded number of times.

    Args:
        attempts: how many rounds before saying no.
        interval: seconds between rounds.
        route53: a boto3 Route 53 client to read ``GetHealthCheckStatus``; ``None`` skips that
            view (a rehearsal has no real checkers).
        sleep: waits between rounds (tests pass one that returns at once).
    """

    def __init__(
        self,
        *,
        attempts: int = 12,
        interval: float = 10.0,
        route53: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = attempts
        self.interval = interval
        self.route53 = route53
        self.sleep = sleep

    def check(self, url: str, marker: str, health_check_id: str | None) -> GateResult:
        """Is the region healthy, by its own URL and (with a client) by Route 53's checkers?"""
        seen: list[str] = []
        for attempt in range(1, self.attempts + 1):
            ok, line = probe(url, marker)
            seen.append(f"[{attempt}/{self.attempts}] {line}")
            if ok and self.route53 is not None and health_check_id:
                share, count = checker_share(self.route53, health_check_id)
                ok = count > 0 and share > HEALTHY_SHARE
                seen.append(
                    f"[{attempt}/{self.attempts}] Route 53: {share:.0%} of {count} checkers"
                    f" healthy (needs more than {HEALTHY_SHARE:.0%})"
                )
            if ok:
                return GateResult(True, tuple(seen))
            if attempt < self.attempts:
                self.sleep(self.interval)
        return GateResult(False, tuple(seen))
