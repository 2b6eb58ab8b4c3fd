"""The runner: every check concurrently, under one deadline, at most one evaluation at a time.

Checks run on an event loop of their own, in a thread of its own, created once at start-up. A
check that blocks that loop (``time.sleep`` in an ``async def``), ignores cancellation, or hangs
cannot delay the answer: the caller waits for the deadline on its own loop and reports what did
not finish as ``timeout``. A run abandoned at its timeout is not started again until it ends,
so a hung dependency costs one task (or thread) per sample, not one per request.

Concurrent callers share the in-flight evaluation (single-flight) and reuse a finished one for
``cache_ttl`` seconds, so dependency load does not grow with the request rate.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from checks.base import Check
from checks.exceptions import CheckError, CheckWarning
from checks.result import CheckResult, Observation, Status
from service.rules import SampleOutcome, combine_samples

__all__ = ["Evaluation", "Runner"]

logger = logging.getLogger("deep_health.runner")

# Time for results to cross from the checks' loop to the caller's once the deadline is hit. The
# crossing takes well under a millisecond; the slack covers a busy machine's scheduling, while
# keeping a blocked loop's answer within deadline + 50 ms. Missing it costs little: checks that
# finished keep their results, only the unfinished ones are reported as timeouts by the caller.
_CROSS_LOOP_GRACE = 0.02
_START_TIMEOUT = 30.0
# Loops that could not be closed (see Runner.close): referenced so their tasks are never
# garbage-collected while pending.
_UNCLOSED_LOOPS: list[asyncio.AbstractEventLoop] = []


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation of every check."""

    number: int
    results: tuple[CheckResult, ...]
    duration: float
    time: float
    finished: float = field(default=0.0, repr=False)  # monotonic, for the cache


@dataclass(slots=True)
class _Outcome:
    status: Status
    reason: str | None = None
    error: str | None = None
    observations: Mapping[str, Observation] = field(default_factory=dict)


@dataclass
class _Pending:
    """What the caller needs to answer on time when the checks' loop does not."""

    deadline: float
    started: float
    time: float
    results: dict[str, CheckResult] = field(default_factory=dict)


