"""``python -m deploy --pairs FILE [--dry-run | --rehearse]``: deploy every region pair.

Exit codes: 0 done, 1 a step failed, 2 invalid pairs file or usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.pairs import PairsError, PairsFile, load_pairs
from deploy.plan import Step, build_steps, deploy_steps
from deploy.template import load_template, parameter_names

__all__ = ["main"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    args = _parser().parse_args(argv)
    try:
        pairs = _select(_load(args.pairs, args.template), args.pair)
    except PairsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    release_id = args.release_id or _release_id()
    if args.rehearse:
        return _rehearse(pairs, args.endpoint_url, release_id)
    steps = build_steps(pairs, python=sys.executable, project_root=PROJECT_ROOT)
    if args.dry_run:
        for step in [*steps, *deploy_steps(pairs, release_id=release_id, resolve_token=None)]:
            print(f"# {step.description}")
            print(step.display)
        return 0
    return _run(pairs, steps, release_id)


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
        "--endpoint-url", help="with --rehearse: a running moto server (default: start one)"
    )
    return parser


def _load(path: Path, template: Path | None) -> PairsFile:
    pairs = load_pairs(path)
    if template is not None:
        pairs = dataclasses.replace(pairs, template=template)
    try:
        sam = load_template(pairs.template)
    except OSError as error:
        raise PairsError("defaults.template", f"cannot read {pairs.template}") from error
    # Validate again, now that the template's parameter names are known.
    return dataclasses.replace(
        load_pairs(path, known_parameters=parameter_names(sam)), template=pairs.template
    )


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


def _run(pairs: PairsFile, build: list[Step], release_id: str) -> int:
    if shutil.which("sam") is None:
        print("error: the SAM CLI (`sam`) is not on PATH", file=sys.stderr)
        return 2
    try:
        for step in [*build, *deploy_steps(pairs, release_id=release_id, resolve_token=_ssm)]:
            print(f"==> {step.description}\n    {step.display}", flush=True)
            if step.copy is not None:
                step.copy[1].parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(*step.copy)
            elif step.argv is not None:
                subprocess.run(step.argv, cwd=PROJECT_ROOT, check=True)
    except subprocess.CalledProcessError as error:
        print(f"error: step failed with exit code {error.returncode}", file=sys.stderr)
        return 1
    return 0


def _ssm(name: str, region: str) -> str:
    """Read the details token SecureString in the stack's region, at deploy time."""
    import boto3

    response = boto3.client("ssm", region_name=region).get_parameter(Name=name, WithDecryption=True)
    value: str = response["Parameter"]["Value"]
    return value


if __name__ == "__main__":
    sys.exit(main())
