"""The shared store's pure parts: buckets, reading items back, error codes, configuration.

No I/O: these are the store's own rules about the table's items and botocore's exceptions. The
round trips themselves are tested against the emulator (test_state_dynamodb.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest
from botocore import exceptions as bx

from service.config import Config, parse_config
from service.state import LatchRecord, StoreUnavailable, SwitchRecord
from service.state.dynamodb import BUCKETS_PER_WINDOW, DynamoDBStore, store_errors
from service.state.records import MAX_CLOCK_SKEW
from service.state.registry import factory
from service.verdict.rules import WindowCounts


def shared_store(config: Config, *, timeout: float | None = None) -> Any:
    """The store compose would build for ``config``."""
    return factory(config.state.store)(
        config, timeout=config.state.timeout if timeout is None else timeout
    )


def sums(window: Mapping[str, WindowCounts]) -> dict[str, tuple[int, int]]:
    """Per check, ``(failures, total)`` in the window (the rule reads it per bucket)."""
    return {check: (counts.failures, counts.total) for check, counts in window.items()}


NOW = 1_800_000_000.0


def store(window: float = 12.0) -> DynamoDBStore:
    return DynamoDBStore(table="t", fleet="f", window=window, region="eu-west-1")


# -- buckets -----------------------------------------------------------------------------------


def test_a_bucket_is_a_twelfth_of_the_window() -> None:
    assert BUCKETS_PER_WINDOW == 12
    assert store(12.0).bucket_ms == 1000
    assert store(30.0).bucket_ms == 2500
    assert store(0.0001).bucket_ms == 1  # never zero wide (a modulo by zero)


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (NOW, 1_800_000_000_000),
        (NOW + 0.999, 1_800_000_000_000),  # the same bucket up to its last millisecond
        (NOW + 1.0, 1_800_000_001_000),  # the next one from its first
        (NOW - 0.001, 1_799_999_999_000),
    ],
)
def test_bucket_is_the_start_of_the_one_now_falls_in(now: float, start: int) -> None:
    assert store(12.0).bucket(now) == start


@pytest.mark.parametrize(
    ("now", "first"),
    [
        # The window is (NOW - 12 s, NOW]: the bucket that starts at the horizon itself has
        # its first millisecond outside, so the first wholly inside is the next one.
        (NOW, 1_799_999_989_000),
        (NOW + 0.5, 1_799_999_989_000),  # the bucket the horizon falls in is only partly inside
        (NOW + 1.0, 1_799_999_990_000),
    ],
)
def test_first_bucket_lies_wholly_inside_the_window(now: float, first: int) -> None:
    s = store(12.0)
    assert s.first_bucket(now) == first
    assert first > (now - 12.0) * 1000  # its start is inside the window
    assert first - s.bucket_ms <= (now - 12.0) * 1000  # the one before it is not wholly inside


# -- reading items back ------------------------------------------------------------------------


def bucket(start: int, **counts: int) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": "f"}, "sk": {"S": f"w#{start:015d}"}}
    item.update({name: {"N": str(value)} for name, value in counts.items()})
    return item


def test_buckets_add_up_per_check_failures_first() -> None:
    snapshot = store()._snapshot(
        [
            bucket(1, f_db=1, n_db=3, e=1, expires=99),
            bucket(2, f_db=2, n_db=4, f_queue=0, n_queue=5, e=2),
            {**bucket(3), "f_db": {"S": "not a number"}},  # not a counter: left out, reported
        ],
        2,
        NOW,
    )
    assert snapshot.window == {
        "db": WindowCounts(((1, 3), (2, 4))),  # per bucket: the rule's evidence
        "queue": WindowCounts(((0, 5),)),
    }
    assert snapshot.requests == 2
    assert snapshot.latch == LatchRecord()
    assert snapshot.switches == {}
    assert [d.kind for d in snapshot.damage] == ["bucket"]


def test_a_check_without_samples_is_not_in_the_window() -> None:
    snapshot = store()._snapshot([bucket(1, f_db=0, n_db=0)], 1, NOW)
    assert snapshot.window == {}


@pytest.mark.parametrize(
    "counters",
    [
        pytest.param({"f_db": {"N": "0.5"}, "n_db": {"N": "3"}}, id="half-a-failure"),
        pytest.param({"f_db": {"N": "1"}, "n_db": {"N": "-3"}}, id="negative-total"),
        pytest.param({"f_db": {"N": "4"}, "n_db": {"N": "3"}}, id="more-failures-than-samples"),
        pytest.param({"f_db": {"N": "1"}, "n_db": {"S": "3"}}, id="total-as-text"),
        pytest.param({"f_db": {"N": "1"}, "n_db": {"BOOL": True}}, id="total-as-boolean"),
    ],
)
def test_a_damaged_counter_leaves_its_check_out_of_that_bucket_only(
    counters: dict[str, Any],
) -> None:
    """Before: ``int("0.5")`` raised out of the store (serve exited at start-up)."""
    damaged = {**bucket(2, f_queue=1, n_queue=2), **counters}
    snapshot = store()._snapshot([bucket(1, f_db=1, n_db=2), damaged], 1, NOW)
    assert sums(snapshot.window) == {"db": (1, 2), "queue": (1, 2)}
    assert len(snapshot.damage) == 1
    assert snapshot.damage[0].kind == "bucket"
    assert "w#000000000000002" in snapshot.damage[0].text


def test_a_bucket_ahead_of_now_by_more_than_the_skew_allowance_is_not_counted() -> None:
    """Before: a bucket written by a clock 10 min ahead counted in every instance's window."""
    now_ms = int(NOW * 1000)
    near = bucket(now_ms + int(MAX_CLOCK_SKEW * 1000), f_db=0, n_db=5)  # at the bound: counts
    ahead = bucket(now_ms + 600_000, f_db=5, n_db=5)
    snapshot = store()._snapshot([bucket(now_ms, f_db=1, n_db=5), near, ahead], 1, NOW)
    assert sums(snapshot.window) == {"db": (1, 10)}
    assert [d.kind for d in snapshot.damage] == ["bucket"]
    assert "starts more than 2s after this clock's now" in snapshot.damage[0].text


