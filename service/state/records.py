"""What the store returns, checked before any rule sees it.

A record another instance, an older version or a person wrote may be damaged; a damaged record
must never reach a rule (``None + 1`` there would fail every evaluation of every instance that
reads it). Each function here turns a stored form into the rules' own type, or the safe value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from service.verdict.rules import LatchState

__all__ = ["latch_from"]


def latch_from(state: Mapping[str, Any] | None) -> LatchState:
    """The latch's state from its stored form; a fresh one for nothing or a damaged record."""
    if not state:
        return LatchState()
    names = {field.name for field in dataclasses.fields(LatchState)}
    try:
        latch = LatchState(**{k: v for k, v in state.items() if k in names})
    except TypeError:
        return LatchState()
    # A damaged record must not reach the rule: ``None + 1`` there would fail every
    # evaluation of every instance that reads it.
    times_ok = all(v is None or _is_number(v) for v in (latch.latched_at, latch.last_bad))
    counts_ok = all(
        _is_number(v) and isinstance(v, int) and v >= 0 for v in (latch.failures, latch.clean)
    )
    return latch if times_ok and counts_ok else LatchState()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
