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
    interval = 2.0                  # background mode: seconds between evaluations
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

import difflib
import functools
import inspect
import json
import logging
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from checks.base import Check, CheckSpec
from checks.exceptions import ConfigError
from checks.registry import resolve
from service.state.settings import StateSettings
from service.verdict.rules import TrackerSettings

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_MODE",
    "RELEASE_ID_ENV",
    "Config",
    "FailoverSettings",
    "Mode",
    "Settings",
    "config_path",
    "load_config",
    "parse_config",
    "token_problem",
]

CONFIG_ENV = "DEEP_HEALTH_CONFIG"
RELEASE_ID_ENV = "DEEP_HEALTH_RELEASE_ID"
MIN_TOKEN_LENGTH = 16
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
Mode = Literal["on-request", "background"]
DEFAULT_MODE: Mode = "on-request"
"""The mode of a service built without an entry point's default (a host application's own)."""
"""How evaluations are driven: by requests (single-flight plus TTL) or by a background loop."""
_TOKEN_PATTERN = re.compile(r"[!-~]+\Z")  # printable ASCII, no space, no trailing newline
# Words of every public body whatever the verdict; a marker inside one would be in unhealthy
# bodies too (Route 53's string match is a plain substring search).
_BODY_WORDS = (
    "status", "pass", "warn", "fail", "notes", "version", "releaseId", "serviceId", "checks",
    "responseTime", "time",
)  # fmt: skip
_TIME_ONLY = re.compile(r"[0-9T-]+\Z")  # could match inside a timestamp such as 2026-11-28T22
_WORD = re.compile(r"[A-Za-z0-9_-]+")
_logger = logging.getLogger("deep_health.config")
_INTERPOLATION = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Settings(BaseModel):
    """The ``[service]`` table. Every field documents its default.

    Numbers must be finite (``inf``/``nan`` are refused) and within the bounds each field
    states.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    deadline: float = Field(1.5, gt=0, le=1.9)
    """Seconds for one evaluation; below Route 53's 2 s response limit."""
    cache_ttl: float = Field(1.0, ge=0, le=60)
    """Seconds a result is reused by later requests; 0 evaluates on every request."""
    marker: str = Field("DEEP-HEALTH-OK", min_length=4, max_length=255, pattern=r"^[A-Za-z0-9_-]+$")
    """Carried near the start of a healthy body only (Route 53 SearchString, <= 255 chars)."""
    details_token: str | None = None
    """Bearer token for ``/health/details``; unset or empty: the route does not exist."""
    max_noncritical_failures: int | None = Field(None, ge=1, le=1000)
    """This many failing non-critical checks fail the region; ``None``: they only warn."""
    latency_budget: float | None = Field(None, gt=0, le=60)
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
    interval: float = Field(2.0, gt=0, le=3600)
    """Background mode: seconds between the end of one evaluation and the start of the next.
    2 s: with 3 samples that is ~80 samples per 60 s window, enough to tell 15 % from 1 %."""
    max_age: float | None = Field(None, gt=0, le=86400)
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

    Defaults are :class:`service.verdict.rules.TrackerSettings`'s, chosen with the Route 53
    simulator
    (``python -m bench.failover``): a 15 % partial failure fails over within ~2 minutes under
    10 s polling, 1 % background errors never do.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    """Track evaluations over time; ``false``: each evaluation's verdict stands alone."""
    samples: int = Field(default=3, ge=1, le=10)
    """Samples per evaluation of each critical regional check that does not set its own
    ``samples`` (the checks that feed the window): 3 fill a 60 s window with ~80-110 samples at
    a 2 s background interval or under Route 53 fast polling."""
    window: float = Field(default=_TRACKER.window, gt=0, le=3600)
    """Seconds of sample history per critical regional check."""
    threshold: float = Field(default=_TRACKER.threshold, ge=0, lt=1)
    """A critical check whose failure ratio in the window exceeds this fails the region."""
    min_samples: int = Field(default=_TRACKER.min_samples, ge=1, le=100_000)
    """Samples needed in the window before the ratio counts."""
    spread: float = Field(default=_TRACKER.spread, ge=0, le=1)
    """Share of the window's time buckets holding samples in which the check must have failed:
    a sustained failure shows across the window, a blip in a few buckets."""
    burst: float = Field(default=_TRACKER.burst, ge=0, le=3600, validate_default=True)
    """Seconds of failure taken for one burst, not a sustained failure: failures within fewer
    buckets than such a burst touches never gray-fail a check, and an unhealthy streak latches
    only once it has lasted this long."""
    fail_after: int = Field(default=_TRACKER.fail_after, ge=1, le=1000)
    """Consecutive unhealthy evaluations before a failure latches (reported at once anyway)."""
    recover_after: int = Field(default=_TRACKER.recover_after, ge=1, le=1000)
    """Consecutive clean evaluations needed to report healthy again."""
    min_hold: float = Field(default=_TRACKER.min_hold, ge=0, le=86400)
    """Seconds a latched failure lasts at least."""
    quiet: float = Field(default=_TRACKER.quiet, ge=0, le=86400)
    """Seconds without an unhealthy evaluation needed to recover."""
    drain_file: str | None = None
    """Drain (force unhealthy) while this file exists; ``DEEP_HEALTH_DRAIN`` also drains."""
    hold_file: str | None = None
    """Once failed over, stay unhealthy while this file exists; also ``DEEP_HEALTH_HOLD``."""

    @field_validator("burst")
    @classmethod
    def _burst_leaves_room_in_the_window(cls, burst: float, info: ValidationInfo) -> float:
        # Failures must spread over more buckets than a burst touches: a burst of half the
        # window or more would leave a gray failure no way to show.
        window = info.data.get("window")
        if window is not None and burst * 2 > window:
            raise ValueError(f"must be at most half of failover.window ({window:g} s)")
        return burst

    def tracker_settings(self) -> TrackerSettings:
        """The tracker's tuning from this table: every field the two share, by name."""
        shared = [f.name for f in fields(TrackerSettings) if f.name in type(self).model_fields]
        return TrackerSettings(**{name: getattr(self, name) for name in shared})


