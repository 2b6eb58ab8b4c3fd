"""The container path: a region that runs deep-health on ECS Fargate behind an ALB.

A region whose pairs file says ``platform = "ecs"`` (in the pair, or in the region's own table)
is deployed with ``deploy/ecs.yaml`` instead of ``template.yaml``. The two templates share
their parameter names wherever the meaning is the same (the checks' resources, the Route 53
health check, the records, the in-region alarms), so the engine config, its checks against the
stack's IAM (:mod:`deploy.engine`) and ``verify`` serve both paths unchanged.

What differs, and lives here:

- the parameters only ``ecs.yaml`` has (``ImageUri``, ``VpcId``, ``AlbSubnetIds``,
  ``TaskSubnetIds``, ...), required before any AWS call;
- the engine config reaches the task as ``EngineConfig`` (base64; the container writes it to
  a file before ``deep-health serve``), with ``emf = true`` so the in-region alarms have
  metrics (the Lambda face turns EMF on by itself, ``serve`` does not);
- the refusals of a region its platform's template cannot take (:func:`container_rules`).

The ``sam deploy`` command of an ECS region is :func:`deploy.plan.ecs_step` (no build: the
image is built from the project's Dockerfile, or is the application's own, and pushed
beforehand).
"""

from __future__ import annotations

import base64
import functools
import tomllib
from collections.abc import Mapping
from pathlib import Path

from deploy.pairs import Pair, PairsError, RegionStack

__all__ = [
    "ECS_TEMPLATE",
    "REQUIRED",
    "aliases_own_alb",
    "container_config",
    "container_rules",
    "ecs_engine_config",
    "ecs_overrides",
    "ecs_parameter_names",
]

ECS_TEMPLATE = Path(__file__).resolve().parent / "ecs.yaml"
"""The ECS region's template (plain CloudFormation)."""

REQUIRED = {
    "ImageUri": "the image to run (deep-health's, built from the Dockerfile, or the application's)",
    "VpcId": "the VPC of the ALB and the tasks",
    "AlbSubnetIds": "two or more public subnets for the internet-facing ALB",
    "TaskSubnetIds": "the tasks' subnets",
}
"""``ecs.yaml`` parameters without a default, and what each is."""

_EMF_LINE = "emf = true  # ECS: the in-region alarms watch these metrics (serve's default is off)"


@functools.cache
def ecs_parameter_names(template: Path = ECS_TEMPLATE) -> frozenset[str]:
    """The parameter names of ``deploy/ecs.yaml``."""
    from deploy.template import load_template, parameter_names

    return parameter_names(load_template(template))


def container_config(text: str, *, generated: bool) -> str:
    """The engine config as the task receives it (``EngineConfig``: base64 of the TOML).

    Args:
        text: the pair's engine config (see :func:`deploy.engine.engine_config`).
        generated: the text was generated from the parameters; ``emf = true`` is then added
            to its ``[service]`` table (a pair's own config must say it: see
            :func:`container_rules`).

    Returns:
        Base64 of the TOML text.
    """
    if generated:
        text = text.replace("[service]\n", f"[service]\n{_EMF_LINE}\n", 1)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def ecs_overrides(base: Mapping[str, str], *, engine_config: str | None) -> dict[str, str]:
    """The ``--parameter-overrides`` of an ECS region: of the region's overrides (see
    :func:`deploy.plan.overrides`), what ``ecs.yaml`` declares, and ``EngineConfig``.

    Args:
        base: the region's overrides as the Lambda path would pass them.
        engine_config: ``EngineConfig`` (standalone, base64), or ``None`` (embedded: the
            image's own).
    """
    declared = ecs_parameter_names()
    chosen = {name: value for name, value in base.items() if name in declared}
    if engine_config is not None:
        chosen["EngineConfig"] = engine_config
    return chosen


def ecs_engine_config(pair: Pair, stack: RegionStack, default_config: str | None) -> str | None:
    """``EngineConfig`` of an ECS region: the pair's engine config for the task (standalone),
    or ``None`` (embedded: the application's image bundles its own)."""
    from deploy.engine import engine_config

    if pair.values(stack).get("Mode") != "standalone":
        return None
    text, source = engine_config(pair, default_config)
    return container_config(text, generated=source == "generated")


def aliases_own_alb(pair: Pair, stack: RegionStack) -> bool:
    """Whether the region's records alias its own ALB: an ECS region without
    ``AliasTargetDnsName``, embedded (the application is served there) or a health-only name."""
    if stack.platform != "ecs" or pair.values(stack).get("AliasTargetDnsName"):
        return False
    return pair.values(stack).get("Mode") == "embedded" or pair.health_only_name


def container_rules(
    pair: Pair,
    stack: RegionStack,
    key: str,
    *,
    lambda_parameters: frozenset[str],
    engine_text: str,
    engine_source: str,
) -> None:
    """Refuse, before any AWS call, an ECS region (or a Lambda one) its template cannot take.

    Args:
        pair: the pair.
        stack: one of its regions.
        key: the region's pairs-file key, e.g. ``pairs[0].secondary``.
        lambda_parameters: ``template.yaml``'s parameter names.
        engine_text: the pair's engine config text.
        engine_source: where it came from (``generated`` or a file).

    Raises:
        PairsError: naming the key, the pair and the region, and what to do.
    """
    where = f"pair {pair.name}, {stack.role} {stack.region}"
    ecs = stack.platform == "ecs"
    declared = ecs_parameter_names() if ecs else lambda_parameters
    template = "deploy/ecs.yaml" if ecs else "template.yaml"
    for name in stack.parameters:
        if name not in declared:
            raise PairsError(
                f"{key}.parameters.{name}",
                f"{where} runs on {stack.platform} ({template}), which has no parameter {name}:"
                " remove it from this region (set here, in [pairs.parameters] or in"
                " [defaults.parameters]), or choose the other platform",
            )
    if not ecs:
        return
    values = pair.values(stack)
    for name, what in REQUIRED.items():
        if not stack.parameters.get(name):
            raise PairsError(f"{key}.parameters.{name}", f"{where}: required on ecs ({what})")
    subnets = [s for s in stack.parameters["AlbSubnetIds"].split(",") if s.strip()]
    if len(subnets) < 2:
        raise PairsError(
            f"{key}.parameters.AlbSubnetIds",
            f"{where}: {len(subnets)} subnet; an Application Load Balancer needs subnets in at"
            " least two Availability Zones",
        )
    standalone = values.get("Mode") == "standalone"
    if standalone and not values.get("AliasTargetDnsName") and not pair.health_only_name:
        raise PairsError(
            f"{key}.parameters.AliasTargetDnsName",
            f"{where}: empty, so {pair.record_name} would alias the deep-health ALB, which"
            " serves health only: every application route would answer 404. Set it to the"
            " application's regional endpoint, or health_only_name = true in the pair.",
        )
    if standalone and engine_source != "generated" and values.get("InRegionAlarms") == "true":
        service = tomllib.loads(engine_text).get("service", {})
        if service.get("emf") is not True:
            raise PairsError(
                f"{key}.config",
                f"{where}: the engine config ({engine_source}) does not set emf = true in"
                " [service]; on ecs, `deep-health serve` writes no EMF metrics without it, and"
                " the in-region alarms would watch nothing. Add it, or InRegionAlarms = false.",
            )
