"""Gray-failure window and recovery hysteresis: the policy's memory across evaluations.

The policy turns one evaluation into an *instantaneous* verdict. That is not enough to drive
Route 53 well:

* a partial ("gray") failure, a share of reads failing, passes most single evaluations, so
  the region never fails over (OneLogin's outage);
* once failed over, a region that passes one evaluation must not fail straight back: Route 53's
  ``FailureThreshold`` applies both ways, so recovery is symmetric unless we add asymmetry.

:class:`FailureWindow` keeps each critical check's recent sample outcomes over a sliding time
window (bounded in memory); :class:`Hysteresis` fails fast and recovers slowly; :class:`Tracker`
combines both. The rules themselves (the window's threshold, the latch's transitions) are pure
functions in :mod:`service.verdict.rules`; these classes hold their state in memory for one
process. The caller passes the clock in, so tests need no I/O and the Route 53 simulator can run
it in virtual time.

Example:
    >>> tracker = Tracker(TrackerSettings())
    >>> tracker.observe("pass", {"accounts-table": [True, True, False]}, now=0.0).status
    'pass'

Defaults (see :class:`TrackerSettings`) were chosen with the Route 53 simulator
(``python -m bench.evidence`` for noise and detection, ``python -m bench.failover`` for the
strategies); ``docs/gray-failure-evidence.md`` has the figures and how to reproduce them.

Composition with Route 53: its FailureThreshold applies both ways and debounces single bad
evaluations, so this module reports every unhealthy evaluation at once (fail fast) and only
makes *recovery* slow; Route 53 adds FailureThreshold x interval on top of both directions.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from service.verdict.rules import (
    LatchState,
    TrackerSettings,
    WindowCounts,
    advance_latch,
    gray_failing,
    gray_reason,
    latch_reason,
    window_counts,
)

__all__ = [
    "FailureWindow",
    "Hysteresis",
    "StatusValue",
    "TrackedVerdict",
    "Tracker",
    "TrackerSettings",
    "status_value",
]

StatusValue = Literal["pass", "warn", "fail"]

_STATUS_VALUES: tuple[StatusValue, ...] = ("pass", "warn", "fail")


def status_value(status: str | Enum) -> StatusValue:
    """Normalise a status given as a string or an Enum member (e.g. ``checks.Status``).

    Args:
        status: ``"pass"``, ``"warn"``, ``"fail"`` or an Enum whose ``.value`` is one of them.

    Returns:
        The status as a plain string literal.

    Raises:
        ValueError: for anything else.
    """
    raw = status.value if isinstance(status, Enum) else status
    for value in _STATUS_VALUES:
        if raw == value:
            return value
    raise ValueError(f"not a health status: {status!r}")


class FailureWindow:
    """Per-check sample outcomes over a sliding time window.

    One entry is kept per evaluation (its time, failures and sample count) with running totals,
    so recording and reading are O(1) amortised whatever the sample rate.
    """

    def __init__(self, *, window: float, max_entries: int = 1024) -> None:
        """Create an empty window.

        Args:
            window: Seconds of history to keep.
            max_entries: Evaluations kept per check at most (bounds memory).
        """
        self._window = window
        self._max_entries = max_entries
        self._entries: dict[str, deque[tuple[float, int, int]]] = {}
        self._totals: dict[str, list[int]] = {}

    def record(self, check: str, ok_samples: Sequence[bool], now: float) -> None:
        """Add one evaluation's samples of ``check``.

        Args:
            check: The check's name.
            ok_samples: One boolean per sample, True when the sample succeeded.
            now: Monotonic time in seconds.
        """
        if not ok_samples:
            return
        entries = self._entries.setdefault(check, deque())
        totals = self._totals.setdefault(check, [0, 0])
        failures = sum(1 for ok in ok_samples if not ok)
        entries.append((now, failures, len(ok_samples)))
        totals[0] += failures
        totals[1] += len(ok_samples)
        # Manual eviction (not deque(maxlen)) so the running totals stay exact.
        while len(entries) > self._max_entries:
            self._pop(entries, totals)
        self._expire(entries, totals, now)

    def ratio(self, check: str, now: float) -> tuple[int, int]:
        """Return ``(failures, total)`` samples of ``check`` within the window ending at ``now``."""
        entries = self._entries.get(check)
        if entries is None:
            return 0, 0
        totals = self._totals[check]
        self._expire(entries, totals, now)
        return totals[0], totals[1]

    def counts(self, check: str, now: float) -> WindowCounts:
        """``check``'s window as the rule reads it (:func:`service.verdict.rules.window_counts`)."""
        entries = self._entries.get(check)
        if entries is None:
            return WindowCounts()
        self._expire(entries, self._totals[check], now)
        return window_counts(entries, self._window)

    def gray_failing(self, check: str, now: float, settings: TrackerSettings) -> bool:
        """Tell whether ``check`` fails too often (:func:`service.verdict.rules.gray_failing`)."""
        return gray_failing(self.counts(check, now), settings)

    def checks(self) -> tuple[str, ...]:
        """Return the names of the checks seen so far, in first-seen order."""
        return tuple(self._entries)

    def _expire(
        self, entries: deque[tuple[float, int, int]], totals: list[int], now: float
    ) -> None:
        horizon = now - self._window
        while entries and entries[0][0] <= horizon:
            self._pop(entries, totals)

    @staticmethod
    def _pop(entries: deque[tuple[float, int, int]], totals: list[int]) -> None:
        _, failures, count = entries.popleft()
        totals[0] -= failures
        totals[1] -= count


