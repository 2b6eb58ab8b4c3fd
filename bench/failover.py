"""Failover benchmark: every scenario under every strategy, in virtual time, many seeds.

Run ``python -m bench.failover`` (``--help`` for the knobs). Prints:

1. the table: time to fail over, time to fail back, flaps and false failovers per scenario
   (full outage, 20/15/5 % partial, 1 % noise, latency spike, flapping dependency, and the
   process-down and both-regions controls) and strategy (shallow, deep, deep-health);
2. the figures behind the tracker's defaults: the distribution of time to fail over under a
   15 % partial failure, and the odds that 1 % noise ever crosses the gray-failure threshold;
3. one chart per scenario (seed 0 under deep-health: fault, window, verdict, checkers, DNS),
   the same as ``deep-health simulate --plot``, into ``--plots`` (``bench/plots/``);
4. the fleet table (:mod:`service.simulation.fleet`): 1, 3 and 10 instances per region behind a
   round-robin balancer, with and without churn (one instance restarted every 60 s), the
   failover state in each instance's memory or in the shared store.

A progress bar (plain lines when piped) counts the jobs as they finish.

Runs spread over worker processes; about a minute on two cores with the defaults.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench._common import table
from service.cli.terminal import progress
from service.simulation.fleet import FleetConfig, run_fleet
from service.simulation.report import format_summaries
from service.simulation.route53 import Route53Config
from service.simulation.strategies import STRATEGIES
from service.simulation.virtual import (
    RunMetrics,
    Scenario,
    aggregate,
    run_virtual,
    scenario_by_name,
    standard_scenarios,
)
from service.verdict.tracker import TrackerSettings

Job = tuple[Scenario, str, tuple[int, ...]]
FleetJob = tuple[Scenario, FleetConfig, tuple[int, ...]]
FLEETS = [
    FleetConfig(instances=n, churn=churn, shared=shared)
    for n in (1, 3, 10)
    for churn in (None, 60.0)
    for shared in (False, True)
    if not (n == 1 and churn is None and shared)  # one instance: memory and store agree
]


def _run_fleet(job: FleetJob) -> tuple[RunMetrics, ...]:
    scenario, fleet, seeds = job
    return tuple(run_fleet(scenario, fleet, seed=s).metrics for s in seeds)


def _fleet_label(fleet: FleetConfig) -> str:
    churn = "churn 60 s" if fleet.churn else "no churn"
    return f"{fleet.instances} x, {churn}, {'shared store' if fleet.shared else 'memory'}"


def _fleet_table(pool: ProcessPoolExecutor, seeds: int, noise_hours: float) -> str:
    scenarios = [
        scenario_by_name("partial", rate=0.15),
        scenario_by_name("outage"),
        scenario_by_name("noise", rate=0.01, hours=noise_hours),
    ]
    jobs: list[FleetJob] = []
    for scenario in scenarios:
        count = max(1, seeds // 10) if scenario.fault_end is None else seeds
        for fleet in FLEETS:
            jobs.extend((scenario, fleet, chunk) for chunk in _chunks(list(range(count)), 5))
    results: dict[tuple[str, FleetConfig], list[RunMetrics]] = {}
    for (scenario, fleet, _), metrics in zip(jobs, pool.map(_run_fleet, jobs), strict=True):
        results.setdefault((scenario.name, fleet), []).extend(metrics)

    def cell(scenario: Scenario, fleet: FleetConfig, what: str) -> str:
        summary = aggregate(scenario, _fleet_label(fleet), results[scenario.name, fleet])
        if what == "over":
            if summary.failover_median is None:
                return "never"
            return f"{summary.failover_median:.0f} s ({summary.failed_over}/{summary.runs})"
        if what == "back":
            return "-" if summary.failback_median is None else f"{summary.failback_median:.0f} s"
        if what == "flaps":
            return f"{summary.flaps_mean:.2f}"
        return str(summary.false_failovers)

    partial, outage, noise = scenarios
    count = max(1, seeds // 10)
    header = [
        "fleet per region",
        "15 % partial: fail over (p50)",
        "flaps/run",
        "outage: fail back (p50)",
        "flaps/run",
        f"1 % noise ({count} x {noise_hours:g} h): false failovers",
    ]
    rows = [
        [
            _fleet_label(fleet),
            cell(partial, fleet, "over"),
            cell(partial, fleet, "flaps"),
            cell(outage, fleet, "back"),
            cell(outage, fleet, "flaps"),
            cell(noise, fleet, "false"),
        ]
        for fleet in FLEETS
    ]
    return table(header, rows)


def _run(job: Job) -> tuple[RunMetrics, ...]:
    scenario, strategy, seeds = job
    return tuple(run_virtual(scenario, strategy, seed=s).metrics for s in seeds)


def _scenarios(noise_hours: float) -> list[Scenario]:
    scenarios = list(standard_scenarios(noise_hours=noise_hours))
    # Controls: a dead process (the only fault a shallow check sees) and a fault failing over
    # cannot fix (a shared, global dependency fails: the answer should stay on the primary).
    return [*scenarios, scenario_by_name("process"), scenario_by_name("shared")]


def _chunks(seeds: Sequence[int], size: int) -> list[tuple[int, ...]]:
    return [tuple(seeds[i : i + size]) for i in range(0, len(seeds), size)]


def _binomial_tail(n: int, p: float, above: float) -> float:
    """P(X > above) for X ~ Binomial(n, p)."""
    first = math.floor(above) + 1
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(first, n + 1))


def _defaults_report(table_15: Sequence[RunMetrics], noise_hours_run: float) -> str:
    settings, config = TrackerSettings(), Route53Config()
    lines = [f"defaults: {settings}", f"polling:  {config}"]
    overs = sorted(m.failover_after for m in table_15 if m.failover_after is not None)
    if overs:

        def pct(q: float) -> float:
            return overs[min(len(overs) - 1, math.ceil(q * len(overs)) - 1)]

        late = sum(1 for o in overs if o > 120.0)
        lines.append(
            f"15 % partial, deep-health, {len(table_15)} seeds: failed over in "
            f"{len(overs)}; time to fail over p50 {pct(0.5):.0f} s, p90 {pct(0.9):.0f} s, "
            f"p99 {pct(0.99):.0f} s, max {overs[-1]:.0f} s; over 2 min: {late}"
        )
    # Samples per window as the polling actually produces them (cache hits share one evaluation).
    probe = run_virtual(scenario_by_name("noise", rate=0.01, hours=1.0), "deep-health", seed=0)
    rate = probe.evaluations[0] / 3600.0
    n = round(rate * config.samples * settings.window)
    windows_per_hour = 3600.0 / settings.window
    for p in (0.01, 0.05):
        trip = _binomial_tail(n, p, settings.threshold * n)
        per_hour = trip * windows_per_hour
        hours = math.inf if per_hour == 0 else 1 / per_hour
        every = f"{hours / 8766:,.0f} years" if hours > 8766 else f"{hours:,.1f} h"
        lines.append(
            f"{p:.0%} errors: {rate:.2f} evaluations/s -> {n} samples per "
            f"{settings.window:.0f} s window; P(window > {settings.threshold:.0%}) = {trip:.1e} "
            f"per window -> about one trip every {every} per region"
        )
    lines.append(f"(1 % noise simulated end to end: {noise_hours_run:,.0f} h per strategy above)")
    miss = 1 - _binomial_tail(n, 0.15, settings.threshold * n)
    lines.append(
        f"15 % partial: P(a full window stays <= {settings.threshold:.0%}) = {miss:.1%} "
        "(why a few runs take longer: the window must cross, then hold for fail_after)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its tables.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__)
    parser.add_argument("--seeds", type=int, default=100, help="seeds per fault scenario")
    parser.add_argument("--noise-seeds", type=int, default=10, help="seeds for the noise runs")
    parser.add_argument("--noise-hours", type=float, default=24.0, help="hours per noise run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--plots", default="bench/plots", help="directory for the charts ('' for none)"
    )
    parser.add_argument("--fleet-seeds", type=int, default=20, help="seeds per fleet row")
    parser.add_argument("--fleet-only", action="store_true", help="only the fleet table")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.fleet_only:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            print(_fleet_table(pool, args.fleet_seeds, 6.0))
        print(f"\n({time.perf_counter() - started:.0f} s, {args.workers} workers)")
        return 0
    scenarios = _scenarios(args.noise_hours)
    jobs: list[Job] = []
    for scenario in scenarios:
        noise = scenario.failover_expected is False and scenario.fault_end is None
        seeds = list(range(args.noise_seeds if noise else args.seeds))
        for strategy in STRATEGIES:
            # Small chunks keep both workers busy to the end.
            jobs.extend((scenario, strategy, chunk) for chunk in _chunks(seeds, 5 if noise else 25))
    results: dict[tuple[str, str], list[RunMetrics]] = {}
    with (
        ProcessPoolExecutor(max_workers=args.workers) as pool,
        progress(len(jobs), "failover scenarios") as advance,
    ):
        for (scenario, strategy, _), metrics in zip(jobs, pool.map(_run, jobs), strict=True):
            results.setdefault((scenario.name, strategy), []).extend(metrics)
            advance(1)
    summaries = [
        aggregate(scenario, strategy, results[scenario.name, strategy])
        for scenario in scenarios
        for strategy in STRATEGIES
    ]
    print(format_summaries(summaries))
    print()
    noise_hours = next(s.hours for s in summaries if "noise" in s.scenario)
    partial_15 = results[scenario_by_name("partial", rate=0.15).name, "deep-health"]
    print(_defaults_report(partial_15, noise_hours))
    if args.plots:
        print()
        print(_charts(scenarios, Path(args.plots)))
    print()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        print(_fleet_table(pool, args.fleet_seeds, 6.0))
    print(f"\n({time.perf_counter() - started:.0f} s, {args.workers} workers)")
    return 0


def _charts(scenarios: Sequence[Scenario], directory: Path) -> str:
    """One chart per scenario (seed 0, deep-health), as ``simulate --plot`` draws it."""
    from service.simulation.plot import PlotUnavailable, write_chart
    from service.simulation.trace import trace_run

    written = []
    with progress(len(scenarios), "charts") as advance:
        for scenario in scenarios:
            name = re.sub(r"[^a-z0-9]+", "-", scenario.name.lower().replace("%", "pct"))
            try:
                path = write_chart(trace_run(scenario), directory / f"failover-{name}.png")
            except PlotUnavailable as exc:
                return f"charts skipped: {exc}"
            written.append(str(path))
            advance(1)
    return "charts: " + ", ".join(written)


if __name__ == "__main__":
    raise SystemExit(main())
