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
from dataclasses import fields
from typing import Any

from service.simulation.realtime import RealtimeConfig, Timeline, watch
from service.simulation.report import format_summaries, format_timeline
from service.simulation.route53 import Route53Config
from service.simulation.strategies import STRATEGIES
from service.simulation.virtual import scenario_by_name, summarize
from service.tracker import TrackerSettings

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
    poll.add_argument("--interval", type=float, default=10.0, help="seconds between polls")
    poll.add_argument("--threshold", type=int, default=3, help="FailureThreshold (1-10)")
    poll.add_argument("--timeout", type=float, default=2.0, help="seconds per response")

    virtual = parser.add_argument_group("virtual time")
    virtual.add_argument("--scenario", choices=SCENARIOS, default="partial")
    virtual.add_argument("--rate", type=float, default=0.15, help="partial/noise failure rate")
    virtual.add_argument("--hours", type=float, default=1.0, help="length of each run")
    virtual.add_argument("--fault-minutes", type=float, default=30.0, help="length of the fault")
    virtual.add_argument("--seeds", type=int, default=20, help="runs (one per seed)")
    virtual.add_argument(
        "--strategy", choices=(*STRATEGIES, "all"), default="all", help="endpoint strategy"
    )
    virtual.add_argument("--samples", type=int, default=3, help="samples per evaluation")
    virtual.add_argument("--cache-ttl", type=float, default=1.0, help="evaluation cache (s)")

    tracker = parser.add_argument_group("deep-health tracker")
    for name, flag in _TRACKER_OPTIONS.items():
        default = getattr(_DEFAULTS, name)
        tracker.add_argument(flag, dest=f"tracker_{name}", type=type(default), default=default)

    real = parser.add_argument_group("real time")
    real.add_argument("--primary", metavar="URL", help="primary region's health URL")
    real.add_argument("--secondary", metavar="URL", help="secondary region's health URL")
    real.add_argument("--search-string", help="required in the first 5,120 bytes of the body")
    real.add_argument("--max-duration", type=float, default=300.0, help="seconds to watch")
    parser.set_defaults(func=run_simulate)
    return parser


def run_simulate(args: argparse.Namespace) -> int:
    """Run the simulation ``args`` describe and print its table.

    Args:
        args: Parsed arguments of the ``simulate`` subcommand.

    Returns:
        The process exit code: 0, or 2 for unusable arguments.
    """
    try:
        if args.primary or args.secondary:
            return _run_realtime(args)
        return _run_virtual(args)
    except ValueError as error:
        print(f"deep-health simulate: {error}")
        return 2


def _run_virtual(args: argparse.Namespace) -> int:
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
    summaries = [
        summarize(scenario, name, range(args.seeds), config=config, settings=settings)
        for name in strategies
    ]
    print(format_summaries(summaries))
    return 0


def _run_realtime(args: argparse.Namespace) -> int:
    if not (args.primary and args.secondary):
        raise ValueError("--primary and --secondary go together")
    config = RealtimeConfig(
        checkers=args.checkers,
        interval=args.interval,
        failure_threshold=args.threshold,
        timeout=args.timeout,
        search_string=args.search_string,
        max_duration=args.max_duration,
    )

    timeline = asyncio.run(watch(args.primary, args.secondary, config=config, stop=_LivePrinter()))
    print(format_timeline(timeline))
    return 0


class _LivePrinter:
    """A ``stop`` callback that never stops, printing each answer change as it happens."""

    def __init__(self) -> None:
        self.seen = 1  # the initial answer is printed with the final timeline

    def __call__(self, timeline: Timeline) -> bool:
        if len(timeline.changes) > self.seen:
            t, answer = timeline.changes[-1]
            print(f"{t:8.2f} s  {answer}", flush=True)
            self.seen = len(timeline.changes)
        return False
