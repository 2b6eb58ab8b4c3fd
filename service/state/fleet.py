"""One evaluation's view of the fleet's state, and the local fallback when the store fails.

The store is a dependency of the *verdict*, not of the region. Each evaluation:

1. records its samples in this process's :class:`~service.state.memory.MemoryStore` (always),
2. exchanges them with the shared store within ``min(timeout, the evaluation's budget)``: ONE
   round trip on the critical path,
3. on any failure (timeout, refused, throttled, denied, missing table) uses the local window,
   the local copy of the latch (the fleet's latch as last seen, carried forward locally) and the
   switches as last read from the store, and says so: :attr:`View.problem` becomes a
   ``state_store`` reason, a metric counts it, and the change (and the return) is logged once;
4. after the verdict, :meth:`FleetState.commit` writes a changed latch in a trailing task: a
   conditional write that, when another instance wrote first, re-reads and re-applies the same
   pure rule (at most :data:`ATTEMPTS` times), so nothing is lost or counted twice. Where
   nothing runs after the answer (Lambda), the caller awaits :meth:`FleetState.settle` before
   answering, so no write is left on a loop that is about to be frozen.

Until this process has read the fleet's state once (at start, or in an exchange), an exchange
may take whatever is left of the deadline rather than ``timeout``: opening the store's client
may cost as much as ``timeout`` itself, and must not make a new instance judge from blank
state while the store does answer within the deadline.

Damaged records the store read (:mod:`service.state.records`) are logged once each, counted
per kind (:attr:`FleetState.damaged`, a metric) and named in the view (``/health/details``).
An instance whose clock is off from the store's (:attr:`~service.state.Snapshot.clock_skew`)
judges on its local window, says so like any store fault (reason ``clock_skew``), and keeps the
store's switches: it neither feeds the fleet's window nor writes the latch with its times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.state import (
    Counts,
    Damage,
    LatchRecord,
    StateStore,
    StoreUnavailable,
    SwitchName,
    SwitchRecord,
)
from service.state.memory import MemoryStore
from service.verdict.rules import WindowCounts

__all__ = ["ATTEMPTS", "STATE_RECORD", "STATE_STORE", "FleetState", "View"]

STATE_STORE = "state_store"
"""The reason code's prefix when an evaluation used local state."""
STATE_RECORD = "state_record"
"""The reason's prefix naming a damaged record the store returned."""
ATTEMPTS = 5
"""Conditional latch writes per evaluation at most (one per lost race)."""
_MAX_PENDING = 4  # trailing writes in flight at most: a slow store must not pile them up
_MAX_DAMAGE_LOGGED = 64  # distinct damage reports remembered (each logged once)

logger = logging.getLogger("deep_health.state")

Reapply = Callable[[Mapping[str, Any] | None], Mapping[str, Any]]
"""The latch rule for this evaluation, applied to a state read after a lost race."""


@dataclass(frozen=True, slots=True)
class View:
    """The state one evaluation judges.

    Attributes:
        window: Per check, its counts in the window (this evaluation included).
        latch: The latch record.
        switches: The operator switches the store holds (on or off).
        source: ``"dynamodb"`` (the fleet's), ``"memory"`` (the one process's, by design), or
            ``"local"`` (fallback: the shared store failed for this evaluation).
        problem: Why the shared store was not used (``"state_store: timeout ..."``), if so.
        damage: Damaged records the store returned, for people (``state_record: ...``).
    """

    window: Mapping[str, WindowCounts]
    latch: LatchRecord
    switches: Mapping[SwitchName, SwitchRecord] = field(default_factory=dict)
    source: str = "memory"
    problem: str | None = None
    damage: tuple[str, ...] = ()

    def held_by(self) -> SwitchRecord | None:
        """The store's hold record, when on."""
        record = self.switches.get("hold")
        return record if record is not None and record.on else None

    def drained_by(self) -> SwitchRecord | None:
        """The store's drain record, when on."""
        record = self.switches.get("drain")
        return record if record is not None and record.on else None


