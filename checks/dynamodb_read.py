"""``dynamodb_read``: a strongly consistent ``GetItem`` of a canary item.

Fails when the item is missing, when an expected attribute differs (a corrupted or
wrong-region item), or with reason ``drained`` when the item has ``drain = true`` (an operator
fails a region over by writing one item, with no new dependency).

Config::

    [[checks]]
    type = "dynamodb_read"
    name = "accounts-table"
    table = "accounts"
    key = { pk = "deep-health-canary" }     # string, number or bool attributes
    expect = { status = "ok" }              # optional
    drain_attribute = "drain"               # optional: this attribute true fails (drained)
    region = "eu-west-1"                    # optional: AWS_REGION otherwise
    endpoint_url = "..."                    # optional: DEEP_HEALTH_AWS_ENDPOINT otherwise

Reason codes: ``missing``, ``drained``, ``mismatch``, and those of :func:`checks.aws.aws_errors`
(``timeout``, ``connection``, ``not_found``, ...).
"""

from __future__ import annotations

import time
from typing import Any

from checks.aws import AwsCheck, aws_errors
from checks.base import Observations
from checks.exceptions import CheckFailed
from checks.result import Observation

__all__ = ["DynamoDBRead"]

Scalar = str | int | float | bool


def _to_attribute(value: Scalar) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    return {"S": value}


def _from_attribute(attribute: dict[str, Any]) -> Any:
    if "BOOL" in attribute:
        return attribute["BOOL"]
    if "N" in attribute:
        number = attribute["N"]
        return float(number) if "." in number else int(number)
    if "S" in attribute:
        return attribute["S"]
    return attribute


class DynamoDBRead(AwsCheck):
    """Reads a canary item with a consistent ``GetItem``."""

    name = "dynamodb"
    aws_service = "dynamodb"

    def __init__(
        self,
        *,
        table: str,
        key: dict[str, Scalar],
        expect: dict[str, Scalar] | None = None,
        drain_attribute: str = "drain",
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        super().__init__(region=region, endpoint_url=endpoint_url)
        self.table = table
        self.key = {name: _to_attribute(value) for name, value in key.items()}
        self.expect = expect or {}
        self.drain_attribute = drain_attribute

    async def run(self) -> Observations:
        started = time.perf_counter()
        with aws_errors():
            response = await self.client.get_item(
                TableName=self.table, Key=self.key, ConsistentRead=True
            )
        latency_ms = (time.perf_counter() - started) * 1000
        item = response.get("Item")
        if item is None:
            raise CheckFailed(f"canary item {self.key} not found in {self.table}", reason="missing")
        values = {name: _from_attribute(attr) for name, attr in item.items()}
        if values.get(self.drain_attribute) is True:
            raise CheckFailed(f"drain set on the canary item of {self.table}", reason="drained")
        for name, expected in self.expect.items():
            if values.get(name) != expected:
                raise CheckFailed(
                    f"attribute {name!r} is {values.get(name)!r}, expected {expected!r}",
                    reason="mismatch",
                )
        return {"latency": Observation(round(latency_ms, 2), "ms")}
