"""A team's seeding hook for ``deep-health local --seed support.seeds:create``."""

from __future__ import annotations

from typing import Any

TABLE = "team-orders"


def create(aws: Any) -> None:
    """Create the team's canary table and item on the emulator."""
    dynamodb = aws.client("dynamodb")
    if TABLE not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "canary"}, "status": {"S": "ok"}})
