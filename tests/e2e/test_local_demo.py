"""``deep-health local``: two demo regions, and every command it prints works as pasted.

The demo runs as a real process; its banner's ``export`` line and commands run in a fresh bash
with a bare PATH, as in another terminal (the venv not activated: ``make run`` does not).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.cli.common import port_free
from service.cli.main import main
from service.demo.local import banner
from support.net import free_port_pair, wait_for_port
from support.process import TESTS

pytestmark = pytest.mark.e2e

BARE_PATH = "/usr/bin:/bin"


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[subprocess.Popen[str], list[str], int]]:
    """The running demo, its banner's lines, and the primary's port."""
    port = free_port_pair()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli.main", "local", "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops"):
                break
        wait_for_port(port, proc=process, timeout=60)
        wait_for_port(port + 1, proc=process, timeout=60)
        yield process, lines, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def pasted(lines: list[str], command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` after the banner's export line, in a fresh bash with a bare PATH."""
    (export,) = [line.strip() for line in lines if line.strip().startswith("export ")]
    return subprocess.run(
        ["bash", "-c", f"{export}\n{command}"],
        env={"HOME": os.environ.get("HOME", "/tmp"), "PATH": BARE_PATH},
        capture_output=True,
        text=True,
        timeout=120,
    )


def commands(lines: list[str]) -> list[str]:
    start = lines.index("then try:") + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("seed your own"))
    return [line.strip().split("   #")[0] for line in lines[start:end]]


def until(predicate: object, timeout: float = 60.0) -> None:
    ends = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < ends, "timed out"
        time.sleep(0.2)


def test_the_demo_serves_two_regions_and_every_printed_command_works_as_pasted(
    demo: tuple[subprocess.Popen[str], list[str], int], tmp_path: Path
) -> None:
    _, lines, port = demo
    primary, secondary = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
    assert f"  primary   {primary}" in lines
    assert f"  secondary {secondary}" in lines
    tried = commands(lines)
    assert f"deep-health status {primary} {secondary}" in tried  # both regions
    assert all("deep-health " not in c or c.startswith(("deep-health", "DEMO_")) for c in tried)
    for command in tried:
        if command.startswith("deep-health status"):
            command += " --once"  # as pasted it refreshes until Ctrl-C
        if "simulate" in command:
            command = f"cd {tmp_path} && {command}"
        done = pasted(lines, command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        if "/health/details" in command:
            assert '"status":"pass"' in done.stdout.replace(" ", "")  # the token was accepted
        if "drain on" in command:
            until(lambda: httpx.get(f"{primary}/health", timeout=5).status_code == 503)
            assert httpx.get(f"{secondary}/health", timeout=5).status_code == 200  # its own
        if "drain off" in command:
            until(lambda: "drain: off" in pasted(lines, tried[-3]).stdout)
    assert (tmp_path / "partial.png").exists()


def test_ctrl_c_stops_the_demo_with_exit_130(
    demo: tuple[subprocess.Popen[str], list[str], int],
) -> None:
    process, _, port = demo
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port + 1}/health", timeout=5)


def test_a_port_in_use_is_said_first_with_the_port_hint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "health.toml"
    config.write_text('[[checks]]\ntype = "support.misbehaving:Passing"\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["local", "--port", str(port)]) == 2
        assert main(["serve", "--port", str(port), "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing started, nothing evaluated, no "try:" lines
    local, serve = captured.err.strip().splitlines()
    assert f"port {port} on 127.0.0.1 (the primary region) is in use" in local
    assert f"PORT={port + 10} make run" in local
    assert f"port {port} on 127.0.0.1 is in use" in serve


def test_a_port_a_stopped_server_left_in_time_wait_is_free_to_serve_again() -> None:
    # Restarting `serve` right after stopping it: the server's side of each closed connection
    # sits in TIME_WAIT on its port. uvicorn can bind there (SO_REUSEADDR); the check said
    # "in use" and exited 2 (it also failed CI's `local` test, whose secondary port an earlier
    # client connection had left in TIME_WAIT).
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server closes first: its side goes to TIME_WAIT
            assert client.recv(1) == b""
    assert port_free("127.0.0.1", port)


def test_a_teams_config_gets_its_own_token_and_no_switch_lines_for_a_memory_store() -> None:
    text = banner(
        endpoint="http://127.0.0.1:5000",
        region="eu-west-1",
        config="mine.toml",
        urls={"primary": "http://127.0.0.1:8000", "secondary": "http://127.0.0.1:8001"},
        token="the-configs-own-token-0123",
        shared_store=False,
        environment={"AWS_REGION": "eu-west-1"},
        own_tables=False,
    )
    assert "DEEP_HEALTH_DETAILS_TOKEN=the-configs-own-token-0123" in text
    assert "switch" not in text
    no_token = banner(
        endpoint="http://127.0.0.1:5000",
        region="eu-west-1",
        config="mine.toml",
        urls={"primary": "http://127.0.0.1:8000", "secondary": "http://127.0.0.1:8001"},
        token=None,
        shared_store=True,
        environment={},
        own_tables=False,
    )
    assert "no details_token in mine.toml: /health/details is off" in no_token
    assert "DEEP_HEALTH_DETAILS_TOKEN" not in no_token
    assert "deep-health switch status --config mine.toml" in no_token
    assert "DEMO_STATE_TABLE=" not in no_token  # a team's config names its own table
