"""Run a plan: each step in order; a gate that says no stops the rollout before the next region.

What runs a command and what reads a stack's outputs are passed in, so the same loop deploys
to AWS (``sam``, CloudFormation) and runs in tests (local HTTP servers as the regions).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from deploy.facts import MONITORING_REGION
from deploy.gate import Gate
from deploy.pairs import Pair, RegionStack
from deploy.plan import MONITORED_OUTPUT, Step, monitoring_argv

__all__ = ["Outputs", "Runner", "rollback_instructions", "rollout"]

Runner = Callable[[Sequence[str]], None]
"""Runs a command in the project; raises :class:`subprocess.CalledProcessError` on failure."""

Outputs = Callable[[RegionStack], Mapping[str, str]]
"""A deployed stack's outputs (``HealthUrl``, ``HealthCheckId``, ``FunctionName``, ...)."""


def rollout(
    steps: Sequence[Step],
    *,
    run: Runner,
    outputs: Outputs,
    gate: Gate,
    project_root: Path,
    force: bool = False,
    pairs_path: Path | None = None,
    log: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> int:
    """Run every step; stop at a failing command, or at a gate that says no (unless forced).

    Args:
        steps: the plan.
        run: runs a command.
        outputs: reads a deployed stack's outputs.
        gate: judges a deployed region.
        project_root: where relative build paths live.
        force: go on past a gate that says no (loudly).
        pairs_path: the pairs file, for the printed rollback command.
        log: progress lines.
        warn: problems (the gate's no, ``--force`` overriding it).

    Returns:
        0 done, 1 stopped.
    """
    for step in steps:
        log(f"==> {step.description}")
        try:
            if step.argv is not None:
                run(step.argv)
            elif step.copy is not None:
                source, destination = step.copy
                target = project_root / destination
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            elif step.write is not None:
                text, destination = step.write
                target = project_root / destination
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            elif step.gate is not None:
                pair, stack = step.gate
                if not _pass_gate(pair, stack, outputs, gate, force, pairs_path, log, warn):
                    return 1
            elif step.deferred is not None:
                run(step.deferred(outputs))
            elif step.monitoring is not None:
                pair = step.monitoring
                run(
                    monitoring_argv(
                        pair,
                        outputs(pair.primary)[MONITORED_OUTPUT],
                        outputs(pair.secondary)[MONITORED_OUTPUT],
                    )
                )
        except subprocess.CalledProcessError as error:
            warn(f"error: {step.description}: failed with exit code {error.returncode}")
            return 1
    return 0


def _pass_gate(
    pair: Pair,
    stack: RegionStack,
    outputs: Outputs,
    gate: Gate,
    force: bool,
    pairs_path: Path | None,
    log: Callable[[str], None],
    warn: Callable[[str], None],
) -> bool:
    found = outputs(stack)
    marker = pair.values(stack)["Marker"]
    result = gate.check(found["HealthUrl"], marker, found.get("HealthCheckId"))
    for line in result.seen:
        log(f"    {line}")
    if result.healthy:
        log(f"    {stack.role} {stack.region} is healthy")
        return True
    message = rollback_instructions(pair, stack, found, pairs_path)
    if force:
        warn(
            f"WARNING: --force: {stack.role} {stack.region} of pair {pair.name} is NOT healthy,"
            " and the rollout goes on anyway.\n" + message
        )
        return True
    warn(message)
    return False


def rollback_instructions(
    pair: Pair, stack: RegionStack, found: Mapping[str, str], pairs_path: Path | None
) -> str:
    """What to tell the operator when a region does not come up healthy."""
    nxt = pair.other(stack) if stack is pair.primary else None
    lines = [
        f"STOPPED: {stack.stack_name} ({stack.role}) in {stack.region} is not healthy after the"
        " deploy.",
        (
            f"The rollout stopped before {nxt.role} {nxt.region}: that region is untouched."
            if nxt is not None
            else "Both regions are deployed; the monitoring stack was not updated."
        ),
        "Roll back:",
    ]
    function = found.get("FunctionName")
    previous = found.get("PreviousVersion")
    if function and previous:
        lines.append(
            f"  now:     aws lambda update-alias --region {stack.region} --function-name"
            f" {function} --name live --function-version {previous}"
        )
    pairs = str(pairs_path) if pairs_path is not None else "PAIRS_FILE"
    lines.append(
        "  durable: check out the last good release, then"
        f" python -m deploy --pairs {pairs} --pair {pair.name}"
    )
    lines.append(
        f"  status:  deep-health verify --pairs {pairs}   (reads Route 53 from"
        f" {MONITORING_REGION}; changes nothing)"
    )
    lines.append("Or, if this is expected: run again with --force to go on past the gate.")
    return "\n".join(lines)
