"""Alarms that reach someone, on both paths, and one dashboard per pair.

Per region, beside its stack, ``deploy/alarms.yaml`` (stack ``<stack>-alarms``): on the Lambda
path the function's throttles and errors and the health API's server errors (500/502/504) and
throttles (429), counted from its access log; on the ECS path the ALB's healthy and unhealthy
tasks and its own 5xx. It notifies the region's alarm topic: the ``AlarmTopicArn`` output of
the region's stack (the topic ``AlarmEmail`` creates there, or the ``AlarmTopicArn`` given).
Per pair, in us-east-1, ``deploy/dashboard.yaml`` (stack ``<stack>-dashboard``): Route 53's
view of both regions, the verdict and its reasons, state-store fallbacks, latency.

Refused before any AWS call (:func:`alarm_rules`), unless the pair says
``no_alarm_destination = true``:

- a region without a destination (neither ``AlarmEmail`` nor ``AlarmTopicArn``): its alarms,
  the in-region ones included, would notify nobody;
- an ``AlarmTopicArn`` of another region: the in-region alarms must not depend on another
  region (the point of having them is a us-east-1 outage);
- a pair without ``AlarmEmail`` in either region: its us-east-1 monitoring stack mails the
  primary's, else the secondary's, so "failover disarmed" and "failed open" would reach nobody.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path

from deploy.facts import MONITORING_REGION
from deploy.pairs import Pair, PairsError, RegionStack

__all__ = [
    "ALARMS_TEMPLATE",
    "DASHBOARD_TEMPLATE",
    "alarm_rules",
    "alarms_argv",
    "alarms_display",
    "alarms_stack_name",
    "dashboard_argv",
    "dashboard_display",
    "dashboard_stack_name",
    "has_alarms_stack",
    "log_group",
]

ALARMS_TEMPLATE = Path(__file__).resolve().parent / "alarms.yaml"
"""Per region: the alarms on what serves the health path."""

DASHBOARD_TEMPLATE = Path(__file__).resolve().parent / "dashboard.yaml"
"""Per pair, in us-east-1: the dashboard."""

_PROJECT = Path(__file__).resolve().parent.parent
_TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:.+$")

# alarms.yaml parameter -> the regional stack's output that fills it, per platform.
_FROM_OUTPUTS = {
    "lambda": {
        "AlarmTopicArn": "AlarmTopicArn",
        "FunctionName": "FunctionName",
        "ApiId": "HealthApiId",
        "AccessLogGroupName": "ApiAccessLogGroupName",
    },
    "ecs": {
        "AlarmTopicArn": "AlarmTopicArn",
        "LoadBalancerFullName": "LoadBalancerFullName",
        "TargetGroupFullName": "TargetGroupFullName",
    },
}

Outputs = Callable[[RegionStack], Mapping[str, str]]


def alarm_rules(pair: Pair, index: int) -> None:
    """Refuse a pair whose alarms would notify nobody (see the module docstring).

    Args:
        pair: the pair.
        index: its position in the pairs file (for the key).

    Raises:
        PairsError: naming the key, the pair and the region, and what to do.
    """
    if pair.no_alarm_destination:
        return
    emails = []
    for side, stack in (("primary", pair.primary), ("secondary", pair.secondary)):
        key = f"pairs[{index}].{side}.parameters"
        where = f"pair {pair.name}, {stack.role} {stack.region}"
        email = stack.parameters.get("AlarmEmail", "")
        topic = stack.parameters.get("AlarmTopicArn", "")
        if not email and not topic:
            raise PairsError(
                f"{key}.AlarmEmail",
                f"{where}: no alarm destination, so this region's alarms (unhealthy, peer"
                " unreachable, throttled, failing) would notify nobody. Set AlarmEmail, or"
                f" AlarmTopicArn (an SNS topic in {stack.region}); or no_alarm_destination ="
                " true in the pair if something else watches the alarms.",
            )
        match = _TOPIC.match(topic) if topic else None
        if topic and match is None:
            raise PairsError(f"{key}.AlarmTopicArn", f"{where}: {topic!r} is not an SNS topic ARN")
        if match is not None and match.group(1) != stack.region:
            raise PairsError(
                f"{key}.AlarmTopicArn",
                f"{where}: the topic is in {match.group(1)}; the in-region alarms must not"
                f" depend on another region. Use a topic in {stack.region}.",
            )
        emails.append(email)
    if not any(emails):
        raise PairsError(
            f"pairs[{index}].primary.parameters.AlarmEmail",
            f"pair {pair.name}: neither region sets AlarmEmail, which the pair's"
            f" {MONITORING_REGION} monitoring stack mails (the secondary down: failover"
            " disarmed; both down: failed open); those alarms would reach nobody. Set"
            " AlarmEmail in one region, or no_alarm_destination = true in the pair.",
        )


def has_alarms_stack(pair: Pair, stack: RegionStack) -> bool:
    """Whether the region gets an alarms stack: the ECS path, or the standalone function
    (an embedded Lambda region's API and functions are the application's own)."""
    return stack.platform == "ecs" or pair.values(stack).get("Mode") == "standalone"


def alarms_stack_name(stack: RegionStack) -> str:
    """The name of a region's alarms stack."""
    return f"{stack.stack_name}-alarms"


