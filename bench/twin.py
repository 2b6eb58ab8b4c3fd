"""``python -m bench.twin``: the twin's figure table - every drill, per fleet, as Markdown.

Per drill and fleet (Lambda with 1, 5 and 20 warm containers; 3 ``serve`` tasks): the time
until DNS moved (twin seconds, and times the factor: the real scenario's), the share of the
incident DNS stayed on the backup once moved, the fail-back after the incident against
``min_hold``, the DNS moves, and ``verify``'s verdict on the twin's Route 53 at the incident's
end. One twin per fleet (built once, reset between drills). Not part of the test run: the whole
matrix takes about two hours at x5 on two cores; ``--drill`` and ``--fleet`` narrow it.

    python -m bench.twin --drill gray-failure --drill healthy --fleet lambda:1 --fleet tasks:3

``--simulate N`` prints instead what the Route 53 simulator predicts for the real pair (no
scaling, N seeds per row): the time a 15 % gray failure takes to move DNS with the pair's
``FailureThreshold``, with both of Route 53's intervals (fast 10 s checks, the template's
default, and standard 30 s ones), for fleets of 1, 3 and 5 instances evaluating on request - the
reference the twin's figures are read against.
"""

from __future__ import annotations

import argparse
import sys

from bench._common import ROOT, table
from deploy.loading import load_pairs_file
from deploy.twin.cli import run_drills
from deploy.twin.drills import DRILLS, drill_by_name
from deploy.twin.timescale import Timescale

FLEETS = ("lambda:1", "lambda:5", "lambda:20", "tasks:3")


def main() -> None:
    """Print the figure table."""
    parser = argparse.ArgumentParser(prog="python -m bench.twin", description=__doc__)
    parser.add_argument("--drill", action="append", choices=[d.name for d in DRILLS])
    parser.add_argument("--fleet", action="append", help=f"PATH:SIZE (default: {FLEETS})")
    parser.add_argument("--time-factor", type=float, default=5.0)
    parser.add_argument("--simulate", type=int, metavar="N", help="the simulator's prediction")
    args = parser.parse_args()
    if args.simulate:
        print(simulated(args.simulate))
        return
    drills = [drill_by_name(n) for n in args.drill] if args.drill else list(DRILLS)
    scale = Timescale(args.time_factor)
    pairs = load_pairs_file(ROOT / "deploy" / "twin" / "pairs.twin.toml", None)
    rows: list[list[str]] = []
    header: list[str] = []
    for fleet in args.fleet or FLEETS:
        path, _, size = fleet.partition(":")
        outcomes = run_drills(
            pairs, pairs.pairs[0], drills, path=path, size=int(size or 1), scale=scale
        )
        header, *body = _rows(outcomes)
        rows += body
        print(table(header, rows), file=sys.stderr)  # so far, should the run be cut short
    print(f"time factor: x{scale.factor:g} (every scenario duration divided by it)\n")
    print(table(header, rows))


def simulated(seeds: int) -> str:
    """The simulator's time to move DNS under a 15 % gray failure, as a Markdown table."""
    import statistics
    from dataclasses import replace

    from service.simulation.fleet import FleetConfig, run_fleet
    from service.simulation.route53 import Route53Config
    from service.simulation.virtual import scenario_by_name

    pairs = load_pairs_file(ROOT / "deploy" / "twin" / "pairs.twin.toml", None)
    values = pairs.pairs[0].values(pairs.pairs[0].primary)
    interval, threshold = float(values["HealthCheckInterval"]), int(values["FailureThreshold"])
    scenario = scenario_by_name("partial", rate=0.15, fault_minutes=10.0)
    scenario = replace(scenario, duration=scenario.fault_start + 600.0)
    rows = []
    for every in dict.fromkeys((interval, 10.0, 30.0)):
        config = Route53Config(interval=every, failure_threshold=threshold)
        for instances in (1, 3, 5):
            times = [
                run_fleet(
                    scenario, FleetConfig(instances=instances), config=config, seed=seed
                ).metrics.failover_after
                for seed in range(seeds)
            ]
            moved = sorted(t for t in times if t is not None)
            late = sum(1 for t in times if t is None or t > 120.0)
            median = f"{statistics.median(moved):.0f} s" if moved else "-"
            p90 = f"{moved[int(0.9 * (len(moved) - 1))]:.0f} s" if moved else "-"
            rows.append(
                [f"{every:g} s", str(instances), f"{len(moved)}/{seeds}", median, p90,
                 f"{late / seeds:.0%}"]
            )  # fmt: skip
    header = ["checks every", "instances", "moved", "median", "p90", "over 2 min"]
    return table(header, rows)


def _rows(outcomes: list[object]) -> list[list[str]]:
    from deploy.twin.figures import Outcome
    from deploy.twin.figures import table as figure_table

    return figure_table([o for o in outcomes if isinstance(o, Outcome)])


if __name__ == "__main__":
    main()
