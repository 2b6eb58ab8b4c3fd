"""s3_object against the emulator: HEAD, ranged GET, missing object, minimum size."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from checks import Observation, Status
from checks.s3_object import S3Object
from service.running.testing import run_check
from support.emulator import Emulator
from support.httpserver import QuietHandler, ThreadedHttpServer
from support.proxy import FaultProxy, StubHttpServer

pytestmark = pytest.mark.integration

BODY = b'{"canary": true, "padding": "' + b"x" * 200 + b'"}'


@pytest.fixture
def bucket(emulator: Emulator) -> str:
    name = f"canary-{uuid.uuid4().hex[:8]}"
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=name, Key="canary.json", Body=BODY)
    return name


def s3(emulator: Emulator, bucket: str, **options: Any) -> S3Object:
    options.setdefault("key", "canary.json")
    return S3Object(bucket=bucket, endpoint_url=emulator.endpoint, **options)


async def test_head_reports_size_and_latency(emulator: Emulator, bucket: str) -> None:
    result = await run_check(s3(emulator, bucket, min_size=10))
    assert result.status is Status.PASS, result.error
    assert result.observations["size"].value == len(BODY)
    assert result.observations["latency"].value > 0


async def test_ranged_read_reports_the_whole_size(emulator: Emulator, bucket: str) -> None:
    result = await run_check(s3(emulator, bucket, read_bytes=16))
    assert result.status is Status.PASS, result.error
    assert result.observations["size"].value == len(BODY)


async def test_missing_object_fails_as_not_found(emulator: Emulator, bucket: str) -> None:
    for read_bytes in (None, 16):
        result = await run_check(s3(emulator, bucket, key="absent", read_bytes=read_bytes))
        assert (result.status, result.reason) == (Status.FAIL, "not_found")


async def test_truncated_object_fails_as_too_small(emulator: Emulator, bucket: str) -> None:
    result = await run_check(s3(emulator, bucket, min_size=len(BODY) + 1))
    assert (result.status, result.reason) == (Status.FAIL, "too_small")


def test_endpoint_is_regional() -> None:
    (endpoint,) = S3Object(bucket="b", key="k", region="eu-west-1").endpoints()
    assert (endpoint.url, endpoint.region, endpoint.global_service) == (
        "https://s3.eu-west-1.amazonaws.com",
        "eu-west-1",
        False,
    )


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


@pytest.mark.parametrize("read_bytes", [None, 1, 16, 10_000], ids=["head", "1", "16", "past-end"])
async def test_size_is_the_whole_object_and_its_minimum_is_inclusive(
    emulator: Emulator, bucket: str, read_bytes: int | None
) -> None:
    at_minimum = await run_check(s3(emulator, bucket, read_bytes=read_bytes, min_size=len(BODY)))
    assert at_minimum.status is Status.PASS, at_minimum.error
    assert at_minimum.observations["size"].value == len(BODY)
    assert at_minimum.observations["size"].unit == "bytes"
    above = await run_check(s3(emulator, bucket, read_bytes=read_bytes, min_size=len(BODY) + 1))
    assert (above.status, above.reason) == (Status.FAIL, "too_small")
    assert above.error == (
        f"CheckFailed: s3://{bucket}/canary.json is {len(BODY)} bytes, "
        f"expected at least {len(BODY) + 1}"
    )


@pytest.mark.parametrize("read_bytes", [0, -1])
def test_read_bytes_below_one_is_refused(read_bytes: int) -> None:
    with pytest.raises(ValueError, match=r"^read_bytes must be at least 1$"):
        S3Object(bucket="b", key="k", read_bytes=read_bytes, region="eu-west-1")


async def test_a_ranged_read_downloads_only_the_start(emulator: Emulator, bucket: str) -> None:
    # 1 MiB canary, 16 bytes asked: what comes back is the headers and 16 bytes, not the object.
    big = b"y" * 2**20
    emulator.client("s3").put_object(Bucket=bucket, Key="big", Body=big)
    for read_bytes in (1, 16):
        with FaultProxy(emulator.port) as proxy:
            check = S3Object(
                bucket=bucket, key="big", read_bytes=read_bytes, endpoint_url=proxy.url
            )
            result = await run_check(check)
        assert result.status is Status.PASS, result.error
        assert result.observations["size"].value == len(big)
        assert 0 < proxy.bytes_down < 4096


@pytest.mark.parametrize("read_bytes", [None, 16], ids=["head", "ranged"])
async def test_latency_is_milliseconds_of_the_call(
    emulator: Emulator, bucket: str, read_bytes: int | None
) -> None:
    began = time.perf_counter()
    result = await run_check(s3(emulator, bucket, read_bytes=read_bytes))
    elapsed_ms = (time.perf_counter() - began) * 1000
    latency = result.observations["latency"]
    assert latency.unit == "ms"
    assert isinstance(latency.value, float)
    # Part of the whole evaluation, in milliseconds rounded to hundredths.
    assert 0 < latency.value <= elapsed_ms
    assert latency.value == round(latency.value, 2)
    assert result.observations["size"] == Observation(len(BODY), "bytes")


async def test_an_endpoint_that_ignores_the_range_still_reports_the_size() -> None:
    # An S3-compatible store (or a proxy) that answers a ranged GET with the whole object and
    # no Content-Range: the size comes from Content-Length.
    with StubHttpServer(200, BODY) as store:
        check = S3Object(
            bucket="b", key="k", read_bytes=16, region="eu-west-1", endpoint_url=store.url
        )
        check.min_size = len(BODY)
        whole = await run_check(check)
        check.min_size = len(BODY) + 1
        short = await run_check(check)
    assert whole.status is Status.PASS, whole.error
    assert whole.observations["size"] == Observation(len(BODY), "bytes")
    assert (short.status, short.reason) == (Status.FAIL, "too_small")


def test_endpoint_is_in_the_configured_region() -> None:
    (endpoint,) = S3Object(bucket="b", key="k", region="us-west-2").endpoints()
    assert (endpoint.url, endpoint.region) == ("https://s3.us-west-2.amazonaws.com", "us-west-2")


class _NoLengthStore(ThreadedHttpServer):
    """An HTTP/1.0 store that answers every GET with the whole body, no Content-Length and no
    Content-Range (the body ends when the connection closes), and every HEAD with no length;
    it records each request's method and Range header."""

    def __init__(self, body: bytes) -> None:
        store = self
        self.requests: list[tuple[str, str | None]] = []

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                store.requests.append(("GET", self.headers.get("Range")))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                store.requests.append(("HEAD", self.headers.get("Range")))
                self.send_response(200)
                self.end_headers()

        super().__init__(Handler)


