"""The plugin API of deep-health: subclass :class:`Check`, name it in the config."""

from checks.base import Check, Endpoint, Observations
from checks.exceptions import CheckError, CheckFailed, CheckWarning, ConfigError, DeepHealthError
from checks.registry import BUILTIN_CHECKS, resolve
from checks.result import CheckResult, Observation, Scope, Status

__all__ = [
    "BUILTIN_CHECKS",
    "Check",
    "CheckError",
    "CheckFailed",
    "CheckResult",
    "CheckWarning",
    "ConfigError",
    "DeepHealthError",
    "Endpoint",
    "Observation",
    "Observations",
    "Scope",
    "Status",
    "resolve",
]
