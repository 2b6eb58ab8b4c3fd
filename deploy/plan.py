"""The exact steps: build once, then pair by pair, region by region, each region gated.

The build installs the project and its runtime dependencies as linux/arm64 wheels into
``build/lambda`` (the template's ``CodeUri``), and :mod:`deploy.package` removes what no
configuration needs there (the local server, the deploy tooling, bytecode of another Python).
Then, for every pair: its engine config is
written to ``build/lambda/config/health.toml``; the PRIMARY is deployed (``sam deploy`` zips
and uploads ``build/lambda`` to the region's SAM-managed bucket and creates or updates the
stack) and gated; then the SECONDARY, gated; then the pair's monitoring stack in us-east-1.

Every step has a ``display``: a shell command that does the same when pasted, from any
directory (the first one is ``cd`` to the project), with nothing secret in it.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from deploy.alarms import has_alarms_stack
from deploy.engine import engine_config
from deploy.facts import MONITORING_REGION
from deploy.pairs import Pair, PairsFile, RegionStack

__all__ = [
    "BUILD_DIR",
    "CONFIG_IN_PACKAGE",
    "MONITORED_OUTPUT",
    "MONITORING_TEMPLATE",
    "Step",
    "alarms_argv",
    "build_steps",
    "dashboard_argv",
    "deploy_steps",
    "monitoring_argv",
    "monitoring_stack_name",
    "output_command",
    "overrides",
    "pair_steps",
    "wheel_name",
]

BUILD_DIR = Path("build")
"""Build output; ``build/lambda`` is the function's ``CodeUri`` in ``template.yaml``."""

CONFIG_IN_PACKAGE = Path("config/health.toml")
"""Where the engine config lands inside the code package (the ``ConfigPath`` default)."""

MONITORING_TEMPLATE = Path(__file__).resolve().parent / "monitoring.yaml"
"""The per-pair us-east-1 alarm stack."""

_MANAGED_HERE = ("Role", "HostedZoneId", "RecordName", "RoutingMode")
_PROJECT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Step:
    """One step of the plan; exactly one of its actions is set.

    Attributes:
        description: what the step does, for the log.
        display: the shell command(s) that do the same, as printed.
        argv: a command to run.
        copy: ``(source, destination)``: copy a file in-process (parents created).
        write: ``(text, destination)``: write a generated file in-process (parents created).
        gate: ``(pair, stack)``: check that region before going on (see :mod:`deploy.gate`).
        monitoring: the pair whose us-east-1 alarm stack to deploy (its argv needs the health
            check ids the two regional stacks output).
        deferred: a command built at run time from deployed stacks' outputs (given the
            function that reads them), e.g. a region's alarms stack.
    """

    description: str
    display: str
    argv: tuple[str, ...] | None = None
    copy: tuple[Path, Path] | None = None
    write: tuple[str, Path] | None = None
    gate: tuple[Pair, RegionStack] | None = None
    monitoring: Pair | None = None
    deferred: Callable[[Callable[[RegionStack], Mapping[str, str]]], tuple[str, ...]] | None = None


def wheel_name(project_root: Path) -> str:
    """The wheel file name ``pip wheel`` produces for the project (pure Python)."""
    project = tomllib.loads((project_root / "pyproject.toml").read_text(encoding="utf-8"))
    name = project["project"]["name"].replace("-", "_")
    return f"{name}-{project['project']['version']}-py3-none-any.whl"


def _shown(path: Path, project_root: Path) -> str:
    """A path as printed: relative to the project (the commands run there), else absolute."""
    try:
        return str(path.resolve().relative_to(project_root.resolve()))
    except ValueError:
        return str(path.resolve())


