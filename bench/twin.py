"""``python -m bench.twin``: the twin's figure table - every drill, per fleet, as Markdown.

Per drill and fleet (Lambda with 1, 5 and 20 warm containers; 3 ``serve`` tasks): the time
until DNS moved (twin seconds, and times the factor: the real scenario's), the share of the
incident DNS stayed on the backup once moved, the fail-back after the incident against
``min_hold``, the DNS moves, and ``verify``'s verdict on the twin's Route 53 at the incident's
end. One twin per fleet (built once, reset between drills). Not part of the test run: the whole
matrix takes about an hour at x10 on two cores; ``--drill`` and ``--fleet`` narrow it.

    python -m bench.twin --drill gray-failure --drill healthy --fleet lambda:1 --fleet tasks:3
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
    parser.add_argument("--time-factor", type=float, default=10.0)
    args = parser.parse_args()
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


def _rows(outcomes: list[object]) -> list[list[str]]:
    from deploy.twin.figures import Outcome
    from deploy.twin.figures import table as figure_table

    return figure_table([o for o in outcomes if isinstance(o, Outcome)])


if __name__ == "__main__":
    main()
