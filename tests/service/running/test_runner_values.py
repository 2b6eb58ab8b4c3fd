"""What a check returns or raises, as the runner reports it: observed values that render as JSON
(numbers exact, text bounded) and the reason, status and private text of a raised outcome.

Every check here runs through the service's own runner (:func:`run_check`), so each assertion is
what ``/health`` would say. Written against the runner's surviving mutants (issue 23): each
case names the wrong line it catches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest

from checks import Check, CheckFailed, CheckWarning, Observation, Status
from checks.result import CheckResult
from service.running.runner import _MAX_TEXT, Runner
from service.running.testing import run_check


class Returns(Check):
    """Passes, returning ``observations`` as they are."""

    name = "returns"

    def __init__(self, observations: Any) -> None:
        self.observations = observations

    async def run(self) -> Any:
        return self.observations


class Shown:
    """An object JSON cannot encode, shown by its ``str``."""

    def __str__(self) -> str:
        return "shown"


async def observed(value: object) -> object:
    result = await run_check(Returns({"value": value}))
    assert result.status is Status.PASS, result
    return result.observations["value"].value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.25, 1.25),  # a finite float stays a number (not its text)
        (float("nan"), "nan"),
        (True, True),  # a bool is not an int beyond JSON's exact range
        (1000, 1000),  # well inside the exact range: a number
        (2**53 - 1, 2**53 - 1),  # the largest integer a JSON reader holds exactly
        (2**53, str(2**53)),  # at the bound: text, so no reader rounds it
        (-(2**53), str(-(2**53))),
        ("x" * _MAX_TEXT, "x" * _MAX_TEXT),  # text at the bound is kept whole
        ("y" * (_MAX_TEXT + 1), "y" * _MAX_TEXT),
        (Shown(), "shown"),  # anything else: its text
    ],
    ids=[
        "float",
        "nan",
        "bool",
        "int",
        "2**53-1",
        "2**53",
        "-2**53",
        "text",
        "long-text",
        "object",
    ],
)
async def test_observed_values_are_json_values_exactly(value: object, expected: object) -> None:
    found = await observed(value)
    assert found == expected
    assert type(found) is type(expected)


async def test_nested_data_is_json_text_with_its_odd_parts_as_text() -> None:
    """Nested data is JSON text: non-ASCII kept as it is, an unencodable object as its ``str``,
    and data JSON cannot hold (NaN) as plain text rather than invalid JSON."""
    assert await observed({"city": "Zürich", "thing": [1, Shown()]}) == (
        '{"city": "Zürich", "thing": [1, "shown"]}'
    )
    assert await observed({"lag": float("nan")}) == str({"lag": float("nan")})


@pytest.mark.parametrize(
    ("length", "kept"),
    [(_MAX_TEXT, _MAX_TEXT), (_MAX_TEXT + 1, _MAX_TEXT - 3)],
    ids=["at-the-bound", "over-it"],
)
async def test_nested_text_is_cut_at_the_bound_and_says_so(length: int, kept: int) -> None:
    # ["aaa..."] is the string's length plus 4 characters of JSON.
    text = json.dumps(["a" * (length - 4)])
    assert len(text) == length
    found = await observed(["a" * (length - 4)])
    assert isinstance(found, str)
    if kept == length:
        assert found == text
    else:
        assert found == text[:kept] + "..."
        assert len(found) == _MAX_TEXT


async def test_an_observation_keeps_its_unit() -> None:
    result = await run_check(Returns({"lag": Observation(3, "s")}))
    assert result.observations["lag"] == Observation(3, "s")


class Raises(Check):
    """Raises ``exc``."""

    name = "raises"

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def run(self) -> None:
        raise self.exc


async def outcome(exc: BaseException) -> CheckResult:
    return await run_check(Raises(exc))


class _NamelessMeta(type):
    """A class whose ``__name__`` cannot be read."""

    @property
    def __name__(cls) -> str:  # type: ignore[override]
        raise RuntimeError("no name")


class Nameless(Exception, metaclass=_NamelessMeta):
    pass


class BareWarning(CheckWarning):
    """A warning whose ``__init__`` skips CheckError's: it has no ``reason`` or
    ``observations`` attribute."""

    def __init__(self) -> None:
        Exception.__init__(self, "replica lagging")


class EmptyReason(CheckFailed):
    default_reason = ""


class NumberReason(CheckFailed):
    default_reason = 7  # type: ignore[assignment]


async def test_an_exception_without_text_is_named_alone() -> None:
    result = await outcome(RuntimeError())
    assert (result.status, result.reason, result.error) == (Status.FAIL, "error", "RuntimeError")


async def test_an_exception_whose_type_has_no_readable_name_is_still_described() -> None:
    result = await outcome(Nameless("boom"))
    assert (result.status, result.reason, result.error) == (Status.FAIL, "error", "object: boom")


async def test_a_raised_failure_keeps_its_reason_text_and_observations() -> None:
    result = await outcome(CheckFailed("drained", reason="drained", observations={"lag": 3}))
    assert (result.status, result.reason) == (Status.FAIL, "drained")
    assert result.error == "CheckFailed: drained"
    assert result.observations == {"lag": Observation(3)}


async def test_a_warning_without_checkerror_attributes_still_warns() -> None:
    """A warning class that skipped ``CheckError.__init__`` warns with the default reason and
    its text, not a failure about a missing attribute."""
    result = await outcome(BareWarning())
    assert (result.status, result.reason) == (Status.WARN, "error")
    assert result.error == "BareWarning: replica lagging"
    assert result.observations == {}


@pytest.mark.parametrize("exc", [EmptyReason("no"), NumberReason("no")], ids=["empty", "number"])
async def test_a_reason_that_is_not_a_non_empty_string_reads_error(exc: CheckFailed) -> None:
    result = await outcome(exc)
    assert (result.status, result.reason, result.error) == (
        Status.FAIL,
        "error",
        f"{type(exc).__name__}: no",
    )


async def test_observations_that_are_not_a_mapping_are_dropped_and_the_text_says_why() -> None:
    result = await outcome(CheckFailed("broken", reason="drained", observations=[1, 2]))  # type: ignore[arg-type]
    assert (result.status, result.reason) == (Status.FAIL, "drained")
    assert result.error == (
        "CheckFailed: broken (its observations were dropped: TypeError: run() returned list, "
        "expected a mapping or None)"
    )
    assert result.observations == {}


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


class NotText:
    def __str__(self) -> str:
        return 42  # type: ignore[return-value]


class Long:
    def __init__(self, length: int) -> None:
        self.length = length

    def __str__(self) -> str:
        return "z" * self.length


class NamelessUnprintable(metaclass=_NamelessMeta):
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Unprintable(), "<unprintable Unprintable>"),
        (NotText(), "<unprintable NotText>"),
        (Long(_MAX_TEXT), "z" * _MAX_TEXT),  # at the bound: whole
        (Long(_MAX_TEXT + 1), "z" * (_MAX_TEXT - 3) + "..."),
        (NamelessUnprintable(), "<unprintable>"),
    ],
    ids=["str-raises", "str-not-text", "str-at-bound", "str-long", "nothing-readable"],
)
async def test_an_object_is_shown_by_its_text_whatever_its_str_does(
    value: object, expected: str
) -> None:
    assert await observed(value) == expected


async def test_units_and_names_are_text_and_bounded() -> None:
    result = await run_check(
        Returns(
            {
                "plain": Observation(3),
                "long-unit": Observation(1, "u" * 100),
                "k" * 200: 1,
                7: 2,
            }
        )
    )
    assert result.observations["plain"] == Observation(3, None)
    assert result.observations["long-unit"] == Observation(1, "u" * 64)
    assert result.observations["k" * 128] == Observation(1)
    assert result.observations["7"] == Observation(2)
    assert len(result.observations) == 4


async def test_a_raised_exception_is_logged_by_type_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="deep_health.runner")
    await outcome(RuntimeError("secret-ish detail"))
    assert "check raises raised RuntimeError" in [r.getMessage() for r in caplog.records]
    assert "secret-ish" not in caplog.text


class GlobalOptional(Check):
    """A non-critical global check that passes after a real hop through a thread."""

    name = "global-optional"
    critical = False
    scope = "global"

    async def run(self) -> None:
        await asyncio.to_thread(lambda: None)


async def test_a_run_result_keeps_its_kind_time_and_duration() -> None:
    check = GlobalOptional()
    # A clock far from zero: durations are differences, whatever its origin.
    runner = Runner([check], deadline=1.0, cache_ttl=0.0, clock=lambda: time.monotonic() + 1e6)
    await asyncio.to_thread(runner.start)
    try:
        evaluation = await runner.evaluate()
    finally:
        await asyncio.to_thread(runner.close, 1.0)
    (result,) = evaluation.results
    assert (result.status, result.critical, result.scope) == (Status.PASS, False, "global")
    assert result.time == evaluation.time > 0
    assert isinstance(result.duration, float)
    assert 0 < result.duration <= evaluation.duration < 60
