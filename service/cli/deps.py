"""The dependency audit: which endpoints the configured checks call, and where they live.

Checks declare their endpoints (``Check.endpoints()``); the audit does not guess. It warns
where a check scoped ``regional`` depends on a global endpoint (or one only in us-east-1):
failing over cannot fix that fault, so such a check should be scoped ``global`` or use a
regional endpoint (SSO Elevator's outage: a hidden us-east-1 dependency). It also flags a
regional check calling another region than the service's own.

``deep-health deps [--config FILE] [--json] [--strict]`` prints it; exit 0, or 1 with
``--strict`` when there are warnings, 2 on a configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from checks.base import Check

__all__ = ["Dependency", "add_deps_parser", "audit", "audit_json", "format_audit", "run_deps"]

IN_PROCESS = "(in process)"
UNDECLARED = "(undeclared)"


@dataclass(frozen=True, slots=True)
class Dependency:
    """One endpoint one check calls, with the audit's verdict on it."""

    check: str
    scope: str
    critical: bool
    url: str
    region: str | None
    global_service: bool
    warning: str | None = None


def _warning(
    check: Check, region: str | None, global_service: bool, home: str | None
) -> str | None:
    if check.scope != "regional":
        return None
    if global_service:
        return (
            f"{check.check_name} is scoped regional but calls a global endpoint: failing over "
            "cannot fix it (scope it 'global' or use a regional endpoint)"
        )
    if home and region and region != home:
        return f"{check.check_name} is scoped regional but calls {region}, not {home}"
    return None


def audit(checks: Iterable[Check], *, region: str | None = None) -> list[Dependency]:
    """Every declared endpoint of ``checks``, one row each, in config order.

    Args:
        checks: the configured checks.
        region: the service's own region (``AWS_REGION`` otherwise) for cross-region warnings.
    """
    home = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    rows: list[Dependency] = []
    for check in checks:
        name, scope, critical = check.check_name, check.scope, check.critical
        endpoints = check.endpoints()
        if not endpoints:
            declared = type(check).endpoints is not Check.endpoints
            url = IN_PROCESS if declared else UNDECLARED
            rows.append(Dependency(name, scope, critical, url, region=None, global_service=False))
        for e in endpoints:
            warning = _warning(check, e.region, e.global_service, home)
            rows.append(
                Dependency(
                    name,
                    scope,
                    critical,
                    url=e.url,
                    region=e.region,
                    global_service=e.global_service,
                    warning=warning,
                )
            )
    return rows


def audit_json(rows: Iterable[Dependency]) -> list[dict[str, object]]:
    """The audit as JSON-ready dicts (for ``/health/details``)."""
    return [asdict(row) for row in rows]


def format_audit(rows: Iterable[Dependency]) -> str:
    """A table of the audit, then its warnings."""
    listed = list(rows)
    table = [("check", "scope", "critical", "region", "global", "endpoint")]
    for r in listed:
        table.append(
            (
                r.check,
                r.scope,
                "yes" if r.critical else "no",
                r.region or "-",
                "GLOBAL" if r.global_service else "-",
                r.url,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[5]])
        for row in table
    ]
    warnings = [r.warning for r in listed if r.warning]
    if warnings:
        lines += ["", "warnings:", *(f"  - {w}" for w in warnings)]
    return "\n".join(line.rstrip() for line in lines)


def add_deps_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``deps`` command to the CLI's subparsers."""
    deps = subparsers.add_parser(
        "deps",
        help="list the endpoints the configured checks call",
        description="List the endpoints the configured checks call, where they live, and warn "
        "where a regional check depends on a global (or us-east-1) endpoint. Exit 0, 1 with "
        "--strict when there are warnings, 2 bad input.",
    )
    deps.add_argument("--config", help="TOML config (default: $DEEP_HEALTH_CONFIG)")
    deps.add_argument("--json", action="store_true", help="print JSON")
    deps.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")


def run_deps(args: argparse.Namespace) -> int:
    """Run ``deep-health deps``; returns the exit code."""
    from service.cli.common import load_or_exit

    config = load_or_exit(args.config)  # a bad config: the same words and exit 2 as `check`
    rows = audit(config.checks)
    print(json.dumps(audit_json(rows), indent=2) if args.json else format_audit(rows))
    return 1 if args.strict and any(r.warning for r in rows) else 0
