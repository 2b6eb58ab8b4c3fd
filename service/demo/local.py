"""The local demo: an embedded AWS emulator (moto's server mode) with a canary table and queue,
and one failover state table per demo region (the real, DynamoDB, path).

``deep-health local`` starts the emulator on 127.0.0.1, creates the demo resources, and serves
two regions of the config with uvicorn, a primary on ``--port`` and a secondary on the next
port, so that ``deep-health status`` has the pair it needs. Each region reads the config with
its own ``DEMO_STATE_TABLE`` (:data:`REGION_STATE_TABLES`): a switch set in one region's table
leaves the other alone. Ctrl-C stops everything (it lives in this one process). :func:`banner`
is what it prints: commands that work as pasted in another terminal.

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

__all__ = [
    "DEMO_CONFIG",
    "REGION_STATE_TABLES",
    "DemoAws",
    "banner",
    "demo_aws",
    "demo_environment",
    "run_seed_hook",
    "seed_demo",
]

DEMO_CONFIG = Path(__file__).with_name("demo.toml")
DEMO_TABLE = "deep-health-demo"
DEMO_QUEUE = "deep-health-demo-jobs"
DEMO_STATE_TABLE = "deep-health-demo-state"
REGION_STATE_TABLES = {"primary": DEMO_STATE_TABLE, "secondary": f"{DEMO_STATE_TABLE}-secondary"}
"""Each demo region's own state table (``DEMO_STATE_TABLE`` as that region reads its config)."""
DEMO_ENV = (
    "DEEP_HEALTH_AWS_ENDPOINT",
    "DEMO_TABLE",
    "DEMO_QUEUE_URL",
    "DEMO_STATE_TABLE",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
"""The environment a command in another terminal needs to reach the demo's emulated AWS."""
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
    for state_table in REGION_STATE_TABLES.values():
        if state_table not in existing:
            create_table(dynamodb, state_table)  # each region's failover state, as deployed
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


def demo_environment() -> dict[str, str]:
    """The variables of :data:`DEMO_ENV` as the running demo set them (the primary's table)."""
    return {name: os.environ[name] for name in DEMO_ENV if name in os.environ}


def _path_entry() -> str | None:
    """The directory to put on PATH so that ``deep-health`` in another terminal is this very
    program (``make run`` does not activate the venv), or None when it already is."""
    import shutil
    import sys

    script = Path(sys.executable).absolute().parent / "deep-health"
    found = shutil.which("deep-health")
    if not script.exists() or (found and Path(found).absolute() == script):
        return None
    return str(script.parent)


def banner(
    *,
    endpoint: str,
    region: str,
    config: str,
    urls: dict[str, str],
    token: str | None,
    shared_store: bool,
    environment: dict[str, str],
    own_tables: bool = True,
) -> str:
    """What ``deep-health local`` prints: where things run, then commands that work as pasted.

    Args:
        endpoint: The emulator's URL.
        region: Its AWS region.
        config: The config file both regions serve.
        urls: Region label → base URL (primary first).
        token: The config's details token (None: ``/health/details`` is off).
        shared_store: The config keeps its state in a shared store (``switch`` works).
        environment: What a command in another terminal needs (:func:`demo_environment`).
        own_tables: Each region's state table comes from ``DEMO_STATE_TABLE`` (the bundled
            demo config), so the secondary's switches are reached through it.
    """
    import shlex

    command = "deep-health"
    primary, secondary = urls["primary"], urls["secondary"]
    exports = dict(environment)
    if token:
        exports = {"DEEP_HEALTH_DETAILS_TOKEN": token, **exports}
    assignments = [f"{k}={shlex.quote(v)}" for k, v in exports.items()]
    entry = _path_entry()
    if entry is not None:  # double quotes: $PATH must expand
        assignments.insert(0, f'PATH="{entry}:$PATH"')
    lines = [
        f"deep-health local: emulated AWS at {endpoint} ({region}), config {config}",
        *(f"  {label:<9} {url}" for label, url in urls.items()),
        "in another terminal, first paste:",
        "  export " + " ".join(assignments),
        "then try:",
        f"  curl -i {primary}/health",
    ]
    if token:
        header = '"Authorization: Bearer $DEEP_HEALTH_DETAILS_TOKEN"'  # expanded by the shell
        lines.append(f"  curl -s -H {header} {primary}/health/details")
    else:
        lines.append(f"  (no details_token in {config}: /health/details is off)")
    lines += [
        f"  {command} status {primary} {secondary}",
        f"  {command} check --config {shlex.quote(config)}",
    ]
    if shared_store:
        quoted = shlex.quote(config)
        other = REGION_STATE_TABLES["secondary"]
        lines += [
            f"  {command} switch drain on --reason drill --config {quoted}   # primary: 503",
            f"  {command} switch drain off --config {quoted}   # then the recovery hold",
            f"  {command} switch status --config {quoted}",
        ]
        if own_tables:
            lines.append(
                f"  DEMO_STATE_TABLE={other} {command} switch status --config {quoted}"
                "   # the secondary's"
            )
    lines += [
        f"  {command} simulate --scenario partial --seeds 1 --plot partial.png",
        "seed your own tables and queues (after the export above):",
        f"  aws --endpoint-url {endpoint} dynamodb create-table ...",
        "Ctrl-C stops both regions and the emulator.",
    ]
    return "\n".join(lines)
