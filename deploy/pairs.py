"""The region-pairs file: which stacks go to which regions, with which parameters.

Layout (see ``deploy/pairs.example.toml``)::

    [defaults]                       # optional, applies to every pair
    template = "../template.yaml"    # default: the template.yaml next to this package
    config = "health.lambda.toml"    # optional engine config; default: generated per pair
    hosted_zone_id = "Z0123456789EXAMPLE"
    [defaults.parameters]            # template parameters for every region
    FailureThreshold = 3

    [[pairs]]
    name = "api"                     # used in the default stack name deep-health-<name>
    record_name = "api.example.com"  # the shared name
    routing_mode = "failover"        # or "latency"
    details_token_ssm = "/deep-health/api/details-token"   # optional SecureString name
    health_only_name = false         # true: record_name serves nothing but health
    records_elsewhere = false        # true: no alias target, the records are managed elsewhere
    arc_safety_rule = true           # routing controls in both regions: ARC's "at least one ON"
    config = "api.health.toml"       # optional: this pair's own engine config
    platform = "lambda"              # or "ecs" (deploy/ecs.yaml); a region may say its own
    no_alarm_destination = false     # true: the alarms may notify nobody (see docs/alarms.md)
    [pairs.parameters]               # both regions of this pair
    TableName = "accounts"
    [pairs.primary]                  # role PRIMARY
    region = "us-east-1"
    [pairs.primary.parameters]       # this region only
    RegionalDomainName = "health-use1.example.com"
    [pairs.secondary]                # role SECONDARY; same keys
    region = "eu-west-1"

Later tables win: defaults < pair < region. Relative paths (``template``, ``config``) are
read from the pairs file's directory, so the script works from any directory. Every error names
the offending key, for example ``pairs[1].secondary.region: ...``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from deploy.facts import TEMPLATE_DEFAULTS

__all__ = [
    "DEFAULT_TEMPLATE",
    "MANAGED_PARAMETERS",
    "PLATFORMS",
    "Pair",
    "PairsError",
    "PairsFile",
    "RegionStack",
    "load_pairs",
    "parse_pairs",
]

Role = Literal["PRIMARY", "SECONDARY"]

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
"""The one template every region deploys (used when the pairs file names none)."""

MANAGED_PARAMETERS = frozenset(
    {
        "Role",
        "HostedZoneId",
        "RecordName",
        "RoutingMode",
        "ReleaseId",
        "DetailsTokenParameter",
        "RecordIsHealthOnly",
    }
)
"""Template parameters the script sets itself; a pairs file may not override them."""

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_STACK = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_ZONE = re.compile(r"^[A-Z0-9]{2,32}$")  # real ids start with Z; emulators' need not
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SSM = re.compile(r"^/[A-Za-z0-9_.\-/]+$")

_TOP_KEYS = frozenset({"defaults", "pairs"})
_DEFAULT_KEYS = frozenset({"config", "hosted_zone_id", "template", "parameters"})
_PAIR_KEYS = frozenset(
    {
        "name",
        "record_name",
        "hosted_zone_id",
        "zone_name",
        "routing_mode",
        "stack_name",
        "details_token_ssm",
        "health_only_name",
        "records_elsewhere",
        "arc_safety_rule",
        "config",
        "parameters",
        "primary",
        "secondary",
        "platform",
        "no_alarm_destination",
    }
)
_REGION_KEYS = frozenset({"region", "stack_name", "parameters", "platform"})
PLATFORMS = ("lambda", "ecs")
"""What runs the service in a region: ``template.yaml`` (Lambda) or ``deploy/ecs.yaml``."""


class PairsError(ValueError):
    """The pairs file is invalid; the message starts with the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class RegionStack:
    """One region's stack of a pair.

    Attributes:
        region: the AWS region.
        role: ``PRIMARY`` or ``SECONDARY``.
        stack_name: the CloudFormation stack name.
        parameters: template parameters for this stack (merged, as strings), without the
            managed ones (see :data:`MANAGED_PARAMETERS`).
        platform: ``lambda`` (``template.yaml``) or ``ecs`` (``deploy/ecs.yaml``).
    """

    region: str
    role: Role
    stack_name: str
    parameters: Mapping[str, str]
    platform: Literal["lambda", "ecs"] = "lambda"


