"""AWS facts the deploy tooling checks against, each with where it is documented.

One place, so a refusal, the gate and ``verify`` agree on them. Sources (see deploy/README.md):

- Route 53 checker regions: the ``HealthCheckRegion`` enum of the Route 53 API
  (https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckObservation.html);
  at least three must be chosen
  (https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html,
  ``Regions``: "you must specify at least three regions").
- The 18 % rule: a health check is healthy when more than 18 % of its checkers report healthy
  (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
- API Gateway's regional hosted zone ids
  (https://docs.aws.amazon.com/general/latest/gr/apigateway.html, "Route 53 Hosted Zone ID").
- ``HealthCheckStatus`` is published in us-east-1 only
  (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html).
"""

from __future__ import annotations

from service.simulation.route53 import DEFAULT_REGIONS, HEALTHY_SHARE

__all__ = [
    "APIGW_REGIONAL_ZONE_IDS",
    "CHECKER_REGIONS",
    "HEALTHY_SHARE",
    "MIN_CHECKER_REGIONS",
    "MONITORING_REGION",
    "STANDALONE_HEALTH_PATH",
    "TEMPLATE_DEFAULTS",
]

CHECKER_REGIONS = frozenset(DEFAULT_REGIONS)
"""The regions Route 53 health checkers run in."""

MIN_CHECKER_REGIONS = 3
"""Route 53 refuses a health check with fewer checker regions."""


MONITORING_REGION = "us-east-1"
"""The only region with Route 53 health-check metrics (and so their alarms)."""

STANDALONE_HEALTH_PATH = "/health"
"""The only path the standalone function's routes serve."""

APIGW_REGIONAL_ZONE_IDS = {
    "us-east-1": "Z1UJRXOUMOOFQ8",
    "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-1": "Z2MUQ32089INYE",
    "us-west-2": "Z2OJLYMUO9EFXC",
    "ca-central-1": "Z19DQILCV0OWEC",
    "sa-east-1": "ZCMLWB8V5SYIT",
    "eu-west-1": "ZLY8HYME6SFDD",
    "eu-west-2": "ZJ5UAJN8Y3Z2Q",
    "eu-west-3": "Z3KY65QIEKYHQQ",
    "eu-central-1": "Z1U9ULNL0V5AJ3",
    "ap-south-1": "Z3VO1THU9YC4UR",
    "ap-northeast-1": "Z1YSHQZHG15GKL",
    "ap-northeast-2": "Z20JF4UZKIW1U8",
    "ap-northeast-3": "Z2YQB5RD63NC85",
    "ap-southeast-1": "ZL327KTPIQFUL",
    "ap-southeast-2": "Z2RPCDW04V8134",
}
"""API Gateway's Route 53 hosted zone id for regional (``execute-api``) endpoints, by region.

Regions missing here are not refused, only not checked (the list in the AWS General Reference
is longer; add a region after reading it there).
"""

TEMPLATE_DEFAULTS = {
    "Mode": "standalone",
    "HealthPath": "/health",
    "Marker": "DEEP-HEALTH-OK",
    "HealthCheckInterval": "30",
    "FailureThreshold": "3",
    "CheckerRegions": "us-east-1,eu-west-1,ap-southeast-1",
    "OperatorControl": "none",
    "MetricsNamespace": "DeepHealth",
    "MetricsServiceId": "deep-health",
    "PeerCheckName": "peer",
    "InRegionAlarms": "true",
    "ReservedConcurrency": "10",
    "ProvisionedConcurrency": "0",
}
"""template.yaml's defaults that ``verify`` compares live health checks with (a test keeps
them equal to the template's, so ``verify`` needs no template or SAM translator at run time)."""
