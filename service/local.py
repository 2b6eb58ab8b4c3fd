"""The local demo: an embedded AWS emulator (moto's server mode) with a canary table and queue,
and the failover state table the demo shares its state through (the real, DynamoDB, path).

``deep-health local`` starts the emulator on 127.0.0.1, creates the demo resources, and serves
the demo config with uvicorn. Ctrl-C stops both (they live in this one process).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEMO_CONFIG", "DemoAws", "demo_aws", "seed_demo"]

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
    state_table: str = DEMO_STATE_TABLE


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
    return DemoAws(endpoint=endpoint, table=DEMO_TABLE, queue_url=queue_url)


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
