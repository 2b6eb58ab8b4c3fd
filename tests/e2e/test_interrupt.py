"""Ctrl-C never reports success, and a command closes what it opened (interrupted or not).

A real ``deep-health`` process, interrupted (SIGINT) while it waits on a state store that
accepts connections and never answers: the command did not finish, so it exits 130, with one
line and no traceback, and no "Unclosed client session" from the store's HTTP client.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.cli.common import EXIT_INTERRUPTED
from service.cli.main import main
from support.emulator import Emulator
from support.process import TESTS

pytestmark = pytest.mark.e2e


@contextmanager
def silent_store() -> Iterator[tuple[str, threading.Event]]:
    """A TCP server that accepts and never answers; the event is set on the first connection."""
    server = socket.create_server(("127.0.0.1", 0))
    connected = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            connected.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", connected
    finally:
        server.close()
        for conn in held:
            conn.close()


def config(tmp_path: Path, endpoint: str, *, table: str = "orders-state") -> Path:
    path = tmp_path / "health.toml"
    path.write_text(
        f'[state]\nstore = "dynamodb"\ntable = "{table}"\nregion = "eu-west-1"\n'
        f'endpoint_url = "{endpoint}"\ntimeout = 1.5\n'
        '[[checks]]\ntype = "support.misbehaving:Passing"\n'
    )
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["switch", "drain", "on", "--reason", "bad deploy"],
        ["switch", "status"],
        ["check"],
    ],
    ids=["switch-drain-on", "switch-status", "check"],
)
def test_ctrl_c_while_the_store_hangs_exits_130_and_closes_the_client(
    argv: list[str], tmp_path: Path
) -> None:
    with silent_store() as (endpoint, connected):
        env = {
            **os.environ,
            "PYTHONPATH": str(TESTS),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service.cli.main",
                *argv,
                "--config",
                str(config(tmp_path, endpoint)),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert connected.wait(timeout=60), "the command never reached the store"
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == EXIT_INTERRUPTED, (out, err)
    assert "Traceback" not in err
    assert "Unclosed" not in err
    assert err.strip().splitlines()[-1] == "deep-health: interrupted"


def test_an_interrupted_command_never_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import service.cli.switch

    def interrupted(*_: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(service.cli.switch, "run_switch", interrupted)
    assert main(["switch", "drain", "on", "--reason", "x"]) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err


def test_check_with_the_dynamodb_store_closes_its_client(
    tmp_path: Path, emulator: Emulator
) -> None:
    from service.state.dynamodb import create_table

    table = f"check-closes-{os.getpid()}"
    create_table(emulator.client("dynamodb"), table)
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli.main",
            "check",
            "--config",
            str(config(tmp_path, emulator.endpoint, table=table)),
        ],
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert "Unclosed" not in process.stderr
