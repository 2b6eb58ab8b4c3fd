"""The runner: every check concurrently, under one deadline, at most one evaluation at a time.

Each check runs in a bulkhead of its own (:class:`service.running.bulkhead.Lane`): an event loop in
a
thread of its own, with a few worker threads of its own for a plain ``def run`` and
``asyncio.to_thread``. A supervisor loop (our code only) starts every check's runs, waits for
them up to the deadline and turns whatever happened into a result. So a check that blocks its
loop (``time.sleep`` in an ``async def``), ignores cancellation, cancels itself, raises
anything, hangs a thread or fills its executor fails alone, with a reason that says what it did
(``blocked_loop``, ``timeout``, ``threads_exhausted``, ``error``), while the other checks keep
their real results. A run abandoned at its timeout is not started again until it really ends
(for a ``def``, until its thread returns), so a hung dependency costs one task or thread per
sample, not one per request.

Concurrent callers share the in-flight evaluation (single-flight) and reuse a finished one for
``cache_ttl`` seconds, so dependency load does not grow with the request rate. Nothing a check
does escapes :meth:`Runner.evaluate`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from checks.base import Check
from checks.exceptions import CheckError, CheckWarning
from checks.result import CheckResult, Observation, Status
from service.running.bulkhead import Lane, Ticket
from service.verdict.rules import SampleOutcome, combine_samples

__all__ = ["Evaluation", "Runner"]

logger = logging.getLogger("deep_health.runner")

T = TypeVar("T")

# Time for results to cross from the supervisor's loop to the caller's once the deadline is hit.
# The crossing takes well under a millisecond; the slack covers a busy machine's scheduling.
# Missing it costs little: checks that finished keep their results, only the unfinished ones
# are reported as timeouts by the caller.
_CROSS_LOOP_GRACE = 0.02
# How long start() waits for the checks' start() hooks; one still running then is reported as
# start_pending until it ends, and abandoned (then retried) after _START_TIMEOUT.
_START_WAIT = 5.0
_START_TIMEOUT = 30.0
# How long an evaluation waits for runs abandoned by the previous one to finish cancelling
# (a client closing its connection) before it reports the check as still hung.
_CANCEL_GRACE = 0.05
# How late past a check's timeout the supervisor may wake before its late samples say more about
# this process (paused, or starved of CPU) than about the dependency. Well above a busy loop's
# scheduling jitter; well below a pause (a frozen container, a stop-the-world stall).
_LATE_WAKE = 0.25
_MAX_TEXT = 2048  # characters of a check's error text or observation string kept
# Lanes that could not be closed (see Runner.close): referenced so their tasks are never
# garbage-collected while pending.
_UNCLOSED: list[Lane] = []


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation of every check.

    ``discounted`` names the checks whose result says more about this instance than about their
    dependency: their first run since ``start()`` (the run that opens clients), or a run whose
    timeout this process woke too late to enforce (paused, or starved of CPU). They still count
    in this evaluation's verdict, but are no evidence for the gray-failure window
    (:func:`service.verdict.rules.window_samples`).
    """

    number: int
    results: tuple[CheckResult, ...]
    duration: float
    time: float
    finished: float = field(default=0.0, repr=False)  # monotonic, for the cache
    discounted: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Outcome:
    status: Status
    reason: str | None = None
    error: str | None = None
    observations: Mapping[str, Observation] = field(default_factory=dict)


@dataclass
class _Pending:
    """What the caller needs to answer on time when the supervisor's loop does not."""

    deadline: float
    started: float
    time: float
    results: dict[str, CheckResult] = field(default_factory=dict)
    overdue: Evaluation | None = None  # built once, shared by every late caller
    discounted: set[str] = field(default_factory=set)


def _text(value: object) -> str:
    """``str(value)``, whatever its ``__str__`` does (raise, return a non-str, run long)."""
    try:
        text = str(value)
        if not isinstance(text, str):
            raise TypeError
    except BaseException:  # a check's __str__ may raise anything
        try:
            text = f"<unprintable {type(value).__name__}>"
        except BaseException:
            text = "<unprintable>"
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _type_name(value: object) -> str:
    try:
        return str(type(value).__name__)
    except BaseException:
        return "object"


def _describe(exc: BaseException) -> str:
    text = _text(exc)
    name = _type_name(exc)
    return f"{name}: {text}" if text else name