def build_steps(*, python: str, project_root: Path) -> list[Step]:
    """The build: one wheel of the project and its dependencies for linux/arm64.

    Args:
        python: the interpreter that runs pip.
        project_root: the checkout (where ``pyproject.toml`` is); every step runs there.

    Returns:
        The steps, in order; the first display line is ``cd`` to the project.
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
    # Without --config: only what no configuration needs goes (the build serves every pair;
    # their configs, bundled per pair below, may differ).
    lean = (python, "-m", "deploy.package", str(target))
    return [
        Step(
            "build the deep-health wheel",
            f"cd {shlex.quote(str(project_root.resolve()))}\n{shlex.join(wheel)}",
            argv=wheel,
        ),
        Step("install it with its dependencies for linux/arm64", shlex.join(install), argv=install),
        Step("remove what no configuration needs", shlex.join(lean), argv=lean),
    ]


def overrides(pair: Pair, stack: RegionStack, *, release_id: str) -> dict[str, str]:
    """The ``--parameter-overrides`` of one region's stack: the managed ones, then the file's.

    Args:
        pair: the pair.
        stack: one of its stacks.
        release_id: ``ReleaseId`` (what the health body reports).

    Returns:
        Parameter name to value (nothing secret: the details token stays in SSM; its name is
        passed).
    """
    values = pair.values(stack)
    chosen = {name: values[name] for name in _MANAGED_HERE}
    chosen["ReleaseId"] = release_id
    if pair.health_only_name:
        chosen["RecordIsHealthOnly"] = "true"
    if pair.details_token_ssm:
        chosen["DetailsTokenParameter"] = pair.details_token_ssm
    chosen.update(stack.parameters)
    if "PeerHealthUrl" in values and "PeerHealthUrl" not in stack.parameters:
        chosen["PeerHealthUrl"] = values["PeerHealthUrl"]
    return chosen


def bundle_steps(pair: Pair, default_config: str | None, *, project_root: Path) -> list[Step]:
    """Put the pair's engine config into the package (``sam deploy`` zips it per stack)."""
    destination = BUILD_DIR / "lambda" / CONFIG_IN_PACKAGE
    text, source = engine_config(pair, default_config)
    mkdir = f"mkdir -p {shlex.quote(str(destination.parent))}"
    if pair.config is not None:
        return [
            Step(
                f"bundle {pair.name}'s engine config ({_shown(pair.config, project_root)})",
                f"{mkdir}\ncp {shlex.quote(_shown(pair.config, project_root))}"
                f" {shlex.quote(str(destination))}",
                copy=(pair.config, destination),
            )
        ]
    label = "the default engine config" if source != "generated" else "a generated engine config"
    return [
        Step(
            f"bundle {label} for pair {pair.name}",
            f"{mkdir}\ncat > {shlex.quote(str(destination))} <<'EOF'\n{text.rstrip()}\nEOF",
            write=(text, destination),
        )
    ]


def deploy_step(
    pairs: PairsFile, pair: Pair, stack: RegionStack, *, release_id: str, project_root: Path
) -> Step:
    """``sam deploy`` of one region's stack (run in the project: paths relative to it)."""
    argv = (
        "sam", "deploy",
        "--template-file", _shown(pairs.template, project_root),
        "--stack-name", stack.stack_name,
        "--region", stack.region,
        "--capabilities", "CAPABILITY_IAM",
        "--resolve-s3",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--tags", "project=deep-health", f"pair={pair.name}", f"role={stack.role}",
        "--parameter-overrides",
        *(_override(name, value)
          for name, value in overrides(pair, stack, release_id=release_id).items()),
    )  # fmt: skip
    return Step(
        f"deploy {stack.stack_name} ({stack.role}) to {stack.region}", shlex.join(argv), argv=argv
    )


def output_command(stack_name: str, region: str, output: str) -> str:
    """A shell substitution that reads one output of a deployed stack."""
    query = f"Stacks[0].Outputs[?OutputKey=='{output}'].OutputValue"
    return (
        f'"$(aws cloudformation describe-stacks --region {region} --stack-name {stack_name}'
        f' --query "{query}" --output text)"'
    )


def gate_step(pair: Pair, stack: RegionStack) -> Step:
    """Check a deployed region before touching the next (run by :mod:`deploy.gate`)."""
    marker = pair.values(stack)["Marker"]
    url = output_command(stack.stack_name, stack.region, "HealthUrl")
    check = output_command(stack.stack_name, stack.region, "HealthCheckId")
    display = (
        f"curl -fsS {url} | grep -F {shlex.quote(marker)}\n"
        f"aws route53 get-health-check-status --health-check-id {check}"
    )
    return Step(
        f"gate: {stack.role} {stack.region} must answer healthy before the rollout goes on",
        display,
        gate=(pair, stack),
    )


def monitoring_stack_name(pair: Pair) -> str:
    """The name of a pair's us-east-1 alarm stack."""
    return f"{pair.primary.stack_name}-monitoring"


MONITORED_OUTPUT = "RecordHealthCheckId"
"""The stack output the monitoring stack alarms on: the check the records carry (with an
operator control, the calculated one), so the alarm follows what DNS follows."""