class Hysteresis:
    """Fail fast, recover slowly: an in-memory holder of :class:`~service.verdict.rules.LatchState`.

    The rule is :func:`service.verdict.rules.advance_latch`; this class only keeps the state between
    evaluations of one process.
    """

    def __init__(
        self,
        settings: TrackerSettings | None = None,
        *,
        recover_after: int = 1,
        min_hold: float = 0.0,
        fail_after: int = 1,
        quiet: float = 0.0,
        burst: float = 0.0,
    ) -> None:
        """Create a tracker in the healthy state.

        Args:
            settings: The tuning; when given, the keyword arguments are ignored.
            recover_after: Consecutive clean evaluations required to recover.
            min_hold: Seconds a latched failure lasts at least.
            fail_after: Consecutive unhealthy evaluations before the failure latches.
            quiet: Seconds since the last unhealthy evaluation required to recover.
            burst: Seconds an unhealthy streak must last before it latches.
        """
        self.settings = settings or TrackerSettings(
            recover_after=recover_after,
            min_hold=min_hold,
            fail_after=fail_after,
            quiet=quiet,
            burst=burst,
        )
        self.state = LatchState()

    @property
    def latched(self) -> bool:
        """True while a failure is latched (the region reports unhealthy regardless)."""
        return self.state.latched

    @property
    def clean(self) -> int:
        """Consecutive clean evaluations counted towards recovery."""
        return self.state.clean

    def update(
        self, instant_healthy: bool, now: float, *, held: bool = False, sustained: bool = False
    ) -> bool:
        """Feed one evaluation and return whether to report healthy.

        Args:
            instant_healthy: This evaluation's own verdict.
            now: Time in seconds.
            held: Operator hold: once latched, stay unhealthy while this is True.
            sustained: Unhealthy on the window's evidence (no burst span needed to latch).

        Returns:
            The health to report.
        """
        self.state = advance_latch(
            self.state, instant_healthy, now, held=held, sustained=sustained, settings=self.settings
        )
        return self.state.healthy


@dataclass(frozen=True)
class TrackedVerdict:
    """What the tracker reports for one evaluation.

    Attributes:
        status: ``"pass"``/``"warn"`` (serve) or ``"fail"`` (fail over).
        reasons: Short, stable strings saying why the status differs from a plain pass, e.g.
            ``"gray-failure:accounts-table 4/20"``, ``"recovering 2/5 clean"``, ``"held"``.
    """

    status: StatusValue
    reasons: tuple[str, ...] = ()


class Tracker:
    """Combine the instantaneous verdict, the gray-failure window and the hysteresis."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        """Create a tracker.

        Args:
            settings: Tuning; the documented defaults when omitted.
        """
        self.settings = settings or TrackerSettings()
        self.window = FailureWindow(
            window=self.settings.window, max_entries=self.settings.max_entries
        )
        self.hysteresis = Hysteresis(self.settings)

    def observe(
        self,
        instant_status: str | Enum,
        samples_by_check: Mapping[str, Sequence[bool]],
        now: float,
        held: bool = False,
    ) -> TrackedVerdict:
        """Feed one evaluation and return the status to report.

        Args:
            instant_status: The policy's verdict for this evaluation alone.
            samples_by_check: Per critical regional check, this evaluation's sample outcomes.
            now: Monotonic time in seconds.
            held: Operator hold: once failing, stay failing until released.

        Returns:
            The tracked verdict.
        """
        instant = status_value(instant_status)
        settings = self.settings
        reasons: list[str] = []
        for check, samples in samples_by_check.items():
            self.window.record(check, samples, now)
        for check in self.window.checks():
            counts = self.window.counts(check, now)
            if gray_failing(counts, settings):
                reasons.append(gray_reason(check, counts, settings))
        instant_healthy = instant != "fail" and not reasons
        before = self.hysteresis.state
        if self.hysteresis.update(instant_healthy, now, held=held, sustained=bool(reasons)):
            return TrackedVerdict(instant)
        reason = latch_reason(
            before,
            self.hysteresis.state,
            instant_healthy=instant_healthy,
            held=held,
            settings=settings,
            now=now,
        )
        if reason is not None:
            reasons.append(reason)
        return TrackedVerdict("fail", tuple(reasons))
