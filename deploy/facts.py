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
- How a checker probes: 4 s to connect, 2 s to the status line, 2 s more for the body, no
  redirects followed, the search string within the first 5,120 bytes
  (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
- ``HealthCheckStatus`` is published in us-east-1 only
  (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html).
"""

from __future__ import annotations

import re

from service.simulation.route53 import DEFAULT_REGIONS, HEALTHY_SHARE, Route53Config

__all__ = [
    "APIGW_REGIONAL_ZONE_IDS",
    "BODY_LIMIT",
    "BODY_TIMEOUT",
    "CHECKERS_PER_REGION",
    "CHECKER_REGIONS",
    "CONNECT_TIMEOUT",
    "HEALTHY_SHARE",
    "MIN_CHECKER_REGIONS",
    "MONITORING_REGION",
    "STANDALONE_HEALTH_PATH",
    "STATUS_TIMEOUT",
    "TEMPLATE_DEFAULTS",
    "host_region",
]

CHECKER_REGIONS = frozenset(DEFAULT_REGIONS)
"""The regions Route 53 health checkers run in."""

MIN_CHECKER_REGIONS = 3
"""Route 53 refuses a health check with fewer checker regions."""

_MODEL = Route53Config()

CHECKERS_PER_REGION = _MODEL.checkers // len(_MODEL.regions)
"""Route 53 health checkers polling one endpoint from each checker region (the simulation's
typical 15 checkers over its 3 regions), each once per ``RequestInterval``, uncoordinated."""

CONNECT_TIMEOUT = 4.0
"""Seconds Route 53 gives the TCP connection (and TLS handshake) to an HTTPS endpoint."""

STATUS_TIMEOUT = _MODEL.timeout
"""Seconds Route 53 then waits for the status line (2xx/3xx healthy, redirects not followed)."""

BODY_TIMEOUT = 2.0
"""With string matching, seconds Route 53 waits for the body after the status line."""

BODY_LIMIT = 5120
"""Route 53's ``HTTPS_STR_MATCH`` searches only the first 5,120 bytes of the body."""


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
    "HealthCheckInterval": "10",
    "FailureThreshold": "3",
    "CheckerRegions": "us-east-1,eu-west-1,ap-southeast-1",
    "OperatorControl": "none",
    "MetricsNamespace": "DeepHealth",
    "MetricsServiceId": "deep-health",
    "PeerCheckName": "peer",
    "InRegionAlarms": "true",
    "ReservedConcurrency": "10",
    "ProvisionedConcurrency": "0",
    "HealthRateLimit": "500",
    "HealthBurstLimit": "1000",
    "DualStack": "false",
    "AaaaHealthCheck": "",
}
"""template.yaml's defaults that ``verify`` compares live health checks with (a test keeps
them equal to the template's, so ``verify`` needs no template or SAM translator at run time)."""

_REGIONAL_HOSTS = (
    ("API Gateway", re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com\.?$")),
    (
        "an Application or Classic Load Balancer",
        re.compile(r"\.([a-z]{2}-[a-z]+-\d)\.elb\.amazonaws\.com\.?$"),
    ),
    ("a Network Load Balancer", re.compile(r"\.elb\.([a-z]{2}-[a-z]+-\d)\.amazonaws\.com\.?$")),
    ("Elastic Beanstalk", re.compile(r"\.([a-z]{2}-[a-z]+-\d)\.elasticbeanstalk\.com\.?$")),
    ("an S3 website", re.compile(r"\.s3-website[.-]([a-z]{2}-[a-z]+-\d)\.amazonaws\.com\.?$")),
)
_GLOBAL_HOSTS = (
    ("CloudFront", re.compile(r"\.cloudfront\.net\.?$")),
    ("Global Accelerator", re.compile(r"\.awsglobalaccelerator\.com\.?$")),
)


def host_region(host: str) -> tuple[str, str | None] | None:
    """The AWS service and region an endpoint's DNS name shows, where it shows one.

    Args:
        host: a DNS name (an alias target, a health-checked host).

    Returns:
        ``(service, region)``; ``(service, None)`` for a global service (CloudFront, Global
        Accelerator: no region to compare); ``None`` when the name shows neither (a custom
        domain).
    """
    name = host.lower()
    for service, pattern in _REGIONAL_HOSTS:
        match = pattern.search(name)
        if match is not None:
            return service, match.group(1)
    for service, pattern in _GLOBAL_HOSTS:
        if pattern.search(name):
            return service, None
    return None
