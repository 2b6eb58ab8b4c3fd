"""Configuration: one TOML file, validated before anything serves.

Layout::

    [service]
    deadline = 1.5                  # seconds for a whole evaluation (Route 53 waits 2 s)
    cache_ttl = 1.0                 # seconds a result is reused; 0: none (concurrent share one)
    marker = "DEEP-HEALTH-OK"       # only a healthy body carries it (HTTPS_STR_MATCH)
    details_token = "${DEEP_HEALTH_DETAILS_TOKEN}"   # optional; no token, no /health/details
    max_noncritical_failures = 2    # optional: this many non-critical failures fail the region
    latency_budget = 1.2            # optional: a slower evaluation fails the region
    release_id = "${DEEP_HEALTH_RELEASE_ID:-dev}"
    mode = "background"             # optional: or "on-request"; unset: the face decides
    interval = 5.0                  # background mode: seconds between evaluations
    max_age = 15.0                  # background mode: an older result fails with reason stale
    metrics = true                  # optional: Prometheus /metrics; unset: the face decides
    metrics_port = 9100             # optional: serve /metrics on its own port instead
    emf = false                     # optional: CloudWatch EMF lines on stdout; unset: the face
    emf_namespace = "DeepHealth"

    [[checks]]
    type = "dynamodb_read"          # a built-in, or "package.module:Class"
    name = "accounts-table"         # optional, and critical/scope/timeout/latency_budget/samples
    table = "accounts"              # the rest are the check's own keyword options
    key = { pk = "canary" }

String values may use ``${NAME}`` or ``${NAME:-default}``; ``$${`` is a literal ``${``. Any
error raises :class:`~checks.ConfigError` naming the key. An explicit argument (``--config``)
beats the environment (``DEEP_HEALTH_CONFIG``).
"""

from __future__ import annotations

import inspect
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from checks.base import Check, CheckSpec
from checks.exceptions import ConfigError
from checks.registry import resolve
from service.tracker import TrackerSettings

__all__ = [
    "CONFIG_ENV",
    "RELEASE_ID_ENV",
    "Config",
    "FailoverSettings",
    "Mode",
    "Settings",
    "config_path",
    "load_config",
    "parse_config",
]

CONFIG_ENV = "DEEP_HEALTH_CONFIG"
RELEASE_ID_ENV = "DEEP_HEALTH_RELEASE_ID"
MIN_TOKEN_LENGTH = 16
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
Mode = Literal["on-request", "background"]
"""How evaluations are driven: by requests (single-flight plus TTL) or by a background loop."""
_INTERPOLATION = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Settings(BaseModel):
    """The ``[service]`` table. Every field documents its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deadline: float = Field(1.5, gt=0, le=1.9)
    """Seconds for one evaluation; below Route 53's 2 s response limit."""
    cache_ttl: float = Field(1.0, ge=0, le=60)
    """Seconds a result is reused by later requests; 0 evaluates on every request."""
    marker: str = Field("DEEP-HEALTH-OK", min_length=4, max_length=255, pattern=r"^[A-Za-z0-9_-]+$")
    """Carried near the start of a healthy body only (Route 53 SearchString, <= 255 chars)."""
    details_token: str | None = None
    """Bearer token for ``/health/details``; unset or empty: the route does not exist."""
    max_noncritical_failures: int | None = Field(None, ge=1)
    """This many failing non-critical checks fail the region; ``None``: they only warn."""
    latency_budget: float | None = Field(None, gt=0)
    """An evaluation slower than this fails the region (too slow to serve is down)."""
    release_id: str = Field("dev", max_length=128)
    """The deployed release, always in the body so a zombie deployment shows."""
    version: str = Field("1", max_length=32)
    """The health API's version, the body's ``version``."""
    service_id: str = Field("deep-health", max_length=128)
    """The body's ``serviceId``."""
    mode: Mode | None = None
    """``on-request`` or ``background``; ``None``: the face decides (``deep-health serve``:
    background; Lambda, ``deep-health check`` and an embedded service: on-request). Lambda always
    runs on-request: nothing runs between its invocations."""
    interval: float = Field(5.0, gt=0, le=3600)
    """Background mode: seconds between the end of one evaluation and the start of the next."""
    max_age: float | None = Field(None, gt=0)
    """Background mode: a latest result older than this fails with reason ``stale`` (the loop
    died or is stuck). ``None``: ``3 * interval + deadline``. Must exceed
    ``interval + deadline``."""
    metrics: bool | None = None
    """Prometheus metrics on ``GET /metrics``; ``None``: the face decides (serve: on, Lambda:
    off, embedded: off)."""
    metrics_port: int | None = Field(None, ge=1, le=65535)
    """Serve ``/metrics`` on this port of its own instead of the health app's
    (``deep-health serve`` only); ``None``: on the health app."""
    metrics_host: str = Field("127.0.0.1", max_length=255)
    """The address ``metrics_port`` binds to."""
    emf: bool | None = None
    """One CloudWatch Embedded Metric Format record set per evaluation on stdout; ``None``: the
    face decides (Lambda: on, elsewhere off)."""
    emf_namespace: str = Field(
        "DeepHealth", min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_./#:-]+$"
    )
    """The CloudWatch namespace of the EMF metrics."""

    @model_validator(mode="after")
    def _max_age_exceeds_a_cycle(self) -> Settings:
        if self.max_age is not None and self.max_age <= self.interval + self.deadline:
            raise ValueError("max_age must exceed interval + deadline")
        return self

    @property
    def effective_max_age(self) -> float:
        """``max_age``, or its default ``3 * interval + deadline``."""
        return self.max_age if self.max_age is not None else 3 * self.interval + self.deadline


