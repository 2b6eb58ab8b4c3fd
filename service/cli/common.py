"""What every ``deep-health`` subcommand shares: the exit codes and reading the config.

A bad configuration is one message naming the key (several keys: a header and a line each) on
stderr, and exit 2, whichever subcommand read it.
"""

from __future__ import annotations

import os
import sys

from checks.exceptions import ConfigError
from service.config import CONFIG_ENV, Config, load_config

__all__ = ["EXIT_CONFIG", "EXIT_HEALTHY", "EXIT_UNHEALTHY", "config_error_text", "load_or_exit"]

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1
EXIT_CONFIG = 2


def load_or_exit(path: str | None) -> Config:
    """The configuration at ``path`` (else ``DEEP_HEALTH_CONFIG``'s, else the default); on a bad
    one, its message on stderr and exit 2."""
    try:
        return load_config(path)
    except ConfigError as exc:
        print(config_error_text(exc, path or os.environ.get(CONFIG_ENV)), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def config_error_text(error: ConfigError, source: str | None = None) -> str:
    """One line for one error (as always); a header and one line each for several."""
    if len(error.errors) == 1:
        return f"deep-health: configuration error: {error}"
    where = f" in {source}" if source else ""
    lines = [f"deep-health: {len(error.errors)} configuration errors{where}:"]
    lines += [f"  {key}: {message}" if key else f"  {message}" for key, message in error.errors]
    return "\n".join(lines)
