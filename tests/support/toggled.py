"""A check a test switches from outside its process: it fails while a file exists.

For tests that run the service in a process of its own (a Lambda container, a ``serve``
task) and must change what its checks see between requests without talking to it.
"""

from __future__ import annotations

import os

from checks import Check, CheckFailed, Observations


class FailsWhileFileExists(Check):
    """Fails while ``path`` exists, passes otherwise."""

    name = "toggled"

    def __init__(self, *, path: str) -> None:
        self.path = path

    def run(self) -> Observations:  # a plain def: the runner runs it in a worker thread
        if os.path.exists(self.path):
            raise CheckFailed("the test's fault is on")
        return None
