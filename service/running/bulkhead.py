"""Bulkheads: every check runs on an event loop and worker threads of its own.

A :class:`Lane` is one check's compartment: an event loop in a daemon thread, and a small,
bounded pool of daemon worker threads that is that loop's default executor (plain ``def run``
and ``asyncio.to_thread`` use it). Whatever a check does inside its lane — block the loop with
``time.sleep`` in ``async def``, hang a thread, fill its executor, ignore cancellation — stays
inside that lane: other checks' loops and threads are not shared with it.

What a lane cannot contain: CPU and the GIL (a check spinning in pure Python slows every
thread of the process), memory, file descriptors, and anything the check does to process-wide
state (``os.chdir``, signal handlers, monkey-patching, ``sys.exit`` from a thread of its own).

A lane also tells *why* a run is late. While it has work, its loop beats every
``_BEAT`` seconds; :meth:`Lane.stalled_for` is how long the loop has shown no sign of life, so
the runner can say "blocked its event loop for 1.2 s" instead of a bare timeout. Worker threads
are daemons and are never joined: a hung ``def`` cannot keep the process from exiting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

__all__ = ["Lane", "Ticket"]

T = TypeVar("T")

_BEAT = 0.05  # seconds between a busy loop's heartbeats; a loop silent for several is blocked


class _DaemonExecutor(concurrent.futures.ThreadPoolExecutor):
    """A bounded pool of daemon threads that counts work not yet finished.

    ``ThreadPoolExecutor``'s workers are joined at interpreter exit, so one hung call keeps
    the process alive; these are daemons and are never joined. It subclasses
    ``ThreadPoolExecutor`` only because ``loop.set_default_executor`` requires one.
    """

    def __init__(self, max_workers: int, name: str) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=name)
        self._limit = max_workers
        self._prefix = name
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._guard = threading.Lock()
        self._workers = 0
        self._idle = 0
        self._closed = False
        self.unfinished = 0
        """Calls submitted and not yet returned (queued, running or hung)."""

    @property
    def limit(self) -> int:
        return self._limit

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._guard:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self.unfinished += 1
            if self._idle:
                self._idle -= 1  # claimed: that worker takes this job
            elif self._workers < self._limit:
                self._workers += 1
                threading.Thread(
                    target=self._work, name=f"{self._prefix}_{self._workers}", daemon=True
                ).start()
            self._jobs.put((future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args, kwargs = job
            # The call is counted as returned BEFORE its caller is woken: a caller that looks
            # at `unfinished` as soon as its result arrives (the runner, refusing a sync check
            # whose previous call has "not returned") must never count this one as hung.
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # the caller's future carries it; a thread lives
                    self._returned()
                    future.set_exception(exc)
                else:
                    self._returned()
                    future.set_result(result)
            else:
                self._returned()
            del future, fn, args, kwargs, job
            with self._guard:
                self._idle += 1

    def _returned(self) -> None:
        with self._guard:
            self.unfinished -= 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop idle workers; never waits (a hung worker is a daemon, left to process exit)."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
            workers = self._workers
        for _ in range(workers):
            self._jobs.put(None)


class Ticket(Generic[T]):
    """One coroutine run on a lane.

    ``future`` completes when the coroutine has really ended (its result, or the exception it
    raised); nobody else can cancel it. :meth:`abandon` asks the lane to cancel the run and
    marks it ``abandoned``, so the coroutine can tell that cancellation from one of its own.
    """

    __slots__ = ("_lane", "_task", "abandoned", "future")

    def __init__(self, lane: Lane) -> None:
        self._lane = lane
        self._task: asyncio.Task[T] | None = None
        self.abandoned = False
        self.future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def abandon(self) -> None:
        """Stop waiting for this run and cancel it (when its loop next gets control)."""
        self.abandoned = True
        self._lane.call(self._cancel)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


class Lane:
    """One check's event loop (in a daemon thread) and bounded worker threads.

    Args:
        name: names the threads (``deep-health-<name>``).
        threads: worker threads for ``def run`` and ``asyncio.to_thread``.
        clock: monotonic clock.
    """

    def __init__(
        self, name: str, *, threads: int = 4, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.executor = _DaemonExecutor(threads, f"deep-health-{name}-worker")
        self._clock = clock
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(self.executor)
        self._thread = threading.Thread(target=self._serve, name=f"deep-health-{name}", daemon=True)
        self._active = 0  # runs submitted and not ended, counted on the lane's own thread
        self._submitted = 0  # runs submitted (from any thread)
        self._ended = 0
        self._alive_at = clock()
        self._beating: asyncio.TimerHandle | None = None
        self._thread.start()

    # -- used from any thread --------------------------------------------------------------

    @property
    def busy(self) -> int:
        """Runs submitted that have not ended, including abandoned ones still running."""
        return self._submitted - self._ended

    @property
    def threads_busy(self) -> int:
        """Worker-thread calls not yet returned (queued, running or hung)."""
        return self.executor.unfinished

    def stalled_for(self) -> float:
        """Seconds the loop has shown no sign of life while it has work; 0 when idle."""
        if not self.busy:
            return 0.0
        return max(0.0, self._clock() - self._alive_at)

    def blocked(self) -> bool:
        """Whether the loop has missed several heartbeats while it has work."""
        return self.stalled_for() > 4 * _BEAT

    def call(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the lane's loop; ignored once the loop is closed."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(callback)

    def run(self, factory: Callable[[Ticket[T]], Coroutine[Any, Any, T]]) -> Ticket[T]:
        """Run ``factory(ticket)`` as a task on the lane's loop; thread-safe, never blocks."""
        ticket: Ticket[T] = Ticket(self)
        self._submitted += 1  # only the runner's thread submits
        try:
            self.loop.call_soon_threadsafe(self._begin, factory, ticket)
        except RuntimeError as exc:  # the lane is closed
            self._ended += 1
            ticket.future.set_exception(exc)
        return ticket

    def request_close(self) -> None:
        """Cancel what still runs and stop the loop soon; returns at once (see :meth:`join`)."""
        self.executor.shutdown(wait=False)

        def cancel_all() -> None:
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            # One more turn lets cancelled runs finish their clean-up before the loop stops.
            self.loop.call_later(_BEAT, self.loop.stop)

        self.call(cancel_all)

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the loop to stop; True when it ended cleanly (and closed).

        A loop that is blocked, or holds a run that ignores cancellation, is left to its daemon
        thread rather than delaying the caller.
        """
        self._thread.join(max(0.0, timeout))
        if self._thread.is_alive() or self.busy:
            return False
        self.loop.close()
        return True

    # -- the lane's own thread -------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _begin(
        self, factory: Callable[[Ticket[T]], Coroutine[Any, Any, T]], ticket: Ticket[T]
    ) -> None:
        self._alive_at = self._clock()
        ticket.future.set_running_or_notify_cancel()  # from now on nobody can cancel it
        try:
            task = self.loop.create_task(factory(ticket))
        except BaseException as exc:
            self._ended += 1
            ticket.future.set_exception(exc)
            return
        ticket._task = task
        self._active += 1
        if self._beating is None:
            self._beating = self.loop.call_later(_BEAT, self._beat)
        task.add_done_callback(lambda done: self._end(done, ticket))

    def _end(self, task: asyncio.Task[T], ticket: Ticket[T]) -> None:
        self._alive_at = self._clock()
        self._active -= 1
        self._ended += 1
        if not self._active and self._beating is not None:
            self._beating.cancel()
            self._beating = None
        ticket._task = None
        if task.cancelled():
            ticket.future.set_exception(asyncio.CancelledError())
            return
        exc = task.exception()
        if exc is not None:
            ticket.future.set_exception(exc)
        else:
            ticket.future.set_result(task.result())

    def _beat(self) -> None:
        self._alive_at = self._clock()
        self._beating = self.loop.call_later(_BEAT, self._beat) if self._active else None
