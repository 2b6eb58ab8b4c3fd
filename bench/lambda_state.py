"""What reading the fleet's state at init costs a Lambda cold start, and a warm invocation.

Run: ``python -m bench.lambda_state [--runs 7]``.

The shipped function (``service.faces.lambda_handler`` with ``deploy/health.lambda.toml``)
against a local moto server, run from this checkout's environment (not a built package: see
``bench.coldstart`` for those), each cold start in a fresh interpreter pinned to one core, twice
per round: with the fleet's state in the DynamoDB table (init opens the store's client and reads
the fleet's latch and switches, :func:`service.faces.lambda_handler.read_fleet_state`) and in
memory (``DEEP_HEALTH_STATE_STORE=memory``: no store at all). Printed: CPU time per step (all
threads, ``getrusage``), medians, and the estimate at 1,024 MB (CPU x 1769 / 1024, as
``bench.coldstart`` explains), then the difference the store makes; CPU time hardly changes
when other processes share the machine, wall time does.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from typing import Any

from bench._common import ROOT, median, table
from bench.coldstart import CHILD, EVENT, ONE_VCPU_MB, _emulator, _steps

MEMORY_MB = 1024
VARIANTS = {"dynamodb": {}, "memory": {"DEEP_HEALTH_STATE_STORE": "memory"}}


def once(env: dict[str, str]) -> dict[str, Any]:
    """One cold start (and a warm invocation after a SnapStart restore) of this checkout."""
    import json

    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    done = subprocess.run(
        [*pin, sys.executable, "-c", CHILD, str(EVENT), repr(time.time()), "whole"],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"the child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    emulator, env = _emulator()
    try:
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
        for round_ in range(args.runs):
            order = list(VARIANTS) if round_ % 2 == 0 else list(reversed(VARIANTS))
            for name in order:
                results[name].append(once({**env, **VARIANTS[name]}))
    finally:
        emulator.stop()
    scale = ONE_VCPU_MB / MEMORY_MB
    names = [step for step, _, _ in _steps(results["dynamodb"][0])]
    per: dict[str, dict[str, float]] = {
        variant: {step: median([_steps(r)[i][1] for r in runs]) for i, step in enumerate(names)}
        for variant, runs in results.items()
    }
    rows = [
        [
            step,
            *(f"{per[v][step] * 1000:.0f}" for v in VARIANTS),
            *(f"{per[v][step] * scale * 1000:.0f}" for v in VARIANTS),
        ]
        for step in names
    ]
    header = ["step", *(f"{v} CPU ms" for v in VARIANTS)]
    header += [f"{v} at {MEMORY_MB} MB ms" for v in VARIANTS]
    print(table(header, rows))
    init = "deep-health init (config, checks, clients)"
    extra = per["dynamodb"][init] - per["memory"][init]
    codes = {v: sorted({tuple(r["codes"]) for r in runs}) for v, runs in results.items()}
    print(
        f"\nreading the fleet's state at init: +{extra * 1000:.0f} ms CPU"
        f" (~{extra * scale * 1000:.0f} ms at {MEMORY_MB} MB), medians of {args.runs} runs;"
        f" answers (first, after restore): {codes}"
    )


if __name__ == "__main__":
    main()
