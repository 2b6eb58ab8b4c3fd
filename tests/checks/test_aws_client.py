"""checks.aws and checks.aws_client without a network: which failure reason each botocore error
becomes, the region
and endpoint a client uses, the client's timeouts and single attempt, and the AWS options every
``AwsCheck`` subclass accepts."""

from __future__ import annotations

import inspect
import sys
import typing
from typing import Any

import pytest
from botocore import exceptions as bx

from checks import CheckFailed, Observations
from checks.aws import AwsCheck, aws_errors
from checks.aws_client import (
    ENDPOINT_ENV,
    AwsClient,
    endpoint_for,
    error_code,
    forget_sessions,
    resolve_region,
)
from service.config import parse_config
from support.team_checks import NarrowOrders, Orders, OrdersAsReadme


def client_error(code: str | None) -> bx.ClientError:
    error = {} if code is None else {"Error": {"Code": code, "Message": "m"}}
    return bx.ClientError(error, "GetItem")  # type: ignore[arg-type]


# Every code the classification knows, written out: a wrong entry in the table fails here.
CLIENT_ERRORS = {
    "AccessDenied": "access_denied",
    "AccessDeniedException": "access_denied",
    "403": "access_denied",
    "ThrottlingException": "throttled",
    "ProvisionedThroughputExceededException": "throttled",
    "RequestLimitExceeded": "throttled",
    "ResourceNotFoundException": "not_found",
    "AWS.SimpleQueueService.NonExistentQueue": "not_found",
    "QueueDoesNotExist": "not_found",
    "NoSuchKey": "not_found",
    "NoSuchBucket": "not_found",
    "404": "not_found",
    "InternalServerError": "aws_error",
    "accessdenied": "aws_error",  # codes are case-sensitive
    "InvalidRange": "aws_error",
}


def failure_of(exc: Exception) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught, aws_errors():
        raise exc
    return caught.value


@pytest.mark.parametrize(("code", "reason"), CLIENT_ERRORS.items())
def test_a_client_error_code_decides_the_reason(code: str, reason: str) -> None:
    exc = client_error(code)
    failed = failure_of(exc)
    assert failed.reason == reason
    assert str(failed) == str(exc)
    # The botocore exception is not chained: its text is the message, once.
    assert failed.__cause__ is None
    assert failed.__suppress_context__


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        pytest.param(bx.ConnectTimeoutError(endpoint_url="http://x"), "timeout", id="connect"),
        pytest.param(bx.ReadTimeoutError(endpoint_url="http://x"), "timeout", id="read"),
        pytest.param(
            bx.EndpointConnectionError(endpoint_url="http://x"), "connection", id="refused"
        ),
        pytest.param(bx.ConnectionClosedError(endpoint_url="http://x"), "connection", id="closed"),
        pytest.param(bx.HTTPClientError(error="reset"), "connection", id="http-client"),
        pytest.param(bx.NoCredentialsError(), "credentials", id="credentials"),
        pytest.param(client_error(None), "aws_error", id="no-error-code"),
    ],
)
def test_transport_and_credential_errors_have_their_own_reasons(
    exc: Exception, reason: str
) -> None:
    failed = failure_of(exc)
    assert (failed.reason, str(failed)) == (reason, str(exc))
    assert failed.__cause__ is None
    assert failed.__suppress_context__


def test_anything_else_passes_through_unchanged() -> None:
    original = KeyError("x")
    with pytest.raises(KeyError) as caught, aws_errors():
        raise original
    assert caught.value is original
    with aws_errors():  # and nothing raised is nothing raised
        pass


def test_error_code_reads_the_code_or_nothing() -> None:
    assert error_code(client_error("NoSuchKey")) == "NoSuchKey"
    assert error_code(client_error(None)) == ""
    assert error_code(bx.ClientError({"Error": {}}, "HeadObject")) == ""
    # A connection error carries ``response = None``: no code, never an AttributeError (verify
    # crashed on ConnectionClosedError while reading a deployed function's config).
    assert error_code(bx.ConnectionClosedError(endpoint_url="http://x")) == ""
    assert error_code(KeyError("x")) == ""


def test_the_explicit_region_wins_then_aws_region_then_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert resolve_region("us-west-2") == "us-west-2"
    assert resolve_region(None) == "eu-west-2"
    monkeypatch.delenv("AWS_REGION")
    assert resolve_region(None) == "eu-west-3"
    monkeypatch.setenv("AWS_REGION", "")
    assert resolve_region("") == "eu-west-3"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(
        ValueError, match=r"^no region: set the check's 'region' option or AWS_REGION$"
    ):
        resolve_region(None)


