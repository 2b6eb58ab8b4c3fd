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
from collections.abc import Mapping
from pathlib import Path

from deploy.facts import MONITORING_REGION
from deploy.pairs import Pair, PairsError, RegionStack

__all__ = [
    "ALARMS_FROM_OUTPUTS",
    "ALARMS_TEMPLATE",
    "DASHBOARD_TEMPLATE",
    "alarm_rules",
    "alarms_stack_name",
    "alarms_values",
    "dashboard_stack_name",
    "dashboard_values",
    "has_alarms_stack",
    "log_group",
]

ALARMS_TEMPLATE = Path(__file__).resolve().parent / "alarms.yaml"
"""Per region: the alarms on what serves the health path."""

DASHBOARD_TEMPLATE = Path(__file__).resolve().parent / "dashboard.yaml"
"""Per pair, in us-east-1: the dashboard."""

_TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:.+$")

ALARMS_FROM_OUTPUTS = {
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
"""Per platform: each ``alarms.yaml`` parameter and the regional stack's output that fills it."""


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


def alarms_values(pair: Pair, stack: RegionStack, found: Mapping[str, str]) -> dict[str, str]:
    """The alarms stack's parameters, given the region's stack outputs (empty ones left out)."""
    values = {
        "PairName": pair.name,
        "RecordName": pair.record_name,
        "Role": stack.role,
        "RegionalStackName": stack.stack_name,
        "Platform": stack.platform,
    }
    for parameter, output in ALARMS_FROM_OUTPUTS[stack.platform].items():
        values[parameter] = found.get(output, "")
    return {name: value for name, value in values.items() if value}


def dashboard_values(
    pair: Pair, primary: Mapping[str, str], secondary: Mapping[str, str]
) -> dict[str, str]:
    """The dashboard stack's parameters, given both regions' stack outputs."""
    values = pair.values(pair.primary)
    return {
        "PairName": pair.name,
        "RecordName": pair.record_name,
        "PrimaryRegion": pair.primary.region,
        "SecondaryRegion": pair.secondary.region,
        # Route 53's status of the check the records carry (calculated, with an operator
        # control); the latency of the deep check behind it (a calculated check has none).
        "PrimaryHealthCheckId": primary["RecordHealthCheckId"],
        "SecondaryHealthCheckId": secondary["RecordHealthCheckId"],
        "PrimaryDeepCheckId": primary["HealthCheckId"],
        "SecondaryDeepCheckId": secondary["HealthCheckId"],
        "PrimaryLogGroup": log_group(pair.primary),
        "SecondaryLogGroup": log_group(pair.secondary),
        "MetricsNamespace": values["MetricsNamespace"],
        "MetricsServiceId": values["MetricsServiceId"],
    }
