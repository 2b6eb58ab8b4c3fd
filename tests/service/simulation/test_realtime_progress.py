"""Real-time ``simulate --primary/--secondary`` is never silent between events."""

from __future__ import annotations

import pytest

from service.cli.simulate import _LivePrinter
from service.simulation.realtime import Timeline


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_quiet_run_prints_a_progress_line_every_interval_and_events_as_they_happen(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = Clock()
    printer = _LivePrinter(max_duration=300.0, every=15.0, clock=clock)
    timeline = Timeline()
    printer(timeline)  # the initial answer
    assert "DNS answer: primary (start" in capsys.readouterr().out
    clock.now += 10.0
    timeline.polls = 40
    printer(timeline)
    assert capsys.readouterr().out == ""  # nothing new and not yet 15 s
    clock.now += 6.0
    timeline.polls, timeline.failed_polls = 64, [12, 0]
    printer(timeline)
    line = capsys.readouterr().out.strip()
    assert line.endswith(
        "... 64 polls (failed: primary 12, secondary 0); Route 53: primary healthy secondary"
        " healthy; DNS answer: primary; 284 s left"
    )
    assert line.lstrip().startswith("16.00 s")
    clock.now += 5.0
    timeline.events.append((21.0, "DNS answer: secondary"))
    printer(timeline)
    assert "DNS answer: secondary" in capsys.readouterr().out
    clock.now += 14.0
    printer(timeline)
    assert capsys.readouterr().out == ""  # the event restarted the quiet period
