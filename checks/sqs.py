"""``sqs``: ``GetQueueAttributes`` on a queue the application depends on.

Config::

    [[checks]]
    type = "sqs"
    name = "jobs-queue"
    queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
    max_visible = 10000          # optional: more visible messages warns
    region = "eu-west-1"         # optional: AWS_REGION otherwise
"""

from __future__ import annotations

from checks.aws import AwsClient
from checks.base import Check, Endpoint, Observations
from checks.exceptions import CheckWarning
from checks.result import Observation

__all__ = ["SQSQueue"]


class SQSQueue(Check):
    """Reads a queue's attributes; optionally warns on a backlog."""

    name = "sqs"
    timeout = 0.8

    def __init__(
        self,
        *,
        queue_url: str,
        max_visible: int | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.queue_url = queue_url
        self.max_visible = max_visible
        self._aws = AwsClient(
            "sqs",
            region=region,
            endpoint_url=endpoint_url,
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
        )

    async def start(self) -> None:
        await self._aws.open()

    async def stop(self) -> None:
        await self._aws.close()

    async def run(self) -> Observations:
        response = await self._aws.client.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        visible = int(response.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
        if self.max_visible is not None and visible > self.max_visible:
            raise CheckWarning(f"{visible} visible messages > {self.max_visible}", reason="backlog")
        return {"visibleMessages": Observation(visible, "messages")}

    def endpoints(self) -> list[Endpoint]:
        return [self._aws.endpoint()]