def monitoring_argv(pair: Pair, primary_check: str, secondary_check: str) -> tuple[str, ...]:
    """``sam deploy`` of the pair's monitoring stack, given the two health check ids."""
    email = pair.primary.parameters.get("AlarmEmail") or pair.secondary.parameters.get(
        "AlarmEmail", ""
    )
    controls = pair.routing_controls
    values = {
        "PairName": pair.name,
        "RecordName": pair.record_name,
        "PrimaryHealthCheckId": primary_check,
        "PrimaryRegion": pair.primary.region,
        "SecondaryHealthCheckId": secondary_check,
        "SecondaryRegion": pair.secondary.region,
        **({"AlarmEmail": email} if email else {}),
        # ARC's safety rule "at least one ON" (deploy/monitoring.yaml's SafetyRule).
        **(
            {"PrimaryRoutingControlArn": controls[0], "SecondaryRoutingControlArn": controls[1]}
            if controls
            else {}
        ),
    }
    return (
        "sam", "deploy",
        "--template-file", _shown(MONITORING_TEMPLATE, _PROJECT),
        "--stack-name", monitoring_stack_name(pair),
        "--region", MONITORING_REGION,
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--tags", "project=deep-health", f"pair={pair.name}", "role=MONITORING",
        "--parameter-overrides", *(_override(name, value) for name, value in values.items()),
    )  # fmt: skip


def monitoring_step(pair: Pair) -> Step:
    """The pair's monitoring stack (us-east-1), after both regions."""
    placeholder = "@@{}@@"
    argv = monitoring_argv(pair, placeholder.format("P"), placeholder.format("S"))
    display = shlex.join(argv)
    for role, stack in (("P", pair.primary), ("S", pair.secondary)):
        quoted = shlex.quote(f"{'Primary' if role == 'P' else 'Secondary'}HealthCheckId=@@{role}@@")
        substitution = output_command(stack.stack_name, stack.region, MONITORED_OUTPUT)
        display = display.replace(
            quoted,
            f"{'Primary' if role == 'P' else 'Secondary'}HealthCheckId={substitution}",
        )
    return Step(
        f"deploy {monitoring_stack_name(pair)} (alarms on both health checks) to"
        f" {MONITORING_REGION}",
        display,
        monitoring=pair,
    )


def pair_steps(
    pairs: PairsFile, pair: Pair, default_config: str | None, *, release_id: str, project_root: Path
) -> list[Step]:
    """One pair's steps: bundle its config, then each region deployed (its alarms stack beside
    it) and gated, then the pair's monitoring stack and dashboard."""
    has_function = any(
        pair.values(stack)["Mode"] == "standalone" and stack.platform == "lambda"
        for stack in pair.stacks
    )
    steps = bundle_steps(pair, default_config, project_root=project_root) if has_function else []
    for stack in pair.stacks:
        if stack.platform == "ecs":
            steps.append(ecs_step(pair, stack, default_config, release_id=release_id))
        else:
            steps.append(
                deploy_step(pairs, pair, stack, release_id=release_id, project_root=project_root)
            )
        if has_alarms_stack(pair, stack):
            steps.append(alarms_step(pair, stack))
        steps.append(gate_step(pair, stack))
    steps.append(monitoring_step(pair))
    steps.append(dashboard_step(pair))
    return steps


def _stack_argv(
    template: Path,
    stack_name: str,
    region: str,
    tags: tuple[str, ...],
    values: Mapping[str, str],
    *,
    iam: bool = False,
) -> tuple[str, ...]:
    """``sam deploy`` of a plain template (no build), run in the project."""
    return (
        "sam", "deploy",
        "--template-file", _shown(template, _PROJECT),
        "--stack-name", stack_name,
        "--region", region,
        *(("--capabilities", "CAPABILITY_IAM") if iam else ()),
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--tags", "project=deep-health", *tags,
        "--parameter-overrides", *(_override(name, value) for name, value in values.items()),
    )  # fmt: skip


def _reading_outputs(argv: tuple[str, ...], read: Mapping[str, tuple[RegionStack, str]]) -> str:
    """``argv`` as printed, each ``Name=@@Name@@`` a substitution reading that stack output
    (what the rollout passes at run time)."""
    text = shlex.join(argv)
    for parameter, (stack, output) in read.items():
        text = text.replace(
            shlex.quote(f"{parameter}=@@{parameter}@@"),
            f"{parameter}={output_command(stack.stack_name, stack.region, output)}",
        )
    return text


