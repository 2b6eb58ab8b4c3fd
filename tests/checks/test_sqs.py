"""sqs against the emulator: attributes, backlog and age thresholds, the round trip."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import pytest

from checks import Status
from checks.result import Observation
from checks.sqs import SQSQueue
from service.running.testing import run_check
from support.emulator import Emulator
from support.proxy import FaultProxy

pytestmark = pytest.mark.integration

# A check with an age threshold creates a CloudWatch client too: on a busy machine its first
# evaluation can outlast the service's 1.5 s deadline. These tests are about the answer.
COLD_START = 10.0


def make_queue(emulator: Emulator, **attributes: str) -> str:
    name = f"q-{uuid.uuid4().hex[:8]}"
    return str(
        emulator.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    )


def sqs(emulator: Emulator, queue_url: str, **options: Any) -> SQSQueue:
    return SQSQueue(queue_url=queue_url, endpoint_url=emulator.endpoint, **options)


async def test_reports_visible_messages(emulator: Emulator) -> None:
    url = make_queue(emulator)
    emulator.client("sqs").send_message(QueueUrl=url, MessageBody="job")
    result = await run_check(sqs(emulator, url, max_visible=5))
    assert result.status is Status.PASS, result.error
    assert result.observations["visibleMessages"].value == 1


async def test_backlog_over_threshold_warns(emulator: Emulator) -> None:
    url = make_queue(emulator)
    for _ in range(3):
        emulator.client("sqs").send_message(QueueUrl=url, MessageBody="job")
    result = await run_check(sqs(emulator, url, max_visible=2))
    assert (result.status, result.reason) == (Status.WARN, "backlog")


def publish_age(emulator: Emulator, queue_url: str, seconds: float) -> None:
    emulator.client("cloudwatch").put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": queue_url.split("/")[-1]}],
                "Value": seconds,
                "Unit": "Seconds",
            }
        ],
    )


async def test_old_oldest_message_warns_as_stale(emulator: Emulator) -> None:
    url = make_queue(emulator)
    publish_age(emulator, url, 900)
    result = await run_check(sqs(emulator, url, max_oldest_age=300), deadline=COLD_START)
    assert (result.status, result.reason) == (Status.WARN, "stale")


async def test_young_oldest_message_passes_and_is_observed(emulator: Emulator) -> None:
    url = make_queue(emulator)
    publish_age(emulator, url, 12)
    result = await run_check(sqs(emulator, url, max_oldest_age=300), deadline=COLD_START)
    assert result.status is Status.PASS, result.error
    assert result.observations["oldestMessageAge"].value == 12


async def test_no_age_metric_yet_passes(emulator: Emulator) -> None:
    result = await run_check(
        sqs(emulator, make_queue(emulator), max_oldest_age=300), deadline=COLD_START
    )
    assert result.status is Status.PASS, result.error
    assert "oldestMessageAge" not in result.observations


async def test_round_trip_sends_receives_and_deletes_the_probe(emulator: Emulator) -> None:
    url, probe = make_queue(emulator), make_queue(emulator)
    result = await run_check(sqs(emulator, url, round_trip_queue_url=probe))
    assert result.status is Status.PASS, result.error
    assert result.observations["roundTrip"].value > 0
    attributes = emulator.client("sqs").get_queue_attributes(
        QueueUrl=probe, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


async def test_round_trip_that_never_comes_back_times_out(emulator: Emulator) -> None:
    url = make_queue(emulator)
    probe = make_queue(emulator, DelaySeconds="900")  # the probe stays invisible for 15 min
    check = sqs(emulator, url, round_trip_queue_url=probe)
    check.timeout = 0.5
    result = await run_check(check)
    assert (result.status, result.reason) == (Status.FAIL, "timeout")


def test_endpoints_include_cloudwatch_only_with_an_age_threshold() -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
    plain = SQSQueue(queue_url=url, region="eu-west-1")
    aged = SQSQueue(queue_url=url, region="eu-west-1", max_oldest_age=60)
    assert [e.url for e in plain.endpoints()] == ["https://sqs.eu-west-1.amazonaws.com"]
    assert [e.url for e in aged.endpoints()][1] == "https://monitoring.eu-west-1.amazonaws.com"
    assert not any(e.global_service for e in aged.endpoints())


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


async def test_backlog_at_the_threshold_passes(emulator: Emulator) -> None:
    url = make_queue(emulator)
    for _ in range(3):
        emulator.client("sqs").send_message(QueueUrl=url, MessageBody="job")
    result = await run_check(sqs(emulator, url, max_visible=3))
    assert result.status is Status.PASS, result.error
    assert result.observations["visibleMessages"] == Observation(3, "messages")


async def test_age_at_the_threshold_passes(emulator: Emulator) -> None:
    url = make_queue(emulator)
    publish_age(emulator, url, 300)
    result = await run_check(sqs(emulator, url, max_oldest_age=300), deadline=COLD_START)
    assert result.status is Status.PASS, result.error
    assert result.observations["oldestMessageAge"] == Observation(300.0, "s")


def publish_age_at(emulator: Emulator, queue_url: str, seconds: float, ago: float) -> None:
    emulator.client("cloudwatch").put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": queue_url.split("/")[-1]}],
                "Timestamp": datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=ago),
                "Value": seconds,
                "Unit": "Seconds",
            }
        ],
    )


async def test_the_latest_age_datapoint_decides(emulator: Emulator) -> None:
    # Published newest first: the order of the answer must not matter, only the timestamps.
    url = make_queue(emulator)
    publish_age_at(emulator, url, 12, ago=0)
    publish_age_at(emulator, url, 900, ago=180)
    result = await run_check(sqs(emulator, url, max_oldest_age=300), deadline=COLD_START)
    assert result.status is Status.PASS, result.error
    assert result.observations["oldestMessageAge"].value == 12
    publish_age_at(emulator, url, 900, ago=0)  # same minute: the period's maximum
    stale = await run_check(sqs(emulator, url, max_oldest_age=300), deadline=COLD_START)
    assert (stale.status, stale.reason) == (Status.WARN, "stale")


async def test_an_age_older_than_the_window_is_no_data(emulator: Emulator) -> None:
    url = make_queue(emulator)
    publish_age_at(emulator, url, 900, ago=15 * 60)
    result = await run_check(sqs(emulator, url, max_oldest_age=300), deadline=COLD_START)
    assert result.status is Status.PASS, result.error
    assert "oldestMessageAge" not in result.observations


async def test_round_trip_clears_old_probes_and_leaves_other_messages(emulator: Emulator) -> None:
    url, probe = make_queue(emulator), make_queue(emulator)
    client = emulator.client("sqs")
    client.send_message(QueueUrl=probe, MessageBody="deep-health-probe:left-over")
    client.send_message(QueueUrl=probe, MessageBody="not ours")
    result = await run_check(sqs(emulator, url, round_trip_queue_url=probe))
    assert result.status is Status.PASS, result.error
    attributes = client.get_queue_attributes(
        QueueUrl=probe,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    visible = int(attributes["ApproximateNumberOfMessages"])
    in_flight = int(attributes["ApproximateNumberOfMessagesNotVisible"])
    assert visible + in_flight == 1  # only "not ours" is left, received but not deleted


def test_client_timeout_outlasts_the_receive_wait_only_with_a_round_trip() -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
    plain = SQSQueue(queue_url=url, region="eu-west-1")
    probing = SQSQueue(queue_url=url, region="eu-west-1", round_trip_queue_url=url)
    plain.timeout = probing.timeout = 0.75
    assert plain.client_timeout() == 0.75
    assert probing.client_timeout() == 1.75


async def test_round_trip_waits_out_an_empty_receive(emulator: Emulator) -> None:
    # The probe becomes visible only after a second: the first receive comes back empty and
    # the round trip must keep receiving, not give up or trip over the empty answer.
    url, probe = make_queue(emulator), make_queue(emulator, DelaySeconds="1")
    check = sqs(emulator, url, round_trip_queue_url=probe)
    check.timeout = 8.0
    result = await run_check(check, deadline=10.0)
    assert result.status is Status.PASS, result.error
    assert result.observations["roundTrip"].value >= 900


async def test_round_trip_deletes_more_old_probes_than_one_receive_returns(
    emulator: Emulator,
) -> None:
    url, probe = make_queue(emulator), make_queue(emulator)
    client = emulator.client("sqs")
    for i in range(12):
        client.send_message(QueueUrl=probe, MessageBody=f"deep-health-probe:left-over-{i}")
    result = await run_check(sqs(emulator, url, round_trip_queue_url=probe))
    assert result.status is Status.PASS, result.error
    attributes = client.get_queue_attributes(
        QueueUrl=probe,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


async def test_warnings_say_how_far_over_and_observe_in_their_units(emulator: Emulator) -> None:
    url = make_queue(emulator)
    for _ in range(3):
        emulator.client("sqs").send_message(QueueUrl=url, MessageBody="job")
    backlog = await run_check(sqs(emulator, url, max_visible=2))
    assert backlog.error == "CheckWarning: 3 visible messages > 2"
    assert backlog.observations["visibleMessages"] == Observation(3, "messages")
    publish_age(emulator, url, 900.4)
    stale = await run_check(sqs(emulator, url, max_oldest_age=300), deadline=COLD_START)
    assert (stale.status, stale.reason) == (Status.WARN, "stale")
    assert stale.error == "CheckWarning: oldest message is 900s old"
    assert stale.observations["oldestMessageAge"] == Observation(900.4, "s")


async def test_round_trip_is_observed_in_milliseconds(emulator: Emulator) -> None:
    url, probe = make_queue(emulator), make_queue(emulator)
    result = await run_check(sqs(emulator, url, round_trip_queue_url=probe))
    assert result.status is Status.PASS, result.error
    round_trip = result.observations["roundTrip"]
    assert round_trip.unit == "ms"
    assert isinstance(round_trip.value, float)
    assert round_trip.value == round(round_trip.value, 2)
    assert 0 < round_trip.value <= result.duration * 1000


async def test_the_cloudwatch_client_takes_the_region_and_the_configured_timeout(
    emulator: Emulator,
) -> None:
    check = SQSQueue(
        queue_url=make_queue(emulator),
        region="us-west-2",
        endpoint_url=emulator.endpoint,
        max_oldest_age=60,
    )
    check.timeout = 0.35  # as the config sets it, after __init__
    (_, metrics) = check.endpoints()
    assert (metrics.url, metrics.region) == (emulator.endpoint, "us-west-2")
    (queue, _) = check.endpoints()
    assert queue.region == "us-west-2"
    await check.start()
    try:
        assert check.client.meta.region_name == "us-west-2"
        assert check._cloudwatch is not None
        cloudwatch = check._cloudwatch.client
        assert cloudwatch.meta.region_name == "us-west-2"
        assert cloudwatch.meta.config.read_timeout == 0.35
        assert cloudwatch.meta.config.connect_timeout == 0.35
    finally:
        await check.stop()
    assert check._cloudwatch.client is None
    assert check.client is None


async def test_the_age_window_is_utc_whatever_the_hosts_time_zone(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A host (or container) nine hours east of UTC: a naive local "now" would ask CloudWatch
    # for a window hours in the future and never see the queue's age.
    url = make_queue(emulator)
    publish_age(emulator, url, 900)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        result = await run_check(sqs(emulator, url, max_oldest_age=300), deadline=COLD_START)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert (result.status, result.reason) == (Status.WARN, "stale"), result.error


async def test_round_trip_long_polls_instead_of_hammering_the_queue(emulator: Emulator) -> None:
    # The probe becomes visible after a second: receives wait for it (long polling) rather
    # than asking again and again, so a slow queue costs a few requests, not hundreds.
    url, probe = make_queue(emulator), make_queue(emulator, DelaySeconds="1")
    with FaultProxy(emulator.port) as proxy:
        check = SQSQueue(queue_url=url, round_trip_queue_url=probe, endpoint_url=proxy.url)
        check.timeout = 8.0
        await check.start()  # its warm-up run is a round trip too
        try:
            proxy.clear()
            observed = await check.run()
        finally:
            await check.stop()
    assert observed is not None
    assert observed["roundTrip"].value >= 900
    # attributes, send, at most a few receives, delete
    assert proxy.requests <= 12, proxy.requests
