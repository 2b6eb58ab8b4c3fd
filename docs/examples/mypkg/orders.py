"""A check that calls AWS: the orders table exists and answers, in this region."""

from __future__ import annotations

from checks import Observations
from checks.aws import AwsCheck, aws_errors


class Orders(AwsCheck):
    name = "orders"
    aws_service = "dynamodb"  # the botocore service name

    def __init__(self, *, table: str, region: str | None = None) -> None:
        super().__init__(region=region)
        self.table = table

    async def run(self) -> Observations:
        with aws_errors():  # timeout, connection, not_found, access_denied, throttled, ...
            await self.client.describe_table(TableName=self.table)
        return None
