"""The shared store: a regional DynamoDB table every instance of the region reads and writes.

Item layout (one partition per fleet; ``pk`` is the fleet's name, ``sk`` orders the rest)::

    pk          sk                      attributes
    <fleet>     w#<bucket start, ms>    f_<check>, n_<check> (failed and total samples, ADDed),
                                        e (evaluations), expires (TTL, epoch seconds)
    <fleet>     z#latch                 state (JSON of the latch rule's state), v (version),
                                        at, by (last writer)
    <fleet>     z#switch#drain|hold     on, by, at, why

Why this shape: every evaluation of every instance must see the fleet's window, latch and
switches in one round trip. Samples go into *time-bucketed counters* (``window / 12`` wide)
with ``ADD``, which is atomic, so racing instances never lose or double-count a sample, and one
item per bucket (not per evaluation) keeps the read small whatever the fleet size. The ``z#``
items sort after every ``w#`` bucket, so ONE ``Query`` (``sk >= w#<oldest bucket in the
window>``) returns the window's buckets, the latch and the switches together. The bucket write
runs concurrently with that query and returns the bucket it updated (``ALL_NEW``), which
replaces the query's copy of it: this evaluation's own samples count exactly once. The latch
changes only on a transition, by a conditional write on its version (optimistic concurrency):
a racing instance's write fails, re-reads, and re-applies the same pure rule. ``expires`` lets
DynamoDB's TTL delete old buckets; the query never depends on TTL (deletion may lag by days).

Requests per evaluation: 2 (the query and the bucket's update, in parallel), plus one
conditional write when the latch changes.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from checks.aws_client import AwsClient, error_code, failure_reason, resolve_region
from checks.exceptions import ConfigError
from service.state import (
    SWITCHES,
    Counts,
    LatchRecord,
    Snapshot,
    StoreUnavailable,
    SwitchName,
    SwitchRecord,
)

if TYPE_CHECKING:
    from service.config import Config

__all__ = [
    "BUCKETS_PER_WINDOW",
    "RETAIN",
    "STORE_ACTIONS",
    "TABLE_SCHEMA",
    "TTL_ATTRIBUTE",
    "DynamoDBStore",
    "create_table",
    "from_config",
    "instance_id",
    "store_errors",
]

STORE_ACTIONS = ("dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem")
"""Every call the store makes: template.yaml grants exactly these on the state table."""
BUCKETS_PER_WINDOW = 12
"""Counters per window: a finer grain costs read size, a coarser one blurs the window's edge."""
RETAIN = 3600.0
"""Seconds a bucket outlives its window before TTL may delete it (for an operator to look)."""
_LATCH = "z#latch"
_SWITCH = "z#switch#"
_BUCKET = "w#"


def instance_id() -> str:
    """This instance's name in the store's ``by`` attributes (:mod:`service.state.instance`'s id,
    renewed on a SnapStart restore, so restored copies are told apart)."""
    from service.state import instance

    return instance.instance_id()


@contextmanager
def store_errors() -> Iterator[None]:
    """Translate what a store call raises into :class:`StoreUnavailable` with a reason code
    (:func:`checks.aws_client.failure_reason`'s, ``error`` for an AWS error it does not name)."""
    try:
        yield
    except Exception as exc:
        reason = failure_reason(exc, unknown="error")
        if reason is None:
            raise
        code = error_code(exc) or type(exc).__name__
        raise StoreUnavailable(reason, code) from None