@dataclass(frozen=True)
class Pair:
    """A primary region and its backup serving one shared record name.

    Attributes:
        name: short name of the pair.
        record_name: the shared DNS name (never health-checked).
        hosted_zone_id: the public hosted zone that holds ``record_name``.
        zone_name: the zone's DNS name (defaults to ``record_name`` minus its first label).
        routing_mode: ``failover`` or ``latency``.
        details_token_ssm: name of an SSM SecureString holding the details token, or ``None``.
        primary: the PRIMARY region's stack.
        secondary: the SECONDARY region's stack.
        health_only_name: ``record_name`` serves nothing but health (the stack may map it to
            the health API); ``False`` refuses that.
        config: this pair's engine config (``None``: the file's default, else generated).
        no_alarm_destination: the pair says its alarms may notify nobody (else a destination
            is required in both regions, see :mod:`deploy.alarms`).
        records_elsewhere: the pair's failover records are created outside its stacks (a stack
            without an alias target then creates none, knowingly); ``False`` refuses that.
        arc_safety_rule: with routing controls in both regions, the monitoring stack creates
            ARC's safety rule "at least one routing control ON"; ``False``: the control panel
            has one already.
    """

    name: str
    record_name: str
    hosted_zone_id: str
    zone_name: str
    routing_mode: Literal["failover", "latency"]
    details_token_ssm: str | None
    primary: RegionStack
    secondary: RegionStack
    health_only_name: bool = False
    config: Path | None = None
    no_alarm_destination: bool = False
    records_elsewhere: bool = False
    arc_safety_rule: bool = True

    def checked_host(self, stack: RegionStack) -> str | None:
        """The host the stack's Route 53 health check polls, where the parameters name it.

        ``None``: the stack's own generated ``execute-api`` host, or its own ALB's DNS name
        (``platform = "ecs"``), unique to that stack.
        """
        values = self.values(stack)
        if values.get("Mode") == "embedded" and stack.platform == "lambda":
            return values.get("EmbeddedHealthHost") or None
        if values.get("CertificateArn") and values.get("RegionalDomainName"):
            return values["RegionalDomainName"]
        return None

    @property
    def routing_controls(self) -> tuple[str, str] | None:
        """Both regions' routing controls when both use one and the pair wants the safety rule."""
        if not self.arc_safety_rule:
            return None
        controls = []
        for stack in self.stacks:
            values = self.values(stack)
            if values.get("OperatorControl") != "routing-control":
                return None
            controls.append(values.get("RoutingControlArn", ""))
        return controls[0], controls[1]

    @property
    def stacks(self) -> tuple[RegionStack, RegionStack]:
        """Primary first: deploy order."""
        return (self.primary, self.secondary)

    def other(self, stack: RegionStack) -> RegionStack:
        """The pair's other region."""
        return self.secondary if stack is self.primary else self.primary

    def values(self, stack: RegionStack) -> dict[str, str]:
        """One stack's parameters as the template sees them.

        Template defaults (:data:`deploy.facts.TEMPLATE_DEFAULTS`), then the pairs file's, then
        the managed ones; ``PeerHealthUrl`` defaults to the other region's own health URL when
        the pairs file makes it known (its ``RegionalDomainName`` or ``EmbeddedHealthHost``).
        """
        values = {
            **TEMPLATE_DEFAULTS,
            **stack.parameters,
            "Role": stack.role,
            "HostedZoneId": self.hosted_zone_id,
            "RecordName": self.record_name,
            "RoutingMode": self.routing_mode,
            "RecordIsHealthOnly": "true" if self.health_only_name else "false",
            "DetailsTokenParameter": self.details_token_ssm or "",
        }
        if stack.platform == "ecs":
            # deploy/ecs.yaml creates A records only (its ALB is IPv4): no AAAA to check.
            values["DualStack"] = "false"
        if "PeerHealthUrl" not in stack.parameters:
            peer = self.other(stack).parameters
            host = peer.get("EmbeddedHealthHost") or (
                peer.get("RegionalDomainName") if peer.get("CertificateArn") else None
            )
            if host:
                path = peer.get("HealthPath", TEMPLATE_DEFAULTS["HealthPath"])
                values["PeerHealthUrl"] = f"https://{host}{path}"
        return values


@dataclass(frozen=True)
class PairsFile:
    """A validated pairs file.

    Attributes:
        path: where it was read from.
        template: the template to deploy (absolute).
        config: the default engine config TOML of every pair (absolute), or ``None``: each
            pair's is generated from its parameters unless it names its own.
        pairs: the pairs, in file order.
    """

    path: Path
    template: Path
    config: Path | None
    pairs: tuple[Pair, ...] = field(default_factory=tuple)


