"""authorizer: the demo application's real authorize() against its golden cases."""

from __future__ import annotations

import enum
import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from checks import ConfigError, Observation, Status
from checks.authorizer import Authorizer
from service.config import parse_config
from service.running.testing import run_check

DEMO = Path(__file__).parents[2] / "service" / "demo" / "app"
FUNCTION = "service.demo.app.authz:authorize"
CASES = "service.demo.app:golden/authorizer.json"


def write_cases(tmp_path: Path, cases: list[dict[str, Any]]) -> str:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    return str(path)


def golden() -> list[dict[str, Any]]:
    return list(json.loads((DEMO / "golden" / "authorizer.json").read_text(encoding="utf-8")))


async def test_golden_cases_pass() -> None:
    result = await run_check(Authorizer(function=FUNCTION, cases=CASES))
    assert result.status is Status.PASS, result.error
    assert result.observations["cases"].value == len(golden())


async def test_wrong_expected_decision_fails_as_mismatch(tmp_path: Path) -> None:
    cases = golden()
    cases[3]["expect"] = "allow"  # viewer-cannot-write
    result = await run_check(Authorizer(function=FUNCTION, cases=write_cases(tmp_path, cases)))
    assert (result.status, result.reason) == (Status.FAIL, "mismatch")
    assert "viewer-cannot-write" in (result.error or "")