@pytest.mark.parametrize(
    ("service", "url"),
    [
        ("cloudwatch", "https://monitoring.us-west-2.amazonaws.com"),
        ("dynamodb", "https://dynamodb.us-west-2.amazonaws.com"),
        ("sqs", "https://sqs.us-west-2.amazonaws.com"),
    ],
)
def test_endpoint_for_names_the_regional_host(service: str, url: str) -> None:
    found = endpoint_for(service, "us-west-2", None)
    assert (found.url, found.region, found.global_service) == (url, "us-west-2", False)
    local = endpoint_for(service, "us-west-2", "http://127.0.0.1:9")
    assert (local.url, local.region) == ("http://127.0.0.1:9", "us-west-2")


def test_an_explicit_endpoint_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ENDPOINT_ENV == "DEEP_HEALTH_AWS_ENDPOINT"
    options: dict[str, Any] = {"region": "eu-west-1", "connect_timeout": 1, "read_timeout": 1}
    assert AwsClient("sqs", endpoint_url=None, **options).endpoint_url is None
    monkeypatch.setenv(ENDPOINT_ENV, "")
    assert AwsClient("sqs", endpoint_url=None, **options).endpoint_url is None
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:8")
    assert AwsClient("sqs", endpoint_url=None, **options).endpoint_url == "http://127.0.0.1:8"
    explicit = AwsClient("sqs", endpoint_url="http://127.0.0.1:9", **options)
    assert explicit.endpoint_url == "http://127.0.0.1:9"
    assert explicit.endpoint().url == "http://127.0.0.1:9"
    assert (explicit.service, explicit.region) == ("sqs", "eu-west-1")


async def test_a_client_makes_one_attempt_within_its_timeouts() -> None:
    aws = AwsClient(
        "dynamodb",
        region="eu-west-2",
        endpoint_url="http://127.0.0.1:9",
        connect_timeout=0.7,
        read_timeout=0.9,
    )
    client = await aws.open()
    try:
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (0.7, 0.9)
        # One attempt, no retry: the runner's deadline decides how long a probe may take.
        assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
        assert config.max_pool_connections == 20
        assert (client.meta.region_name, client.meta.endpoint_url) == (
            "eu-west-2",
            "http://127.0.0.1:9",
        )
        assert client.meta.service_model.service_name == "dynamodb"
        assert await aws.open() is client  # idempotent
    finally:
        await aws.close()
    assert aws.client is None
    await aws.close()  # closing twice is harmless


async def test_a_timeout_given_to_open_replaces_both_timeouts() -> None:
    aws = AwsClient("sqs", region="eu-west-1", endpoint_url=None, connect_timeout=5, read_timeout=6)
    client = await aws.open(timeout=0.25)
    try:
        assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (
            0.25,
            0.25,
        )
    finally:
        await aws.close()


async def test_forget_drops_the_client_so_the_next_open_makes_a_new_one() -> None:
    aws = AwsClient("sqs", region="eu-west-1", endpoint_url=None, connect_timeout=1, read_timeout=1)
    await aws.close()  # never opened: nothing to close
    old = await aws.open()
    aws.forget()
    assert aws.client is None
    new = await aws.open()
    try:
        assert new is not old
    finally:
        await aws.close()
        await old.__aexit__(None, None, None)


async def test_clients_of_a_region_share_a_session_until_it_is_forgotten() -> None:
    def opened(region: str) -> AwsClient:
        return AwsClient("sqs", region=region, endpoint_url=None, connect_timeout=1, read_timeout=1)

    clients = [opened("eu-west-1"), opened("eu-west-1"), opened("eu-west-2")]
    try:
        a, b, c = [await aws.open() for aws in clients]
        # aiobotocore clients keep their session's loader: shared models mean a shared loader.
        assert a._loader is b._loader
        assert c.meta.region_name == "eu-west-2"
        forget_sessions()
        fresh = opened("eu-west-1")
        d = await fresh.open()
        clients.append(fresh)
        assert d._loader is not a._loader
    finally:
        for aws in clients:
            await aws.close()


class _Counting(AwsCheck):
    """An AWS check whose ``run`` counts its calls and raises what it is told to."""

    name = "counting"
    aws_service = "sqs"

    def __init__(self, *, fails: bool = False) -> None:
        super().__init__(endpoint_url="http://127.0.0.1:9")
        self.fails = fails
        self.calls = 0

    async def run(self) -> Observations:
        self.calls += 1
        if self.fails:
            raise CheckFailed("down", reason="not_found")
        return None


class _Plain(AwsCheck):
    """An AWS check with a plain ``def run`` (it runs in a worker thread)."""

    name = "plain"
    aws_service = "sqs"
    calls = 0

    def run(self) -> Observations:  # type: ignore[override]
        type(self).calls += 1
        return None


