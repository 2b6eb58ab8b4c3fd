"""``[state]``: validation naming the key, and the ``switch`` command against the emulator."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from checks import ConfigError
from service.cli.main import main
from service.config import Config, parse_config
from service.state.dynamodb import create_table
from service.state.registry import factory
from support.emulator import Emulator


def shared_store(config: Config, *, timeout: float | None = None) -> Any:
    """The store compose would build for ``config``."""
    return factory(config.state.store)(
        config, timeout=config.state.timeout if timeout is None else timeout
    )


# Every configuration needs a check (one without would always report healthy).
CHECK = '[[checks]]\ntype = "support.misbehaving:Passing"\n'

BAD = [
    ("no table", '[state]\nstore = "dynamodb"', "state.table"),
    ("unknown key", '[state]\nstore = "dynamodb"\ntable = "t-1"\nbogus = 1', "state.bogus"),
    ("bad region", '[state]\nstore = "dynamodb"\ntable = "t-1"\nregion = "Mars"', "state.region"),
    ("bad store", '[state]\nstore = "redis"', "state.store"),
    ("bad table name", '[state]\nstore = "dynamodb"\ntable = "a b"', "state.table"),
    ("timeout over the deadline", "[state]\ntimeout = 5", "state.timeout"),
    ("not a table", 'state = "dynamodb"', "state"),
]


@pytest.mark.parametrize(("text", "key"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_state_config_exits_2_naming_the_key(
    text: str, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, environ={})
    assert caught.value.key == key
    path = tmp_path / "health.toml"
    path.write_text(text)
    assert main(["check", "--config", str(path)]) == 2
    assert key in capsys.readouterr().err


def test_defaults_keep_the_state_in_memory_and_name_the_fleet_after_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert shared_store(parse_config(CHECK)) is None
    config = parse_config(
        '[service]\nservice_id = "orders"\n[state]\nstore = "dynamodb"\ntable = "state-t"\n' + CHECK
    )
    store = shared_store(config)
    assert store is not None
    assert (store.table, store.fleet) == ("state-t", "orders#eu-west-1")


def test_switch_needs_a_shared_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "health.toml"
    path.write_text(CHECK)
    assert main(["switch", "hold", "on", "--config", str(path), "--reason", "drill"]) == 2
    assert "state.store" in capsys.readouterr().err


@pytest.mark.integration
def test_switch_records_who_when_why_and_status_shows_them(
    tmp_path: Path, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    table = f"state-{uuid.uuid4().hex[:8]}"
    create_table(emulator.client("dynamodb"), table)
    path = tmp_path / "health.toml"
    path.write_text(
        f'[state]\nstore = "dynamodb"\ntable = "{table}"\nendpoint_url = "{emulator.endpoint}"\n'
        + CHECK
    )
    config = ["--config", str(path)]
    assert main(["switch", "hold", "on", *config]) == 2  # no reason
    assert main(["switch", "hold", "on", *config, "--reason", "failover drill", "--by", "al"]) == 0
    assert main(["switch", "status", *config]) == 0
    out = capsys.readouterr().out
    assert "hold: on by al at " in out
    assert "failover drill" in out
    assert "drain: off (never set)" in out
    assert main(["switch", "hold", "off", *config, "--by", "bo"]) == 0
    assert main(["switch", "status", *config]) == 0
    assert "hold: off by bo" in capsys.readouterr().out


@pytest.mark.integration
def test_switch_exits_1_when_the_store_does_not_answer(
    tmp_path: Path, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "health.toml"
    path.write_text(
        f'[state]\nstore = "dynamodb"\ntable = "absent-table"\n'
        f'endpoint_url = "{emulator.endpoint}"\n' + CHECK
    )
    assert main(["switch", "drain", "on", "--config", str(path), "--reason", "x"]) == 1
    assert "not_found" in capsys.readouterr().err
