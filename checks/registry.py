"""Resolve a check ``type`` from the config to a :class:`~checks.Check` subclass.

Built-in checks are named by a short type (``dynamodb_read``); anything else is an import path
``package.module:Class``. Built-ins are imported only when configured, so a Lambda cold start
pays only for the clients its checks use.
"""

from __future__ import annotations

import difflib
import importlib

from checks.base import Check

__all__ = ["BUILTIN_CHECKS", "resolve"]

BUILTIN_CHECKS: dict[str, str] = {
    "dynamodb_read": "checks.dynamodb_read:DynamoDBRead",
    "sqs": "checks.sqs:SQSQueue",
    "s3_object": "checks.s3_object:S3Object",
    "authorizer": "checks.authorizer:Authorizer",
    "model": "checks.model:ModelCheck",
    "http": "checks.http:HttpCheck",
    "dns": "checks.dns:DnsCheck",
    "peer": "checks.peer:PeerCheck",
}


def resolve(type_name: str) -> type[Check]:
    """Return the check class for ``type_name``.

    Raises:
        LookupError: unknown built-in, bad import path, or not a ``Check`` subclass. The message
            says which.
    """
    path = BUILTIN_CHECKS.get(type_name, type_name)
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(sorted(BUILTIN_CHECKS))
        close = difflib.get_close_matches(type_name, sorted(BUILTIN_CHECKS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise LookupError(
            f"unknown check type {type_name!r}: {hint}use a built-in ({known}) or"
            " 'package.module:Class'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LookupError(
            f"cannot import module {module_name!r}: {exc} (is its package installed, or its"
            " directory on PYTHONPATH?)"
        ) from None
    cls = getattr(module, attr, None)
    if cls is None:
        found = [
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, Check) and value is not Check
        ]
        close = difflib.get_close_matches(attr, found, n=1, cutoff=0.5)
        hint = f" (did you mean {module_name}:{close[0]}?)" if close else ""
        raise LookupError(f"module {module_name!r} has no attribute {attr!r}{hint}")
    if not (isinstance(cls, type) and issubclass(cls, Check)):
        raise LookupError(f"{path!r} is not a subclass of checks.Check")
    if getattr(cls, "__abstractmethods__", None):
        raise LookupError(f"{path!r} does not implement run()")
    return cls