async def test_corrupted_deployment_of_the_authorizer_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deploy where the editor role lost its write grant: the golden cases catch it."""
    source = (DEMO / "authz.py").read_text(encoding="utf-8")
    damaged = source.replace(
        '"editor": frozenset({"read", "write"})', '"editor": frozenset({"read"})'
    )
    assert damaged != source
    module = f"damaged_authz_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(damaged, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = await run_check(Authorizer(function=f"{module}:authorize", cases=CASES))
    assert (result.status, result.reason) == (Status.FAIL, "mismatch")
    assert "editor-writes" in (result.error or "")


async def test_authorizer_that_raises_fails_as_exception(tmp_path: Path) -> None:
    cases = [*golden(), {"name": "malformed", "input": {"user": {}}, "expect": "deny"}]
    result = await run_check(Authorizer(function=FUNCTION, cases=write_cases(tmp_path, cases)))
    assert (result.status, result.reason) == (Status.FAIL, "exception")
    assert "KeyError" in (result.error or "")


async def async_authorize(request: dict[str, Any]) -> str:
    return "allow" if request.get("ok") else "deny"


async def test_async_function_is_awaited(tmp_path: Path) -> None:
    cases = [{"input": {"ok": True}, "expect": "allow"}, {"input": {}, "expect": "deny"}]
    check = Authorizer(function=f"{__name__}:async_authorize", cases=write_cases(tmp_path, cases))
    assert (await run_check(check)).status is Status.PASS


@pytest.mark.parametrize(
    ("function", "cases", "message"),
    [
        ("service.demo.app.authz:nope", CASES, "no attribute"),
        ("no_such_module_xyz:f", CASES, "cannot import"),
        ("service.demo.app.authz", CASES, "import path"),
        (FUNCTION, "/nonexistent/cases.json", "cannot read"),
    ],
)
def test_bad_options_are_configuration_errors(function: str, cases: str, message: str) -> None:
    text = f'[[checks]]\ntype = "authorizer"\nfunction = "{function}"\ncases = "{cases}"\n'
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_corrupted_cases_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "cases.json"
    path.write_text('[{"input": {}, "expect": "al', encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        Authorizer(function=FUNCTION, cases=str(path))


def test_declares_no_network_endpoints() -> None:
    assert Authorizer(function=FUNCTION, cases=CASES).endpoints() == []


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"


def enum_authorize(request: dict[str, Any]) -> Decision:
    return Decision.ALLOW if request.get("ok") else Decision.DENY


def no_decision(request: dict[str, Any]) -> str:
    return "deny"


THREADS: list[threading.Thread] = []


def thread_recording_authorize(request: dict[str, Any]) -> str:
    THREADS.append(threading.current_thread())
    return "allow"


def raises_bare(request: dict[str, Any]) -> str:
    raise PermissionError("no")


async def test_an_enum_decision_matches_its_value(tmp_path: Path) -> None:
    cases = [{"input": {"ok": True}, "expect": "allow"}, {"input": {}, "expect": "deny"}]
    check = Authorizer(function=f"{__name__}:enum_authorize", cases=write_cases(tmp_path, cases))
    result = await run_check(check)
    assert result.status is Status.PASS, result.error
    assert result.observations["cases"] == Observation(2, "cases")
    wrong = [{"input": {"ok": True}, "expect": "deny"}]
    check = Authorizer(function=f"{__name__}:enum_authorize", cases=write_cases(tmp_path, wrong))
    result = await run_check(check)
    assert (result.status, result.reason) == (Status.FAIL, "mismatch")
    assert result.error == "CheckFailed: case 0: decided <Decision.ALLOW: 'allow'>, expected 'deny'"


async def test_a_case_expecting_null_is_not_matched_by_any_decision(tmp_path: Path) -> None:
    # "deny" has no `.value`: that absence must not count as a decision equal to null.
    cases = [{"name": "none-expected", "input": {}, "expect": None}]
    check = Authorizer(function=f"{__name__}:no_decision", cases=write_cases(tmp_path, cases))
    result = await run_check(check)
    assert (result.status, result.reason) == (Status.FAIL, "mismatch")
    assert result.error == "CheckFailed: none-expected: decided 'deny', expected None"


async def test_an_unnamed_case_is_named_by_its_position(tmp_path: Path) -> None:
    cases = [{"input": {}, "expect": "deny"}, {"input": {}, "expect": "allow"}]
    check = Authorizer(function=f"{__name__}:no_decision", cases=write_cases(tmp_path, cases))
    result = await run_check(check)
    assert result.error == "CheckFailed: case 1: decided 'deny', expected 'allow'"


async def test_an_exception_is_named_with_its_case_and_type(tmp_path: Path) -> None:
    cases = [{"name": "first", "input": {}, "expect": "deny"}]
    check = Authorizer(function=f"{__name__}:raises_bare", cases=write_cases(tmp_path, cases))
    result = await run_check(check)
    assert (result.status, result.reason) == (Status.FAIL, "exception")
    assert result.error == "CheckFailed: first: the authorizer raised PermissionError: no"


async def test_a_plain_function_runs_in_a_worker_thread(tmp_path: Path) -> None:
    cases = [{"input": {}, "expect": "allow"}]
    check = Authorizer(
        function=f"{__name__}:thread_recording_authorize", cases=write_cases(tmp_path, cases)
    )
    THREADS.clear()
    decided = await check.run()
    assert decided == {"cases": Observation(1, "cases")}
    assert len(THREADS) == 1
    assert THREADS[0] is not threading.current_thread()


def test_the_function_must_be_callable() -> None:
    with pytest.raises(ValueError, match=r"^'service.demo.app.authz:__all__' is not callable$"):
        Authorizer(function="service.demo.app.authz:__all__", cases=CASES)


@pytest.mark.parametrize(
    ("cases", "message"),
    [
        pytest.param([], "must hold a non-empty JSON array of cases", id="empty"),
        pytest.param({"input": {}, "expect": "x"}, "must hold a non-empty", id="object"),
        pytest.param(
            [{"input": {}, "expect": "x"}, ["input"]],
            "case 1 needs 'input' and 'expect'",
            id="list",
        ),
        pytest.param(
            [{"input": {}, "expect": "x"}, {"expect": "x"}], "case 1 needs", id="no-input"
        ),
        pytest.param([{"input": {}}], "case 0 needs 'input' and 'expect'", id="no-expect"),
    ],
)
def test_cases_must_be_a_non_empty_array_of_input_and_expect(
    tmp_path: Path, cases: object, message: str
) -> None:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{re.escape(repr(str(path)))} {re.escape(message)}"):
        Authorizer(function=FUNCTION, cases=str(path))
