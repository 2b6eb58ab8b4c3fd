"""Helpers shared by several built-in checks (and available to a team's own).

- :func:`endpoint_from_url`: classify a URL or host as an :class:`~checks.base.Endpoint`
  (regional, or a global / us-east-1-only AWS endpoint), for ``deep-health deps``;
- :func:`import_object`, :func:`data_path`, :func:`load_json`: find the application's code and
  data files by import path (``package.module:attribute``, ``package:relative/path``).
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
from pathlib import Path
from typing import Any

from checks.base import Endpoint

__all__ = ["data_path", "endpoint_from_url", "import_object", "load_json"]


_GLOBAL_HOSTS = frozenset(
    {
        "iam",
        "sts",
        "route53",
        "cloudfront",
        "organizations",
        "support",
        "globalaccelerator",
        "waf",
        "shield",
        "route53domains",
        "budgets",
        "ce",
        "health",
        "s3",
    }
)
"""Services with a global endpoint ``<service>.amazonaws.com`` (most live in us-east-1)."""
_US_EAST_1_ONLY = frozenset({"organizations", "route53domains", "support", "ce", "health"})
"""Global services whose endpoint is ``<service>.us-east-1.amazonaws.com``."""


def endpoint_from_url(url: str, *, region: str | None = None) -> Endpoint:
    """An :class:`Endpoint` for any URL or host: AWS host names are classified (regional, or
    global / us-east-1 only); other hosts keep the given ``region`` and count as regional."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname if "://" in url else url.split(":")[0]) or ""
    parts = host.lower().rstrip(".").split(".")
    if len(parts) < 3 or parts[-2:] != ["amazonaws", "com"]:
        return Endpoint(url, region=region)
    service = parts[-3] if len(parts) == 3 else parts[-4]
    if len(parts) == 3:  # <service>.amazonaws.com: the global endpoint
        return Endpoint(url, region="us-east-1", global_service=service in _GLOBAL_HOSTS)
    found = parts[-3]
    global_service = found == "us-east-1" and service in _US_EAST_1_ONLY
    return Endpoint(url, region=found, global_service=global_service)


def import_object(path: str) -> Any:
    """The object named by ``package.module:attribute``; ``ValueError`` if there is none."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"{path!r} is not an import path 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from None
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"{module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    return found


def data_path(spec: str) -> Path:
    """A file path, or ``package:relative/path`` inside an importable package."""
    package, sep, relative = spec.partition(":")
    if sep and package and relative and "/" not in package:
        root = importlib.resources.files(package)
        return Path(str(root.joinpath(relative)))
    return Path(spec)


def load_json(spec: str) -> Any:
    """Read and parse a JSON file named as for :func:`data_path`."""
    path = data_path(spec)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
