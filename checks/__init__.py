"""The plugin API of deep-health: subclass :class:`Check`, name it in the config.

Which module is which room:

- the API: :mod:`~checks.base` (``Check``), :mod:`~checks.exceptions` (outcome signals and
  misuse), :mod:`~checks.result` (``Status``, ``CheckResult``, ``Observation``),
  :mod:`~checks.registry` (config ``type`` → class), :mod:`~service.running.testing`
  (``run_check``);
- built-in checks, one module each: :mod:`~checks.aws` (any AWS API call), ``dynamodb_read``,
  ``s3_object``, ``sqs``, :mod:`~checks.http`, :mod:`~checks.dns`, :mod:`~checks.peer`,
  :mod:`~checks.authorizer`, :mod:`~checks.model`.

Nothing here imports :mod:`service` at import time.
"""

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
