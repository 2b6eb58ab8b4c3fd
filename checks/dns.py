"""``dns``: resolves a host name within the timeout, optionally expecting addresses.

The October 2025 us-east-1 outage was DynamoDB's DNS record going empty: every check that
called DynamoDB failed, but only a resolution check says why. Resolution goes through the
system resolver (``getaddrinfo``, as every client here does); the runner bounds it.

Config::

    [[checks]]
    type = "dns"
    name = "dynamodb-dns"
    host = "dynamodb.eu-west-1.amazonaws.com"
    expect = ["10.0.0.1"]            # optional: each of these must be among the answers

Reason codes: ``resolution`` (no such name, or no answer), ``unexpected`` (an expected
address is missing), ``timeout`` (from the runner).
"""

from __future__ import annotations

import asyncio
import socket
import time

from checks.base import Check, Endpoint, Observations
from checks.exceptions import CheckFailed
from checks.result import Observation
from checks.support import endpoint_from_url

__all__ = ["DnsCheck"]


def _encodable(host: str) -> bool:
    """Whether the resolver can be asked for ``host`` at all (no empty or over-long label):
    otherwise every evaluation would fail with an encoding error, not a resolution."""
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


class DnsCheck(Check):
    """Resolves ``host``; fails when it does not resolve or lacks an expected address."""

    name = "dns"
    timeout = 0.5

    def __init__(
        self, *, host: str, expect: list[str] | None = None, region: str | None = None
    ) -> None:
        if not host or "/" in host or not _encodable(host):
            raise ValueError(f"host must be a host name, not {host!r}")
        self.host = host
        self.expect = list(expect or [])
        self.region = region

    async def run(self) -> Observations:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            answers = await loop.getaddrinfo(self.host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise CheckFailed(f"{self.host}: {exc.strerror or exc}", reason="resolution") from None
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        addresses = sorted({str(info[4][0]) for info in answers})
        if not addresses:
            raise CheckFailed(f"{self.host}: no addresses", reason="resolution")
        missing = [address for address in self.expect if address not in addresses]
        if missing:
            raise CheckFailed(
                f"{self.host} resolved to {addresses}, missing {missing}", reason="unexpected"
            )
        return {
            "latency": Observation(latency_ms, "ms"),
            "addresses": Observation(len(addresses), "addresses"),
        }

    def endpoints(self) -> list[Endpoint]:
        return [endpoint_from_url(self.host, region=self.region)]