def _value(value: object) -> float | int | str | bool:
    """An observed value that renders as JSON: finite numbers, strings, booleans."""
    if isinstance(value, bool | int | str):
        if isinstance(value, str) and len(value) > _MAX_TEXT:
            return value[:_MAX_TEXT]
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
            return str(value)  # beyond what JSON readers hold exactly
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # NaN/inf are not JSON
    if isinstance(value, Mapping | list | tuple):
        # Nested data reads as JSON text (what a body reader parses), not as a Python repr.
        try:
            text = json.dumps(value, default=_text, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            return _text(value)
        return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."
    return _text(value)


def _observation(value: object) -> Observation:
    if isinstance(value, Observation):
        unit = value.unit
        return Observation(_value(value.value), None if unit is None else _text(unit)[:64])
    return Observation(_value(value))


def _observations(value: Any) -> Mapping[str, Observation]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"run() returned {_type_name(value)}, expected a mapping or None")
    return {_text(k)[:128]: _observation(v) for k, v in value.items()}


def _error_outcome(exc: CheckError) -> _Outcome:
    status = Status.WARN if isinstance(exc, CheckWarning) else Status.FAIL
    reason = getattr(exc, "reason", None)
    reason = reason if isinstance(reason, str) and reason else "error"
    try:
        observations = _observations(getattr(exc, "observations", None))
        extra = ""
    except BaseException as bad:  # e.g. CheckFailed(observations=[...])
        observations, extra = {}, f" (its observations were dropped: {_describe(bad)})"
    return _Outcome(status, reason, _describe(exc) + extra, observations)


_Trouble = tuple[str, str]
"""What went wrong in a hook: the exception's type name (loggable) and its text (private)."""


async def _hook(
    call: Callable[[], Awaitable[None]], ticket: Ticket[_Trouble | None]
) -> _Trouble | None:
    """Await a check's ``start()``/``stop()``; ``None`` or what went wrong, never a raise."""
    try:
        await call()
    except asyncio.CancelledError:
        if ticket.abandoned:
            raise
        return "CancelledError", "CancelledError: the hook cancelled itself"
    except BaseException as exc:  # SystemExit, KeyboardInterrupt included: never escapes
        return _type_name(exc), _describe(exc)
    return None