def ecs_step(
    pair: Pair, stack: RegionStack, default_config: str | None, *, release_id: str
) -> Step:
    """Deploy an ECS region (``deploy/ecs.yaml``; no build: the image exists beforehand)."""
    from deploy.container import ECS_TEMPLATE, ecs_engine_config, ecs_overrides

    values = ecs_overrides(
        overrides(pair, stack, release_id=release_id),
        engine_config=ecs_engine_config(pair, stack, default_config),
    )
    tags = (f"pair={pair.name}", f"role={stack.role}", "platform=ecs")
    argv = _stack_argv(ECS_TEMPLATE, stack.stack_name, stack.region, tags, values, iam=True)
    return Step(
        f"deploy {stack.stack_name} ({stack.role}, ECS Fargate behind an ALB) to {stack.region}",
        shlex.join(argv),
        argv=argv,
    )


def alarms_argv(pair: Pair, stack: RegionStack, found: Mapping[str, str]) -> tuple[str, ...]:
    """``sam deploy`` of a region's alarms stack, given the region's stack outputs."""
    from deploy.alarms import ALARMS_TEMPLATE, alarms_stack_name, alarms_values

    tags = (f"pair={pair.name}", f"role={stack.role}-ALARMS")
    values = alarms_values(pair, stack, found)
    return _stack_argv(ALARMS_TEMPLATE, alarms_stack_name(stack), stack.region, tags, values)


def alarms_step(pair: Pair, stack: RegionStack) -> Step:
    """A region's alarms stack (``deploy/alarms.yaml``), from its stack's outputs."""
    from deploy.alarms import ALARMS_FROM_OUTPUTS, alarms_stack_name

    values = pair.values(stack)
    has_topic = bool(values.get("AlarmEmail") or values.get("AlarmTopicArn"))
    read = {
        parameter: (stack, output)
        for parameter, output in ALARMS_FROM_OUTPUTS[stack.platform].items()
        if parameter != "AlarmTopicArn" or has_topic
    }
    placeholders = {output: f"@@{parameter}@@" for parameter, (_, output) in read.items()}
    return Step(
        f"deploy {alarms_stack_name(stack)} (alarms on the {stack.platform} path) to"
        f" {stack.region}",
        _reading_outputs(alarms_argv(pair, stack, placeholders), read),
        deferred=lambda outputs: alarms_argv(pair, stack, outputs(stack)),
    )


def dashboard_argv(
    pair: Pair, primary: Mapping[str, str], secondary: Mapping[str, str]
) -> tuple[str, ...]:
    """``sam deploy`` of the pair's dashboard stack, given both regions' stack outputs."""
    from deploy.alarms import DASHBOARD_TEMPLATE, dashboard_stack_name, dashboard_values

    tags = (f"pair={pair.name}", "role=DASHBOARD")
    values = dashboard_values(pair, primary, secondary)
    return _stack_argv(
        DASHBOARD_TEMPLATE, dashboard_stack_name(pair), MONITORING_REGION, tags, values
    )


def dashboard_step(pair: Pair) -> Step:
    """The pair's dashboard (``deploy/dashboard.yaml``) in us-east-1, after both regions."""
    from deploy.alarms import dashboard_stack_name

    argv = dashboard_argv(
        pair,
        {
            "RecordHealthCheckId": "@@PrimaryHealthCheckId@@",
            "HealthCheckId": "@@PrimaryDeepCheckId@@",
        },
        {
            "RecordHealthCheckId": "@@SecondaryHealthCheckId@@",
            "HealthCheckId": "@@SecondaryDeepCheckId@@",
        },
    )
    read = {
        "PrimaryHealthCheckId": (pair.primary, "RecordHealthCheckId"),
        "SecondaryHealthCheckId": (pair.secondary, "RecordHealthCheckId"),
        "PrimaryDeepCheckId": (pair.primary, "HealthCheckId"),
        "SecondaryDeepCheckId": (pair.secondary, "HealthCheckId"),
    }
    return Step(
        f"deploy {dashboard_stack_name(pair)} (the pair's dashboard) to {MONITORING_REGION}",
        _reading_outputs(argv, read),
        deferred=lambda outputs: dashboard_argv(
            pair, outputs(pair.primary), outputs(pair.secondary)
        ),
    )


def deploy_steps(
    pairs: PairsFile, default_config: str | None, *, release_id: str, project_root: Path
) -> Iterator[Step]:
    """Every pair's steps, in file order."""
    for pair in pairs.pairs:
        yield from pair_steps(
            pairs, pair, default_config, release_id=release_id, project_root=project_root
        )


def _override(name: str, value: str) -> str:
    """``Name=Value``; SAM CLI needs a value with whitespace in double quotes."""
    if any(character.isspace() for character in value) or '"' in value:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{name}="{escaped}"'
    return f"{name}={value}"
