"""Run a script that imports the Lambda handler in a fresh interpreter, as Lambda loads it: the
config named by ``DEEP_HEALTH_CONFIG``, ``AWS_LAMBDA_FUNCTION_NAME`` set (the handler's Lambda
code paths), the tests' support modules importable; the API Gateway v2 event as ``argv[1]``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["EVENT", "TESTS", "handler_environment", "last_json", "run_handler_script"]

TESTS = Path(__file__).resolve().parents[1]
EVENT = TESTS / "fixtures" / "apigw_v2_health.json"
"""An API Gateway HTTP API (v2) event for ``GET /health``."""


def handler_environment(
    config: Path, extra: Mapping[str, str] | None = None, *, path: Sequence[Path] = ()
) -> dict[str, str]:
    """This environment, plus what a Lambda container of the handler has: its config, its
    function name, and ``path`` then the tests on ``PYTHONPATH``."""
    return {
        **os.environ,
        "DEEP_HEALTH_CONFIG": str(config),
        "AWS_LAMBDA_FUNCTION_NAME": "deep-health-test",
        "PYTHONPATH": os.pathsep.join(str(p) for p in (*path, TESTS)),
        **(extra or {}),
    }


def run_handler_script(
    script: str,
    config: Path,
    *args: str,
    extra: Mapping[str, str] | None = None,
    path: Sequence[Path] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (``python -c``) with :data:`EVENT` then ``args`` as its arguments; raise
    when it fails (its stderr in the error)."""
    return subprocess.run(
        [sys.executable, "-c", script, str(EVENT), *args],
        env=handler_environment(config, extra, path=path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def last_json(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON object a handler script printed last."""
    return json.loads(done.stdout.strip().splitlines()[-1])
