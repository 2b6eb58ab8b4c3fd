"""Terminal output for people: colour on a terminal, plain text when piped, never a traceback.

``rich`` is imported here lazily and only by CLI code: the serve and Lambda request paths
never load it. Everything the CLI prints goes through :func:`emit`, which survives a reader
that went away (``deep-health deps --json | head``).

A long run shows its progress with :func:`progress` (a bar on a terminal, a plain line every
few seconds otherwise)::

    with progress(len(jobs), "simulating") as advance:
        for job in jobs:
            run(job)
            advance(1)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["EXIT_BROKEN_PIPE", "console", "emit", "is_terminal", "progress", "silence_stdout"]

EXIT_BROKEN_PIPE = 141
"""What a shell reports for a writer killed by SIGPIPE (128 + 13): the reader went away."""


def is_terminal(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (stdout by default) is an interactive terminal."""
    stream = sys.stdout if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def console(stream: IO[str] | None = None, *, width: int | None = None) -> Console:
    """A rich console on ``stream``: colour on a terminal, plain text when piped.

    Args:
        stream: Where to write; stdout by default.
        width: Columns; the terminal's width, else ``COLUMNS``, else 100 when piped (wide
            enough that most lines stay whole; longer cells wrap, never truncate).
    """
    from rich.console import Console

    stream = sys.stdout if stream is None else stream
    terminal = is_terminal(stream)
    if width is None and not terminal:
        width = int(os.environ.get("COLUMNS", "100") or 100)
    return Console(
        file=stream,
        width=width,
        force_terminal=terminal,
        no_color=not terminal,
        highlight=False,
        soft_wrap=False,
    )


def silence_stdout() -> None:
    """Point stdout at /dev/null: the reader went away, and Python's final flush must not
    print a second error about it."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def emit(text: str = "", *, stream: IO[str] | None = None) -> bool:
    """Print one block of text and flush; False (and stdout silenced) if the reader left.

    Args:
        text: The text; a newline is added.
        stream: Where to write; stdout by default.
    """
    stream = sys.stdout if stream is None else stream
    try:
        stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        silence_stdout()
        return False
    return True


@contextmanager
def progress(
    total: int,
    description: str,
    *,
    stream: IO[str] | None = None,
    every: float = 10.0,
) -> Iterator[Callable[[int], None]]:
    """Show the progress of ``total`` steps; yields ``advance(steps)``.

    On a terminal: a rich progress bar (done/total, elapsed, time left) on stderr, so stdout
    stays clean for the result. Piped: a plain line at most every ``every`` seconds and one at
    the end, so a long run in CI is never silent.

    Args:
        total: Steps in the run.
        description: What is being done (``simulating 20 % partial``).
        stream: Where to write; stderr by default.
        every: Seconds between plain progress lines.
    """
    stream = sys.stderr if stream is None else stream
    if is_terminal(stream):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console(stream),
            transient=True,
            # Redrawn on each step only: no refresh thread competing with a benchmark.
            auto_refresh=False,
        )
        with bar:
            task = bar.add_task(description, total=total)
            bar.refresh()

            def advance_bar(steps: int = 1) -> None:
                bar.advance(task, steps)
                bar.refresh()

            yield advance_bar
        return
    state: dict[str, Any] = {"done": 0, "last": time.monotonic(), "start": time.monotonic()}

    def line() -> None:
        elapsed = time.monotonic() - state["start"]
        emit(f"{description}: {state['done']}/{total} ({elapsed:.0f} s)", stream=stream)

    def advance(steps: int = 1) -> None:
        state["done"] += steps
        now = time.monotonic()
        if now - state["last"] >= every:
            state["last"] = now
            line()

    yield advance
    if state["done"]:
        line()
