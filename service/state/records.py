"""What the store returns, checked (types and ranges) before any rule sees it.

A record another instance, an older version or a person wrote may be damaged, and a damaged
record must never reach a rule: ``None + 1`` there, or a ``latched_at`` an hour ahead, would fail
every evaluation of every instance that reads it, or keep the region failed over for good. Every
stored form a store hands back passes through one function here, which returns the rules' own
type or a safe value, and says what was wrong (a :class:`~service.state.Damage`, for the log,
``/health/details``, a metric and ``deep-health switch status``):

================ ======================================== =====================================
record           damaged when                             used as
================ ======================================== =====================================
latch state      not a mapping; a time that is not a      each damaged field alone: a time →
                 finite number or lies more than          ``now`` (a latched failure stays
                 :data:`MAX_CLOCK_SKEW` ahead; a count    latched, its hold counted from now:
                 that is not a whole number >= 0          bounded, never forever), a count → 0
latch version    missing, not a whole number >= 1         never written (version 0); the
                                                          store's next write replaces the item
switch ``on``    not a boolean                            the switch vocabulary
                                                          (:func:`~service.state.switches.
                                                          flag_word`): ``"true"``, ``1`` → on,
                                                          ``"off"``, ``0`` → off; anything
                                                          else → ON (see below)
switch ``at``    not a finite time in (0, now + skew]     kept, its time unknown
bucket counter   not a whole number >= 0, failures >      that check left out of that bucket
                 total
bucket time      starts after now + :data:`MAX_CLOCK_     not counted (an instance's clock is
                 SKEW`                                    ahead: see :func:`clock_skew`)
================ ======================================== =====================================

Why an unreadable switch ``on`` counts as on: a switch record exists because an operator
switched something on (releasing writes ``on = false`` through ``deep-health switch``). Reading
a hand-written drain as off would keep a region serving that its operator meant to take out,
silently; reading it as on keeps the operator's action and says loudly why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from service.state import Counts, Damage, SwitchName, SwitchRecord
from service.state.switches import flag_word
from service.verdict.rules import LatchState

__all__ = [
    "MAX_CLOCK_SKEW",
    "check_latch",
    "check_switch",
    "check_version",
    "clock_skew",
    "counts_from",
    "future_bucket",
    "latch_from",
]

MAX_CLOCK_SKEW = 2.0
"""Seconds an instance's clock may be off from the store's before it stops feeding the shared
window; also how far ahead of ``now`` a stored time (a bucket, ``latched_at``) may lie.

Clocks of EC2, ECS and Lambda hosts are kept within milliseconds (Amazon Time Sync); the store's
``Date`` header has a resolution of one second. Two seconds is far above honest drift, and well
under a bucket's width (the window / 12, 5 s by default), so a clock this far off moves a sample
by at most one bucket."""
_MAX_TEXT = 256  # characters of a hand-written ``by``/``why`` kept


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_time(value: object, now: float | None) -> bool:
    """A finite number, and not ahead of ``now`` by more than the clock-skew allowance."""
    if not _is_number(value) or not math.isfinite(value):  # type: ignore[arg-type]
        return False
    return now is None or value <= now + MAX_CLOCK_SKEW  # type: ignore[operator]


def check_latch(
    state: Mapping[str, Any] | None, now: float | None = None
) -> tuple[LatchState, Damage | None]:
    """The latch's state from its stored form, each damaged field replaced by its safe value.

    Args:
        state: The stored state (``None``: never written).
        now: The time of the evaluation that reads it; ``None`` checks types only (a stored
            time ahead of ``now`` is then not caught).

    Returns:
        The state for the rules, and what was wrong (``None``: nothing).
    """
    if state is None:
        return LatchState(), None
    if not isinstance(state, Mapping):
        return LatchState(), Damage("latch", "record: state is not a mapping: read as blank")
    safe = now if now is not None else 0.0
    fixed: dict[str, Any] = {}
    wrong: list[str] = []
    for name in ("latched_at", "last_bad", "since"):
        value = state.get(name)
        if value is None or _is_time(value, now):
            fixed[name] = value
        else:
            # It was set, so it happened: keep it, at the one time that cannot keep the
            # region failed over for longer than its hold (now), rather than drop it.
            fixed[name] = safe
            wrong.append(f"{name} is not a time up to now")
    for name in ("failures", "clean"):
        value = state.get(name, 0)
        fixed[name] = value if _is_count(value) else 0
        if not _is_count(value):
            wrong.append(f"{name} is not a whole number >= 0")
    latch = LatchState(**fixed)
    if not wrong:
        return latch, None
    return latch, Damage("latch", f"record: {', '.join(wrong)}: replaced by safe values")


def latch_from(state: Mapping[str, Any] | None, now: float | None = None) -> LatchState:
    """The latch's state from its stored form (:func:`check_latch` without the report)."""
    return check_latch(state, now)[0]


