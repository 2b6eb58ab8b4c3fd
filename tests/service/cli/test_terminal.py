"""Terminal helpers: progress on a terminal and when piped, pipe-safe emit."""

from __future__ import annotations

import io

import pytest

from service.cli import terminal
from service.cli.terminal import emit, progress


def test_piped_progress_prints_plain_lines_and_a_final_one() -> None:
    out = io.StringIO()
    with progress(3, "simulating", stream=out, every=0.0) as advance:
        for _ in range(3):
            advance(1)
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "simulating: 1/3",
        "simulating: 2/3",
        "simulating: 3/3",
        "simulating: 3/3",
    ]


def test_piped_progress_is_quiet_between_its_intervals() -> None:
    out = io.StringIO()
    with progress(100, "bench", stream=out, every=3600.0) as advance:
        for _ in range(100):
            advance(1)
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0]]
    assert out.getvalue().startswith("bench: 100/100")


def test_terminal_progress_draws_a_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminal, "is_terminal", lambda stream=None: True)
    out = io.StringIO()
    with progress(4, "deploying", stream=out) as advance:
        advance(2)
    assert "deploying" in out.getvalue()
    assert "2/4" in out.getvalue()


class GoneReader(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError


def test_emit_survives_a_reader_that_went_away(monkeypatch: pytest.MonkeyPatch) -> None:
    silenced = []
    monkeypatch.setattr(terminal, "silence_stdout", lambda: silenced.append(True))
    assert emit("x", stream=GoneReader()) is False
    assert silenced == [True]
    assert emit("x", stream=io.StringIO()) is True