def _observations(value: Any) -> Mapping[str, Observation]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"run() returned {type(value).__name__}, expected a mapping or None")
    return {str(k): v if isinstance(v, Observation) else Observation(v) for k, v in value.items()}


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Runner:
    """Runs checks concurrently under a deadline, with single-flight and a short result cache.

    Args:
        checks: the configured checks (names unique).
        deadline: seconds for one evaluation; each check's ``timeout`` may only tighten it.
        cache_ttl: seconds a finished evaluation answers later calls; 0 disables caching.
            Concurrent calls share the evaluation in flight at any setting.
        max_threads: worker threads for checks whose ``run`` is a plain ``def``.
        clock: monotonic clock (for tests).
    """

    def __init__(
        self,
        checks: Sequence[Check],
        *,
        deadline: float = 1.5,
        cache_ttl: float = 1.0,
        max_threads: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.checks = tuple(checks)
        self.deadline = deadline
        self.cache_ttl = cache_ttl
        self.evaluations = 0
        self._clock = clock
        self._max_threads = max_threads
        self._executor = self._new_executor()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._inflight: tuple[concurrent.futures.Future[Evaluation], _Pending] | None = None
        self._cached: Evaluation | None = None
        self._abandoned: dict[str, int] = {check.check_name: 0 for check in self.checks}
        self._start_errors: dict[str, str] = {}
        self._is_async = {c.check_name: inspect.iscoroutinefunction(c.run) for c in self.checks}
        self._closed = False

    def _new_executor(self) -> concurrent.futures.ThreadPoolExecutor:
        return concurrent.futures.ThreadPoolExecutor(
            max_workers=self._max_threads, thread_name_prefix="deep-health-check"
        )

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        """Start the checks' loop and call every check's ``start()`` on it. Idempotent.

        A check whose ``start()`` raises is not fatal: it fails with reason ``start_failed``
        until a later evaluation starts it successfully.
        """
        if self._loop is not None:
            return
        if self._closed:
            # Started again after close() (a Lambda SnapStart restore): the old worker threads
            # are gone, and so are the runs abandoned on the old loop.
            self._executor = self._new_executor()
            self._abandoned = dict.fromkeys(self._abandoned, 0)
            self._closed = False
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=serve, name="deep-health-checks", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop
        future = asyncio.run_coroutine_threadsafe(self._start_all(), loop)
        try:
            future.result(timeout=_START_TIMEOUT)
        except concurrent.futures.TimeoutError:
            logger.error("checks did not start within %ss", _START_TIMEOUT)

    def close(self, timeout: float = 5.0) -> None:
        """Stop every check and the checks' loop. Idempotent.

        A loop that a check still blocks, or that holds runs ignoring cancellation, cannot be
        closed cleanly: it is left to its daemon thread (and kept referenced, so its tasks are
        not destroyed mid-run) instead of delaying shutdown.
        """
        loop, self._loop = self._loop, None
        self._closed = True
        self._inflight = None
        self._cached = None
        self._executor.shutdown(wait=False, cancel_futures=True)
        if loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(timeout / 2), loop)
        try:
            clean = future.result(timeout=timeout)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            clean = False
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        if clean and self._thread is not None and not self._thread.is_alive():
            loop.close()
        else:
            _UNCLOSED_LOOPS.append(loop)
            logger.warning("checks' loop left running: a check ignores cancellation or blocks")

    async def _start_all(self) -> None:
        await asyncio.gather(*(self._start_one(check) for check in self.checks))

    async def _start_one(self, check: Check) -> None:
        try:
            await check.start()
        except Exception as exc:
            self._start_errors[check.check_name] = _describe(exc)
            logger.warning("check %s did not start: %s", check.check_name, _describe(exc))
        else:
            self._start_errors.pop(check.check_name, None)

    async def _shutdown(self, timeout: float) -> bool:
        """Stop the checks, cancel what still runs; True when nothing is left running."""
        for check in self.checks:
            try:
                await asyncio.wait_for(check.stop(), timeout=timeout)
            except Exception as exc:
                logger.warning("check %s did not stop cleanly: %s", check.check_name, exc)
        others = asyncio.all_tasks() - {asyncio.current_task()}
        for task in others:
            task.cancel()
        if not others:
            return True
        _, still_running = await asyncio.wait(others, timeout=timeout)
        return not still_running

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

        Returns a fresh cached evaluation at once, joins one in flight, or starts one.
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
            return waiter.result()
        return self._overdue(pending)

    def _submit(self, deadline: float) -> tuple[concurrent.futures.Future[Evaluation], _Pending]:
        assert self._loop is not None
        with self._lock:
            inflight = self._inflight
            # Shared at any cache setting: the cache decides what later calls reuse, not what
            # concurrent ones share. So dependency load stays one evaluation at a time, and a
            # blocked checks' loop queues one evaluation, not one per call.
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
            if self._inflight is not None and self._inflight[0] is future:
                self._inflight = None
        if not future.cancelled() and future.exception() is None:
            self._cached = future.result()

    def _overdue(self, pending: _Pending) -> Evaluation:
        """The answer when the checks' loop itself missed the deadline (a check blocked it)."""
        duration = self._clock() - pending.started
        results = []
        for check in self.checks:
            result = pending.results.get(check.check_name)
            if result is None:
                result = self._failure(
                    check,
                    duration,
                    pending.time,
                    "timeout",
                    f"no answer within {pending.deadline:.3f}s (the checks' event loop did not "
                    "answer in time: is a check calling blocking code from async def run?)",
                )
            results.append(result)
        return Evaluation(number=-1, results=tuple(results), duration=duration, time=pending.time)

    # -- the checks' loop ----------------------------------------------------------------------

    async def _evaluate(self, pending: _Pending) -> Evaluation:
        self.evaluations += 1
        number = self.evaluations
        # Every check's runs start before any supervisor does, so the last check starts within
        # microseconds of the first instead of after every other check's set-up.
        launched = [(check, self._clock(), self._launch(check)) for check in self.checks]
        await asyncio.gather(
            *(self._supervise(check, pending, at, runs) for check, at, runs in launched)
        )
        results = tuple(pending.results[check.check_name] for check in self.checks)
        return Evaluation(
            number=number,
            results=results,
            duration=self._clock() - pending.started,
            time=pending.time,
            finished=self._clock(),
        )

    def _launch(self, check: Check) -> list[asyncio.Task[_Outcome]] | None:
        """Start ``check``'s samples; ``None`` when it is hung or must first be started."""
        name = check.check_name
        if self._abandoned[name] or name in self._start_errors:
            return None
        return self._spawn(check)

    def _spawn(self, check: Check) -> list[asyncio.Task[_Outcome]]:
        return [asyncio.ensure_future(self._run_once(check)) for _ in range(max(1, check.samples))]

    async def _supervise(
        self,
        check: Check,
        pending: _Pending,
        started: float,
        runs: list[asyncio.Task[_Outcome]] | None,
    ) -> None:
        name = check.check_name
        if runs is None:
            if self._abandoned[name]:
                pending.results[name] = self._failure(
                    check, 0.0, pending.time, "timeout", "the previous run has not finished (hung)"
                )
                return
            await self._start_one(check)  # it failed to start: try again
            if name in self._start_errors:
                pending.results[name] = self._failure(
                    check, 0.0, pending.time, "start_failed", self._start_errors[name]
                )
                return
            started = self._clock()
            runs = self._spawn(check)
        elapsed = started - pending.started
        timeout = max(0.0, min(check.timeout, pending.deadline - elapsed))
        done, late = await asyncio.wait(runs, timeout=timeout)
        duration = self._clock() - started
        for task in late:
            self._abandon(name, task)
        outcomes = [task.result() for task in done]
        outcomes += [
            _Outcome(Status.FAIL, "timeout", f"no answer within {timeout:.3f}s") for _ in late
        ]
        pending.results[name] = self._combine(check, outcomes, duration, pending.time)

    def _abandon(self, name: str, task: asyncio.Future[_Outcome]) -> None:
        self._abandoned[name] += 1

        def release(_: object) -> None:
            self._abandoned[name] -= 1

        task.add_done_callback(release)
        task.cancel()

    async def _run_once(self, check: Check) -> _Outcome:
        try:
            if self._is_async[check.check_name]:
                value = await check.run()  # type: ignore[misc]
            else:
                loop = asyncio.get_running_loop()
                value = await loop.run_in_executor(self._executor, check.run)
            return _Outcome(Status.PASS, observations=_observations(value))
        except CheckError as exc:
            status = Status.WARN if isinstance(exc, CheckWarning) else Status.FAIL
            return _Outcome(status, exc.reason, _describe(exc), _observations(exc.observations))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # our own timeout: the supervisor already reported it
            return _Outcome(Status.FAIL, "error", "the check raised CancelledError by itself")
        except BaseException as exc:  # nothing a check raises may escape
            logger.debug("check %s raised", check.check_name, exc_info=True)
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
