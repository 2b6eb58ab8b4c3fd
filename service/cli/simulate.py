"""``deep-health simulate``: argparse wiring for the Route 53 simulator.

Virtual time (the default)::

    deep-health simulate --scenario partial --rate 0.15 --interval 10 --threshold 3 \\
        --hours 1 --seeds 20

Real time, against two live health endpoints::

    deep-health simulate --primary https://eu.example.com/health \\
        --secondary https://us.example.com/health --max-duration 600

The main CLI calls :func:`add_simulate_parser` on its subparsers and dispatches to
:func:`run_simulate`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from service.cli.common import finite, http_url, seconds
from service.simulation.realtime import RealtimeConfig, Timeline, watch
from service.simulation.report import (
    TIMELINE_HEADER,
    format_event,
    format_summaries,
    timeline_summary,
)
from service.simulation.route53 import Route53Config
from service.simulation.strategies import STRATEGIES
from service.simulation.virtual import aggregate, run_virtual, scenario_by_name
from service.verdict.rules import TrackerSettings

__all__ = ["SCENARIOS", "add_simulate_parser", "run_simulate"]

SCENARIOS = ("outage", "process", "partial", "noise", "latency", "flapping", "shared", "both")

_DEFAULTS = TrackerSettings()
# One option per tracker setting, derived from its fields; ``threshold`` is ``--gray-threshold``
# beside Route 53's ``--threshold`` (its FailureThreshold). max_entries only bounds memory.
_TRACKER_OPTIONS = {
    f.name: "--gray-threshold" if f.name == "threshold" else "--" + f.name.replace("_", "-")
    for f in fields(TrackerSettings)
    if f.name != "max_entries"
}
_TRACKER_HELP = {
    "window": "seconds of samples per check",
    "threshold": "window failure ratio that fails the region",
    "min_samples": "samples in the window before the ratio counts",
    "spread": "share of the window's buckets the failures must show in",
    "burst": "seconds of failure taken for one burst (no gray failure, no latch)",
    "fail_after": "bad evaluations in a row before a failure latches",
    "recover_after": "clean evaluations in a row to recover",
    "min_hold": "seconds a latched failure lasts at least",
    "quiet": "seconds without a bad evaluation before recovering",
}


def add_simulate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``simulate`` subcommand.

    Args:
        subparsers: What ``ArgumentParser.add_subparsers()`` returned.

    Returns:
        The new subparser (its ``func`` default is :func:`run_simulate`).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "simulate",
        help="simulate Route 53 health checking and DNS failover",
        description="Simulate Route 53 failover in virtual time (scripted faults) or in real "
        "time against two health endpoints (--primary/--secondary).",
    )
    poll = parser.add_argument_group("Route 53 polling")
    poll.add_argument("--checkers", type=int, default=15, help="checkers per endpoint")
    poll.add_argument("--interval", type=seconds, default=10.0, help="seconds between polls")
    poll.add_argument("--threshold", type=int, default=3, help="FailureThreshold (1-10)")
    poll.add_argument("--timeout", type=seconds, default=2.0, help="seconds per response")

    virtual = parser.add_argument_group("virtual time")
    virtual.add_argument(
        "--scenario", choices=SCENARIOS, default="partial", help="the scripted fault"
    )
    virtual.add_argument("--rate", type=finite, default=0.15, help="partial/noise failure rate")
    virtual.add_argument("--hours", type=seconds, default=1.0, help="length of each run")
    virtual.add_argument("--fault-minutes", type=finite, default=30.0, help="length of the fault")
    virtual.add_argument("--seeds", type=int, default=20, help="runs (one per seed)")
    virtual.add_argument(
        "--strategy", choices=(*STRATEGIES, "all"), default="all", help="endpoint strategy"
    )
    virtual.add_argument("--samples", type=int, default=3, help="samples per evaluation")
    virtual.add_argument("--cache-ttl", type=finite, default=1.0, help="evaluation cache (s)")
    virtual.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="also draw seed 0 over time (fault, window, verdict, checkers, DNS) into a .png "
        "or .svg (needs matplotlib: pip install 'deep-health[plot]')",
    )

    tracker = parser.add_argument_group("deep-health tracker")
    for name, flag in _TRACKER_OPTIONS.items():
        default = getattr(_DEFAULTS, name)
        tracker.add_argument(
            flag,
            dest=f"tracker_{name}",
            type=finite if isinstance(default, float) else type(default),
            default=default,
            help=_TRACKER_HELP.get(name, name.replace("_", " ")),
        )

    real = parser.add_argument_group("real time")
    real.add_argument("--primary", type=http_url, metavar="URL", help="primary region's health URL")
    real.add_argument(
        "--secondary", type=http_url, metavar="URL", help="secondary region's health URL"
    )
    real.add_argument("--search-string", help="required in the first 5,120 bytes of the body")
    real.add_argument("--max-duration", type=seconds, default=300.0, help="seconds to watch")
    parser.set_defaults(func=run_simulate)
    return parser


def run_simulate(args: argparse.Namespace) -> int:
    """Run the simulation ``args`` describe and print its table.

    Args:
        args: Parsed arguments of the ``simulate`` subcommand.

    Returns:
        The process exit code: 0, or 2 for unusable arguments.
    """
    from service.simulation.plot import PlotUnavailable

    try:
        if args.primary or args.secondary:
            return _run_realtime(args)
        return _run_virtual(args)
    except (ValueError, PlotUnavailable) as error:
        print(f"deep-health simulate: {error}", file=sys.stderr)
        return 2


def _run_virtual(args: argparse.Namespace) -> int:
    from service.cli.terminal import emit, progress

    if args.plot is not None:
        _check_plot_path(args.plot)
    config = Route53Config(
        checkers=args.checkers,
        interval=args.interval,
        failure_threshold=args.threshold,
        timeout=args.timeout,
        samples=args.samples,
        cache_ttl=args.cache_ttl,
    )
    settings = TrackerSettings(
        **{name: getattr(args, f"tracker_{name}") for name in _TRACKER_OPTIONS}
    )
    scenario = scenario_by_name(
        args.scenario, rate=args.rate, hours=args.hours, fault_minutes=args.fault_minutes
    )
    strategies = STRATEGIES if args.strategy == "all" else (args.strategy,)
    summaries = []
    with progress(len(strategies) * args.seeds, f"simulating {scenario.name}") as advance:
        for name in strategies:
            runs = []
            for seed in range(args.seeds):
                result = run_virtual(scenario, name, config=config, settings=settings, seed=seed)
                runs.append(result.metrics)
                advance(1)
            summaries.append(aggregate(scenario, name, runs))
    emit(format_summaries(summaries))
    if args.plot is not None:
        from service.simulation.plot import write_chart
        from service.simulation.trace import trace_run

        shown = "deep-health" if args.strategy == "all" else args.strategy
        trace = trace_run(scenario, shown, config=config, settings=settings, seed=0)
        write_chart(trace, args.plot)
        emit(f"chart of seed 0 under {shown}: {args.plot}")
    return 0


def _check_plot_path(path: Path) -> None:
    """Refuse a bad chart path before minutes of simulation, not after."""
    from service.simulation.plot import FORMATS, PlotUnavailable, _pyplot

    if path.suffix.lower() not in FORMATS:
        raise PlotUnavailable(f"--plot {path}: write a .png or an .svg")
    _pyplot()  # matplotlib present?


def _run_realtime(args: argparse.Namespace) -> int:
    from service.cli.terminal import emit

    if not (args.primary and args.secondary):
        raise ValueError("--primary and --secondary go together")
    if args.plot is not None:
        raise ValueError("--plot draws virtual-time runs; drop --primary/--secondary")
    config = RealtimeConfig(
        checkers=args.checkers,
        interval=args.interval,
        failure_threshold=args.threshold,
        timeout=args.timeout,
        search_string=args.search_string,
        max_duration=args.max_duration,
    )
    match = f", search string {args.search_string!r}" if args.search_string else ""
    emit(
        f"watching primary {args.primary} and secondary {args.secondary} as Route 53 would: "
        f"{args.checkers} checkers each, every {args.interval:g} s, FailureThreshold "
        f"{args.threshold}{match}; for up to {args.max_duration:g} s (Ctrl-C stops); a progress "
        f"line every {_PROGRESS_EVERY:g} s between events"
    )
    emit(TIMELINE_HEADER)
    printer = _LivePrinter(max_duration=args.max_duration)
    timeline = asyncio.run(watch(args.primary, args.secondary, config=config, stop=printer))
    printer(timeline)  # anything that happened after the last poll's callback
    emit(timeline_summary(timeline))
    return 0


_PROGRESS_EVERY = 15.0  # seconds between progress lines while no event happens


class _LivePrinter:
    """A ``stop`` callback that never stops: prints each timeline event once, as it happens,
    in order (the initial answer included), so nothing is repeated at the end; and, when no
    event happened for ``every`` seconds, one progress line (polls, failures, Route 53's view,
    the DNS answer, time left), so a quiet run is never silent."""

    def __init__(
        self,
        *,
        max_duration: float,
        every: float = _PROGRESS_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.printed = 0
        self.max_duration = max_duration
        self.every = every
        self.clock = clock
        self.started = clock()
        self.last = self.started

    def __call__(self, timeline: Timeline) -> bool:
        from service.cli.terminal import emit

        now = self.clock()
        for t, what in timeline.events[self.printed :]:
            emit(format_event(t, what))
            self.last = now
        self.printed = len(timeline.events)
        if now - self.last >= self.every:
            self.last = now
            emit(
                format_event(
                    now - self.started,
                    progress_line(timeline, self.max_duration - (now - self.started)),
                )
            )
        return False


def progress_line(timeline: Timeline, left: float) -> str:
    """What a quiet real-time run is at: polls and failures, Route 53's view, the answer."""
    views = " ".join(
        f"{name} {'healthy' if ok else 'UNHEALTHY'}"
        for name, ok in zip(("primary", "secondary"), timeline.healthy, strict=True)
    )
    failed = timeline.failed_polls
    return (
        f"... {timeline.polls} polls (failed: primary {failed[0]}, secondary {failed[1]}); "
        f"Route 53: {views}; DNS answer: {timeline.answer}; {max(0.0, left):.0f} s left"
    )