def latch_item(**attributes: Any) -> dict[str, Any]:
    return {"pk": {"S": "f"}, "sk": {"S": "z#latch"}, **attributes}


def test_the_latch_item_is_read_back() -> None:
    item = latch_item(state={"S": json.dumps({"latched_at": 5.0})}, v={"N": "7"})
    snapshot = store()._snapshot([bucket(1, f_db=1, n_db=1), item], 1, NOW)
    assert snapshot.latch == LatchRecord({"latched_at": 5.0}, 7)
    assert snapshot.window == {"db": WindowCounts(((1, 1),))}
    assert snapshot.damage == ()


@pytest.mark.parametrize(
    ("attributes", "version"),
    [
        pytest.param({"v": {"N": "3"}}, 3, id="no-state"),
        pytest.param({"state": {"S": "{not json"}, "v": {"N": "3"}}, 3, id="damaged-json"),
        pytest.param({"state": {"M": {}}, "v": {"N": "3"}}, 3, id="state-as-a-map"),
        pytest.param({"state": {"S": "[1, 2]"}, "v": {"N": "4"}}, 4, id="state-not-a-mapping"),
        pytest.param({"state": {"S": "{}"}}, 0, id="no-version"),
        pytest.param({"state": {"S": "{}"}, "v": {"N": "three"}}, 0, id="damaged-version"),
        pytest.param({"state": {"S": "{}"}, "v": {"S": "3"}}, 0, id="version-as-text"),
        pytest.param({"state": {"S": "{}"}, "v": {"N": "1.5"}}, 0, id="fractional-version"),
    ],
)
def test_a_damaged_latch_item_is_reported_and_marked_for_rewriting(
    attributes: dict[str, Any], version: int
) -> None:
    """A readable version is kept (the next write's condition); the record is marked damaged,
    so the next evaluation writes it again even when the rule's state does not change."""
    snapshot = store()._snapshot([latch_item(**attributes)], 1, NOW)
    assert snapshot.latch.version == version
    assert snapshot.latch.damaged
    assert [d.kind for d in snapshot.damage] == ["latch"]


