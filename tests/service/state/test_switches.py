"""Operator switches: sources, release, reasons, strict values and unreadable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks import ConfigError
from service.cli.main import main
from service.state.switches import Switches, SwitchState


@pytest.mark.parametrize(
    ("value", "on"),
    [
        ("1", True), ("yes", True), ("true", True), ("ON", True), (" on ", True),
        ("0", False), ("false", False), ("no", False), ("Off", False), ("", False),
    ],
)  # fmt: skip
def test_env_switch(value: str, on: bool) -> None:
    state = Switches(environ={"DEEP_HEALTH_DRAIN": value, "DEEP_HEALTH_HOLD": value}).read()
    assert (state.drained is not None, state.held is not None) == (on, on)


@pytest.mark.parametrize("value", ["disabled", "none", "n", "ture", "2"])
@pytest.mark.parametrize("name", ["DEEP_HEALTH_DRAIN", "DEEP_HEALTH_HOLD"])
def test_any_other_env_value_is_a_configuration_error_naming_the_variable(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Switches(environ={name: value})
    assert caught.value.key == name


def test_check_exits_2_on_a_bad_switch_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "health.toml"
    path.write_text('[[checks]]\ntype = "support.misbehaving:Passing"\n')
    monkeypatch.setenv("DEEP_HEALTH_DRAIN", "disabled")
    assert main(["check", "--config", str(path)]) == 2
    assert "DEEP_HEALTH_DRAIN" in capsys.readouterr().err


def test_file_switch_flips_with_the_file(tmp_path: Path) -> None:
    drain = tmp_path / "drain"
    switches = Switches(drain_file=str(drain), environ={})
    assert switches.read() == SwitchState()
    drain.touch()
    assert switches.read().drained == f"file {drain}"
    drain.unlink()
    assert switches.read().drained is None


def test_a_file_that_cannot_be_checked_keeps_the_last_state_with_a_reason(
    tmp_path: Path,
) -> None:
    too_long = tmp_path / ("d" * 300)  # ENAMETOOLONG on every file system here
    switches = Switches(drain_file=str(too_long), hold_file=str(too_long), environ={})
    state = switches.read()  # raises nothing
    assert (state.drained, state.held) == (None, None)
    assert state.reasons() == (
        "drain file unreadable (ENAMETOOLONG): keeping its last known state (off)",
        "hold file unreadable (ENAMETOOLONG): keeping its last known state (off)",
    )


def test_a_drain_file_that_becomes_uncheckable_keeps_a_drain_on(tmp_path: Path) -> None:
    """A path that cannot be checked any more (here its directory turns into a symlink loop:
    ELOOP, which root gets too, unlike a permission) releases nothing."""
    mount = tmp_path / "mount"
    mount.mkdir()
    drain = mount / "drain"
    drain.touch()
    switches = Switches(drain_file=str(drain), environ={})
    assert switches.read().drained == f"file {drain}"
    drain.unlink()
    mount.rmdir()
    mount.symlink_to(mount)  # every lookup through it fails with ELOOP
    state = switches.read()
    assert state.drained == f"file {drain}"  # still drained: a broken mount releases nothing
    assert state.reasons() == (
        f"drained by operator (file {drain})",
        "drain file unreadable (ELOOP): keeping its last known state (on)",
    )
    mount.unlink()
    mount.mkdir()  # checkable again, and the file is gone: released
    assert switches.read() == SwitchState()


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


def test_an_error_without_an_errno_is_named_by_its_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError a file system layer raises without an errno still says what it was."""

    def broken(file: Path) -> bool:
        raise OSError("stale handle")

    monkeypatch.setattr("service.state.switches._exists", broken)
    switches = Switches(hold_file=str(tmp_path / "hold"), environ={})
    assert switches.read().reasons() == (
        "hold file unreadable (OSError): keeping its last known state (off)",
    )


def test_a_bad_switch_value_says_what_would_be_on_and_off() -> None:
    with pytest.raises(ConfigError) as caught:
        Switches(environ={"DEEP_HEALTH_HOLD": "disabled"})
    assert caught.value.message == (
        "'disabled' is neither on (1, true, yes, on) nor off (0, false, no, off, empty)"
    )


@pytest.mark.parametrize("name", ["DEEP_HEALTH_HOLD", "DEEP_HEALTH_DRAIN"])
def test_an_env_switch_beside_a_shared_store_warns_that_it_is_this_process_only(
    caplog: pytest.LogCaptureFixture, name: str
) -> None:
    """The variable holds one process; the region's other instances answer without it."""
    from service.state.fleet import FleetState
    from service.state.memory import MemoryStore
    from service.state.tracking import FleetTracker

    switches = Switches(environ={name: "1"})
    assert switches.from_environment() == (name,)
    FleetTracker(FleetState(None, window=10.0), None, switches)
    assert not caplog.records  # one process by design: nothing to warn about
    FleetTracker(FleetState(MemoryStore(window=10.0), window=10.0), None, switches)
    (record,) = caplog.records
    word = "hold" if name.endswith("HOLD") else "drain"
    assert record.getMessage().startswith(f"{name} applies to this process only")
    assert f"`deep-health switch {word} on`" in record.getMessage()