async def test_start_warms_an_async_run_once_and_ignores_its_outcome() -> None:
    for fails in (False, True):
        check = _Counting(fails=fails)
        check.timeout = 0.4
        await check.start()
        try:
            assert check.calls == 1
            assert check.client is not None
            assert check.client.meta.config.read_timeout == 0.4
        finally:
            await check.stop()
        assert check.client is None


async def test_start_does_not_run_a_plain_run() -> None:
    check = _Plain(region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    await check.start()
    try:
        assert _Plain.calls == 0
    finally:
        await check.stop()


def test_a_subclass_that_omits_the_aws_options_still_takes_them() -> None:
    signature = inspect.signature(OrdersAsReadme.__init__)
    assert [(p.name, p.kind, p.default) for p in signature.parameters.values()] == [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("table", inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.empty),
        ("region", inspect.Parameter.KEYWORD_ONLY, None),
        ("endpoint_url", inspect.Parameter.KEYWORD_ONLY, None),
    ]
    assert OrdersAsReadme.__init__.__annotations__["endpoint_url"] == "str | None"
    assert signature.parameters["endpoint_url"].annotation == "str | None"
    check = NarrowOrders(table="t", region="eu-west-2", endpoint_url="http://127.0.0.1:9")
    (endpoint,) = check.endpoints()
    assert (endpoint.url, endpoint.region, check.table) == (
        "http://127.0.0.1:9",
        "eu-west-2",
        "t",
    )


def test_a_subclass_that_declares_them_or_takes_any_keyword_is_left_alone() -> None:
    assert not hasattr(Orders.__init__, "__wrapped__")

    class Open(AwsCheck):
        aws_service = "sqs"

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)

        async def run(self) -> Observations:
            return None

    assert not hasattr(Open.__init__, "__wrapped__")
    (endpoint,) = Open(region="eu-west-2", endpoint_url="http://127.0.0.1:9").endpoints()
    assert (endpoint.url, endpoint.region) == ("http://127.0.0.1:9", "eu-west-2")


def test_a_subclass_defined_at_run_time_gets_both_options(monkeypatch: pytest.MonkeyPatch) -> None:
    # Defined here, not at import: the wrapping happens when a class is created, so a test that
    # should see it go wrong must create the class itself.
    class Made(AwsCheck):
        name = "made"
        aws_service = "dynamodb"

        def __init__(self, *, table: str, region: str | None = None) -> None:
            super().__init__(region=region)
            self.table = table

        async def run(self) -> Observations:
            return None

    class Narrow(Made):
        def __init__(self, *, table: str) -> None:
            super().__init__(table=table)

    class Inherits(Made):
        pass

    class Declares(Made):
        def __init__(
            self, *, table: str, region: str | None = None, endpoint_url: str | None = None
        ) -> None:
            super().__init__(table=table, region=region, endpoint_url=endpoint_url)

    keyword = inspect.Parameter.KEYWORD_ONLY
    for cls in (Made, Narrow):
        init: Any = cls.__init__
        # Wrapped, around the class's own __init__.
        assert init.__wrapped__.__qualname__.endswith(f"{cls.__name__}.__init__")
        parameters = list(inspect.signature(init).parameters.values())
        assert [(p.name, p.kind, p.default, p.annotation) for p in parameters[-2:]] == [
            ("region", keyword, None, "str | None"),
            ("endpoint_url", keyword, None, "str | None"),
        ]
        assert [p.name for p in parameters] == ["self", "table", "region", "endpoint_url"]
        hints = typing.get_type_hints(init)
        assert (hints["table"], hints["region"], hints["endpoint_url"]) == (
            str,
            str | None,
            str | None,
        )
        check = cls(table="t", region="eu-west-2", endpoint_url="http://127.0.0.1:9")
        (endpoint,) = check.endpoints()
        assert (endpoint.url, endpoint.region, check.table) == (
            "http://127.0.0.1:9",
            "eu-west-2",
            "t",
        )
    assert Inherits.__init__ is Made.__init__
    assert not hasattr(Declares.__init__, "__wrapped__")
    # The configuration reads the same signature: both options are accepted from a file.
    monkeypatch.setattr(sys.modules[__name__], "Made", Made, raising=False)
    text = (
        f'[[checks]]\ntype = "{__name__}:Made"\ntable = "t"\n'
        'region = "eu-west-2"\nendpoint_url = "http://127.0.0.1:9"\n'
    )
    (configured,) = parse_config(text).checks
    (endpoint,) = configured.endpoints()
    assert (endpoint.url, endpoint.region) == ("http://127.0.0.1:9", "eu-west-2")


async def test_closing_a_forgotten_client_does_nothing() -> None:
    aws = AwsClient("sqs", region="eu-west-1", endpoint_url=None, connect_timeout=1, read_timeout=1)
    old = await aws.open()
    aws.forget()
    await aws.close()  # nothing to close: the forgotten client is not this one's any more
    assert aws.client is None
    await old.__aexit__(None, None, None)
