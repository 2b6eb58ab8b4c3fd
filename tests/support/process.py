"""A real deep-health process (``deep-health serve``) on 127.0.0.1, stopped by PID."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from support.net import free_port, wait_for_port

TESTS = Path(__file__).resolve().parent.parent


@contextmanager
def serve(
    config: Path,
    env: Mapping[str, str] | None = None,
    *,
    stdout: int = subprocess.DEVNULL,
    log_level: str = "warning",
) -> Iterator[str]:
    """Run ``deep-health serve`` with ``config``; yield its base URL.

    ``stdout=subprocess.PIPE`` gives it a pipe nobody reads (a stalled log agent).
    """
    port = free_port()
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(TESTS), environment.get("PYTHONPATH", "")])
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli.main",
            "serve",
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            log_level,
        ],
        env=environment,
        stdout=stdout,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=10)
        for stream in (process.stderr, process.stdout):
            if stream is not None:
                stream.close()
