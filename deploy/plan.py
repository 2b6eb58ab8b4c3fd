"""The exact commands: build once, then ``sam deploy`` to every region of every pair.

The build installs the project and its runtime dependencies as linux/arm64 wheels into
``build/lambda`` (the template's ``CodeUri``) and bundles the engine config as
``build/lambda/config/health.toml``; :mod:`deploy.package` removes what the configured checks
do not need. ``sam deploy`` then zips and uploads that directory to each
region's SAM-managed bucket (``--resolve-s3``) and creates or updates the stack.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.pairs import Pair, PairsFile, RegionStack

__all__ = [
    "BUILD_DIR",
    "CONFIG_IN_PACKAGE",
    "Step",
    "TokenResolver",
    "build_steps",
    "deploy_steps",
    "overrides",
    "wheel_name",
]

BUILD_DIR = Path("build")
"""Build output; ``build/lambda`` is the function's ``CodeUri`` in ``template.yaml``."""

CONFIG_IN_PACKAGE = Path("config/health.toml")
"""Where the engine config lands inside the code package (the ``ConfigPath`` default)."""

TokenResolver = Callable[[str, str], str]
"""``(ssm_parameter_name, region) -> token``: reads a SecureString at deploy time."""

_SECRET = "DetailsToken"  # noqa: S105 (a parameter name, not a secret)


@dataclass(frozen=True)
class Step:
    """One step of the plan.

    Attributes:
        description: what the step does, for the log.
        argv: the command to run, or ``None`` for a file copy done in-process.
        display: the command as printed (secrets masked).
        copy: ``(source, destination)`` for an in-process copy step.
    """

    description: str
    argv: tuple[str, ...] | None
    display: str
    copy: tuple[Path, Path] | None = None


def wheel_name(project_root: Path) -> str:
    """The wheel file name ``pip wheel`` produces for the project (pure Python)."""
    project = tomllib.loads((project_root / "pyproject.toml").read_text(encoding="utf-8"))
    name = project["project"]["name"].replace("-", "_")
    return f"{name}-{project['project']['version']}-py3-none-any.whl"


def build_steps(pairs: PairsFile, *, python: str, project_root: Path) -> list[Step]:
    """The build: one wheel of the project, arm64 dependencies, the bundled config.

    Args:
        pairs: the validated pairs file (its ``config`` is bundled).
        python: the interpreter that runs pip.
        project_root: the checkout (where ``pyproject.toml`` is).

    Returns:
        The steps, in order.
    """
    wheel_dir = BUILD_DIR / "wheel"
    target = BUILD_DIR / "lambda"
    wheel = (
        python, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheel_dir), ".",
    )  # fmt: skip
    install = (
        python, "-m", "pip", "install", "--upgrade", "--target", str(target),
        "--platform", "manylinux2014_aarch64", "--implementation", "cp",
        "--python-version", "3.12", "--only-binary=:all:",
        str(wheel_dir / wheel_name(project_root)),
    )  # fmt: skip
    lean: tuple[str, ...] = (python, "-m", "deploy.package", str(target))
    if pairs.config is not None:
        lean += ("--config", str(pairs.config))
    steps = [
        Step("build the deep-health wheel", wheel, shlex.join(wheel)),
        Step("install it with its dependencies for linux/arm64", install, shlex.join(install)),
        Step("keep only what the configured checks need", lean, shlex.join(lean)),
    ]
    if pairs.config is not None:
        destination = target / CONFIG_IN_PACKAGE
        steps.append(
            Step(
                f"bundle the config as {CONFIG_IN_PACKAGE}",
                None,
                f"cp {shlex.quote(str(pairs.config))} {shlex.quote(str(destination))}",
                copy=(pairs.config, destination),
            )
        )
    return steps


def overrides(
    pair: Pair, stack: RegionStack, *, release_id: str, details_token: str | None
) -> dict[str, str]:
    """All parameter overrides of one region's stack: the pair's and the managed ones.

    Args:
        pair: the pair.
        stack: one of its stacks.
        release_id: ``ReleaseId`` (what the health body reports).
        details_token: the resolved token, or ``None`` to leave ``DetailsToken`` unset.

    Returns:
        Parameter name to value.
    """
    values = {
        "Role": stack.role,
        "HostedZoneId": pair.hosted_zone_id,
        "RecordName": pair.record_name,
        "RoutingMode": pair.routing_mode,
        "ReleaseId": release_id,
        **stack.parameters,
    }
    if details_token is not None:
        values[_SECRET] = details_token
    return values


def deploy_steps(
    pairs: PairsFile, *, release_id: str, resolve_token: TokenResolver | None
) -> Iterator[Step]:
    """``sam deploy`` for every region, primary before secondary, pair by pair.

    Args:
        pairs: the validated pairs file.
        release_id: ``ReleaseId`` for every stack.
        resolve_token: reads a pair's SecureString token at deploy time; ``None`` (dry run)
            puts a placeholder in its place.

    Yields:
        One step per region stack.
    """
    for pair in pairs.pairs:
        for stack in pair.stacks:
            token: str | None = None
            if pair.details_token_ssm is not None:
                token = (
                    resolve_token(pair.details_token_ssm, stack.region)
                    if resolve_token is not None
                    else f"<SecureString {pair.details_token_ssm} read at deploy time>"
                )
            values = overrides(pair, stack, release_id=release_id, details_token=token)
            argv = _sam_deploy(pairs.template, pair, stack, values)
            shown = _sam_deploy(
                pairs.template, pair, stack, {**values, _SECRET: "****"} if token else values
            )
            yield Step(
                f"deploy {stack.stack_name} ({stack.role}) to {stack.region}",
                argv,
                shlex.join(shown),
            )


def _sam_deploy(
    template: Path, pair: Pair, stack: RegionStack, values: dict[str, str]
) -> tuple[str, ...]:
    return (
        "sam", "deploy",
        "--template-file", str(template),
        "--stack-name", stack.stack_name,
        "--region", stack.region,
        "--capabilities", "CAPABILITY_IAM",
        "--resolve-s3",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--tags", "project=deep-health", f"pair={pair.name}", f"role={stack.role}",
        "--parameter-overrides", *(_override(name, value) for name, value in values.items()),
    )  # fmt: skip


def _override(name: str, value: str) -> str:
    """``Name=Value``; SAM CLI needs a value with whitespace in double quotes."""
    if any(character.isspace() for character in value) or '"' in value:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{name}="{escaped}"'
    return f"{name}={value}"
