"""What a drill measured, and the figure table.

From the Route 53 model's timeline and the drill's phases: the time until DNS moved to the
backup (from the incident's start), the share of the rest of the incident DNS stayed on the
backup once moved, the fail-back time after the incident against ``min_hold``, and how many
times DNS moved. Times are twin seconds; the table also gives them times the factor (the real
scenario's seconds), and says the factor.

Judged against the issue's targets: a move within 2 min (real) for a gray failure, >= 99 % of
the incident on the backup once moved, fail-back no sooner than ``min_hold`` and no later than
``min_hold`` + 60 s (real), no move at all in a drill that must not move DNS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deploy.twin.drills import Drill
from deploy.twin.timescale import Timescale
from service.simulation.realtime import Timeline

__all__ = ["Outcome", "outcome", "table"]


@dataclass(frozen=True)
class Outcome:
    """One drill's result.

    Attributes:
        drill: the drill.
        path: ``"lambda"`` or ``"tasks"``.
        size: warm containers or tasks.
        factor: the time factor.
        moved_after: twin seconds from the incident's start to DNS on the backup, or None.
        on_backup: share of the incident after the move spent on the backup (None: no move).
        failed_back_after: twin seconds from the incident's end to DNS on the primary again.
        min_hold: the policy's ``min_hold`` (twin seconds).
        moves: DNS changes to the backup over the whole drill.
        moves_before_incident: DNS changes before the incident (must be 0).
        switch_exits: exit codes of the ``deep-health switch`` commands the drill ran.
        timeline: the Route 53 model's timeline.
        settle: twin seconds before the incident; ``incident``: its length.
        verify: ``verify``'s verdict at the incident's end and the twin's DNS answer then.
        store_calls: calls the primary's function made to its state store during the drill.
        starved: invocations that timed out (tasks: requests left unanswered) in the secondary,
            which no drill but ``secondary-down`` touches: this machine's cores were too busy
            for the twin, so a failed drill says nothing about the service.
    """

    drill: Drill
    path: str
    size: int
    factor: float
    moved_after: float | None
    on_backup: float | None
    failed_back_after: float | None
    min_hold: float
    moves: int
    moves_before_incident: int
    switch_exits: tuple[int, ...]
    timeline: Timeline
    settle: float
    incident: float
    verify: tuple[str, str] | None = None
    store_calls: int = 0
    starved: int = 0

    @property
    def answer_at_end(self) -> str:
        """DNS's answer when the incident ended."""
        end = self.settle + self.incident
        return [a for t, a in self.timeline.changes if t <= end][-1]

    @property
    def verify_agrees(self) -> bool | None:
        """``verify`` names the answer the twin's DNS gives (None: not run)."""
        if self.verify is None:
            return None
        said, answer = self.verify
        return said.split("answers ", 1)[-1].lower().startswith(answer)

    @property
    def passed(self) -> bool:
        """The drill's expectation met (moved or not; stayed once moved)."""
        if self.moves_before_incident or any(self.switch_exits) or self.verify_agrees is False:
            return False
        if self.drill.uses_store and not self.store_calls:
            return False
        if self.drill.expect.fails_open:
            return self.answer_at_end == "primary" and self.verify_agrees is True
        if not self.drill.expect.moves:
            return self.moves == 0
        if self.moved_after is None:
            return False
        return not self.drill.expect.stays or (self.on_backup or 0.0) >= 0.99

    def verdict(self) -> str:
        """``ok`` or what went wrong."""
        if self.passed:
            return "ok"
        if self.starved and not self.drill.expect.fails_open:
            return f"inconclusive: host starved ({self.starved} timeouts in the secondary)"
        if any(self.switch_exits):
            return "switch failed"
        if self.verify_agrees is False:
            return "verify disagrees"
        if self.drill.uses_store and not self.store_calls:
            return "vacuous: the function never called a state store"
        if self.moves_before_incident:
            return "moved before the incident"
        if self.drill.expect.fails_open:
            return f"answered {self.answer_at_end} at the incident's end"
        if not self.drill.expect.moves:
            return f"moved {self.moves}x"
        if self.moved_after is None:
            return "never moved"
        return "came back during the incident"


def outcome(
    drill: Drill,
    timeline: Timeline,
    *,
    path: str,
    size: int,
    scale: Timescale,
    settle: float,
    incident: float,
    min_hold: float,
    switch_exits: tuple[int, ...],
    verify: tuple[str, str] | None = None,
    store_calls: int = 0,
    starved: int = 0,
) -> Outcome:
    """Measure ``timeline`` against the drill's phases (twin seconds)."""
    end = settle + incident
    changes = timeline.changes
    to_backup = [t for t, answer in changes if answer == "secondary"]
    before = sum(1 for t in to_backup if t < settle)
    moved = next((t for t in to_backup if settle <= t < end), None)
    on_backup = None
    if moved is not None:
        on_backup = _share_on_backup(changes, moved, end)
    back = None
    if moved is not None:
        back = next((t for t, a in changes if a == "primary" and t > moved), None)
    return Outcome(
        drill=drill,
        path=path,
        size=size,
        factor=scale.factor,
        moved_after=None if moved is None else moved - settle,
        on_backup=on_backup,
        failed_back_after=None if back is None or back < end else back - end,
        min_hold=min_hold,
        moves=len(to_backup),
        moves_before_incident=before,
        switch_exits=switch_exits,
        timeline=timeline,
        settle=settle,
        incident=incident,
        verify=verify,
        store_calls=store_calls,
        starved=starved,
    )


def _share_on_backup(changes: Sequence[tuple[float, str]], moved: float, end: float) -> float:
    """Share of ``[moved, end)`` on the secondary."""
    if end <= moved:
        return 1.0
    on = 0.0
    for (t, answer), (t_next, _) in zip(changes, [*changes[1:], (end, "")], strict=True):
        low, high = max(t, moved), min(t_next, end)
        if answer == "secondary" and high > low:
            on += high - low
    return on / (end - moved)


def _seconds(value: float | None, factor: float) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s ({value * factor:.0f} s)"


def table(outcomes: Sequence[Outcome]) -> list[list[str]]:
    """The figure table: a header row, then one row per outcome."""
    rows = [
        [
            "drill",
            "fleet",
            "time",
            "DNS moved after (x factor)",
            "on backup once moved",
            "fail-back after end (min_hold)",
            "moves",
            "verify at the incident's end",
            "outcome",
        ]
    ]
    for o in outcomes:
        fleet = (
            f"{o.size} task{'s' if o.size != 1 else ''}"
            if o.path == "tasks"
            else (f"{o.size} container{'s' if o.size != 1 else ''}")
        )
        rows.append(
            [
                o.drill.name,
                fleet,
                f"x{o.factor:g}",
                _seconds(o.moved_after, o.factor),
                "-" if o.on_backup is None else f"{o.on_backup:.1%}",
                "-"
                if o.failed_back_after is None
                else f"{o.failed_back_after:.1f} s ({o.min_hold:.1f} s)",
                str(o.moves),
                "-" if o.verify is None else o.verify[0],
                o.verdict(),
            ]
        )
    return rows
