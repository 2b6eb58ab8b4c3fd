"""``simulate --plot``: the recorded run matches the simulator, and every scenario draws."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from service.cli.main import main
from service.cli.simulate import SCENARIOS
from service.simulation.plot import PlotUnavailable, write_chart
from service.simulation.trace import fault_level, trace_run
from service.simulation.virtual import run_virtual, scenario_by_name

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("strategy", ["shallow", "deep", "deep-health"])
@pytest.mark.parametrize("name", ["outage", "partial", "flapping", "process"])
def test_the_trace_gives_the_simulators_answers_seed_for_seed(name: str, strategy: str) -> None:
    scenario = scenario_by_name(name, hours=1.0)
    for seed in (0, 1):
        trace = trace_run(scenario, strategy, seed=seed)
        assert trace.answers() == list(run_virtual(scenario, strategy, seed=seed).answers)


def test_the_trace_records_window_ratio_checkers_and_answer() -> None:
    trace = trace_run(scenario_by_name("outage", hours=1.0), seed=0)
    during = [p for p in trace.points if 900 <= p.t < 2400]
    assert all(p.fault == 1.0 for p in during)
    assert max(p.ratio or 0.0 for p in during) == 1.0
    assert min(p.primary_share for p in during) == 0.0
    assert {p.answer for p in during} == {"secondary"}
    assert trace.points[0].answer == "primary"
    assert trace.points[-1].answer == "primary"


def test_fault_level_is_the_partial_rate_or_all_or_nothing() -> None:
    partial = scenario_by_name("partial", rate=0.15)
    assert fault_level(partial.primary, 0.0) == 0.0
    assert fault_level(partial.primary, 1000.0) == 0.15
    flapping = scenario_by_name("flapping")
    start = flapping.fault_start
    assert fault_level(flapping.primary, start + 1) == 1.0  # each cycle starts down
    assert fault_level(flapping.primary, start + 61) == 0.0


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_draws_a_png(name: str, tmp_path: Path) -> None:
    path = write_chart(trace_run(scenario_by_name(name, hours=1.0)), tmp_path / f"{name}.png")
    data = path.read_bytes()
    assert data.startswith(PNG)
    assert len(data) > 10_000


def test_an_svg_is_written_too(tmp_path: Path) -> None:
    path = write_chart(trace_run(scenario_by_name("outage", hours=1.0)), tmp_path / "o.svg")
    text = path.read_text()
    assert text.lstrip().startswith("<?xml")
    assert "<svg" in text
    assert "18 % line" in text


def test_simulate_plot_writes_the_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "out" / "partial.png"
    args = ["simulate", "--scenario", "partial", "--seeds", "2", "--plot", str(chart)]
    assert main(args) == 0
    assert chart.read_bytes().startswith(PNG)
    captured = capsys.readouterr()
    assert f"chart of seed 0 under deep-health: {chart}" in captured.out
    assert "simulating 15% partial: 6/6" in captured.err  # piped progress: a final line


def test_a_bad_chart_name_is_refused_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--seeds", "1000000", "--plot", str(tmp_path / "x.jpg")]) == 2
    assert "write a .png or an .svg" in capsys.readouterr().err


def test_missing_matplotlib_says_which_extra_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    assert main(["simulate", "--seeds", "1", "--plot", str(tmp_path / "x.png")]) == 2
    assert "pip install 'deep-health[plot]'" in capsys.readouterr().err
    with pytest.raises(PlotUnavailable):
        write_chart(trace_run(scenario_by_name("outage", hours=0.1)), tmp_path / "y.png")


def test_the_failover_benchmark_draws_a_chart_per_scenario(tmp_path: Path) -> None:
    from bench.failover import _charts

    scenarios = [scenario_by_name("partial", rate=0.15), scenario_by_name("shared")]
    said = _charts(scenarios, tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["failover-15pct-partial.png", "failover-shared-dep-outage.png"]
    assert all((tmp_path / name).read_bytes().startswith(PNG) for name in written)
    assert said.startswith("charts: ")


def test_the_top_panel_shows_the_range_where_a_partial_fault_happens() -> None:
    import matplotlib.pyplot as plt

    from service.simulation.plot import chart

    trace = trace_run(scenario_by_name("partial", rate=0.15, hours=1.0), seed=0)
    fig = chart(trace)
    try:
        bottom, top = fig.axes[0].get_ylim()
    finally:
        plt.close(fig)
    assert 0.25 < top < 0.5  # 0.1 (threshold) to 0.25 fills the panel, not its bottom fifth
    assert bottom < 0.0


def test_failover_and_fail_back_are_marked_on_every_panel() -> None:
    import matplotlib.pyplot as plt

    from service.simulation.plot import chart, dns_changes

    trace = trace_run(scenario_by_name("outage", hours=1.0), seed=0)
    changes = dns_changes(trace)
    assert [kind for _, kind in changes] == ["failover", "fail-back"]
    failover, fail_back = (t / 60 for t, _ in changes)
    assert trace.scenario.fault_start / 60 < failover < fail_back  # minutes
    fig = chart(trace)
    try:
        for ax in fig.axes:
            vertical = {
                round(float(line.get_xdata()[0]), 6)
                for line in ax.get_lines()
                if line.get_linestyle() == ":"  # the markers' style
            }
            assert vertical == {round(failover, 6), round(fail_back, 6)}
        labels = fig.axes[0].get_legend_handles_labels()[1]
        assert {"failover", "fail-back"} <= set(labels)
    finally:
        plt.close(fig)
