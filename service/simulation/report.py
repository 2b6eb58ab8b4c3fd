"""Plain-text tables of simulation results, shared by the CLI and the benchmark."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from service.simulation.realtime import Timeline
from service.simulation.virtual import Summary

__all__ = [
    "TIMELINE_HEADER",
    "format_event",
    "format_summaries",
    "format_timeline",
    "timeline_summary",
]

_HEADER = (
    "scenario",
    "strategy",
    "failed over",
    "to fail over (median / max)",
    "to fail back (median / max)",
    "flaps/run",
    "false failovers",
    "hours",
)


def _seconds(median: float | None, worst: float | None) -> str:
    if median is None or worst is None:
        return "-"
    return f"{median:.0f} s / {worst:.0f} s"


def format_summaries(summaries: Iterable[Summary]) -> str:
    """Render summaries as a Markdown table (readable in a terminal, pasteable in a README).

    Args:
        summaries: One row each.

    Returns:
        The table, without a trailing newline.
    """
    rows: list[Sequence[str]] = [_HEADER]
    for s in summaries:
        rows.append(
            (
                s.scenario,
                s.strategy,
                f"{s.failed_over}/{s.runs}",
                _seconds(s.failover_median, s.failover_max),
                _seconds(s.failback_median, s.failback_max),
                f"{s.flaps_mean:.2f}",
                str(s.false_failovers),
                f"{s.hours:.0f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = [_line(row, widths) for row in rows]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def _line(row: Sequence[str], widths: Sequence[int]) -> str:
    return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"


def format_timeline(timeline: Timeline) -> str:
    """Render a real-time run: a header, every event once in time order, a summary.

    Args:
        timeline: The run.

    Returns:
        The lines, without a trailing newline.
    """
    lines = [TIMELINE_HEADER, *(format_event(t, what) for t, what in timeline.events)]
    lines.append(timeline_summary(timeline))
    return "\n".join(lines)


TIMELINE_HEADER = "time since start  event"


def format_event(t: float, what: str) -> str:
    """One timeline line: seconds since the start, then what happened."""
    return f"{t:12.2f} s    {what}"


def timeline_summary(timeline: Timeline) -> str:
    """The last line: polls, failures per endpoint, why the run ended."""
    failed = timeline.failed_polls
    return (
        f"{timeline.polls} polls ({failed[0]} failed on the primary, {failed[1]} on the"
        f" secondary); final answer {timeline.answer}; ended by {timeline.finished or 'nothing'}"
    )
