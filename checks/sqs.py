"""``sqs``: ``GetQueueAttributes`` on a queue the application depends on.

Optionally warns on a backlog (visible messages, age of the oldest message) and proves the
queue works end to end with a round trip: send a probe message to a dedicated queue, receive
it, delete it; the check fails if it does not come back within the timeout.

SQS has no queue attribute for the oldest message's age: ``max_oldest_age`` reads the
``AWS/SQS`` ``ApproximateAgeOfOldestMessage`` metric from the region's CloudWatch (a second
regional endpoint, used only when the option is set; the metric lags by a minute or so).

Config::

    [[checks]]
    type = "sqs"
    name = "jobs-queue"
    queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
    max_visible = 10000          # optional: more visible messages warns (backlog)
    max_oldest_age = 300         # optional: seconds; an older oldest message warns (stale)
    round_trip_queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/probe"  # optional
    region = "eu-west-1"         # optional: AWS_REGION otherwise
"""

from __future__ import annotations

import datetime
import time
import uuid

from checks.aws import AwsCheck, aws_errors
from checks.aws_client import AwsClient
from checks.base import Endpoint, Observations
from checks.exceptions import CheckWarning
from checks.result import Observation

__all__ = ["SQSQueue"]

_PROBE_PREFIX = "deep-health-probe:"
_AGE_WINDOW = datetime.timedelta(minutes=5)


class SQSQueue(AwsCheck):
    """Reads a queue's attributes; optionally warns on a backlog and makes a round trip."""

    name = "sqs"
    aws_service = "sqs"

    def __init__(
        self,
        *,
        queue_url: str,
        max_visible: int | None = None,
        max_oldest_age: float | None = None,
        round_trip_queue_url: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        super().__init__(region=region, endpoint_url=endpoint_url)
        self.queue_url = queue_url
        self.max_visible = max_visible
        self.max_oldest_age = max_oldest_age
        self.round_trip_queue_url = round_trip_queue_url
        self._cloudwatch: AwsClient | None = None
        if max_oldest_age is not None:
            self._cloudwatch = AwsClient(
                "cloudwatch",
                region=region,
                endpoint_url=endpoint_url,
                connect_timeout=self.timeout,
                read_timeout=self.timeout,
            )

    def client_timeout(self) -> float:
        # A receive waits up to 1 s for the probe: the read timeout must outlast that wait, and
        # the runner's timeout (the check's), not botocore's, ends a probe that never returns.
        return self.timeout + (1.0 if self.round_trip_queue_url else 0.0)

    async def start(self) -> None:
        await super().start()
        if self._cloudwatch is not None:
            await self._cloudwatch.open(timeout=self.timeout)

    async def stop(self) -> None:
        await super().stop()
        if self._cloudwatch is not None:
            await self._cloudwatch.close()

    async def run(self) -> Observations:
        with aws_errors():
            response = await self.client.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            visible = int(response.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
            observations: dict[str, Observation] = {
                "visibleMessages": Observation(visible, "messages")
            }
            if self.round_trip_queue_url:
                observations["roundTrip"] = Observation(await self._round_trip(), "ms")
            age = await self._oldest_age() if self._cloudwatch is not None else None
        if age is not None:
            observations["oldestMessageAge"] = Observation(age, "s")
        # A warning keeps what was measured: the backlog's size is the point of the warning.
        if self.max_visible is not None and visible > self.max_visible:
            raise CheckWarning(
                f"{visible} visible messages > {self.max_visible}",
                reason="backlog",
                observations=observations,
            )
        if self.max_oldest_age is not None and age is not None and age > self.max_oldest_age:
            raise CheckWarning(
                f"oldest message is {age:.0f}s old", reason="stale", observations=observations
            )
        return observations

    async def _round_trip(self) -> float:
        """Send, receive and delete a probe; milliseconds. Leftovers of older probes go too."""
        client, url = self.client, self.round_trip_queue_url
        body = f"{_PROBE_PREFIX}{uuid.uuid4()}"
        started = time.perf_counter()
        await client.send_message(QueueUrl=url, MessageBody=body)
        while True:
            received = await client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            found = False
            for message in received.get("Messages", []):
                if message.get("Body", "").startswith(_PROBE_PREFIX):
                    await client.delete_message(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]
                    )
                    found = found or message["Body"] == body
            if found:
                return round((time.perf_counter() - started) * 1000, 2)

    async def _oldest_age(self) -> float | None:
        """The latest ``ApproximateAgeOfOldestMessage`` (seconds), ``None`` without data."""
        assert self._cloudwatch is not None
        now = datetime.datetime.now(datetime.UTC)
        response = await self._cloudwatch.client.get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": self.queue_url.rstrip("/").split("/")[-1]}],
            StartTime=now - _AGE_WINDOW,
            EndTime=now + datetime.timedelta(minutes=1),
            Period=60,
            Statistics=["Maximum"],
        )
        points = sorted(response.get("Datapoints", []), key=lambda p: p["Timestamp"])
        return float(points[-1]["Maximum"]) if points else None

    def endpoints(self) -> list[Endpoint]:
        found = super().endpoints()
        if self._cloudwatch is not None:
            found.append(self._cloudwatch.endpoint())
        return found