@pytest.mark.parametrize(
    "latched_at", [NOW + 3600, float("nan"), 1e300, float("inf"), "soon", True]
)
def test_a_latch_time_that_is_no_time_up_to_now_is_read_as_now(latched_at: object) -> None:
    """Before: ``latched_at`` an hour ahead (or NaN, 1e300) kept the fleet at 503 "recovering
    61/10 clean" for good: ``now - latched_at`` never reached ``min_hold``."""
    state = {"latched_at": latched_at, "last_bad": NOW - 1, "failures": 3, "clean": 0}
    item = latch_item(state={"S": json.dumps(state)}, v={"N": "2"})
    latch = store()._snapshot([item], 1, NOW).latch
    assert latch.damaged
    assert latch.version == 2
    assert latch.state == {
        "latched_at": NOW,
        "last_bad": NOW - 1,
        "failures": 3,
        "clean": 0,
        "since": None,  # not stored: no streak start to keep
    }


def switch_item(name: str, **attributes: Any) -> dict[str, Any]:
    return {"pk": {"S": "f"}, "sk": {"S": f"z#switch#{name}"}, **attributes}


def test_switch_items_are_read_back_with_who_when_why() -> None:
    items = [
        switch_item(
            "hold", on={"BOOL": True}, by={"S": "alice"}, at={"N": "12.5"}, why={"S": "drill"}
        ),
        switch_item("drain", on={"BOOL": False}, at={"N": "10"}),
        switch_item("reboot", on={"BOOL": True}),  # not a switch this version knows
        switch_item("held", on={"BOOL": True}),
    ]
    snapshot = store()._snapshot(items, 1, NOW)
    assert snapshot.switches == {
        "hold": SwitchRecord("hold", True, "alice", 12.5, "drill"),
        "drain": SwitchRecord("drain", False, "?", 10.0, ""),  # who/why unknown
    }
    assert snapshot.damage == ()


@pytest.mark.parametrize(
    ("on", "read_as"),
    [
        pytest.param({"S": "true"}, True, id="the-string-true"),
        pytest.param({"N": "1"}, True, id="the-number-1"),
        pytest.param({"S": " Yes "}, True, id="a-switch-word"),
        pytest.param({"S": "false"}, False, id="the-string-false"),
        pytest.param({"N": "0"}, False, id="the-number-0"),
        pytest.param({"S": "maybe"}, True, id="no-switch-word-is-on"),
        pytest.param({"N": "2"}, True, id="another-number-is-on"),
        pytest.param({"NULL": True}, True, id="null-is-on"),
        pytest.param(None, True, id="no-on-at-all-is-on"),
    ],
)
def test_a_switch_whose_on_is_not_a_boolean_follows_the_documented_rule(
    on: dict[str, Any] | None, read_as: bool
) -> None:
    """Before: a hand-written drain with ``on = "true"`` or ``1`` was dropped silently (200,
    ``switch status``: "off (never set)")."""
    attributes = {"at": {"N": "10"}, **({"on": on} if on is not None else {})}
    snapshot = store()._snapshot([switch_item("drain", **attributes)], 1, NOW)
    assert snapshot.switches["drain"].on is read_as
    assert [d.kind for d in snapshot.damage] == ["switch"]


@pytest.mark.parametrize("at", ["1E+20", "-5", "soon"])
def test_a_switch_time_that_is_no_date_is_kept_as_unknown(at: str) -> None:
    """Before: ``at = 1E+20`` reached ``time.gmtime`` on every evaluation, which raised."""
    item = switch_item("drain", on={"BOOL": True}, at={"N": at}, by={"S": "bob"})
    snapshot = store()._snapshot([item], 1, NOW)
    record = snapshot.switches["drain"]
    assert record.on
    assert record.describe() == "by bob at an unknown time"
    assert [d.kind for d in snapshot.damage] == ["switch"]


def test_describe_never_raises_on_a_time_that_is_no_date() -> None:
    for at in (1e20, float("nan"), float("inf"), -1.0, 0.0):
        assert "unknown time" in SwitchRecord("hold", True, "x", at).describe()


# -- error codes -------------------------------------------------------------------------------


def client_error(code: str) -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": "arn:aws:secret"}}, "Query")


