"""Cold start as Lambda sees it: CPU time on one core, scaled to the function's CPU share.

Run: ``python -m bench.coldstart [--runs 7] [--arm64]``.

A Lambda function gets CPU in proportion to its memory: 1,769 MB is one vCPU (AWS Lambda
Developer Guide, "Configure Lambda function memory"). Init is mostly CPU (reading and
executing modules), so this bench measures each step's CPU time (user + system, from the
process's own ``getrusage``, every thread included) in a fresh interpreter pinned to one core
(``taskset -c 0``), and estimates a function of M MB as ``CPU x 1769 / M``, taking one core
of this machine for one Lambda vCPU. CPU time, unlike wall time, hardly changes when other
processes share the machine, so the estimate holds on a busy host; wall times are printed
beside it.

The function is the shipped one: ``service.faces.lambda_handler`` with ``deploy/health.lambda.toml``
(a ``dynamodb_read`` and an ``sqs`` check) against a local moto server (real HTTP, no TLS), in
packages built the way ``python -m deploy`` builds them, for this machine's Python:

- ``full``: the project with every runtime dependency (the build before ``deploy.package``);
- ``lean``: after ``deploy.package --config`` with that config (only what its checks import),
  bytecode kept;
- ``lean, no .pyc``: the same without bytecode, which is what Lambda runs when the package was
  built by another Python than the runtime's (``/var/task`` is read-only: nothing is cached).

To time pydantic, the AWS SDK and deep-health's modules apart, those three runs import them
before the handler, so they miss what the handler sets up first (its collector pause, see
``service.faces.lambda_handler``); ``lean, one import`` runs the lean package as Lambda does, the
handler's import doing all of it: its estimate is the one to read.

Each interpreter runs ``-S`` (no site-packages) with only the package on its path, as Lambda's
runtime does. Variants alternate order between rounds; medians are printed. ``--arm64``
also builds the real linux/arm64, Python 3.12 package and reports its size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench._common import ROOT, median, table
from deploy.package import (
    RUNTIME_PYTHON,
    compile_bytecode,
    needs,
    prune,
    prune_bytecode,
    runtime_python,
    size,
)

CONFIG = ROOT / "deploy" / "health.lambda.toml"
EVENT = ROOT / "tests" / "fixtures" / "apigw_v2_health.json"
MEMORY = (512, 1024, 1769)
ONE_VCPU_MB = 1769
TARGET = 1.0  # seconds: init + first answer, estimated at 1024 MB

# The child: each step's CPU (all threads) and wall clock, in a fresh interpreter.
CHILD = """
import json, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
marks = [["interpreter start", cpu(), time.time()]]
def mark(name):
    marks.append([name, cpu(), time.time()])
split = sys.argv[3] == "split"
if split:  # else all of it comes with the handler's import, as on Lambda
    import pydantic
mark("pydantic (the config needs it)")
if split:
    import aiobotocore.session, aiobotocore.config, aioboto3
mark("AWS SDK (aioboto3, aiobotocore, botocore, aiohttp)")
if split:
    import service.config, service.engine.health, service.faces.apigw
mark("deep-health modules (config, engine, routes)")
import service.faces.lambda_handler as handler
mark("deep-health init (config, checks, clients)")
web = sorted({"fastapi", "starlette", "mangum"} & {m.split(".")[0] for m in sys.modules})
event = json.load(open(sys.argv[1]))
charged = handler.init_seconds
# The whole first evaluation is measured: on a busy host the init charge would cut it short.
handler.service.charge_deadline(0.0)
first = handler.handler(event, None)["statusCode"]
mark("first answer")
reasons = list(handler.service.current().verdict.reasons)
from service.faces import snapstart
snapstart.before_snapshot(handler.service)
mark("before snapshot")
snapstart.after_restore(handler.service)
mark("after restore")
restored = handler.handler(event, None)["statusCode"]
mark("first answer after restore")
print(json.dumps({"spawned": float(sys.argv[2]), "marks": marks, "codes": [first, restored],
                  "reasons": reasons, "charged": charged, "web": web}))