def load_pairs(path: Path, *, known_parameters: Iterable[str] | None = None) -> PairsFile:
    """Read and validate a pairs file.

    Args:
        path: the TOML file.
        known_parameters: the template's parameter names; when given, unknown parameter names
            are errors.

    Returns:
        The validated pairs.

    Raises:
        PairsError: the file is missing, not TOML, or invalid; the message names the key.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PairsError(str(path), f"cannot read: {error.strerror}") from error
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        raise PairsError(
            str(path), f"not UTF-8 text (byte {byte:#04x} at offset {error.start}); TOML is UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise PairsError(str(path), f"not valid TOML: {error}") from error
    return parse_pairs(data, path=path, known_parameters=known_parameters)


def parse_pairs(
    data: Mapping[str, Any],
    *,
    path: Path = Path("pairs.toml"),
    known_parameters: Iterable[str] | None = None,
) -> PairsFile:
    """Validate parsed pairs TOML (see the module docstring for the layout).

    Args:
        data: the parsed TOML document.
        path: where it came from (for :class:`PairsFile`).
        known_parameters: the template's parameter names, or ``None`` to skip that check.

    Returns:
        The validated pairs.

    Raises:
        PairsError: the first problem found, naming its key.
    """
    known = frozenset(known_parameters) if known_parameters is not None else None
    base = path.resolve().parent
    _no_unknown_keys(data, _TOP_KEYS, "")
    defaults = _table(data.get("defaults", {}), "defaults")
    _no_unknown_keys(defaults, _DEFAULT_KEYS, "defaults")
    default_parameters = _parameters(defaults.get("parameters", {}), "defaults.parameters", known)
    raw_pairs = data.get("pairs")
    if not isinstance(raw_pairs, list) or not raw_pairs:
        raise PairsError("pairs", "at least one [[pairs]] table is required")

    pairs = tuple(
        _pair(
            _table(raw, f"pairs[{index}]"),
            f"pairs[{index}]",
            defaults,
            default_parameters,
            known,
            base,
        )
        for index, raw in enumerate(raw_pairs)
    )
    _no_collisions(pairs)
    config = defaults.get("config")
    template = defaults.get("template")
    return PairsFile(
        path=path,
        template=(
            base / _string(template, "defaults.template")
            if template is not None
            else DEFAULT_TEMPLATE
        ),
        config=base / _string(config, "defaults.config") if config is not None else None,
        pairs=pairs,
    )


def _pair(
    raw: Mapping[str, Any],
    key: str,
    defaults: Mapping[str, Any],
    default_parameters: Mapping[str, str],
    known: frozenset[str] | None,
    base: Path,
) -> Pair:
    _no_unknown_keys(raw, _PAIR_KEYS, key)
    name = _matching(raw.get("name"), f"{key}.name", _NAME, "lowercase letters, digits, '-'")
    record_name = _matching(
        raw.get("record_name"), f"{key}.record_name", _HOST, "a DNS name like api.example.com"
    )
    zone_id = raw.get("hosted_zone_id", defaults.get("hosted_zone_id"))
    zone_key = f"{key}.hosted_zone_id" if "hosted_zone_id" in raw else "defaults.hosted_zone_id"
    if zone_id is None:
        raise PairsError(f"{key}.hosted_zone_id", "required (here or in [defaults])")
    hosted_zone_id = _matching(zone_id, zone_key, _ZONE, "a hosted zone id like Z0123456789ABC")
    zone_name = _string(raw.get("zone_name", record_name.split(".", 1)[1]), f"{key}.zone_name")
    if not record_name.endswith("." + zone_name) and record_name != zone_name:
        raise PairsError(f"{key}.record_name", f"{record_name!r} is not in zone {zone_name!r}")
    routing_mode = raw.get("routing_mode", "failover")
    if routing_mode not in ("failover", "latency"):
        raise PairsError(
            f"{key}.routing_mode", f"must be 'failover' or 'latency', not {routing_mode!r}"
        )
    token = raw.get("details_token_ssm")
    if token is not None:
        token = _matching(token, f"{key}.details_token_ssm", _SSM, "an SSM name like /a/b")
    pair_parameters = {
        **default_parameters,
        **_parameters(raw.get("parameters", {}), f"{key}.parameters", known),
    }
    stack_name = raw.get("stack_name", f"deep-health-{name}")

    has_primary, has_secondary = "primary" in raw, "secondary" in raw
    if has_secondary and not has_primary:
        raise PairsError(f"{key}.primary", "missing: a SECONDARY region needs its PRIMARY")
    if has_primary and not has_secondary:
        raise PairsError(f"{key}.secondary", "missing: a PRIMARY region needs its SECONDARY")
    if not has_primary:
        raise PairsError(f"{key}.primary", "missing: a pair needs [primary] and [secondary]")
    platform = _platform(raw.get("platform", "lambda"), f"{key}.platform")
    primary = _region(
        raw["primary"], f"{key}.primary", "PRIMARY", stack_name, pair_parameters, known, platform
    )
    secondary = _region(
        raw["secondary"],
        f"{key}.secondary",
        "SECONDARY",
        stack_name,
        pair_parameters,
        known,
        platform,
    )
    if primary.region == secondary.region:
        raise PairsError(
            f"{key}.secondary.region", f"same region as the primary ({primary.region})"
        )
    health_only = raw.get("health_only_name", False)
    if not isinstance(health_only, bool):
        raise PairsError(f"{key}.health_only_name", "must be true or false")
    unalarmed = raw.get("no_alarm_destination", False)
    if not isinstance(unalarmed, bool):
        raise PairsError(f"{key}.no_alarm_destination", "must be true or false")
    elsewhere = raw.get("records_elsewhere", False)
    if not isinstance(elsewhere, bool):
        raise PairsError(f"{key}.records_elsewhere", "must be true or false")
    safety_rule = raw.get("arc_safety_rule", True)
    if not isinstance(safety_rule, bool):
        raise PairsError(f"{key}.arc_safety_rule", "must be true or false")
    config = raw.get("config")
    return Pair(
        name=name,
        record_name=record_name,
        hosted_zone_id=hosted_zone_id,
        zone_name=zone_name,
        routing_mode=routing_mode,
        details_token_ssm=token,
        primary=primary,
        secondary=secondary,
        health_only_name=health_only,
        config=base / _string(config, f"{key}.config") if config is not None else None,
        no_alarm_destination=unalarmed,
        records_elsewhere=elsewhere,
        arc_safety_rule=safety_rule,
    )


def _platform(raw: Any, key: str) -> Literal["lambda", "ecs"]:
    if raw == "lambda":
        return "lambda"
    if raw == "ecs":
        return "ecs"
    raise PairsError(key, f"must be 'lambda' or 'ecs', not {raw!r}")


def _region(
    raw: Any,
    key: str,
    role: Role,
    default_stack_name: Any,
    pair_parameters: Mapping[str, str],
    known: frozenset[str] | None,
    platform: Literal["lambda", "ecs"] = "lambda",
) -> RegionStack:
    table = _table(raw, key)
    _no_unknown_keys(table, _REGION_KEYS, key)
    region = _matching(table.get("region"), f"{key}.region", _REGION, "a region like eu-west-1")
    stack_key = (
        f"{key}.stack_name" if "stack_name" in table else f"{key.rsplit('.', 1)[0]}.stack_name"
    )
    stack_name = _matching(
        table.get("stack_name", default_stack_name),
        stack_key,
        _STACK,
        "a CloudFormation stack name",
    )
    parameters = {
        **pair_parameters,
        **_parameters(table.get("parameters", {}), f"{key}.parameters", known),
    }
    return RegionStack(
        region=region,
        role=role,
        stack_name=stack_name,
        parameters=parameters,
        platform=_platform(table.get("platform", platform), f"{key}.platform"),
    )


def _no_collisions(pairs: tuple[Pair, ...]) -> None:
    stacks: dict[tuple[str, str], str] = {}
    records: dict[tuple[str, str], str] = {}
    for index, pair in enumerate(pairs):
        record = (pair.hosted_zone_id, pair.record_name)
        if record in records:
            raise PairsError(
                f"pairs[{index}].record_name",
                f"{pair.record_name!r} is already served by {records[record]}",
            )
        records[record] = f"pairs[{index}]"
        for side, stack in (("primary", pair.primary), ("secondary", pair.secondary)):
            where = (stack.region, stack.stack_name)
            if where in stacks:
                raise PairsError(
                    f"pairs[{index}].{side}.stack_name",
                    f"stack {stack.stack_name!r} in {stack.region} is also {stacks[where]}",
                )
            stacks[where] = f"pairs[{index}].{side}"


def _parameters(raw: Any, key: str, known: frozenset[str] | None) -> dict[str, str]:
    table = _table(raw, key)
    result: dict[str, str] = {}
    for name, value in table.items():
        where = f"{key}.{name}"
        if name in MANAGED_PARAMETERS:
            raise PairsError(where, "set by the deploy script from the pair; remove it here")
        if known is not None and name not in known:
            raise PairsError(where, "not a parameter of the template")
        result[name] = _parameter_value(value, where)
    return result


def _parameter_value(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    raise PairsError(key, f"must be a string, integer, boolean or list of strings, not {value!r}")


def _table(raw: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise PairsError(key, "must be a table")
    return raw


def _string(raw: Any, key: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise PairsError(key, "must be a non-empty string")
    return raw


def _matching(raw: Any, key: str, pattern: re.Pattern[str], what: str) -> str:
    if raw is None:
        raise PairsError(key, f"required ({what})")
    text = _string(raw, key)
    if not pattern.match(text):
        raise PairsError(key, f"{text!r} is not {what}")
    return text


def _no_unknown_keys(table: Mapping[str, Any], allowed: frozenset[str], key: str) -> None:
    for name in table:
        if name not in allowed:
            where = f"{key}.{name}" if key else name
            raise PairsError(where, f"unknown key (expected one of {', '.join(sorted(allowed))})")
