"""The shared store's pure parts: buckets, reading items back, error codes, configuration.

No I/O: these are the store's own rules about the table's items and botocore's exceptions. The
round trips themselves are tested against the emulator (test_state_dynamodb.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore import exceptions as bx

from service.config import Config, parse_config
from service.state import LatchRecord, StoreUnavailable, SwitchRecord
from service.state.dynamodb import BUCKETS_PER_WINDOW, DynamoDBStore, store_errors
from service.state.registry import factory


def shared_store(config: Config, *, timeout: float | None = None) -> Any:
    """The store compose would build for ``config``."""
    return factory(config.state.store)(
        config, timeout=config.state.timeout if timeout is None else timeout
    )


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
            {**bucket(3), "f_db": {"S": "not a number"}},  # not a counter: ignored
        ],
        2,
    )
    assert snapshot.window == {"db": (3, 7), "queue": (0, 5)}
    assert snapshot.requests == 2
    assert snapshot.latch == LatchRecord()
    assert snapshot.switches == {}


def test_a_check_without_samples_is_not_in_the_window() -> None:
    snapshot = store()._snapshot([bucket(1, f_db=0, n_db=0)], 1)
    assert snapshot.window == {}


def latch_item(**attributes: Any) -> dict[str, Any]:
    return {"pk": {"S": "f"}, "sk": {"S": "z#latch"}, **attributes}


def test_the_latch_item_is_read_back() -> None:
    item = latch_item(state={"S": json.dumps({"latched_at": 5.0})}, v={"N": "7"})
    snapshot = store()._snapshot([bucket(1, f_db=1, n_db=1), item], 1)
    assert snapshot.latch == LatchRecord({"latched_at": 5.0}, 7)
    assert snapshot.window == {"db": (1, 1)}


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({"v": {"N": "3"}}, id="no-state"),
        pytest.param({"state": {"S": "{}"}}, id="no-version"),
        pytest.param({"state": {"S": "{not json"}, "v": {"N": "3"}}, id="damaged-json"),
        pytest.param({"state": {"S": "{}"}, "v": {"N": "three"}}, id="damaged-version"),
        pytest.param({"state": {"N": "1"}, "v": {"N": "3"}}, id="state-of-another-type"),
    ],
)
def test_a_damaged_latch_item_starts_over(attributes: dict[str, Any]) -> None:
    assert store()._snapshot([latch_item(**attributes)], 1).latch == LatchRecord()


def test_a_latch_state_that_is_not_a_mapping_keeps_its_version_only() -> None:
    item = latch_item(state={"S": "[1, 2]"}, v={"N": "4"})
    assert store()._snapshot([item], 1).latch == LatchRecord(None, 4)


def switch_item(name: str, **attributes: Any) -> dict[str, Any]:
    return {"pk": {"S": "f"}, "sk": {"S": f"z#switch#{name}"}, **attributes}


def test_switch_items_are_read_back_with_who_when_why() -> None:
    items = [
        switch_item(
            "hold", on={"BOOL": True}, by={"S": "alice"}, at={"N": "12.5"}, why={"S": "drill"}
        ),
        switch_item("drain", on={"BOOL": False}),
        switch_item("reboot", on={"BOOL": True}),  # not a switch this version knows
        switch_item("held", on={"BOOL": True}),
    ]
    switches = store()._snapshot(items, 1).switches
    assert switches == {
        "hold": SwitchRecord("hold", True, "alice", 12.5, "drill"),
        "drain": SwitchRecord("drain", False, "?", 0.0, ""),  # who/when/why unknown
    }


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({}, id="no-on"),
        pytest.param({"on": {"BOOL": True}, "at": {"N": "soon"}}, id="damaged-time"),
    ],
)
def test_a_damaged_switch_item_is_skipped(attributes: dict[str, Any]) -> None:
    assert store()._snapshot([switch_item("drain", **attributes)], 1).switches == {}


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