class _CheckEntry(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    type: str = Field(min_length=1)
    name: str | None = Field(None, pattern=_NAME_PATTERN)
    critical: bool | None = None
    scope: Literal["regional", "global", "peer"] | None = None
    timeout: float | None = Field(None, gt=0, le=30)
    latency_budget: float | None = Field(None, gt=0, le=30)
    samples: int | None = Field(None, ge=1, le=10)


_COMMON_KEYS = frozenset(_CheckEntry.model_fields)


@dataclass(frozen=True)
class Config:
    """A validated configuration: the settings and the instantiated checks."""

    settings: Settings
    checks: tuple[Check, ...]
    source: str = "<memory>"
    failover: FailoverSettings = field(default_factory=FailoverSettings)
    state: StateSettings = field(default_factory=StateSettings)


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
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(file),
            f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start}); TOML files are UTF-8",
        ) from None
    return parse_config(text, environ=environ, source=str(file))


def parse_config(
    text: str, *, environ: Mapping[str, str] | None = None, source: str = "<memory>"
) -> Config:
    """Validate config text; see the module docstring for the layout.

    Raises:
        ConfigError: naming the first offending key; ``errors`` lists every problem found,
            so a file with three mistakes is fixed in one round, not three.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"invalid TOML: {exc}") from None
    env = os.environ if environ is None else environ
    found = _Collector()
    unset: list[tuple[str, str]] = []  # every unset variable, not only the first
    data: dict[str, Any] = _interpolate(raw, env, "", unset)
    found.errors.extend(unset)
    unknown = sorted(set(data) - _TOP_LEVEL)
    for key in unknown:
        found.add(
            ConfigError(
                key,
                _unknown_key_message(
                    key, _TOP_LEVEL, "expected [service], [failover], [state] and [[checks]]"
                ),
            )
        )
    service = data.get("service", {})
    if not isinstance(service, dict):
        found.add(ConfigError("service", "must be a table"))
        service = {}
    settings = found.run(functools.partial(_validate_settings, service))
    failover = found.run(functools.partial(_validate_failover, data))
    state = found.run(functools.partial(_validate_state, data))
    entries = data.get("checks", [])
    if not isinstance(entries, list):
        found.add(ConfigError("checks", "must be an array of tables ([[checks]])"))
        entries = []
    elif not entries:
        # A health check with nothing to check always reports healthy: the shallow check
        # this project exists to replace.
        found.add(ConfigError("checks", "no checks configured: add at least one [[checks]] entry"))
    built = [
        found.run(functools.partial(_build_check, entry, f"checks[{i}]", failover))
        for i, entry in enumerate(entries)
    ]
    checks = tuple(check for check in built if check is not None)
    if settings is not None and len(checks) == len(built):
        found.run(functools.partial(_check_names, checks, settings))
        found.run(functools.partial(_check_marker, checks, settings))
        if failover is not None and state is not None:
            found.run(functools.partial(_window_reachable, settings, failover, state, checks))
    unset_keys = {key for key, _ in unset}
    # A value left empty for its unset variable may fail validation too: say it once.
    found.errors = [e for e in found.errors if e[0] not in unset_keys or e in unset]
    found.raise_any()
    assert settings is not None
    assert failover is not None
    assert state is not None
    return Config(settings=settings, checks=checks, source=source, failover=failover, state=state)


_TOP_LEVEL = frozenset({"service", "failover", "state", "checks"})
_T = typing.TypeVar("_T")


class _Collector:
    """Gathers every configuration error instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def add(self, error: ConfigError) -> None:
        self.errors.extend(error.errors)

    def run(self, step: typing.Callable[[], _T]) -> _T | None:
        """``step()``, or ``None`` after recording the ConfigError it raised."""
        try:
            return step()
        except ConfigError as exc:
            self.add(exc)
            return None

    def raise_any(self) -> None:
        if self.errors:
            (key, message), *rest = self.errors
            raise ConfigError(key, message, more=rest)