"""

INIT_STEPS = 5  # interpreter .. deep-health init
WHOLE = "lean, one import"  # its three import steps are 0: its init row holds them
FIRST = "first answer"


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *args], check=True, capture_output=True)


def build(directory: Path) -> dict[str, Path]:
    """The three packages, for this machine's Python (so they run here)."""
    wheels = directory / "wheel"
    _pip("wheel", "--no-deps", "--wheel-dir", str(wheels), str(ROOT))
    (wheel,) = wheels.glob("*.whl")
    full = directory / "full"
    _pip("install", "--target", str(full), str(wheel))
    lean = directory / "lean"
    shutil.copytree(full, lean)
    prune(lean, needs(CONFIG))
    bare = directory / "lean-no-pyc"
    shutil.copytree(lean, bare)
    for cache in list(bare.rglob("__pycache__")):
        shutil.rmtree(cache)
    return {"full": full, "lean": lean, "lean, no .pyc": bare}


def arm64_sizes(directory: Path) -> list[list[str]]:
    """The real package (linux/arm64, Python 3.12), before and after ``deploy.package``."""
    wheels = directory / "wheel"
    (wheel,) = wheels.glob("*.whl")
    target = directory / "arm64"
    _pip(
        "install", "--target", str(target), "--platform", "manylinux2014_aarch64",
        "--implementation", "cp", "--python-version", "3.12", "--only-binary=:all:", str(wheel),
    )  # fmt: skip
    rows = []
    python = runtime_python()
    labels = ["as built before", "after deploy.package --config, no bytecode"]
    if python is not None:
        labels.append(f"after deploy.package --config, {RUNTIME_PYTHON} bytecode")
    for label in labels:
        if label == labels[1]:
            prune(target, needs(CONFIG))
            for cache in list(target.rglob("__pycache__")):  # this Python's, not 3.12's
                shutil.rmtree(cache)
        elif python is not None and label == labels[-1]:
            compile_bytecode(target, python)
            prune_bytecode(target)
        archive = shutil.make_archive(str(directory / "package"), "zip", target)
        rows.append(
            [
                label,
                f"{size(target) / 1e6:.1f}",
                f"{Path(archive).stat().st_size / 1e6:.1f}",
            ]
        )
    return rows


def _emulator() -> tuple[Any, dict[str, str]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.emulator import FAKE_CREDENTIALS, create_canary_table, start_emulator

    emulator = start_emulator()
    table_name = f"bench-{uuid.uuid4().hex[:8]}"
    create_canary_table(emulator, table_name, {"pk": {"S": "canary"}})
    queue = emulator.client("sqs").create_queue(QueueName=table_name)["QueueUrl"]
    from service.state.dynamodb import create_table

    state_table = f"{table_name}-state"  # the shipped config shares the failover state
    create_table(emulator.client("dynamodb"), state_table)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **FAKE_CREDENTIALS,
        "DEEP_HEALTH_CONFIG": str(CONFIG),
        "DEEP_HEALTH_TABLE": table_name,
        "DEEP_HEALTH_QUEUE_URL": queue,
        "DEEP_HEALTH_STATE_TABLE": state_table,
        "DEEP_HEALTH_AWS_ENDPOINT": emulator.endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
    }
    return emulator, env


def _interpreter() -> str:
    return getattr(sys, "_base_executable", sys.executable)