@pytest.mark.parametrize(
    ("error", "reason", "detail"),
    [
        (bx.ConnectTimeoutError(endpoint_url="http://x"), "timeout", "ConnectTimeoutError"),
        (bx.ReadTimeoutError(endpoint_url="http://x"), "timeout", "ReadTimeoutError"),
        (bx.EndpointConnectionError(endpoint_url="http://x"), "connection", ""),
        (bx.HTTPClientError(error="reset"), "connection", "HTTPClientError"),
        (bx.NoCredentialsError(), "credentials", ""),
        (client_error("ThrottlingException"), "throttled", "ThrottlingException"),
        (client_error("ProvisionedThroughputExceededException"), "throttled", ""),
        (client_error("RequestLimitExceeded"), "throttled", "RequestLimitExceeded"),
        (client_error("AccessDeniedException"), "access_denied", "AccessDeniedException"),
        (client_error("UnrecognizedClientException"), "credentials", ""),
        (client_error("ResourceNotFoundException"), "not_found", "ResourceNotFoundException"),
        (client_error("ValidationException"), "error", "ValidationException"),
        (bx.ClientError({}, "Query"), "error", ""),  # no code at all
        (bx.ParamValidationError(report="bad"), "error", "ParamValidationError"),
        (ConnectionResetError(104, "reset"), "connection", "ConnectionResetError"),
    ],
)
def test_botocore_errors_become_a_reason_code(error: Exception, reason: str, detail: str) -> None:
    with pytest.raises(StoreUnavailable) as caught, store_errors():
        raise error
    assert caught.value.reason == reason
    if detail:
        assert caught.value.detail == detail
    assert "arn:aws" not in str(caught.value)  # the message is never passed on
    assert caught.value.__suppress_context__  # nor botocore's traceback chained to it


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), store_errors():
        raise KeyError("sk")


# -- configuration -----------------------------------------------------------------------------

CHECK = '[[checks]]\ntype = "support.misbehaving:Passing"\n'


def test_the_configured_store() -> None:
    config = parse_config(
        '[service]\nservice_id = "orders"\n[failover]\nwindow = 30\n'
        '[state]\nstore = "dynamodb"\ntable = "state-t"\nregion = "eu-central-1"\n'
        'endpoint_url = "http://127.0.0.1:9"\ntimeout = 0.4\n' + CHECK
    )
    made = shared_store(config)
    assert made is not None
    assert (made.table, made.fleet, made.window, made.region) == (
        "state-t",
        "orders#eu-central-1",
        30.0,
        "eu-central-1",
    )
    assert made._aws.endpoint_url == "http://127.0.0.1:9"
    assert (made._aws._connect_timeout, made._aws._read_timeout) == (0.4, 0.4)
    longer = shared_store(config, timeout=5.0)
    assert longer is not None
    assert (longer._aws._connect_timeout, longer._aws._read_timeout) == (5.0, 5.0)


def test_the_fleet_name_overrides_the_service_id() -> None:
    config = parse_config(
        '[service]\nservice_id = "orders"\n'
        '[state]\nstore = "dynamodb"\ntable = "state-t"\nfleet = "orders-eu"\n' + CHECK
    )
    made = shared_store(config)
    assert made is not None
    assert made.fleet == "orders-eu"


def test_the_default_partition_names_the_region() -> None:
    """Two regions of one service never share a partition, even in one (wrongly shared) table."""
    text = '[service]\nservice_id = "orders"\n[state]\nstore = "dynamodb"\ntable = "state-t"\n'
    east = shared_store(parse_config(text + 'region = "us-east-1"\n' + CHECK))
    west = shared_store(parse_config(text + 'region = "eu-west-1"\n' + CHECK))
    assert east is not None
    assert west is not None
    assert (east.fleet, west.fleet) == ("orders#us-east-1", "orders#eu-west-1")


@pytest.mark.parametrize(
    "state",
    ['[state]\nstore = "memory"\ntable = "state-t"\n', ""],
)
def test_memory_state_has_no_shared_store(state: str) -> None:
    assert shared_store(parse_config(state + CHECK)) is None


async def test_a_failed_query_cancels_the_bucket_update_beside_it() -> None:
    """Before: ``gather`` left the update running after the query failed, and a closing loop
    tore it down in another context (an unraisable error under pytest, a leaked call in use)."""
    from service.state.dynamodb import _both

    started, cancelled = asyncio.Event(), asyncio.Event()

    async def query() -> None:
        await started.wait()
        raise StoreUnavailable("bad_response")

    async def update() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    with pytest.raises(StoreUnavailable):
        await _both(query(), update())
    assert cancelled.is_set()  # already, when the failure came out
