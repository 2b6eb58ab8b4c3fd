"""Server processes for the benchmarks, on 127.0.0.1, whose PID we keep (for RSS and CPU).

``support.process.serve`` yields only a URL; this runs the same ``deep-health serve`` command
line and also the baselines, and stops each by its own PID.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench._common import ROOT  # puts tests/ on sys.path, for support.net below
from support.net import free_port, wait_for_port

__all__ = ["Server", "bare", "constant", "cpu_seconds", "deep_health", "rss_mb"]

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Server:
    pid: int
    port: int


def rss_mb(pid: int) -> float:
    """Resident set size (``VmRSS``) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _TICK


@contextmanager
def _launch(*args: str) -> Iterator[Server]:
    port = free_port()
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT / "tests"), str(ROOT), environment.get("PYTHONPATH", "")])
    )
    # stderr to a file, not a pipe: a chatty server (a flaky check logs every transition)
    # would otherwise block once the unread pipe fills.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, *args, "--port", str(port)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            try:
                wait_for_port(port, proc=process)
            except (RuntimeError, TimeoutError):
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace")[-4000:])
                raise
            yield Server(process.pid, port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def deep_health(config: Path) -> AbstractContextManager[Server]:
    """``deep-health serve`` exactly as :func:`support.process.serve` runs it."""
    return _launch(
        "-m", "service.cli.main", "serve", "--config", str(config), "--host", "127.0.0.1",
        "--log-level", "warning",
    )  # fmt: skip


def bare() -> AbstractContextManager[Server]:
    """The baseline: a FastAPI route returning a constant, under the same uvicorn settings."""
    return _launch("-m", "bench.bare_app")


def constant() -> AbstractContextManager[Server]:
    """An asyncio server answering constant bytes: the load client's ceiling."""
    return _launch("-m", "bench._load", "constant")
