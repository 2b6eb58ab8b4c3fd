"""``python -m deploy twin PAIRS [--drill NAME ...] [--path lambda|tasks] [--size N]
[--time-factor F] [--plot FILE]``: run drills on a local twin of a deployed pair.

Builds the artefact as ``python -m deploy`` does (for this machine's platform), starts the
emulator, both regions and Route 53's checkers, plays each drill and prints the figure table
(time factor in every row). Progress goes to stderr (a bar on a terminal).

Exit codes: 0 every drill met its expectation, 1 one did not, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from deploy.pairs import Pair, PairsError, PairsFile
from deploy.twin.drills import DRILLS, Drill, drill_by_name
from deploy.twin.figures import Outcome, table
from deploy.twin.timescale import Timescale

__all__ = ["main", "parser"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def parser() -> argparse.ArgumentParser:
    """The command line."""
    found = argparse.ArgumentParser(prog="python -m deploy twin", description=__doc__)
    found.add_argument("pairs", type=Path, help="the region-pairs TOML file")
    found.add_argument("--pair", help="the pair (default: the file's first)")
    found.add_argument(
        "--drill",
        action="append",
        choices=[d.name for d in DRILLS] + ["all"],
        help="a drill (repeatable; default: gray-failure; 'all': every one)",
    )
    found.add_argument("--path", choices=["lambda", "tasks"], default="lambda")
    found.add_argument(
        "--size", type=int, help="warm containers (default 1) or tasks (default 3) per region"
    )
    found.add_argument(
        "--time-factor", type=float, default=5.0, help="divide every scenario duration (5)"
    )
    found.add_argument("--plot", type=Path, help="write each drill's timeline (.png/.svg)")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = parser().parse_args(argv)
    from deploy.loading import load_pairs_file
    from deploy.validate import validate
    from service.cli.terminal import emit

    try:
        pairs = load_pairs_file(args.pairs, None)
        validate(pairs)
        chosen = [p for p in pairs.pairs if args.pair in (None, p.name)]
        if not chosen:
            raise PairsError("--pair", f"no pair named {args.pair!r}")
        pair = chosen[0]
        scale = Timescale(args.time_factor)
    except PairsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: --time-factor: {error}", file=sys.stderr)
        return 2
    names = args.drill or ["gray-failure"]
    drills = list(DRILLS) if "all" in names else [drill_by_name(n) for n in names]
    size = args.size or (3 if args.path == "tasks" else 1)
    outcomes = run_drills(
        pairs, pair, drills, path=args.path, size=size, scale=scale, plot=args.plot
    )
    for row in table(outcomes):
        emit(" | ".join(row))
    return 0 if all(o.passed for o in outcomes) else 1


def run_drills(
    pairs: PairsFile,
    pair: Pair,
    drills: Sequence[Drill],
    *,
    path: str,
    size: int,
    scale: Timescale,
    plot: Path | None = None,
) -> list[Outcome]:
    """Play ``drills`` on one twin (built once), with progress on stderr."""
    from deploy.twin.dns import CHECKERS
    from deploy.twin.twin import twin
    from service.cli.terminal import emit, progress

    outcomes: list[Outcome] = []

    def log(line: str) -> None:
        emit(f"  {line}", stream=sys.stderr)

    with twin(
        pairs, pair, path="tasks" if path == "tasks" else "lambda", scale=scale, size=size,
        project_root=PROJECT_ROOT, log=log,
    ) as built:  # fmt: skip
        log(built.artefact.note)
        log(f"engine config: {built.artefact.config_source} ({scale.label})")
        for number, drill in enumerate(drills):
            if number:
                built.reset()
            with progress(_STEPS, f"{drill.name} ({path}, {size}, {scale.label})") as advance:
                result = built.run(drill, progress=_ticker(advance))
            outcomes.append(result)
            log(f"{drill.name}: {result.verdict()}; DNS {result.timeline.answers()}")
            if plot is not None:
                from deploy.twin.plot import write_timeline

                target = plot if len(drills) == 1 else plot.with_stem(f"{plot.stem}-{drill.name}")
                write_timeline(result, target, checkers=CHECKERS)
                log(f"timeline: {target}")
    return outcomes


_STEPS = 100


def _ticker(advance: Callable[[int], None]) -> Callable[[float], None]:
    """A drill's progress (a fraction) as steps of a progress bar."""
    done = [0]

    def tick(fraction: float) -> None:
        now = min(_STEPS, int(fraction * _STEPS))
        if now > done[0]:
            advance(now - done[0])
            done[0] = now

    return tick
