"""What the engine hands its adapters and listeners: a :class:`Report` and its :class:`Transition`.

A leaf of the service: it imports the types a report holds (an evaluation, a verdict, the
settings) and nothing that produces or renders one, so the body, EMF, metrics and logs modules
depend on it rather than on the orchestrator (:mod:`service.engine.health`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.config import Settings
from service.running.runner import Evaluation
from service.verdict.policy import Verdict

__all__ = ["Listener", "Report", "Transition"]


@dataclass(frozen=True, slots=True)
class Report:
    """An evaluation and the verdict on it.

    ``stale`` is set on a watchdog verdict: ``evaluation`` is then the latest one there is (or
    an empty one), too old to trust. ``state_duration``: seconds the step after the checks took
    (the state store's round trip and the rules over time); the answer took
    ``evaluation.duration + state_duration``. ``None`` on a watchdog verdict.
    """

    evaluation: Evaluation
    verdict: Verdict
    settings: Settings
    stale: bool = False
    state_duration: float | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of the region's status; ``before`` is ``"unknown"`` on the first verdict."""

    before: str
    after: str


Listener = Callable[[Report, Transition | None], None]
"""Called with each new report and the transition it caused, if any. Must not block."""