class FleetState:
    """The shared store (if any) with this process's local state beside it.

    Args:
        store: The shared store; ``None``: this process's memory only.
        window: Seconds of sample history (the local window's length).
        timeout: Seconds the exchange may take at most (the evaluation's budget may cut it).
        write_timeout: Seconds each trailing latch write may take.
    """

    def __init__(
        self,
        store: StateStore | None,
        *,
        window: float,
        timeout: float = 0.3,
        write_timeout: float = 2.0,
    ) -> None:
        self.store = store
        self.local = MemoryStore(window=window)
        self.timeout = timeout
        self.write_timeout = write_timeout
        self.fallbacks: dict[str, int] = {}
        """Evaluations that used local state, by reason code (for metrics)."""
        self.exchanges = 0
        self.write_failures = 0
        self.latch_conflicts = 0
        self.damaged: dict[str, int] = {}
        """Damaged records read, by kind (``latch``, ``switch``, ``bucket``; for metrics)."""
        self._damage_seen: set[Damage] = set()
        self._switches: Mapping[SwitchName, SwitchRecord] = {}
        self._problem: str | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._seen = False  # the fleet's state read once by this process

    @property
    def kind(self) -> str:
        """``"dynamodb"`` or ``"memory"``."""
        return self.store.kind if self.store is not None else "memory"

    @property
    def available(self) -> bool:
        """False while the shared store's latest exchange failed."""
        return self._problem is None

    async def start(self, now: float) -> None:
        """Create the store's client and read the fleet's state once, before serving.

        A new instance thus starts from the fleet's latch and switches: if a later exchange
        fails, its local fallback continues from them instead of from a blank (healthy) state.
        A failure here only means fallback until the store answers.

        Args:
            now: Epoch seconds.
        """
        if self.store is None:
            return
        try:
            await asyncio.wait_for(self.store.start(), self.write_timeout)
            snapshot = await asyncio.wait_for(self.store.exchange({}, now), self.write_timeout)
        except Exception as exc:  # a store's bug must not stop start-up: fall back instead
            known = isinstance(exc, StoreUnavailable | TimeoutError)
            said = (str(exc) or "timeout") if known else type(exc).__name__
            logger.error(
                "state store not ready (%s): using local state until it answers",
                said,  # a TimeoutError says nothing itself
                exc_info=None if known else exc,
            )
            return
        self._switches = snapshot.switches
        self._note(snapshot.damage)
        self.local.adopt_latch(snapshot.latch)
        self._seen = True

    def forget(self) -> None:
        """Before a SnapStart snapshot: drop the store's client and what this process read of
        the fleet, so that every restored copy reads the fleet's state anew in its first
        exchange (with the whole deadline for it, the client's opening included) instead of
        judging from the publishing instance's state, hours old."""
        if self.store is not None:
            self.store.forget_client()
        self.local = MemoryStore(window=self.local.window)
        self._switches = {}
        self._seen = False

    async def close(self) -> None:
        """Let trailing writes finish (bounded), then close the store."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=self.write_timeout)
        for task in set(self._pending):
            task.cancel()
        if self.store is not None:
            await self.store.close()

    async def read(self, samples: Mapping[str, Counts], now: float, budget: float) -> View:
        """Record ``samples`` and return the state to judge.

        Args:
            samples: Per check, this evaluation's ``(failures, total)``.
            now: Epoch seconds.
            budget: Seconds left in the evaluation's deadline.

        Returns:
            The fleet's view, or the local one with ``problem`` set.
        """
        if self.store is None:
            own = await self.local.exchange(samples, now)
            return View(own.window, own.latch, own.switches, "memory")
        self.local.record(samples, now)
        reason, detail = "timeout", "no time left in the deadline"
        unexpected: BaseException | None = None
        wait = min(self.timeout, budget) if self._seen else budget
        if wait > 0:
            try:
                snapshot = await asyncio.wait_for(self.store.exchange(samples, now), wait)
            except TimeoutError:
                detail = f"no answer within {wait:.3f}s"
            except StoreUnavailable as exc:
                reason, detail = exc.reason, exc.detail
            except Exception as exc:  # a store bug must not take the endpoint down either
                reason, detail, unexpected = "error", type(exc).__name__, exc
            else:
                self.exchanges += 1
                self._seen = True
                self._switches = snapshot.switches
                damage = self._note(snapshot.damage)
                if snapshot.clock_skew is None:
                    self._recovered()
                    store = self.store.kind
                    latch, switches = snapshot.latch, snapshot.switches
                    return View(snapshot.window, latch, switches, store, None, damage)
                reason = "clock_skew"
                detail = f"this clock is {snapshot.clock_skew:+.1f}s off the store's"
        problem = f"{STATE_STORE}: {self.store.kind} {reason}, local state used for this evaluation"
        if reason == "clock_skew":
            problem = (
                f"{STATE_STORE}: {detail}: not feeding the fleet's window, local state used "
                "(fix this host's clock)"
            )
        self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1
        self._failed(problem, detail, unexpected)
        return View(
            self.local.counts(now),
            await self.local.load_latch(),
            self._switches,
            "local",
            problem,
        )

    def commit(
        self,
        view: View,
        state: Mapping[str, Any],
        reapply: Reapply,
        now: float,
        *,
        blank: Mapping[str, Any] | None = None,
    ) -> None:
        """Keep the latch ``state`` the rule computed from ``view``.

        Locally at once; in the shared store by a trailing conditional write, only when it
        changed and the store answered this evaluation.

        Args:
            view: What the rule judged.
            state: The latch's new state.
            reapply: The same rule, for a state read after a lost race.
            now: Epoch seconds.
            blank: The state a never-written latch stands for (unchanged: nothing to write).
        """
        before = view.latch.state if view.latch.state is not None else blank
        changed = dict(state) != (dict(before) if before is not None else None)
        changed = changed or view.latch.damaged  # a damaged record is written again
        self.local.adopt_latch(LatchRecord(dict(state), view.latch.version + int(changed)))
        if not changed or view.source != "dynamodb" or self.store is None:
            return
        if len(self._pending) >= _MAX_PENDING:
            self.write_failures += 1
            logger.warning("state store: latch write dropped (%d still pending)", _MAX_PENDING)
            return
        task = asyncio.get_running_loop().create_task(
            self._write(self.store, dict(state), view.latch.version, reapply, now)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        """Wait for trailing writes (tests). Before a frozen process answers: :meth:`settle`."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=self.write_timeout * ATTEMPTS)

    async def settle(self, timeout: float) -> int:
        """Finish the trailing latch writes within ``timeout`` seconds; cancel the rest.

        For a process that is frozen once it has answered (Lambda): a write left pending would
        only resume at the next invocation, its timeouts long expired, or never. A write that
        did not finish in time is counted in :attr:`write_failures` and logged; the next
        evaluation reads the fleet's latch and applies the rule again.

        Args:
            timeout: Seconds to wait at most.

        Returns:
            The writes cancelled.
        """
        pending = set(self._pending)
        if not pending:
            return 0
        _, late = await asyncio.wait(pending, timeout=max(0.0, timeout))
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)  # let them unwind now, not on the next thaw
            self.write_failures += len(late)
            logger.warning(
                "state store: %d latch write(s) not done within %.3fs, cancelled before answering",
                len(late),
                timeout,
            )
        return len(late)

    async def _write(
        self,
        store: StateStore,
        state: Mapping[str, Any],
        expected: int,
        reapply: Reapply,
        now: float,
    ) -> None:
        try:
            for _ in range(ATTEMPTS):
                if await asyncio.wait_for(
                    store.save_latch(state, expected, now), self.write_timeout
                ):
                    return
                self.latch_conflicts += 1
                record = await asyncio.wait_for(store.load_latch(), self.write_timeout)
                state, expected = reapply(record.state), record.version
                if record.state is not None and dict(state) == dict(record.state):
                    return  # the other instance's write already says what this one would
            self.write_failures += 1
            logger.warning("state store: latch write lost %d races in a row", ATTEMPTS)
        except (StoreUnavailable, TimeoutError) as exc:
            self.write_failures += 1
            logger.warning("state store: latch write failed (%s)", str(exc) or "timeout")

    def _failed(self, problem: str, detail: str, unexpected: BaseException | None) -> None:
        if self._problem is None:  # once per change, with the traceback of a store's bug
            # No "()" when the store gave no detail.
            said = f"{problem} ({detail})" if detail else problem
            logger.error("%s", said, exc_info=unexpected)
        self._problem = problem

    def _note(self, damage: tuple[Damage, ...]) -> tuple[str, ...]:
        """Count damaged records, log each new one once; their lines for the view."""
        for found in damage:
            self.damaged[found.kind] = self.damaged.get(found.kind, 0) + 1
            if found not in self._damage_seen:
                if len(self._damage_seen) >= _MAX_DAMAGE_LOGGED:
                    self._damage_seen.clear()
                self._damage_seen.add(found)
                logger.error("state record damaged: %s", found)
        return tuple(f"{STATE_RECORD}: {found}" for found in damage)

    def _recovered(self) -> None:
        if self._problem is not None:
            logger.warning("state store answers again: the fleet's state is used")
        self._problem = None
