"""Logs and EMF never wait on stdout: a bounded queue, dropped lines counted."""

from __future__ import annotations

import io
import subprocess
import threading
from pathlib import Path

import httpx

from service.listeners.stdout import LineWriter, dropped_lines
from support.process import serve


class StalledStream(io.StringIO):
    """A stream whose writes block until released: a log agent that stopped reading."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def write(self, text: str) -> int:
        self.release.wait(timeout=30)
        return super().write(text)


def test_writes_never_block_and_overflow_is_counted() -> None:
    stream = StalledStream()
    writer = LineWriter(stream, capacity=5)
    before = dropped_lines()
    accepted = [writer.write(f"line {i}\n") for i in range(20)]  # returns at once, stalled or not
    # One is taken by the (blocked) writer thread at most, five are queued, the rest dropped.
    assert accepted.count(True) <= 6
    assert dropped_lines() - before >= 14
    stream.release.set()
    assert writer.flush(timeout=10)
    assert stream.getvalue().startswith("line 0\n")


def test_a_broken_stream_loses_lines_without_raising() -> None:
    stream = io.StringIO()
    stream.close()
    writer = LineWriter(stream)
    before = dropped_lines()
    assert writer.write("lost\n")
    assert writer.flush(timeout=10)
    assert dropped_lines() == before + 1


def test_serve_answers_while_nobody_reads_its_stdout(tmp_path: Path) -> None:
    # 20 checks, EMF and debug logs: each evaluation writes ~10 KB, so the unread 64 KiB pipe is
    # full after a handful; the server must keep answering (and evaluating) anyway.
    checks = "".join(
        f'[[checks]]\ntype = "support.misbehaving:Passing"\nname = "c{i}"\n' for i in range(20)
    )
    config = tmp_path / "health.toml"
    config.write_text(
        '[service]\nmode = "background"\ninterval = 0.02\ndeadline = 0.5\nemf = true\n'
        "[failover]\nenabled = false\n" + checks
    )
    with (
        serve(config, stdout=subprocess.PIPE, log_level="debug") as url,
        httpx.Client(timeout=10) as http,
    ):
        evaluations = 0.0
        for _ in range(2000):  # bounded: until 60 evaluations (~600 KB of output) have run
            assert http.get(f"{url}/livez").status_code == 200
            assert http.get(f"{url}/health").status_code == 200
            metrics = http.get(f"{url}/metrics").text
            evaluations = sum(
                float(line.rsplit(" ", 1)[1])
                for line in metrics.splitlines()
                if line.startswith("deep_health_evaluations_total{")
            )
            if evaluations >= 60:
                break
        assert evaluations >= 60
        assert "deep_health_log_lines_dropped_total" in metrics