@pytest.mark.parametrize("read_bytes", [None, 16], ids=["head", "ranged"])
async def test_an_answer_without_any_length_is_zero_bytes(read_bytes: int | None) -> None:
    # No Content-Length, no Content-Range: 0 bytes, which passes without a minimum.
    with _NoLengthStore(BODY) as store:
        check = S3Object(
            bucket="b", key="k", read_bytes=read_bytes, region="eu-west-1", endpoint_url=store.url
        )
        result = await run_check(check)
        check.min_size = 1
        short = await run_check(check)
    assert result.status is Status.PASS, result.error
    assert result.observations["size"] == Observation(0, "bytes")
    assert (short.status, short.reason) == (Status.FAIL, "too_small"), short.error


@pytest.mark.parametrize(
    ("read_bytes", "asked"),
    [(None, ("HEAD", None)), (1, ("GET", "bytes=0-0")), (16, ("GET", "bytes=0-15"))],
    ids=["head", "1", "16"],
)
async def test_it_asks_for_exactly_the_first_read_bytes(
    read_bytes: int | None, asked: tuple[str, str | None]
) -> None:
    with _NoLengthStore(BODY) as store:
        check = S3Object(
            bucket="b", key="k", read_bytes=read_bytes, region="eu-west-1", endpoint_url=store.url
        )
        await check.start()  # warms the client with one run
        try:
            store.requests.clear()
            await check.run()
        finally:
            await check.stop()
    assert store.requests == [asked]


@pytest.mark.parametrize("read_bytes", [None, 1, 16], ids=["head", "1", "16"])
async def test_an_empty_object_is_read_as_zero_bytes(
    emulator: Emulator, bucket: str, read_bytes: int | None
) -> None:
    # A ranged GET of an empty object is answered 416 InvalidRange: it exists, it is 0 bytes,
    # as a HEAD of it says; only `min_size` may fail it.
    emulator.client("s3").put_object(Bucket=bucket, Key="empty", Body=b"")
    result = await run_check(s3(emulator, bucket, key="empty", read_bytes=read_bytes))
    assert result.status is Status.PASS, result.error
    assert result.observations["size"] == Observation(0, "bytes")
    short = await run_check(s3(emulator, bucket, key="empty", read_bytes=read_bytes, min_size=1))
    assert (short.status, short.reason) == (Status.FAIL, "too_small"), short.error
    assert short.error == f"CheckFailed: s3://{bucket}/empty is 0 bytes, expected at least 1"