_TRACKER = TrackerSettings()  # the one place the defaults live


class FailoverSettings(BaseModel):
    """The ``[failover]`` table: gray-failure window, recovery hysteresis, operator switches.

    Defaults are :class:`service.tracker.TrackerSettings`'s, chosen with the Route 53 simulator
    (``python -m bench.failover``): a 15 % partial failure fails over within ~2 minutes under
    10 s polling, 1 % background errors never do.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    """Track evaluations over time; ``false``: each evaluation's verdict stands alone."""
    window: float = Field(default=_TRACKER.window, gt=0, le=3600)
    """Seconds of sample history per critical regional check."""
    threshold: float = Field(default=_TRACKER.threshold, ge=0, lt=1)
    """A critical check whose failure ratio in the window exceeds this fails the region."""
    min_samples: int = Field(default=_TRACKER.min_samples, ge=1)
    """Samples needed in the window before the ratio counts."""
    fail_after: int = Field(default=_TRACKER.fail_after, ge=1)
    """Consecutive unhealthy evaluations before a failure latches (reported at once anyway)."""
    recover_after: int = Field(default=_TRACKER.recover_after, ge=1)
    """Consecutive clean evaluations needed to report healthy again."""
    min_hold: float = Field(default=_TRACKER.min_hold, ge=0)
    """Seconds a latched failure lasts at least."""
    quiet: float = Field(default=_TRACKER.quiet, ge=0)
    """Seconds without an unhealthy evaluation needed to recover."""
    drain_file: str | None = None
    """Drain (force unhealthy) while this file exists; ``DEEP_HEALTH_DRAIN`` also drains."""
    hold_file: str | None = None
    """Once failed over, stay unhealthy while this file exists; also ``DEEP_HEALTH_HOLD``."""

    def tracker_settings(self) -> TrackerSettings:
        """The tracker's tuning from this table: every field the two share, by name."""
        shared = [f.name for f in fields(TrackerSettings) if f.name in type(self).model_fields]
        return TrackerSettings(**{name: getattr(self, name) for name in shared})


class _CheckEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1)
    name: str | None = Field(None, pattern=_NAME_PATTERN)
    critical: bool | None = None
    scope: Literal["regional", "global", "peer"] | None = None
    timeout: float | None = Field(None, gt=0, le=30)
    latency_budget: float | None = Field(None, gt=0)
    samples: int | None = Field(None, ge=1, le=10)


_COMMON_KEYS = frozenset(_CheckEntry.model_fields)


@dataclass(frozen=True)
class Config:
    """A validated configuration: the settings and the instantiated checks."""

    settings: Settings
    checks: tuple[Check, ...]
    source: str = "<memory>"
    failover: FailoverSettings = field(default_factory=FailoverSettings)


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file: the explicit path, else ``DEEP_HEALTH_CONFIG``."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if not chosen:
        raise ConfigError(CONFIG_ENV, "no configuration: pass --config or set DEEP_HEALTH_CONFIG")
    return Path(chosen)


