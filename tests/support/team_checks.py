"""A team's own AWS check, written as the docs show: a subclass of ``AwsCheck``."""

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


class OrdersAsReadme(AwsCheck):
    """The docs' example (docs/examples/mypkg/orders.py): ``__init__`` takes ``region`` only."""

    name = "orders-readme"
    aws_service = "dynamodb"

    def __init__(self, *, table: str, region: str | None = None) -> None:
        super().__init__(region=region)
        self.table = table

    async def run(self) -> Observations:
        with aws_errors():
            described = await self.client.describe_table(TableName=self.table)
        return {"status": described["Table"]["TableStatus"]}


class NarrowOrders(OrdersAsReadme):
    """A subclass of a subclass, with neither option in its own ``__init__``."""

    def __init__(self, *, table: str) -> None:
        super().__init__(table=table)
