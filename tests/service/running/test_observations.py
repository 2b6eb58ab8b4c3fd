"""Observed values read as JSON in every body: nested data is JSON text, not a Python repr."""

from __future__ import annotations

import json

from checks import Check, Observations
from service.running.testing import run_check


class Nested(Check):
    name = "nested"

    async def run(self) -> Observations:
        return {"shards": {"eu-west-1a": [1, 2], "ok": True, "note": None}, "count": 3}


async def test_a_nested_observation_is_json_text() -> None:
    result = await run_check(Nested())
    value = result.observations["shards"].value
    assert isinstance(value, str)
    assert json.loads(value) == {"eu-west-1a": [1, 2], "ok": True, "note": None}
    assert result.observations["count"].value == 3
