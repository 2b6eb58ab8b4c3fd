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