def check_version(value: object) -> int | None:
    """A latch version as stored: a whole number >= 1 (every write's), else ``None``."""
    if _is_count(value) and value >= 1:  # type: ignore[operator]
        return value  # type: ignore[return-value]
    return None


def check_switch(
    name: SwitchName, fields: Mapping[str, object], now: float
) -> tuple[SwitchRecord, Damage | None]:
    """A switch record from its stored fields (``on``, ``by``, ``at``, ``why``).

    See the module's table for what each damaged field becomes; the record is never dropped.
    """
    wrong: list[str] = []
    on = fields.get("on")
    if not isinstance(on, bool):
        word = flag_word(on) if isinstance(on, str) else None
        if _is_number(on) and on in (0, 1):
            word = bool(on)
        if word is None:
            wrong.append("on is neither true nor false: read as ON (the operator's action)")
            on = True
        else:
            wrong.append(f"on is not a boolean: read as {'on' if word else 'off'}")
            on = word
    stored = fields.get("at")
    at = float(stored) if _is_time(stored, now) else 0.0  # type: ignore[arg-type]
    if at <= 0:
        wrong.append("at is not a time up to now: shown as unknown")
        at = 0.0
    by, why = fields.get("by", "?"), fields.get("why", "")
    if not isinstance(by, str) or not isinstance(why, str):
        wrong.append("by or why is not text")
        by = by if isinstance(by, str) else "?"
        why = why if isinstance(why, str) else ""
    record = SwitchRecord(
        name=name,
        on=on,
        by=by[:_MAX_TEXT],
        at=at,
        reason=why[:_MAX_TEXT],
    )
    damage = Damage("switch", f"{name}: {'; '.join(wrong)}") if wrong else None
    return record, damage


def counts_from(
    where: str, fields: Mapping[str, object]
) -> tuple[dict[str, Counts], Damage | None]:
    """One bucket's ``(failures, total)`` per check from its ``f_<check>``/``n_<check>`` fields.

    A check whose counters are not whole numbers >= 0 with failures <= total is left out of
    this bucket (the others count); the bucket leaves the window by itself.

    Args:
        where: The bucket, for the report.
        fields: Its fields (names as stored, values as decoded).
    """
    counts: dict[str, Counts] = {}
    bad = 0
    checks = {name[2:] for name in fields if name.startswith(("f_", "n_"))}
    for check in sorted(checks):
        failures, total = fields.get(f"f_{check}", 0), fields.get(f"n_{check}", 0)
        if _is_count(failures) and _is_count(total) and failures <= total:  # type: ignore[operator]
            if total:
                counts[check] = (failures, total)  # type: ignore[assignment]
        else:
            bad += 1
    if not bad:
        return counts, None
    text = f"{where}: {bad} check(s) with counters that are not whole numbers >= 0: left out"
    return counts, Damage("bucket", text)


def future_bucket(where: str, start: float, now: float) -> Damage | None:
    """A report when a bucket starts after ``now`` + :data:`MAX_CLOCK_SKEW` (it is not counted:
    an instance whose clock is ahead wrote it), else ``None``."""
    if start <= now + MAX_CLOCK_SKEW:
        return None
    # No figure in the text: it would change with every evaluation, and each text is logged
    # once. The bucket's name says when it starts.
    return Damage(
        "bucket",
        f"{where}: starts more than {MAX_CLOCK_SKEW:g}s after this clock's now: not counted "
        "(an instance's clock is ahead?)",
    )


def clock_skew(sent: float, received: float, store_date: float) -> float | None:
    """How far this clock is off from the store's, when certainly beyond :data:`MAX_CLOCK_SKEW`.

    The store's ``Date`` header says the second its answer was made, truncated: the answer was
    made at some true store time in ``[store_date, store_date + 1)``, and at some local time in
    ``[sent, received]``. Only an offset that every combination puts beyond the bound counts, so
    a slow round trip or the header's resolution never accuses an honest clock.

    Args:
        sent: Local epoch seconds when the request left.
        received: Local epoch seconds when the answer arrived.
        store_date: The answer's ``Date``, epoch seconds.

    Returns:
        The offset (positive: this clock is ahead), or ``None`` when within the bound.
    """
    ahead = sent - (store_date + 1.0)  # the least this clock can be ahead
    behind = store_date - received  # the least it can be behind
    if ahead > MAX_CLOCK_SKEW:
        return (sent + received) / 2 - (store_date + 0.5)
    if behind > MAX_CLOCK_SKEW:
        return (sent + received) / 2 - (store_date + 0.5)
    return None
