"""``python -m deploy --pairs FILE [--dry-run | --rehearse] [--force]``: deploy region pairs.

``python -m deploy twin PAIRS --drill NAME``: run what this would ship on a local twin of the
pair instead (:mod:`deploy.twin`).

Everything is validated before any AWS call (see :mod:`deploy.validate`). A real deploy goes
pair by pair, region by region, and gates each region (see :mod:`deploy.gate`): a region that
does not come up healthy stops the rollout before the next, unless ``--force``.

Exit codes: 0 done, 1 a step failed or a gate stopped the rollout, 2 invalid pairs file or usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deploy.pairs import PairsError, PairsFile, RegionStack
from deploy.plan import Step, build_steps, deploy_steps
from deploy.validate import validate

__all__ = ["main"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["twin"]:
        from deploy.twin.cli import main as twin_main

        return twin_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        pairs = _select(_load(args.pairs, args.template), args.pair)
        validate(pairs)
        default_config = _default_config(pairs)
    except PairsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    release_id = args.release_id or _release_id()
    if args.rehearse:
        return _rehearse(pairs, args.endpoint_url, release_id)
    # The Lambda package is built only when some region runs the standalone function (an ECS
    # region runs an image built beforehand, see docs/deploy-ecs.md).
    builds = any(
        stack.platform == "lambda" and pair.values(stack).get("Mode") == "standalone"
        for pair in pairs.pairs
        for stack in pair.stacks
    )
    steps = [
        *(
            build_steps(python=sys.executable, project_root=PROJECT_ROOT)
            if builds
            else [Step("work in the project", f"cd {shlex.quote(str(PROJECT_ROOT))}")]
        ),
        *deploy_steps(pairs, default_config, release_id=release_id, project_root=PROJECT_ROOT),
    ]
    if args.dry_run:
        for step in steps:
            print(f"# {step.description}")
            print(step.display)
        return 0
    if shutil.which("sam") is None:
        print("error: the SAM CLI (`sam`) is not on PATH", file=sys.stderr)
        return 2
    from deploy.gate import Gate
    from deploy.rollout import rollout
    from deploy.ui import Console

    console = Console()
    return rollout(
        steps,
        run=_run,
        outputs=_outputs,
        gate=Gate(route53=_route53()),
        project_root=PROJECT_ROOT,
        force=args.force,
        pairs_path=args.pairs,
        log=console.step,
        warn=console.warn,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("--pairs", type=Path, required=True, help="the region-pairs TOML file")
    parser.add_argument("--template", type=Path, help="override the pairs file's template")
    parser.add_argument("--release-id", help="ReleaseId (default: git describe, else version)")
    parser.add_argument(
        "--pair", action="append", metavar="NAME", help="only this pair (repeatable)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the exact commands only")
    mode.add_argument(
        "--rehearse", action="store_true", help="create the stacks in a local moto server"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="go on past a region that does not come up healthy (loudly)",
    )
    parser.add_argument(
        "--endpoint-url", help="with --rehearse: a running moto server (default: start one)"
    )
    return parser


def _load(path: Path, template: Path | None) -> PairsFile:
    from deploy.loading import load_pairs_file

    return load_pairs_file(path, template)


def _default_config(pairs: PairsFile) -> str | None:
    if pairs.config is None:
        return None
    return pairs.config.read_text(encoding="utf-8")  # readable: validate() read it


def _select(pairs: PairsFile, names: list[str] | None) -> PairsFile:
    if not names:
        return pairs
    known = {pair.name for pair in pairs.pairs}
    for name in names:
        if name not in known:
            raise PairsError("--pair", f"no pair named {name!r} (have {', '.join(sorted(known))})")
    return dataclasses.replace(pairs, pairs=tuple(p for p in pairs.pairs if p.name in names))


def _release_id() -> str:
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        from deploy.plan import wheel_name

        return wheel_name(PROJECT_ROOT).split("-")[1]
    return described.stdout.strip()


def _rehearse(pairs: PairsFile, endpoint_url: str | None, release_id: str) -> int:
    from deploy.rehearse import moto_server, rehearse

    if endpoint_url is not None:
        rehearse(pairs, endpoint_url=endpoint_url, release_id=release_id)
        return 0
    with moto_server() as url:
        print(f"moto server at {url}")
        rehearse(pairs, endpoint_url=url, release_id=release_id)
    return 0


def _run(argv: Sequence[str]) -> None:
    subprocess.run(list(argv), cwd=PROJECT_ROOT, check=True)


def _outputs(stack: RegionStack) -> Mapping[str, str]:
    """A deployed stack's outputs, plus the function's previous version (for a rollback)."""
    import boto3

    described = boto3.client("cloudformation", region_name=stack.region).describe_stacks(
        StackName=stack.stack_name
    )["Stacks"][0]
    found = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    function = found.get("FunctionName")
    if function:
        previous = _previous_version(boto3.client("lambda", region_name=stack.region), function)
        if previous is not None:
            found["PreviousVersion"] = previous
    return found


def _previous_version(client: Any, function: str) -> str | None:
    current = int(client.get_alias(FunctionName=function, Name="live")["FunctionVersion"])
    versions = [
        int(v["Version"])
        for page in client.get_paginator("list_versions_by_function").paginate(
            FunctionName=function
        )
        for v in page["Versions"]
        if v["Version"].isdigit() and int(v["Version"]) < current
    ]
    return str(max(versions)) if versions else None


def _route53() -> Any:
    import boto3

    return boto3.client("route53", region_name="us-east-1")


if __name__ == "__main__":
    sys.exit(main())