class DynamoDBStore:
    """A :class:`~service.state.StateStore` on a DynamoDB table (``pk``/``sk`` strings).

    Args:
        table: The table's name (the region's own, never a global table).
        fleet: The partition: every instance of one region's service uses the same name.
        window: Seconds of sample history the window covers.
        region: The table's region; ``None``: ``AWS_REGION``.
        endpoint_url: Overrides the endpoint (an emulator); else ``DEEP_HEALTH_AWS_ENDPOINT``.
        timeout: Connect and read timeout of each call, seconds (one attempt, no retries).
    """

    kind = "dynamodb"

    def __init__(
        self,
        *,
        table: str,
        fleet: str,
        window: float,
        region: str | None = None,
        endpoint_url: str | None = None,
        timeout: float = 0.3,
    ) -> None:
        self.table = table
        self.fleet = fleet
        self.window = window
        self.bucket_ms = max(1, round(window * 1000 / BUCKETS_PER_WINDOW))
        self._aws = AwsClient(
            "dynamodb",
            region=region,
            endpoint_url=endpoint_url,
            connect_timeout=timeout,
            read_timeout=timeout,
        )
        self.requests = 0
        """Requests sent so far (the benchmark divides by evaluations)."""

    @property
    def region(self) -> str:
        return self._aws.region

    def describe(self) -> str:
        """``dynamodb table <table>, fleet <fleet>``."""
        return f"dynamodb table {self.table}, fleet {self.fleet}"

    async def start(self) -> None:
        """Create the client (idempotent)."""
        with store_errors():
            await self._aws.open()

    async def close(self) -> None:
        """Close the client."""
        await self._aws.close()

    def forget_client(self) -> None:
        """Drop the client unclosed (a SnapStart snapshot): the next exchange opens a new one."""
        self._aws.forget()

    async def _client(self) -> Any:
        with store_errors():
            return await self._aws.open()

    def _key(self, sk: str) -> dict[str, Any]:
        return {"pk": {"S": self.fleet}, "sk": {"S": sk}}

    def bucket(self, now: float) -> int:
        """The start (epoch milliseconds) of the bucket ``now`` falls in."""
        now_ms = math.floor(now * 1000)
        return now_ms - now_ms % self.bucket_ms

    def first_bucket(self, now: float) -> int:
        """The oldest bucket that lies wholly inside the window ending at ``now``."""
        horizon = math.floor((now - self.window) * 1000)
        return (horizon // self.bucket_ms + 1) * self.bucket_ms

    async def exchange(self, samples: Mapping[str, Counts], now: float) -> Snapshot:
        """Update this bucket's counters and query the fleet's items, concurrently."""
        client = await self._client()
        query = client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk >= :from",
            ExpressionAttributeValues={
                ":pk": {"S": self.fleet},
                ":from": {"S": f"{_BUCKET}{self.first_bucket(now):015d}"},
            },
        )
        calls = [query]
        sk = f"{_BUCKET}{self.bucket(now):015d}"
        counted = {check: c for check, c in samples.items() if c[1] > 0}
        if counted:
            calls.append(self._add(client, sk, counted, now))
        self.requests += len(calls)
        with store_errors():
            results = await asyncio.gather(*calls)
        items: list[dict[str, Any]] = list(results[0].get("Items", []))
        if counted:
            updated = {**results[1].get("Attributes", {}), "sk": {"S": sk}}
            items = [item for item in items if item["sk"]["S"] != sk] + [updated]
        return self._snapshot(items, len(calls))

    def _add(self, client: Any, sk: str, samples: Mapping[str, Counts], now: float) -> Any:
        names = {"#e": "e", "#x": "expires"}
        values: dict[str, Any] = {
            ":one": {"N": "1"},
            ":x": {"N": str(math.ceil(now + self.window + RETAIN))},
        }
        adds = ["#e :one"]
        for i, (check, (failures, total)) in enumerate(sorted(samples.items())):
            names[f"#f{i}"], names[f"#n{i}"] = f"f_{check}", f"n_{check}"
            values[f":f{i}"], values[f":n{i}"] = {"N": str(failures)}, {"N": str(total)}
            adds += [f"#f{i} :f{i}", f"#n{i} :n{i}"]
        return client.update_item(
            TableName=self.table,
            Key=self._key(sk),
            UpdateExpression=f"ADD {', '.join(adds)} SET #x = if_not_exists(#x, :x)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )

    def _snapshot(self, items: list[dict[str, Any]], requests: int) -> Snapshot:
        window: dict[str, list[int]] = {}
        latch = LatchRecord()
        switches: dict[SwitchName, SwitchRecord] = {}
        for item in items:
            sk = item["sk"]["S"]
            if sk.startswith(_BUCKET):
                for name, value in item.items():
                    if name.startswith(("f_", "n_")) and "N" in value:
                        counts = window.setdefault(name[2:], [0, 0])
                        counts[name[0] == "n"] += int(value["N"])
            elif sk == _LATCH:
                latch = _latch(item)
            elif sk.startswith(_SWITCH):
                record = _switch(sk[len(_SWITCH) :], item)
                if record is not None:
                    switches[record.name] = record
        return Snapshot(
            window={check: (c[0], c[1]) for check, c in window.items() if c[1] > 0},
            latch=latch,
            switches=switches,
            requests=requests,
        )

    async def load_latch(self) -> LatchRecord:
        """Read the latch item, strongly consistent."""
        client = await self._client()
        self.requests += 1
        with store_errors():
            found = await client.get_item(
                TableName=self.table, Key=self._key(_LATCH), ConsistentRead=True
            )
        item = found.get("Item")
        return _latch(item) if item else LatchRecord()

    async def save_latch(self, state: Mapping[str, Any], expected: int, now: float) -> bool:
        """Put the latch item if its version is still ``expected``."""
        from botocore.exceptions import ClientError

        client = await self._client()
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if expected == 0
            else {
                "ConditionExpression": "v = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected)}},
            }
        )
        self.requests += 1
        with store_errors():
            try:
                await client.put_item(
                    TableName=self.table,
                    Item={
                        **self._key(_LATCH),
                        "state": {"S": json.dumps(dict(state), sort_keys=True)},
                        "v": {"N": str(expected + 1)},
                        "at": {"N": f"{now:.3f}"},
                        "by": {"S": instance_id()},
                    },
                    **condition,
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    async def set_switch(self, record: SwitchRecord) -> None:
        """Put the switch's item (who, when, why; on or off)."""
        client = await self._client()
        self.requests += 1
        with store_errors():
            await client.put_item(
                TableName=self.table,
                Item={
                    **self._key(f"{_SWITCH}{record.name}"),
                    "on": {"BOOL": record.on},
                    "by": {"S": record.by},
                    "at": {"N": f"{record.at:.3f}"},
                    "why": {"S": record.reason},
                },
            )


def _latch(item: Mapping[str, Any]) -> LatchRecord:
    try:
        state = json.loads(item["state"]["S"])
        version = int(item["v"]["N"])
    except (KeyError, ValueError, TypeError):
        return LatchRecord()  # a foreign or damaged item: start over rather than fail
    return LatchRecord(state if isinstance(state, dict) else None, version)


def _switch(name: str, item: Mapping[str, Any]) -> SwitchRecord | None:
    if name not in SWITCHES:
        return None
    switch: SwitchName = "drain" if name == "drain" else "hold"
    try:
        return SwitchRecord(
            name=switch,
            on=bool(item["on"]["BOOL"]),
            by=str(item.get("by", {}).get("S", "?")),
            at=float(item.get("at", {}).get("N", "0")),
            reason=str(item.get("why", {}).get("S", "")),
        )
    except (KeyError, ValueError, TypeError):
        return None


TABLE_SCHEMA: dict[str, Any] = {
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
"""The table as ``template.yaml`` creates it (``create_table(TableName=..., **TABLE_SCHEMA)``);
TTL on the ``expires`` attribute (:data:`TTL_ATTRIBUTE`)."""
TTL_ATTRIBUTE = "expires"


def create_table(client: Any, name: str) -> None:
    """Create the state table with TTL on, with a synchronous boto3 client (demo and tests)."""
    client.create_table(TableName=name, **TABLE_SCHEMA)
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


def from_config(config: Config, *, timeout: float) -> DynamoDBStore | None:
    """The region's shared table ``[state]`` names (see :mod:`service.state.registry`); ``None``
    when no table is set (an unset ``${DEEP_HEALTH_STATE_TABLE}``: this process's memory).

    Args:
        config: A validated configuration (its ``[state]`` and ``[failover]`` window).
        timeout: Each call's timeout.

    Raises:
        ConfigError: ``state.region``: neither it nor ``AWS_REGION`` is set.
    """
    state = config.state
    if state.table is None:
        return None
    try:
        region = resolve_region(state.region)
    except ValueError:
        raise ConfigError(
            "state.region", "no region: set [state] region or AWS_REGION (the table's region)"
        ) from None
    # The partition names the region: should the table ever be shared or replicated across
    # regions, one region's latch and switches still never become the other's.
    return DynamoDBStore(
        table=state.table,
        fleet=state.fleet or f"{config.settings.service_id}#{region}",
        window=config.failover.window,
        region=region,
        endpoint_url=state.endpoint_url,
        timeout=timeout,
    )
