"""``authorizer``: runs the application's own authorization function against golden cases.

Each case gives an input and the expected decision; any mismatch or exception fails. It runs
the deployed code in this region's process with this region's configuration, so it catches a
corrupted deployment package or a region-specific difference that unit tests cannot.

Cases are a JSON array of ``{"name": ..., "input": ..., "expect": ...}``; the function is
called with the input as its one argument and may be ``def`` or ``async def``. A decision
matches when it equals ``expect``, or its ``value`` does (an Enum).

Config::

    [[checks]]
    type = "authorizer"
    name = "authorizer"
    function = "myapp.auth:authorize"               # import path of the function
    cases = "myapp:health/authorizer-cases.json"    # a file, or "package:relative/path"

Reason codes: ``mismatch`` (a wrong decision), ``exception`` (the function raised).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from checks.base import Check, Endpoint, Observations
from checks.exceptions import CheckFailed
from checks.result import Observation
from checks.support import data_path, import_object, load_json

__all__ = ["Authorizer", "data_path", "import_object"]

_NO_VALUE = object()
"""What a decision without a ``value`` has instead: equal to no expected decision (not even
``null``)."""


class Authorizer(Check):
    """Checks the application's authorization decisions against golden cases."""

    name = "authorizer"
    timeout = 0.5

    def __init__(self, *, function: str, cases: str) -> None:
        target = import_object(function)
        if not callable(target):
            raise ValueError(f"{function!r} is not callable")
        self.function: Callable[[Any], Any] = target
        self._is_async = inspect.iscoroutinefunction(target)
        loaded = load_json(cases)
        if not isinstance(loaded, list) or not loaded:
            raise ValueError(f"{cases!r} must hold a non-empty JSON array of cases")
        for i, case in enumerate(loaded):
            if not isinstance(case, dict) or not {"input", "expect"} <= case.keys():
                raise ValueError(f"{cases!r} case {i} needs 'input' and 'expect'")
        self.cases: list[dict[str, Any]] = loaded

    async def _decide(self, request: Any) -> Any:
        if self._is_async:
            return await self.function(request)
        return await asyncio.to_thread(self.function, request)

    async def run(self) -> Observations:
        for i, case in enumerate(self.cases):
            label = case.get("name", f"case {i}")
            try:
                decision = await self._decide(case["input"])
            except Exception as exc:
                raise CheckFailed(
                    f"{label}: the authorizer raised {type(exc).__name__}: {exc}",
                    reason="exception",
                ) from None
            expected = case["expect"]
            if decision != expected and getattr(decision, "value", _NO_VALUE) != expected:
                raise CheckFailed(
                    f"{label}: decided {decision!r}, expected {expected!r}", reason="mismatch"
                )
        return {"cases": Observation(len(self.cases), "cases")}

    def endpoints(self) -> list[Endpoint]:
        """None: it runs the application's code in this process."""
        return []