def _unknown_key_message(key: str, known: typing.Iterable[str], expected: str = "") -> str:
    """ "unknown key", with a "did you mean" when ``key`` looks like a known one."""
    leaf = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(leaf, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key ({expected})" if expected else "unknown key"


def _window_feeder_samples(
    cls: type[Check], entry: Mapping[str, Any], spec: CheckSpec, failover: FailoverSettings | None
) -> int | None:
    """``[failover] samples`` for a critical regional check that chose none of its own (in its
    entry or its class), else ``None``: it then goes into the spec, so ``__init__`` sees it."""
    if failover is None or not failover.enabled:
        return None
    own = "samples" in entry or cls.samples != Check.samples
    if own or not spec.critical or spec.scope != "regional":
        return None
    return failover.samples


def _window_reachable(
    settings: Settings, failover: FailoverSettings, state: StateSettings, checks: tuple[Check, ...]
) -> None:
    """Refuse a background window that one instance can never fill to ``min_samples`` (gray
    failure detection would never fire); warn where requests or a fleet's shared store set the
    rate (on-request mode, a DynamoDB store, a mode the face decides)."""
    feeders = [c.samples for c in checks if c.critical and c.scope == "regional"]
    if not failover.enabled or not feeders:
        return
    bounds: list[tuple[Mode, float, str]] = []
    if settings.mode in ("background", None):
        bounds.append(("background", settings.interval, "service.interval"))
    if settings.mode in ("on-request", None) and settings.cache_ttl > 0:
        bounds.append(("on-request", settings.cache_ttl, "service.cache_ttl"))
    for mode, every, key in bounds:
        # Clamped before int(): a subnormal ``every`` makes the quotient infinite, and more
        # evaluations than min_samples fill the window whatever their number.
        most = (int(min(failover.window // every, failover.min_samples)) + 1) * max(feeders)
        if most >= failover.min_samples:
            continue
        message = (
            f"in {mode} mode one instance holds at most {most} samples in the "
            f"{failover.window:g} s window ({key} {every:g} s, {max(feeders)} per evaluation), "
            f"below min_samples {failover.min_samples}: gray failures would never be detected. "
            f"Shorten {key}, lengthen failover.window, raise failover.samples (or the checks' "
            "samples) or lower failover.min_samples"
        )
        # The loop's rate is the config's own: refuse. On request, polls and a fleet set it.
        if mode == "background" and settings.mode == mode and state.store == "memory":
            raise ConfigError("failover.min_samples", message)
        _logger.warning("configuration: failover.min_samples: %s", message)


def _validate_state(data: dict[str, Any]) -> StateSettings:
    table = data.get("state", {})
    if not isinstance(table, dict):
        raise ConfigError("state", "must be a table")
    try:
        state = StateSettings(**table)
    except ValidationError as exc:
        _raise_first("state", exc, StateSettings.model_fields)
    if state.store == "dynamodb" and not state.table:
        raise ConfigError("state.table", 'required with store = "dynamodb"')
    return state


def _validate_failover(data: dict[str, Any]) -> FailoverSettings:
    table = data.get("failover", {})
    if not isinstance(table, dict):
        raise ConfigError("failover", "must be a table")
    try:
        return FailoverSettings(**table)
    except ValidationError as exc:
        _raise_first("failover", exc, FailoverSettings.model_fields)


def _interpolate(
    value: Any, env: Mapping[str, str], key: str, unset: list[tuple[str, str]] | None = None
) -> Any:
    """Substitute ``${NAME}`` / ``${NAME:-default}`` in every string under ``value``.

    An unset variable without a default raises, or, given ``unset``, is recorded there (and
    left empty) so that every one is reported at once.
    """
    if isinstance(value, dict):
        return {
            k: _interpolate(v, env, f"{key}.{k}" if key else k, unset) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_interpolate(v, env, f"{key}[{i}]", unset) for i, v in enumerate(value)]
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
        if unset is None:
            raise ConfigError(key, f"environment variable {name} is not set")
        unset.append((key, f"environment variable {name} is not set"))
        return ""

    return _INTERPOLATION.sub(substitute, value)


def _error_key(prefix: str, error: Mapping[str, Any]) -> str:
    parts = [prefix] if prefix else []
    parts += [str(p) for p in error.get("loc", ())]
    return ".".join(parts)


_LIST_TYPES = ("list_type", "tuple_type", "set_type", "frozen_set_type")


def _message(error: Mapping[str, Any]) -> str:
    """Pydantic's message, with what to write instead where it can say (a list for a scalar)."""
    message = str(error["msg"])
    value = error.get("input")
    if error["type"] in _LIST_TYPES and isinstance(value, str | int | float | bool):
        return f"{message}: write [{json.dumps(value)}], not {json.dumps(value)}"
    return message


def _raise_first(
    prefix: str, exc: ValidationError, known: typing.Iterable[str] = ()
) -> typing.NoReturn:
    """Raise a ConfigError for every error in ``exc`` (the first names the key).

    An unknown key gets a "did you mean" among ``known``; when it looks like a required option
    that is missing, one message names both (``tabel`` and ``table``) instead of two that
    never meet.
    """
    errors = exc.errors(include_url=False)
    known = sorted(known)
    missing = {_error_key(prefix, e) for e in errors if e["type"] == "missing"}
    typos: dict[str, str] = {}  # unknown key -> the missing required key it looks like
    for error in errors:
        key = _error_key(prefix, error)
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(key.rsplit(".", 1)[-1], known, n=1, cutoff=0.6)
            parent = key.rsplit(".", 1)[0] if "." in key else ""
            wanted = f"{parent}.{close[0]}" if close and parent else ""
            if wanted in missing and wanted not in typos.values():
                typos[key] = wanted
    found: list[tuple[str, str]] = []
    for error in errors:
        key = _error_key(prefix, error)
        if error["type"] == "missing" and key in typos.values():
            continue  # said together with its typo
        if key in typos:
            wanted = typos[key]
            leaf = wanted.rsplit(".", 1)[-1]
            found.append((key, f"unknown key (did you mean {leaf!r}? {wanted} is required)"))
        elif error["type"] == "extra_forbidden":
            found.append((key, _unknown_key_message(key, known)))
        else:
            found.append((key, _message(error)))
    (key, message), *rest = found
    raise ConfigError(key, message, more=rest) from None


def _validate_settings(service: dict[str, Any]) -> Settings:
    try:
        settings = Settings(**service)
    except ValidationError as exc:
        _raise_first("service", exc, Settings.model_fields)
    except TypeError as exc:
        raise ConfigError("service", str(exc)) from None
    token = settings.details_token
    problem = token_problem(token) if token else None
    if problem is not None:
        raise ConfigError("service.details_token", problem)
    if not token and token is not None:
        settings = settings.model_copy(update={"details_token": None})
    return settings


def token_problem(token: str) -> str | None:
    """What is wrong with a details token (the config's, or one a client will send), or None.

    One rule for the service and its clients (``deep-health status``): printable ASCII without
    spaces, at least :data:`MIN_TOKEN_LENGTH` characters.
    """
    if not _TOKEN_PATTERN.match(token):
        return (
            "use printable ASCII without spaces (no blank, padded or non-ASCII token: a client "
            "cannot send it reliably in an Authorization header)"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        return f"too short: use at least {MIN_TOKEN_LENGTH} characters"
    return None


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


def _build_check(entry: Any, key: str, failover: FailoverSettings | None = None) -> Check:
    if not isinstance(entry, dict):
        raise ConfigError(key, "must be a table")
    try:
        common = _CheckEntry(**{k: v for k, v in entry.items() if k in _COMMON_KEYS})
    except ValidationError as exc:
        _raise_first(key, exc, _COMMON_KEYS)
    try:
        cls = resolve(common.type)
    except LookupError as exc:
        raise ConfigError(f"{key}.type", str(exc)) from None
    options = {k: v for k, v in entry.items() if k not in _COMMON_KEYS}
    model = _options_model(cls)
    try:
        validated = model(**options)
    except ValidationError as exc:
        _raise_first(key, exc, {*model.model_fields, *_COMMON_KEYS})
    spec = CheckSpec.of(cls, **{f.name: getattr(common, f.name) for f in fields(CheckSpec)})
    feeder_samples = _window_feeder_samples(cls, entry, spec, failover)
    if feeder_samples is not None:
        spec = replace(spec, samples=feeder_samples)
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


def _check_marker(checks: tuple[Check, ...], settings: Settings) -> None:
    """Refuse a marker an unhealthy body could carry: it would read as healthy to Route 53."""
    marker = settings.marker
    if _TIME_ONLY.match(marker):
        raise ConfigError(
            "service.marker", "must contain a letter other than T (a timestamp could match it)"
        )
    words = [*_BODY_WORDS]
    for text in (settings.version, settings.release_id, settings.service_id):
        words += _WORD.findall(text)
    for check in checks:
        words += _WORD.findall(check.check_name)
    for word in words:
        if marker in word:
            raise ConfigError(
                "service.marker",
                f"occurs in the body's own word {word!r}, so unhealthy bodies would carry it",
            )
