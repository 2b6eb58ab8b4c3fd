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
conditional write when the latch changes. A query answered in more than one page (DynamoDB's
1 MB page, or ``page_size``) is followed to its end, so the ``z#`` items sorted last are read.

What comes back is decoded here (DynamoDB's attribute types to plain values) and checked by
:mod:`service.state.records` (types and ranges): a damaged item never raises, and never reaches
a rule. The window counts only buckets up to ``now`` + the clock-skew allowance. Every answer's
``Date`` header is compared with this host's clock (:func:`~service.state.records.clock_skew`):
while it is off by more than the bound, the store stops writing this instance's samples (a
clock minutes ahead would put them where every instance counts them later) and says so in the
snapshot (:attr:`~service.state.Snapshot.clock_skew`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from checks.aws_client import AwsClient, error_code, failure_reason, resolve_region
from checks.exceptions import ConfigError
from service.state import (
    SWITCHES,
    Counts,
    Damage,
    LatchRecord,
    Snapshot,
    StoreUnavailable,
    SwitchName,
    SwitchRecord,
)
from service.state.records import (
    check_latch,
    check_switch,
    check_version,
    clock_skew,
    counts_from,
    future_bucket,
)
from service.verdict.rules import BUCKETS_PER_WINDOW, WindowCounts

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
RETAIN = 3600.0
"""Seconds a bucket outlives its window before TTL may delete it (for an operator to look)."""
_LATCH = "z#latch"
_SWITCH = "z#switch#"
_BUCKET = "w#"
_MAX_PAGES = 64  # a query's pages at most: an endpoint that pages forever is a bad answer


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


@contextmanager
def _answer() -> Iterator[None]:
    """Around the client's calls only: :func:`store_errors`, and an answer botocore could not
    parse (a 200 that is not DynamoDB's JSON: a list, ``null``, a proxy's page) is
    ``bad_response``, not an ``AttributeError`` out of botocore's parser."""
    with store_errors():
        try:
            yield
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            raise StoreUnavailable("bad_response", type(exc).__name__) from None


def _bad(what: str) -> StoreUnavailable:
    return StoreUnavailable("bad_response", what)


class DynamoDBStore:
    """A :class:`~service.state.StateStore` on a DynamoDB table (``pk``/``sk`` strings).

    Args:
        table: The table's name (the region's own, never a global table).
        fleet: The partition: every instance of one region's service uses the same name.
        window: Seconds of sample history the window covers.
        region: The table's region; ``None``: ``AWS_REGION``.
        endpoint_url: Overrides the endpoint (an emulator); else ``DEEP_HEALTH_AWS_ENDPOINT``.
        timeout: Connect and read timeout of each call, seconds (one attempt, no retries).
        page_size: Items per query page (``Limit``); ``None``: DynamoDB's own (1 MB). Tests
            set it to read the window in several pages.
        clock: This host's clock, epoch seconds, compared with each answer's ``Date``. Apart
            from the ``now`` the caller passes (tests run fleets at a fixed ``now``).
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
        page_size: int | None = None,
        clock: Callable[[], float] = time.time,
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
        self.page_size = page_size
        self.clock_skew: float | None = None
        """This clock's offset from the store's when beyond the bound (latest answer's)."""
        self._clock = clock
        # What the latch item's damaged ``v`` was when last read (its raw number, or "" when
        # it was no number): the write for "never written" then replaces that item.
        self._damaged_version: str | None = None

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
        """Update this bucket's counters and query the fleet's items, concurrently.

        While this clock is off from the store's by more than the bound, the samples are not
        written (the query still runs: the switches and the latch are read).
        """
        client = await self._client()
        sk = f"{_BUCKET}{self.bucket(now):015d}"
        counted = {check: c for check, c in samples.items() if c[1] > 0}
        if self.clock_skew is not None:
            counted = {}
        add = self._timed(self._add(client, sk, counted, now)) if counted else _nothing()
        with _answer():
            (items, pages), added = await _both(self._query(client, now), add)
        if counted:
            self.requests += 1
            attributes = added.get("Attributes")
            if not isinstance(attributes, dict):
                raise _bad("no Attributes")
            updated = {**attributes, "sk": {"S": sk}}
            items = [item for item in items if _sk(item) != sk] + [updated]
        return self._snapshot(items, pages + int(bool(counted)), now)

    async def _query(self, client: Any, now: float) -> tuple[list[dict[str, Any]], int]:
        """Every item of the window's query, page after page; and the pages read."""
        items: list[dict[str, Any]] = []
        extra: dict[str, Any] = {"Limit": self.page_size} if self.page_size else {}
        for page in range(1, _MAX_PAGES + 1):
            self.requests += 1
            answer = await self._timed(
                client.query(
                    TableName=self.table,
                    KeyConditionExpression="pk = :pk AND sk >= :from",
                    ExpressionAttributeValues={
                        ":pk": {"S": self.fleet},
                        ":from": {"S": f"{_BUCKET}{self.first_bucket(now):015d}"},
                    },
                    **extra,
                )
            )
            found = answer.get("Items")
            if not isinstance(found, list):
                raise _bad("no Items")  # a 200 whose body is no query's answer
            items += found
            last = answer.get("LastEvaluatedKey")
            if not last:
                return items, page
            extra["ExclusiveStartKey"] = last
        raise _bad(f"more than {_MAX_PAGES} pages")

    async def _timed(self, call: Any) -> Any:
        """Await one call and compare its answer's ``Date`` with this clock."""
        sent = self._clock()
        answer = await call
        received = self._clock()
        headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        try:
            date = parsedate_to_datetime(headers["date"]).timestamp()
        except (KeyError, TypeError, ValueError, IndexError):
            return answer  # no Date: nothing to compare (the last measure stands)
        self.clock_skew = clock_skew(sent, received, date)
        return answer

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

    def _snapshot(self, items: list[dict[str, Any]], requests: int, now: float) -> Snapshot:
        window: dict[str, list[tuple[int, int]]] = {}  # per check, (failures, total) per bucket
        latch = LatchRecord()
        switches: dict[SwitchName, SwitchRecord] = {}
        damage: list[Damage] = []
        for item in items:
            sk = _sk(item)
            found: Damage | None = None
            if sk.startswith(_BUCKET):
                start = _bucket_start(sk)
                found = None if start is None else future_bucket(sk, start / 1000, now)
                if start is not None and found is None:
                    counts, found = counts_from(sk, _fields(item))
                    for check, (failures, total) in counts.items():
                        if total > 0:
                            window.setdefault(check, []).append((failures, total))
            elif sk == _LATCH:
                latch, found = self._latch(item, now)
            elif sk.startswith(_SWITCH) and sk[len(_SWITCH) :] in SWITCHES:
                name: SwitchName = "drain" if sk[len(_SWITCH) :] == "drain" else "hold"
                switches[name], found = check_switch(name, _fields(item), now)
            if found is not None:
                damage.append(found)
        return Snapshot(
            window={check: WindowCounts(tuple(counts)) for check, counts in window.items()},
            latch=latch,
            switches=switches,
            requests=requests,
            damage=tuple(damage),
            clock_skew=self.clock_skew,
        )

    def _latch(
        self, item: Mapping[str, Any], now: float | None
    ) -> tuple[LatchRecord, Damage | None]:
        """The latch item, checked; a damaged one reads as what it can still say."""
        raw = item.get("v")
        version = check_version(_plain(raw)) if isinstance(raw, dict) else None
        wrong = []
        if version is None:
            number = raw.get("N") if isinstance(raw, dict) else None
            self._damaged_version = number if isinstance(number, str) else ""
            wrong.append("its version is not a whole number >= 1")
        else:
            self._damaged_version = None
        text = item.get("state", {}).get("S") if isinstance(item.get("state"), dict) else None
        try:
            state = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            state = None
        if state is None:
            wrong.append("its state is not JSON text")
        latch, damage = check_latch(state, now) if state is not None else (None, None)
        if damage is not None:
            wrong.append(damage.text)
        if not wrong:
            return LatchRecord(state, version or 0), None
        fixed = dataclasses.asdict(latch) if latch is not None else None
        text = f"record: {'; '.join(wrong)}; the next write replaces it"
        return LatchRecord(fixed, version or 0, damaged=True), Damage("latch", text)

    async def load_latch(self) -> LatchRecord:
        """Read the latch item, strongly consistent (checked for types; its times by the
        caller, who knows ``now``)."""
        client = await self._client()
        self.requests += 1
        with _answer():
            found = await client.get_item(
                TableName=self.table, Key=self._key(_LATCH), ConsistentRead=True
            )
        item = found.get("Item")
        if not isinstance(item, dict):
            self._damaged_version = None
            return LatchRecord()
        return self._latch(item, None)[0]

    async def save_latch(self, state: Mapping[str, Any], expected: int, now: float) -> bool:
        """Put the latch item if its version is still ``expected``."""
        from botocore.exceptions import ClientError

        client = await self._client()
        condition: dict[str, Any] = (
            self._replacing()
            if expected == 0
            else {
                "ConditionExpression": "v = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected)}},
            }
        )
        self.requests += 1
        with _answer():
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
        self._damaged_version = None
        return True

    def _replacing(self) -> dict[str, Any]:
        """The condition of the write for "never written": no item, or the damaged one read.

        A damaged item must not make this write fail forever (the fleet would never latch
        again). Its ``v`` as read is what the write must still find: a number compared
        exactly, or no number at all; an instance that repaired it first wrote a whole
        number, so a racing repair fails its condition and re-reads, as any lost race does.
        """
        damaged = self._damaged_version
        if damaged is None:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        if damaged == "":
            return {
                "ConditionExpression": "attribute_not_exists(pk) OR NOT attribute_type(v, :n)",
                "ExpressionAttributeValues": {":n": {"S": "N"}},
            }
        return {
            "ConditionExpression": "attribute_not_exists(pk) OR v = :old",
            "ExpressionAttributeValues": {":old": {"N": damaged}},
        }

    async def set_switch(self, record: SwitchRecord) -> None:
        """Put the switch's item (who, when, why; on or off)."""
        client = await self._client()
        self.requests += 1
        with _answer():
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


async def _nothing() -> dict[str, Any]:
    return {}


def _sk(item: Mapping[str, Any]) -> str:
    """An item's sort key, ``""`` when it has none a query could have matched."""
    sk = item.get("sk")
    value = sk.get("S") if isinstance(sk, dict) else None
    return value if isinstance(value, str) else ""


def _bucket_start(sk: str) -> int | None:
    """A bucket's start (epoch ms) from its sort key; ``None`` when it is not one."""
    digits = sk[len(_BUCKET) :]
    return int(digits) if digits.isdigit() else None


def _plain(attribute: object) -> object:
    """One DynamoDB attribute as a plain value: ``S`` → str, ``N`` → int or float (its text if
    it is neither), ``BOOL`` → bool, ``NULL`` → None; any other type → the attribute itself
    (which no check in :mod:`service.state.records` accepts)."""
    if not isinstance(attribute, dict) or len(attribute) != 1:
        return attribute
    kind, value = next(iter(attribute.items()))
    if kind == "N" and isinstance(value, str):
        for parse in (int, float):
            try:
                return parse(value)
            except ValueError:
                continue
        return value
    if kind in ("S", "BOOL"):
        return value
    if kind == "NULL":
        return None
    return attribute


def _fields(item: Mapping[str, Any]) -> dict[str, object]:
    return {name: _plain(value) for name, value in item.items() if name not in ("pk", "sk")}


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


async def _both(first: Any, second: Any) -> tuple[Any, Any]:
    """Await two calls at once; when one fails, the other is cancelled and awaited before the
    failure goes on (``gather`` would leave it running, to be torn down by a closing loop)."""
    tasks = (asyncio.ensure_future(first), asyncio.ensure_future(second))
    try:
        done = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return done[0], done[1]
