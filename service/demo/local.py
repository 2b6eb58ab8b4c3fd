"""The local demo: an embedded AWS emulator (moto's server mode) with a canary table and queue,
and the failover state table the demo shares its state through (the real, DynamoDB, path).

``deep-health local`` starts the emulator on 127.0.0.1, creates the demo resources, and serves
the demo config with uvicorn. Ctrl-C stops both (they live in this one process).

A team runs its own configuration the same way: ``deep-health local --config mine.toml --seed
mypkg.seed:create``, where ``create(aws)`` receives a :class:`DemoAws` (``endpoint``,
``region``) and creates the team's tables, queues and canary items with boto3 before serving.
Every AWS check talks to the emulator (``DEEP_HEALTH_AWS_ENDPOINT`` is set for the process).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEMO_CONFIG", "DemoAws", "demo_aws", "run_seed_hook", "seed_demo"]

DEMO_CONFIG = Path(__file__).with_name("demo.toml")
DEMO_TABLE = "deep-health-demo"
DEMO_QUEUE = "deep-health-demo-jobs"
DEMO_STATE_TABLE = "deep-health-demo-state"
CANARY_KEY = {"pk": {"S": "deep-health-canary"}}


@dataclass(frozen=True)
class DemoAws:
    """Where the demo's emulated AWS answers, and what it holds."""

    endpoint: str
    table: str
    queue_url: str
    region: str = "eu-west-1"
    state_table: str = DEMO_STATE_TABLE

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on the emulator (for a seeding hook)."""
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region)


def run_seed_hook(path: str, aws: DemoAws) -> None:
    """Import ``module:function`` and call it with the emulator, before serving.

    Raises:
        SystemExit: 2, naming the hook, when it cannot be imported or raises.
    """
    import importlib

    module_name, _, attr = path.partition(":")
    try:
        hook = getattr(importlib.import_module(module_name), attr or "seed")
    except (ImportError, AttributeError) as exc:
        raise SystemExit(
            f"deep-health local: --seed {path}: {exc} (is it importable: installed, or its "
            "directory on PYTHONPATH?)"
        ) from None
    try:
        hook(aws)
    except Exception as exc:
        raise SystemExit(f"deep-health local: --seed {path} failed: {exc!r}") from None


def _fake_credentials() -> None:
    # The emulator accepts any credentials; never let the demo pick up real ones.
    os.environ["AWS_ACCESS_KEY_ID"] = "demo"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "demo"  # noqa: S105 - the emulator's dummy secret
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("AWS_REGION", "eu-west-1")


def seed_demo(endpoint: str, region: str) -> DemoAws:
    """Create the canary table with its item, the demo queue and the state table (idempotent)."""
    import boto3

    from service.state.dynamodb import create_table

    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
    existing = dynamodb.list_tables()["TableNames"]
    if DEMO_TABLE not in existing:
        dynamodb.create_table(
            TableName=DEMO_TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    if DEMO_STATE_TABLE not in existing:
        create_table(dynamodb, DEMO_STATE_TABLE)  # the fleet's failover state, as deployed
    dynamodb.put_item(TableName=DEMO_TABLE, Item={**CANARY_KEY, "status": {"S": "ok"}})
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
    queue_url = sqs.create_queue(QueueName=DEMO_QUEUE)["QueueUrl"]
    return DemoAws(endpoint=endpoint, table=DEMO_TABLE, queue_url=queue_url, region=region)


@contextmanager
def demo_aws(port: int = 0) -> Iterator[DemoAws]:
    """Run the emulator on 127.0.0.1 with the demo resources, for the ``with`` block."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise SystemExit(
            "the local demo needs the AWS emulator: pip install 'deep-health[local]'"
        ) from None
    _fake_credentials()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        host, bound = server.get_host_and_port()
        demo = seed_demo(f"http://{host}:{bound}", os.environ["AWS_REGION"])
        os.environ["DEEP_HEALTH_AWS_ENDPOINT"] = demo.endpoint
        os.environ["DEMO_TABLE"] = demo.table
        os.environ["DEMO_QUEUE_URL"] = demo.queue_url
        os.environ["DEMO_STATE_TABLE"] = demo.state_table
        os.environ.setdefault("DEEP_HEALTH_DETAILS_TOKEN", secrets.token_urlsafe(24))
        yield demo
    finally:
        server.stop()
