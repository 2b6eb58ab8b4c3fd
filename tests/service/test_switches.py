"""Operator switches: sources, release, and reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.switches import Switches, SwitchState


@pytest.mark.parametrize(
    ("value", "on"), [("1", True), ("yes", True), ("0", False), ("false", False), ("", False)]
)
def test_env_switch(value: str, on: bool) -> None:
    state = Switches(environ={"DEEP_HEALTH_DRAIN": value, "DEEP_HEALTH_HOLD": value}).read()
    assert (state.drained is not None, state.held is not None) == (on, on)


def test_file_switch_flips_with_the_file(tmp_path: Path) -> None:
    drain = tmp_path / "drain"
    switches = Switches(drain_file=str(drain), environ={})
    assert switches.read() == SwitchState()
    drain.touch()
    assert switches.read().drained == f"file {drain}"
    drain.unlink()
    assert switches.read().drained is None


def test_reasons_name_the_source() -> None:
    state = SwitchState(drained="env DEEP_HEALTH_DRAIN", held="file /run/hold")
    assert state.reasons() == (
        "drained by operator (env DEEP_HEALTH_DRAIN)",
        "hold engaged (file /run/hold): stays failed over until released",
    )


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


@pytest.mark.parametrize(
    ("value", "on"),
    [
        pytest.param(" OFF ", False, id="off-any-case-and-spaces"),
        pytest.param("No", False, id="no"),
        pytest.param("FALSE", False, id="false-upper"),
        pytest.param("  ", False, id="blank"),
        pytest.param("true", True, id="true"),
        pytest.param("drain", True, id="any-other-word"),
    ],
)
def test_env_values_that_switch_on_and_off(value: str, on: bool) -> None:
    drain_only = Switches(environ={"DEEP_HEALTH_DRAIN": value}).read()
    assert drain_only.drained == ("env DEEP_HEALTH_DRAIN" if on else None)
    assert drain_only.held is None
    hold_only = Switches(environ={"DEEP_HEALTH_HOLD": value}).read()
    assert hold_only.held == ("env DEEP_HEALTH_HOLD" if on else None)
    assert hold_only.drained is None


def test_hold_file_flips_with_the_file_and_names_it(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    switches = Switches(hold_file=str(hold), drain_file=str(tmp_path / "drain"), environ={})
    assert switches.read() == SwitchState()
    hold.touch()
    assert switches.read() == SwitchState(held=f"file {hold}")


def test_the_environment_wins_over_the_file_as_the_source(tmp_path: Path) -> None:
    drain = tmp_path / "drain"
    drain.touch()
    switches = Switches(drain_file=str(drain), environ={"DEEP_HEALTH_DRAIN": "1"})
    assert switches.read().drained == "env DEEP_HEALTH_DRAIN"


def test_no_file_configured_never_drains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty path is no file, not the current directory (which always exists).
    monkeypatch.chdir(tmp_path)
    switches = Switches(drain_file="", hold_file=None, environ={})
    assert switches.read() == SwitchState()


def test_environment_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEP_HEALTH_HOLD", "1")
    monkeypatch.delenv("DEEP_HEALTH_DRAIN", raising=False)
    assert Switches().read() == SwitchState(held="env DEEP_HEALTH_HOLD")


def test_reasons_are_empty_when_off_and_one_each_when_on() -> None:
    assert SwitchState().reasons() == ()
    assert SwitchState(held="env X").reasons() == (
        "hold engaged (env X): stays failed over until released",
    )
    assert SwitchState(drained="env X").reasons() == ("drained by operator (env X)",)
