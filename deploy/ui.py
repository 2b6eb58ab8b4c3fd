"""Progress for people: ``rich`` on a terminal when it is installed, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Console"]


class Console:
    """Prints steps to stdout and warnings to stderr; styled only on a terminal."""

    def __init__(self) -> None:
        self._out: Any = None
        self._err: Any = None
        try:
            from rich.console import Console as RichConsole
        except ImportError:  # rich is optional for the deploy script
            return
        if sys.stdout.isatty():
            self._out = RichConsole(highlight=False)
        if sys.stderr.isatty():
            self._err = RichConsole(stderr=True, highlight=False)

    def step(self, line: str) -> None:
        """A progress line."""
        if self._out is None:
            print(line, flush=True)
        elif line.startswith("==>"):
            self._out.print(line, style="bold", markup=False)
        else:
            self._out.print(line, markup=False)

    def warn(self, text: str) -> None:
        """A problem: the gate's no, or --force overriding it."""
        if self._err is None:
            print(text, file=sys.stderr, flush=True)
        else:
            self._err.print(text, style="bold red", markup=False)
