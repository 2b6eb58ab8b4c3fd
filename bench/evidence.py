"""Evidence benchmark: false failovers under noise, and time to detect a gray failure.

Run ``python -m bench.evidence`` (``--help`` for the knobs). Every run is the fleet model
(:func:`service.simulation.fleet.run_fleet`): Route 53's checkers polling two regions in virtual
time, each instance judging with the runtime's own tracking step
(:func:`service.state.tracking.judge`, the rules of :mod:`service.verdict.rules`). Prints two
tables (Markdown):

1. per noise model, false failovers per 1,000 simulated hours (noise in both regions, nothing
   failover could fix, so every move to the secondary is false);
2. per gray-failure rate (10, 15, 20 % of samples failing in the primary from minute 10 on),
   the runs that failed over within 10 minutes and the median and worst time from the fault's
   start to the answer moving to the secondary.

Noise models (:mod:`service.simulation.faults`, :class:`~service.simulation.fleet.FleetConfig`):

- ``independent``: 1 % of samples fail, each on its own;
- ``correlated``: 1 % of evaluations fail whole (every sample of one evaluation together);
- ``blips``: the dependency is down 1-5 s once in every 10 minutes, at a random moment;
- ``cold starts``: 3 instances per region, one replaced every minute, a new instance's calls all
  failing for its first 2 s (the regions also start together, cold);
- ``all``: the four at once.

The tracker's tuning is the defaults unless ``--spread``, ``--burst`` ... say otherwise.
Runs spread over worker processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from bench._common import table
from service.simulation.faults import Blips, CorrelatedFailure, Fault, PartialFailure
from service.simulation.fleet import FleetConfig, run_fleet
from service.simulation.virtual import Scenario, scenario_by_name
from service.verdict.rules import TrackerSettings

NOISE = ("independent", "correlated", "blips", "cold starts", "all")
RATES = (0.10, 0.15, 0.20)
LABELS = {
    "independent": "1 % of samples fail independently",
    "correlated": "1 % of evaluations fail whole",
    "blips": "blips: down 1-5 s once per 10 min",
    "cold starts": "cold starts: 3 instances, one new per minute, first 2 s failing",
    "all": "all four at once",
}

NoiseJob = tuple[str, int, float, TrackerSettings]
DetectJob = tuple[float, int, TrackerSettings, int]


def noise_run(model: str, seed: int, hours: float) -> tuple[Scenario, FleetConfig]:
    """The scenario and fleet of one run of a noise model (each region its own blip schedule)."""

    def faults(region: int) -> tuple[Fault, ...]:
        found: list[Fault] = []
        if model in ("independent", "all"):
            found.append(PartialFailure(rate=0.01))
        if model in ("correlated", "all"):
            found.append(CorrelatedFailure(rate=0.01))
        if model in ("blips", "all"):
            found.append(Blips(seed=seed * 2 + region))
        return tuple(found)

    scenario = Scenario(
        name=model,
        duration=hours * 3600.0,
        primary=faults(0),
        secondary=faults(1),
        failover_expected=False,
    )
    fleet = FleetConfig()
    if model in ("cold starts", "all"):
        fleet = FleetConfig(instances=3, churn=60.0, cold=2.0)
    return scenario, fleet


def _noise(job: NoiseJob) -> int:
    model, seed, hours, settings = job
    scenario, fleet = noise_run(model, seed, hours)
    return run_fleet(scenario, fleet, settings=settings, seed=seed).metrics.false_failovers


def _detect(job: DetectJob) -> float | None:
    rate, seed, settings, instances = job
    scenario = scenario_by_name("partial", rate=rate, fault_minutes=10.0)
    scenario = replace(scenario, duration=scenario.fault_start + 600.0)  # 10 min of fault
    fleet = FleetConfig(instances=instances)
    return run_fleet(scenario, fleet, settings=settings, seed=seed).metrics.failover_after


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its tables.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.evidence", description=__doc__)
    parser.add_argument("--hours", type=float, default=1000.0, help="simulated hours per model")
    parser.add_argument("--run-hours", type=float, default=10.0, help="hours per noise run")
    parser.add_argument("--seeds", type=int, default=200, help="runs per gray-failure rate")
    parser.add_argument("--instances", type=int, default=1, help="instances for detection")
    parser.add_argument("--models", default=",".join(NOISE), help="noise models to run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    defaults = TrackerSettings()
    for name in ("spread", "burst", "threshold", "window"):
        parser.add_argument(f"--{name}", type=float, default=getattr(defaults, name))
    parser.add_argument("--min-samples", type=int, default=defaults.min_samples)
    parser.add_argument("--fail-after", type=int, default=defaults.fail_after)
    args = parser.parse_args(argv)
    settings = replace(
        defaults,
        spread=args.spread,
        burst=args.burst,
        threshold=args.threshold,
        window=args.window,
        min_samples=args.min_samples,
        fail_after=args.fail_after,
    )
    models = [m for m in args.models.split(",") if m]
    runs = max(1, round(args.hours / args.run_hours))
    started = time.perf_counter()
    print(f"tuning: {settings}\n", flush=True)
    header = ["noise model", "hours", "false failovers", "per 1,000 h"]
    print(table(header, []), flush=True)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for model in models:  # a row as soon as its model is done
            jobs = [(model, s, args.run_hours, settings) for s in range(runs)]
            counts = list(pool.map(_noise, jobs))
            hours = len(counts) * args.run_hours
            per = sum(counts) * 1000 / hours
            print(f"| {LABELS[model]} | {hours:,.0f} | {sum(counts)} | {per:.1f} |", flush=True)
        detect_jobs = [(r, s, settings, args.instances) for r in RATES for s in range(args.seeds)]
        detected = list(pool.map(_detect, detect_jobs, chunksize=8))
    print()
    rows = []
    for rate in RATES:
        times = [t for (r, *_), t in zip(detect_jobs, detected, strict=True) if r == rate]
        found = sorted(t for t in times if t is not None)
        rows.append(
            [
                f"{rate:.0%}",
                f"{len(found)}/{len(times)}",
                _seconds(statistics.median(found) if found else None),
                _seconds(found[-1] if found else None),
            ]
        )
    header = ["gray failure", "failed over within 10 min", "median to detect", "worst"]
    if args.seeds:
        print(f"detection: {args.instances} instance(s) per region, Route 53 fast polling\n")
        print(table(header, rows))
    print(f"\n({time.perf_counter() - started:.0f} s, {args.workers} workers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