def dashboard_stack_name(pair: Pair) -> str:
    """The name of a pair's dashboard stack (in us-east-1)."""
    return f"{pair.primary.stack_name}-dashboard"


def log_group(stack: RegionStack) -> str:
    """The service's log group in a region (both templates name it so)."""
    return f"/deep-health/{stack.stack_name}"


def _argv(
    template: Path, stack_name: str, region: str, pair: Pair, role: str, values: Mapping[str, str]
) -> tuple[str, ...]:
    from deploy.plan import override_argument

    return (
        "sam", "deploy",
        "--template-file", str(template.relative_to(_PROJECT)),
        "--stack-name", stack_name,
        "--region", region,
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--tags", "project=deep-health", f"pair={pair.name}", f"role={role}",
        "--parameter-overrides",
        *(override_argument(name, value) for name, value in values.items() if value),
    )  # fmt: skip


def _alarms_values(pair: Pair, stack: RegionStack, found: Mapping[str, str]) -> dict[str, str]:
    values = {
        "PairName": pair.name,
        "RecordName": pair.record_name,
        "Role": stack.role,
        "RegionalStackName": stack.stack_name,
        "Platform": stack.platform,
    }
    for parameter, output in _FROM_OUTPUTS[stack.platform].items():
        values[parameter] = found.get(output, "")
    return values


def alarms_argv(pair: Pair, stack: RegionStack, found: Mapping[str, str]) -> tuple[str, ...]:
    """``sam deploy`` of a region's alarms stack, given the region's stack outputs."""
    return _argv(
        ALARMS_TEMPLATE,
        alarms_stack_name(stack),
        stack.region,
        pair,
        f"{stack.role}-ALARMS",
        _alarms_values(pair, stack, found),
    )


def alarms_display(pair: Pair, stack: RegionStack) -> str:
    """The alarms stack's command as printed: each output read with the AWS CLI."""
    values = pair.values(stack)
    has_topic = bool(values.get("AlarmEmail") or values.get("AlarmTopicArn"))
    read = {
        parameter: (stack, output)
        for parameter, output in _FROM_OUTPUTS[stack.platform].items()
        if parameter != "AlarmTopicArn" or has_topic
    }
    found = {output: f"@@{parameter}@@" for parameter, (_, output) in read.items()}
    return _substituted(alarms_argv(pair, stack, found), read)


def _dashboard_values(
    pair: Pair, primary: Mapping[str, str], secondary: Mapping[str, str]
) -> dict[str, str]:
    values = pair.values(pair.primary)
    return {
        "PairName": pair.name,
        "RecordName": pair.record_name,
        "PrimaryRegion": pair.primary.region,
        "SecondaryRegion": pair.secondary.region,
        "PrimaryHealthCheckId": primary["HealthCheckId"],
        "SecondaryHealthCheckId": secondary["HealthCheckId"],
        "PrimaryLogGroup": log_group(pair.primary),
        "SecondaryLogGroup": log_group(pair.secondary),
        "MetricsNamespace": values["MetricsNamespace"],
        "MetricsServiceId": values["MetricsServiceId"],
    }


def dashboard_argv(
    pair: Pair, primary: Mapping[str, str], secondary: Mapping[str, str]
) -> tuple[str, ...]:
    """``sam deploy`` of the pair's dashboard stack, given both regions' stack outputs."""
    return _argv(
        DASHBOARD_TEMPLATE,
        dashboard_stack_name(pair),
        MONITORING_REGION,
        pair,
        "DASHBOARD",
        _dashboard_values(pair, primary, secondary),
    )


def dashboard_display(pair: Pair) -> str:
    """The dashboard stack's command as printed: both health check ids read with the CLI."""
    argv = dashboard_argv(
        pair,
        {"HealthCheckId": "@@PrimaryHealthCheckId@@"},
        {"HealthCheckId": "@@SecondaryHealthCheckId@@"},
    )
    return _substituted(
        argv,
        {
            "PrimaryHealthCheckId": (pair.primary, "HealthCheckId"),
            "SecondaryHealthCheckId": (pair.secondary, "HealthCheckId"),
        },
    )


def _substituted(argv: tuple[str, ...], read: Mapping[str, tuple[RegionStack, str]]) -> str:
    """``shlex.join(argv)`` with each ``Name=@@Name@@`` replaced by a shell substitution that
    reads the stack output (what the rollout passes at run time)."""
    from deploy.plan import output_command

    text = shlex.join(argv)
    for parameter, (stack, output) in read.items():
        text = text.replace(
            shlex.quote(f"{parameter}=@@{parameter}@@"),
            f"{parameter}={output_command(stack.stack_name, stack.region, output)}",
        )
    return text