def load_config(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Read, interpolate and validate a TOML config file."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(file), f"cannot read: {exc.strerror or exc}") from None
    return parse_config(text, environ=environ, source=str(file))


def parse_config(
    text: str, *, environ: Mapping[str, str] | None = None, source: str = "<memory>"
) -> Config:
    """Validate config text; see the module docstring for the layout."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"invalid TOML: {exc}") from None
    env = os.environ if environ is None else environ
    data = _interpolate(raw, env, "")
    unknown = sorted(set(data) - {"service", "failover", "checks"})
    if unknown:
        raise ConfigError(unknown[0], "unknown key (expected [service], [failover] and [[checks]])")
    service = data.get("service", {})
    if not isinstance(service, dict):
        raise ConfigError("service", "must be a table")
    settings = _validate_settings(service)
    entries = data.get("checks", [])
    if not isinstance(entries, list):
        raise ConfigError("checks", "must be an array of tables ([[checks]])")
    checks = tuple(_build_check(entry, f"checks[{i}]") for i, entry in enumerate(entries))
    _check_names(checks, settings)
    return Config(
        settings=settings, checks=checks, source=source, failover=_validate_failover(data)
    )


def _validate_failover(data: dict[str, Any]) -> FailoverSettings:
    table = data.get("failover", {})
    if not isinstance(table, dict):
        raise ConfigError("failover", "must be a table")
    try:
        return FailoverSettings(**table)
    except ValidationError as exc:
        _raise_first("failover", exc)


def _interpolate(value: Any, env: Mapping[str, str], key: str) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, env, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(key, f"environment variable {name} is not set")

    return _INTERPOLATION.sub(substitute, value)


def _error_key(prefix: str, error: Mapping[str, Any]) -> str:
    parts = [prefix] if prefix else []
    parts += [str(p) for p in error.get("loc", ())]
    return ".".join(parts)


def _raise_first(prefix: str, exc: ValidationError) -> typing.NoReturn:
    first = exc.errors(include_url=False)[0]
    message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    raise ConfigError(_error_key(prefix, first), message) from None


def _validate_settings(service: dict[str, Any]) -> Settings:
    try:
        settings = Settings(**service)
    except ValidationError as exc:
        _raise_first("service", exc)
    except TypeError as exc:
        raise ConfigError("service", str(exc)) from None
    token = settings.details_token
    if token and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            "service.details_token", f"too short: use at least {MIN_TOKEN_LENGTH} characters"
        )
    if not token and token is not None:
        settings = settings.model_copy(update={"details_token": None})
    return settings


def _options_model(cls: type[Check]) -> type[BaseModel]:
    """A pydantic model of ``cls.__init__``'s keyword options."""
    fields: dict[str, Any] = {}
    init = cls.__init__
    if init is not object.__init__:
        hints = typing.get_type_hints(init)
        for param in inspect.signature(init).parameters.values():
            if param.name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            default = ... if param.default is param.empty else param.default
            fields[param.name] = (hints.get(param.name, Any), default)
    return create_model(
        f"{cls.__name__}Options",
        __config__=ConfigDict(extra="forbid", strict=False, arbitrary_types_allowed=True),
        **fields,
    )


def _build_check(entry: Any, key: str) -> Check:
    if not isinstance(entry, dict):
        raise ConfigError(key, "must be a table")
    try:
        common = _CheckEntry(**{k: v for k, v in entry.items() if k in _COMMON_KEYS})
    except ValidationError as exc:
        _raise_first(key, exc)
    try:
        cls = resolve(common.type)
    except LookupError as exc:
        raise ConfigError(f"{key}.type", str(exc)) from None
    options = {k: v for k, v in entry.items() if k not in _COMMON_KEYS}
    try:
        validated = _options_model(cls)(**options)
    except ValidationError as exc:
        _raise_first(key, exc)
    spec = CheckSpec.of(cls, **{f.name: getattr(common, f.name) for f in fields(CheckSpec)})
    try:
        check = cls.configure(spec, **dict(validated))
    except Exception as exc:
        raise ConfigError(key, f"{common.type}: {exc}") from None
    if not re.match(_NAME_PATTERN, check.check_name):
        raise ConfigError(f"{key}.name", f"invalid check name {check.check_name!r}")
    return check


def _check_names(checks: tuple[Check, ...], settings: Settings) -> None:
    seen: dict[str, int] = {}
    for i, check in enumerate(checks):
        name = check.check_name
        if name in seen:
            raise ConfigError(
                f"checks[{i}].name", f"duplicate check name {name!r} (also checks[{seen[name]}])"
            )
        seen[name] = i
        if settings.marker in name:
            raise ConfigError(f"checks[{i}].name", "must not contain the healthy marker")
    for key in ("release_id", "version", "service_id"):
        if settings.marker in getattr(settings, key):
            raise ConfigError(f"service.{key}", "must not contain the healthy marker")