def once(package: Path, env: dict[str, str], *, split: bool = True) -> dict[str, Any]:
    """One cold start; ``split`` imports pydantic, the AWS SDK and deep-health's modules
    before the handler, to time them apart (they then run before the handler's own setup,
    such as its collector pause), else the handler's import does it all, as on Lambda."""
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    spawned = time.time()
    mode = "split" if split else "whole"
    done = subprocess.run(
        [*pin, _interpreter(), "-S", "-c", CHILD, str(EVENT), repr(spawned), mode],
        env={**env, "PYTHONPATH": str(package), "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=package,  # not the checkout: `-c` puts the working directory first on sys.path
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"{package.name}: the child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _steps(result: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(step, CPU s, wall s) per step; the interpreter's wall counts from the spawn."""
    steps, cpu, wall = [], 0.0, result["spawned"]
    for name, at_cpu, at_wall in result["marks"]:
        steps.append((name, at_cpu - cpu, at_wall - wall))
        cpu, wall = at_cpu, at_wall
    return steps


def report(results: dict[str, list[dict[str, Any]]]) -> str:
    runs = min(len(r) for r in results.values())
    lines = []
    names = [name for name, _, _ in _steps(next(iter(results.values()))[0])]
    header = ["step"] + [f"{v} CPU ms" for v in results] + [f"{v} wall ms" for v in results]
    rows = []
    for index, name in enumerate(names):
        cpus = [median([_steps(r)[index][1] for r in rs]) for rs in results.values()]
        walls = [median([_steps(r)[index][2] for r in rs]) for rs in results.values()]
        rows.append([name] + [f"{c * 1000:.0f}" for c in cpus] + [f"{w * 1000:.0f}" for w in walls])
    lines.append(
        f"Cold start, step by step: fresh interpreter pinned to one core, median of {runs}\n"
        + table(header, rows)
    )
    estimate_rows = []
    for variant, rs in results.items():
        init = median([sum(s[1] for s in _steps(r)[:INIT_STEPS]) for r in rs])
        first = median([_steps(r)[INIT_STEPS][1] for r in rs])
        restored = median([sum(s[1] for s in _steps(r)[INIT_STEPS + 2 :]) for r in rs])
        wall = median([sum(s[2] for s in _steps(r)[: INIT_STEPS + 1]) for r in rs])
        row = [variant, f"{init * 1000:.0f}", f"{first * 1000:.0f}", f"{wall * 1000:.0f}"]
        row += [f"{(init + first) * ONE_VCPU_MB / mb:.2f}" for mb in MEMORY]
        row.append(f"{restored * ONE_VCPU_MB / 1024:.2f}")
        estimate_rows.append(row)
    lines.append(
        "Estimate on Lambda: (init + first answer) CPU x 1769 / MB, in seconds; target "
        f"≤ {TARGET:.1f} s at 1024 MB. SnapStart: the restore hook + first answer, at 1024 MB\n"
        + table(
            ["package", "init CPU ms", "first answer CPU ms", "init + first, wall ms (pinned)"]
            + [f"{mb} MB s" for mb in MEMORY]
            + ["SnapStart restore + first, 1024 MB s"],
            estimate_rows,
        )
    )
    codes = {name: sorted({tuple(r["codes"]) for r in rs}) for name, rs in results.items()}
    lines.append(f"Status codes (first answer, first after restore): {codes}")
    web = {name: sorted({m for r in rs for m in r["web"]}) for name, rs in results.items()}
    lines.append(f"Web framework modules imported by the handler (none expected): {web}")
    reasons = sorted({reason for rs in results.values() for r in rs for reason in r["reasons"]})
    charged = {name: median([r["charged"] for r in rs]) for name, rs in results.items()}
    lines.append(
        "Init the handler would have charged to the first deadline, wall clock on this busy "
        "host (median s; the bench lifts it to measure a whole first answer): "
        + ", ".join(f"{name} {value:.2f}" for name, value in charged.items())
        + (f"; first answers' reasons: {reasons}" if reasons else "")
    )
    return "\n\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--arm64", action="store_true", help="also size the arm64 package")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        packages = build(directory)
        sizes = [[name, f"{size(path) / 1e6:.1f}", ""] for name, path in packages.items()]
        emulator, env = _emulator()
        try:
            # name: (package, split); the lean package also as Lambda imports it, in one go
            variants = {name: (path, True) for name, path in packages.items()}
            variants[WHOLE] = (packages["lean"], False)
            results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
            order = list(variants)
            for round_ in range(args.runs):
                for name in order if round_ % 2 == 0 else order[::-1]:
                    package, split = variants[name]
                    results[name].append(once(package, env, split=split))
        finally:
            emulator.stop()
        print(report(results), end="\n\n")
        if args.arm64:
            sizes += arm64_sizes(directory)
        print("Package size\n" + table(["package", "files MB", "zip MB"], sizes), end="\n\n")
    print(
        f"Conditions: {os.cpu_count()} cores, load average {load[0]:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after; Python {sys.version.split()[0]}"
    )


if __name__ == "__main__":
    main()
