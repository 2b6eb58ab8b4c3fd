"""A team's own AWS check, written as the README shows: a subclass of ``AwsCheck``."""

from __future__ import annotations

from checks import Observations
from checks.aws import AwsCheck, aws_errors


class Orders(AwsCheck):
    name = "orders"
    aws_service = "dynamodb"

    def __init__(
        self, *, table: str, region: str | None = None, endpoint_url: str | None = None
    ) -> None:
        super().__init__(region=region, endpoint_url=endpoint_url)
        self.table = table

    async def run(self) -> Observations:
        with aws_errors():
            described = await self.client.describe_table(TableName=self.table)
        return {"status": described["Table"]["TableStatus"]}
