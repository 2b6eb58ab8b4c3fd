"""Lines for stdout that never make the caller wait: a bounded queue and a writer thread.

Logs and EMF records go to stdout, read by a log agent (CloudWatch's, Fluent Bit, Docker's).
An impaired agent stops reading; once the pipe's buffer is full a ``write`` blocks, and a
``write`` on the serving loop would stall every request. So a :class:`LineWriter` only queues:
its daemon thread does the writing. When the queue is full the text is dropped and counted
(:func:`dropped_lines`, exported as ``deep_health_log_lines_dropped``): losing log lines beats
failing a region because its log agent is slow.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import TextIO

__all__ = ["DEFAULT_CAPACITY", "LineWriter", "dropped_lines", "stdout_writer"]

DEFAULT_CAPACITY = 10_000
"""Writes (each one or more lines) queued at most before new ones are dropped."""

_dropped = 0
_dropped_lock = threading.Lock()


def dropped_lines() -> int:
    """Lines dropped so far by every :class:`LineWriter` of this process."""
    return _dropped


def _count_dropped(lines: int) -> None:
    global _dropped
    with _dropped_lock:
        _dropped += lines


class LineWriter:
    """Queues text for a stream and writes it from a daemon thread; never blocks the caller.

    Args:
        stream: where to write; ``None``: ``sys.stdout`` as it is when the thread writes.
        capacity: writes queued at most; beyond it new text is dropped and counted.
    """

    def __init__(self, stream: TextIO | None = None, *, capacity: int = DEFAULT_CAPACITY) -> None:
        self._stream = stream
        self._capacity = capacity
        self._queue: deque[str] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._writing = 0  # texts taken from the queue and not yet written
        self._thread: threading.Thread | None = None

    def write(self, text: str) -> bool:
        """Queue ``text``; False (and counted as dropped) when the queue is full."""
        with self._ready:
            if len(self._queue) >= self._capacity:
                _count_dropped(max(1, text.count("\n")))
                return False
            self._queue.append(text)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._drain, name="deep-health-stdout", daemon=True
                )
                self._thread.start()
            self._ready.notify_all()  # the writer thread (and flushers, who re-check)
        return True

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for everything queued to be written; True if it was."""
        ends = time.monotonic() + timeout
        with self._ready:
            while self._queue or self._writing:
                left = ends - time.monotonic()
                if left <= 0:
                    return False
                self._ready.wait(left)
        return True

    def _drain(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                text = self._queue.popleft()
                self._writing += 1
            try:
                stream = self._stream if self._stream is not None else sys.stdout
                stream.write(text)
                stream.flush()
            except Exception:  # a closed or broken stream: the text is lost, and counted
                _count_dropped(max(1, text.count("\n")))
            with self._ready:
                self._writing -= 1
                self._ready.notify_all()


_stdout: LineWriter | None = None
_stdout_lock = threading.Lock()


def stdout_writer() -> LineWriter:
    """The process's one writer for ``sys.stdout`` (so log and EMF lines keep their order)."""
    global _stdout
    with _stdout_lock:
        if _stdout is None:
            _stdout = LineWriter()
        return _stdout
