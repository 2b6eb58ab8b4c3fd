"""What every ``deep-health`` subcommand shares: exit codes, reading the config, and checking
arguments.

Bad input is one line on stderr and exit 2, whichever subcommand got it: a bad configuration
(one message naming the key; several keys: a header and a line each), and a bad argument or
environment variable (the argparse types here: :func:`port`, :func:`seconds`, :func:`http_url`,
and :func:`token_from_env`), never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from urllib.parse import urlsplit

from checks.exceptions import ConfigError
from service.config import CONFIG_ENV, Config, load_config, token_problem

__all__ = [
    "EXIT_CONFIG",
    "EXIT_HEALTHY",
    "EXIT_INTERRUPTED",
    "EXIT_UNHEALTHY",
    "config_error_text",
    "finite",
    "http_url",
    "load_or_exit",
    "port",
    "port_free",
    "port_or_any",
    "seconds",
    "token_from_env",
]

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130
"""Ctrl-C (SIGINT), as a shell reports it (128 + 2): the command did not finish."""


def port(value: str) -> int:
    """An argparse type: a TCP port, 1 to 65535 (``--port``, ``$PORT``)."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port (1 to 65535)")
    return number


def port_free(host: str, number: int) -> bool:
    """Whether ``host:number`` can be bound now (checked before a server starts, so a port in
    use is said first, not after start-up)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            if os.name == "posix":  # where asyncio's create_server (uvicorn's bind) does too
                # uvicorn binds with SO_REUSEADDR, so the TIME_WAIT left by a server just
                # stopped (or by a client connection) does not keep it from listening; without
                # it this probe called such a port "in use" and a restart exited 2.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, number))
    except OSError:
        return False
    return True


def port_or_any(value: str) -> int:
    """An argparse type: a TCP port, or 0 for any free one."""
    return 0 if value.strip() == "0" else port(value)


def finite(value: str) -> float:
    """An argparse type: a finite number (not NaN, not infinite); ranges are the option's own
    validation's."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{value!r} is not a finite number")
    return number


def seconds(value: str) -> float:
    """An argparse type: a finite number of seconds above 0 (intervals, timeouts)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds above 0")
    return number


def http_url(value: str) -> str:
    """An argparse type: an ``http://`` or ``https://`` URL with a host (and a valid port)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a URL: write http://host[:port] or https://host[:port]"
        )
    return value


def token_from_env(name: str) -> str | None:
    """The details token in environment variable ``name`` (None when unset or empty).

    Raises:
        SystemExit: 2, with one line naming the variable, when the token could never be
            accepted (non-ASCII, spaces, too short: :func:`service.config.token_problem`).
    """
    token = os.environ.get(name) or None
    problem = token_problem(token) if token else None
    if problem is not None:
        print(f"deep-health: ${name}: {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)
    return token


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
