"""This process's identity: one id per running copy, for state shared across the fleet.

A region is a fleet of processes (Lambda execution environments, containers); state that every
instance shares (the failover window in a table, for example) needs to tell them apart. The id
is random, made on first use, and renewed when the process stops being unique: a Lambda
SnapStart restore resumes many copies from one snapshot, each of which must call :func:`renew`
(:mod:`service.faces.snapstart` does).
"""

from __future__ import annotations

import secrets

__all__ = ["instance_id", "renew"]

_current: str | None = None


def instance_id() -> str:
    """This instance's id: 16 random hex characters, stable until :func:`renew`."""
    global _current
    if _current is None:
        _current = secrets.token_hex(8)
    return _current


def renew() -> str:
    """Forget the id and make a new one (from the OS's random source, never ``random``)."""
    global _current
    _current = None
    return instance_id()