class Runner:
    """Runs checks concurrently under a deadline, with single-flight and a short result cache.

    Args:
        checks: the configured checks (names unique).
        deadline: seconds for one evaluation; each check's ``timeout`` may only tighten it.
        cache_ttl: seconds a finished evaluation answers later calls; 0 disables caching.
            Concurrent calls share the evaluation in flight at any setting.
        max_threads: worker threads per check, for a plain ``def run`` and the check's own
            ``asyncio.to_thread`` calls (at least ``samples``).
        clock: monotonic clock (for tests).
        start_wait: how long :meth:`start` waits for the checks' ``start()`` hooks (5 s).
        start_timeout: when a ``start()`` hook begun by :meth:`start` is abandoned, to be
            retried by the next evaluation (30 s).
    """

    def __init__(
        self,
        checks: Sequence[Check],
        *,
        deadline: float = 1.5,
        cache_ttl: float = 1.0,
        max_threads: int = 4,
        clock: Callable[[], float] = time.monotonic,
        start_wait: float = _START_WAIT,
        start_timeout: float = _START_TIMEOUT,
    ) -> None:
        self.checks = tuple(checks)
        self._start_wait = start_wait
        self._start_timeout = start_timeout
        self.deadline = deadline
        self.cache_ttl = cache_ttl
        self.evaluations = 0
        self._clock = clock
        self._max_threads = max_threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lanes: dict[str, Lane] = {}
        self._lock = threading.Lock()
        self._inflight: tuple[concurrent.futures.Future[Evaluation], _Pending] | None = None
        self._cached: Evaluation | None = None
        self._start_errors: dict[str, str] = {}
        self._warm: set[str] = set()  # checks that ran once since their start() succeeded
        self._start_pending: set[str] = set()
        self._start_retries: dict[str, asyncio.Future[None]] = {}
        self._starting: concurrent.futures.Future[None] | None = None
        self._start_all_task: asyncio.Future[Any] | None = None
        self._logged_start: dict[str, str] = {}
        self._abandoned: dict[str, list[asyncio.Future[_Outcome]]] = {
            c.check_name: [] for c in self.checks
        }
        self._is_async = {c.check_name: inspect.iscoroutinefunction(c.run) for c in self.checks}

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._loop is not None

    def lane(self, name: str) -> Lane:
        """The bulkhead check ``name`` runs in (after :meth:`start`)."""
        return self._lanes[name]

    def start(self) -> None:
        """Start the supervisor and every check's lane, and call every ``start()``. Idempotent.

        Waits up to 5 s for the ``start()`` hooks. A check whose ``start()`` raises fails with
        reason ``start_failed`` until a later evaluation starts it; one whose ``start()`` is
        still running fails with ``start_pending`` until it ends (after 30 s it is abandoned
        and retried).
        """
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=serve, name="deep-health-runner", daemon=True)
        self._thread.start()
        ready.wait()
        # Started again after close() (a Lambda SnapStart restore): every lane is new, and the
        # runs abandoned on the old ones are gone with them.
        self._abandoned = {c.check_name: [] for c in self.checks}
        self._warm.clear()
        for check in self.checks:
            name = check.check_name
            self._lanes[name] = Lane(
                name, threads=max(self._max_threads, check.samples), clock=self._clock
            )
        self._loop = loop
        future = asyncio.run_coroutine_threadsafe(self._start_all(), loop)
        self._starting = future
        try:
            future.result(timeout=self._start_wait)
        except concurrent.futures.TimeoutError:
            logger.warning(
                "checks still starting after %ss: %s",
                self._start_wait,
                ", ".join(sorted(self._start_pending)),
            )

    def close(self, timeout: float = 5.0) -> None:
        """Stop every check, its lane and the supervisor, within about ``timeout``. Idempotent.

        ``stop()`` hooks get half of it. A lane that a check still blocks, or that holds runs
        ignoring cancellation, cannot be closed cleanly: it is left to its daemon thread (and
        kept referenced, so its tasks are not destroyed mid-run) instead of delaying shutdown.
        """
        loop, self._loop = self._loop, None
        self._inflight = None
        self._cached = None
        if loop is None:
            return
        ends = self._clock() + timeout
        future = asyncio.run_coroutine_threadsafe(self._stop_all(timeout / 2), loop)
        try:
            future.result(timeout=timeout / 2 + 0.1)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            logger.warning("checks did not stop within %ss", timeout / 2)
        loop.call_soon_threadsafe(loop.stop)
        lanes = list(self._lanes.values())
        for lane in lanes:
            lane.request_close()
        left = [lane for lane in lanes if not lane.join(ends - self._clock())]
        if left:
            _UNCLOSED.extend(left)
            logger.warning(
                "lanes left running (a check blocks its loop or ignores cancellation): %s",
                ", ".join(lane.name for lane in left),
            )
        if self._thread is not None:
            self._thread.join(max(0.0, ends - self._clock()))
        if self._thread is not None and not self._thread.is_alive():
            loop.close()

    async def _start_all(self) -> None:
        self._start_all_task = asyncio.current_task()
        await asyncio.gather(
            *(self._start_one(check, self._start_timeout) for check in self.checks)
        )

    async def _start_one(self, check: Check, timeout: float) -> None:
        name = check.check_name
        self._start_pending.add(name)
        ticket = self._lanes[name].run(lambda t: _hook(check.start, t))
        try:
            done, trouble = await self._wait_one(ticket, timeout)
        finally:
            self._start_pending.discard(name)
        if not done:
            ticket.abandon()
            trouble = ("timeout", f"start() did not finish within {timeout:g}s")
        if trouble is None:
            self._warm.discard(name)  # new clients: the next run opens them
            self._start_errors.pop(name, None)
            self._logged_start.pop(name, None)
            return
        kind, text = trouble
        self._start_errors[name] = text
        # The text may carry a secret (a DSN with a password): logs get the type and reason
        # code only, and only when it changes, not on every retry. /health/details has the text.
        if self._logged_start.get(name) != kind:
            self._logged_start[name] = kind
            logger.warning(
                "check %s did not start: %s (reason start_failed; details behind the token)",
                name,
                kind,
                extra={"fields": {"check": name, "reason": "start_failed", "type": kind}},
            )

    async def _stop_all(self, timeout: float) -> None:
        # start() hooks still running (start-up's or a retry) end with their lanes; their
        # waiting tasks end here, so none is left pending on a loop about to stop.
        for starting in (self._starting, *self._start_retries.values()):
            if starting is not None:
                starting.cancel()
        # Their ends, waited for (briefly) rather than left to the turns the stop hooks take.
        ending = [t for t in (self._start_all_task, *self._start_retries.values()) if t is not None]
        self._starting = None
        self._start_all_task = None
        self._start_retries.clear()
        await asyncio.gather(*(self._stop_one(check, timeout) for check in self.checks))
        if ending:
            await asyncio.wait(ending, timeout=min(0.1, timeout))

    async def _stop_one(self, check: Check, timeout: float) -> None:
        name = check.check_name
        ticket = self._lanes[name].run(lambda t: _hook(check.stop, t))
        done, trouble = await self._wait_one(ticket, timeout)
        if not done:
            ticket.abandon()
            trouble = ("timeout", "")
        if trouble is not None:
            logger.warning(
                "check %s did not stop cleanly: %s",
                name,
                trouble[0],
                extra={"fields": {"check": name, "reason": "stop_failed", "type": trouble[0]}},
            )

    async def _wait_one(
        self, ticket: Ticket[_Trouble | None], timeout: float
    ) -> tuple[bool, _Trouble | None]:
        waiter = self._waiter(ticket)
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
        if not done:
            return False, None
        try:
            return True, waiter.result()
        except BaseException as exc:
            return True, (_type_name(exc), _describe(exc))

    def _waiter(self, ticket: Ticket[T]) -> asyncio.Future[T]:
        """An asyncio future on the supervisor's loop that follows ``ticket`` (never cancels it)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()

        def settle(source: concurrent.futures.Future[T]) -> None:
            if waiter.done():
                return
            exc = source.exception()
            if isinstance(exc, asyncio.CancelledError):
                waiter.cancel()  # an abandoned run, cancelled as asked: nobody reads it
            elif exc is not None:
                waiter.set_exception(exc)
                waiter.exception()  # retrieved: an abandoned run's error is not worth a warning
            else:
                waiter.set_result(source.result())

        def relay(source: concurrent.futures.Future[T]) -> None:
            # A closed supervisor loop means nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, source)

        ticket.future.add_done_callback(relay)
        return waiter

    # -- the caller's side -------------------------------------------------------------------

    def cached(self) -> Evaluation | None:
        """The latest evaluation if it is still fresh, else ``None``."""
        evaluation = self._cached
        if evaluation is None or self.cache_ttl <= 0:
            return None
        if self._clock() - evaluation.finished >= self.cache_ttl:
            return None
        return evaluation

    async def evaluate(self, *, deadline: float | None = None) -> Evaluation:
        """An evaluation of every check, finished within ``deadline`` (plus a hand-off grace).

        Returns a fresh cached evaluation at once, joins one in flight, or starts one. Never
        raises once started: if the supervisor itself misses the deadline, the checks that did
        not answer are reported as timeouts in one evaluation shared by every late caller.
        """
        fresh = self.cached()
        if fresh is not None:
            return fresh
        if self._loop is None:
            raise RuntimeError("Runner.start() was not called")
        future, pending = self._submit(self.deadline if deadline is None else deadline)
        waiter = asyncio.wrap_future(future)
        remaining = pending.deadline - (self._clock() - pending.started) + _CROSS_LOOP_GRACE
        # asyncio.wait, unlike wait_for, never cancels the shared evaluation.
        done, _ = await asyncio.wait({waiter}, timeout=max(remaining, 0.0))
        if done:
            try:
                return waiter.result()
            except BaseException:  # a bug of ours, or the supervisor closed under it
                logger.exception("evaluation failed")
        return self._overdue(pending)

    def _submit(self, deadline: float) -> tuple[concurrent.futures.Future[Evaluation], _Pending]:
        assert self._loop is not None
        with self._lock:
            inflight = self._inflight
            # Shared at any cache setting: the cache decides what later calls reuse, not what
            # concurrent ones share. So dependency load stays one evaluation at a time, and a
            # stuck supervisor queues one evaluation, not one per call.
            if inflight is not None:
                return inflight
            pending = _Pending(deadline=deadline, started=self._clock(), time=time.time())
            future = asyncio.run_coroutine_threadsafe(self._evaluate(pending), self._loop)
            self._inflight = (future, pending)
        # Outside the lock: a future that already finished runs the callback right here.
        future.add_done_callback(self._finished)
        return future, pending

    def _finished(self, future: concurrent.futures.Future[Evaluation]) -> None:
        with self._lock:
            # Only the evaluation in flight is cached: one that close() let go of (it finished
            # while the stop hooks ran) would otherwise be served after a restart (a SnapStart
            # restore) as if it were fresh.
            if self._inflight is None or self._inflight[0] is not future:
                return
            self._inflight = None
            if not future.cancelled() and future.exception() is None:
                self._cached = future.result()

    def _overdue(self, pending: _Pending) -> Evaluation:
        """The answer when the supervisor itself missed the deadline; one per evaluation."""
        with self._lock:
            if pending.overdue is not None:
                return pending.overdue
            duration = self._clock() - pending.started
            results = []
            # Not pending.discounted: the supervisor's thread may still be adding to it.
            late: set[str] = set()
            for check in self.checks:
                result = pending.results.get(check.check_name)
                if result is None:
                    late.add(check.check_name)  # this process did not answer: no evidence
                    result = self._failure(
                        check,
                        duration,
                        pending.time,
                        "timeout",
                        f"no answer within {pending.deadline:.3f}s (the runner's supervisor "
                        "did not answer in time: is the machine starved of CPU?)",
                    )
                results.append(result)
            pending.overdue = Evaluation(
                number=-1,
                results=tuple(results),
                duration=duration,
                time=pending.time,
                discounted=frozenset(late),
            )
            return pending.overdue

    # -- the supervisor's loop ---------------------------------------------------------------

    async def _evaluate(self, pending: _Pending) -> Evaluation:
        self.evaluations += 1
        number = self.evaluations
        await asyncio.gather(*(self._supervise(check, pending) for check in self.checks))
        results = tuple(pending.results[check.check_name] for check in self.checks)
        return Evaluation(
            number=number,
            results=results,
            duration=self._clock() - pending.started,
            time=pending.time,
            finished=self._clock(),
            discounted=frozenset(pending.discounted),
        )

    def _refusal(self, check: Check, lane: Lane) -> tuple[str, str] | None:
        """Why ``check`` must not be run now (reason, text), or ``None``."""
        name = check.check_name
        if name in self._start_pending:
            return "start_pending", "start() has not finished yet"
        if lane.busy:
            if lane.blocked():
                return "blocked_loop", (
                    f"blocked its event loop for {lane.stalled_for():.1f}s so far (blocking "
                    "code in async def run?); not run again until it ends"
                )
            return (
                "timeout",
                "the previous run has not finished (hung); not run again until it ends",
            )
        if not self._is_async[name] and lane.threads_busy:
            return "timeout", (
                "the previous run's worker thread has not returned (hung); not run again until "
                "it does"
            )
        limit = lane.executor.limit
        if lane.threads_busy + max(1, check.samples) > limit and self._is_async[name]:
            return "threads_exhausted", (
                f"{lane.threads_busy} of its {limit} worker threads are still busy (hung "
                "asyncio.to_thread or run_in_executor calls?)"
            )
        return None

    async def _supervise(self, check: Check, pending: _Pending) -> None:
        name = check.check_name
        lane = self._lanes[name]
        if name in self._start_errors and name not in self._start_pending and not lane.busy:
            # The retry is bounded by start_timeout, not by this evaluation: a start() slower
            # than the deadline (a cold TLS handshake on a CPU-starved or frozen-between-
            # invocations Lambda container) must be able to finish over several evaluations.
            # Cut at each deadline, it would be retried and cut again for ever. This evaluation
            # waits for it within its deadline, then answers start_pending (below).
            retry = asyncio.ensure_future(self._start_one(check, self._start_timeout))
            self._start_retries[name] = retry  # referenced: it may outlive this evaluation
            elapsed = self._clock() - pending.started
            await asyncio.wait(
                {retry}, timeout=max(0.0, min(check.timeout, pending.deadline - elapsed))
            )
            if retry.done() and name in self._start_errors:
                pending.results[name] = self._failure(
                    check, 0.0, pending.time, "start_failed", self._start_errors[name]
                )
                return
        left = [waiter for waiter in self._abandoned[name] if not waiter.done()]
        if left and not lane.blocked():  # give cancelled runs a moment to end
            elapsed = self._clock() - pending.started
            grace = max(0.0, min(_CANCEL_GRACE, check.timeout, pending.deadline - elapsed))
            await asyncio.wait(left, timeout=grace)
            left = [waiter for waiter in left if not waiter.done()]
        self._abandoned[name] = left
        refusal = self._refusal(check, lane)
        if refusal is not None:
            pending.results[name] = self._failure(check, 0.0, pending.time, *refusal)
            return
        started = self._clock()
        tickets = [
            lane.run(lambda t: self._run_once(check, t)) for _ in range(max(1, check.samples))
        ]
        waiters = {self._waiter(ticket): ticket for ticket in tickets}
        elapsed = started - pending.started
        timeout = max(0.0, min(check.timeout, pending.deadline - elapsed))
        done, late = await asyncio.wait(waiters, timeout=timeout)
        duration = self._clock() - started
        if name not in self._warm or (late and duration > timeout + _LATE_WAKE):
            pending.discounted.add(name)
        self._warm.add(name)
        outcomes = [self._outcome(waiter) for waiter in done]
        for waiter in late:
            waiters[waiter].abandon()
            self._abandoned[name].append(waiter)
            outcomes.append(self._late(check, lane, timeout))
        pending.results[name] = self._combine(check, outcomes, duration, pending.time)

    def _outcome(self, waiter: asyncio.Future[_Outcome]) -> _Outcome:
        try:
            return waiter.result()
        except BaseException as exc:  # the run wrapper never raises; this is belt and braces
            return _Outcome(Status.FAIL, "error", _describe(exc))

    def _late(self, check: Check, lane: Lane, timeout: float) -> _Outcome:
        if lane.blocked():
            return _Outcome(
                Status.FAIL,
                "blocked_loop",
                f"blocked its event loop for {lane.stalled_for():.1f}s (blocking code in "
                "async def run, e.g. time.sleep or a synchronous client?)",
            )
        if not self._is_async[check.check_name]:
            return _Outcome(
                Status.FAIL,
                "timeout",
                f"no answer within {timeout:.3f}s (its worker thread is still running)",
            )
        return _Outcome(Status.FAIL, "timeout", f"no answer within {timeout:.3f}s")

    async def _run_once(self, check: Check, ticket: Ticket[_Outcome]) -> _Outcome:
        """One run, on the check's own loop: an outcome whatever the check does."""
        try:
            if self._is_async[check.check_name]:
                value = await check.run()  # type: ignore[misc]
            else:
                value = await asyncio.get_running_loop().run_in_executor(None, check.run)
            return _Outcome(Status.PASS, observations=_observations(value))
        except CheckError as exc:
            return _error_outcome(exc)
        except asyncio.CancelledError:
            if ticket.abandoned:
                raise  # our own timeout: the supervisor already reported it
            task = asyncio.current_task()
            if task is not None:
                while task.uncancel():
                    pass
            return _Outcome(Status.FAIL, "error", "CancelledError: the check cancelled itself")
        except BaseException as exc:  # nothing a check raises may escape
            logger.debug("check %s raised %s", check.check_name, _type_name(exc))
            return _Outcome(Status.FAIL, "error", _describe(exc))

    def _combine(
        self, check: Check, outcomes: list[_Outcome], duration: float, at: float
    ) -> CheckResult:
        verdict = combine_samples(
            [SampleOutcome(o.status, o.reason, o.error) for o in outcomes],
            duration=duration,
            latency_budget=check.latency_budget,
        )
        observations = next((o.observations for o in outcomes if o.observations), {})
        return CheckResult(
            name=check.check_name,
            status=verdict.status,
            duration=duration,
            critical=check.critical,
            scope=check.scope,
            reason=verdict.reason,
            error=verdict.error,
            observations=observations,
            samples=verdict.samples,
            time=at,
        )

    def _failure(
        self, check: Check, duration: float, at: float, reason: str, error: str
    ) -> CheckResult:
        return CheckResult(
            name=check.check_name,
            status=Status.FAIL,
            duration=duration,
            critical=check.critical,
            scope=check.scope,
            reason=reason,
            error=error,
            samples=(False,) * max(1, check.samples),
            time=at,
        )
