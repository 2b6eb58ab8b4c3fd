"""moto's server mode in a subprocess on 127.0.0.1: real HTTP, killed by PID at the end.

``DEEP_HEALTH_TEST_EMULATOR=http://127.0.0.1:PORT`` makes the session use a moto server that
is already running there instead of starting one (``python -m bench.mutation`` starts one for
its whole run: every mutant's test run would otherwise pay for a server of its own). The tests
stay isolated on a shared server: each one names its tables, queues and buckets uniquely.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3

from support.net import free_port, wait_for_port

EMULATOR_ENV = "DEEP_HEALTH_TEST_EMULATOR"
"""The URL of a running moto server to use instead of starting one."""
REGION = "eu-west-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}


@dataclass
class Emulator:
    """A running moto server; ``process`` is ``None`` when another program started it."""

    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stop(self) -> None:
        if self.process is None:
            return  # not ours: whoever started it stops it
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def attach_emulator(url: str) -> Emulator:
    """The moto server already listening at ``url`` (``http://127.0.0.1:PORT``)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
        raise ValueError(f"{EMULATOR_ENV} must be http://127.0.0.1:PORT, not {url!r}")
    wait_for_port(parts.port, timeout=10.0)
    return Emulator(port=parts.port)


def start_emulator() -> Emulator:
    port = free_port()
    env = {**os.environ, **FAKE_CREDENTIALS}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for_port(port, proc=process)
    except Exception:
        process.kill()
        raise
    return Emulator(port=port, process=process)


def create_canary_table(emulator: Emulator, table: str, item: dict[str, Any]) -> None:
    dynamodb = emulator.client("dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=table, Item=item)
