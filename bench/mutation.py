"""``make mutation``: mutation testing of the modules whose bugs move DNS or open doors.

A mutant is the code with one deliberate one-line bug (a flipped comparison, a constant off by
one, a dropped argument). A mutant the test suite does not fail on "survives": a wrong line there
would ship. This runs mutmut (pinned in the dev extras) over the modules listed under
``[tool.mutmut] only_mutate`` in ``pyproject.toml``, against the in-process tests named by
``pytest_add_cli_args_test_selection`` (mutmut maps each mutated function to the tests that call
it, so a mutant runs only the tests that can see it), then prints the kill rate per module and
every surviving mutant as a diff.

It is not part of ``make test``: on two cores it takes minutes, not seconds.

Every mutant's test run is a fresh pytest session, and the tests against AWS would start a moto
server each time: this starts one moto server for the whole run instead (127.0.0.1, stopped by
its PID at the end) and hands it to the tests through ``DEEP_HEALTH_TEST_EMULATOR``.

    python -m bench.mutation            # run, then report
    python -m bench.mutation "checks.sqs*"   # only these mutants (mutmut's name patterns)
    python -m bench.mutation --report   # report the last run again
    python -m bench.mutation --min 90   # exit 1 when a module kills fewer than 90 %

Surviving mutants judged equivalent (the program behaves the same) or harmless are listed in
docs/mutation-testing.md with the reason; every other survivor is a missing test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).with_name("mutmut")

# mutmut's words for a mutant's fate, and whether the suite noticed it.
_NOTICED = {"killed", "timeout", "segfault"}


@dataclass(frozen=True)
class Mutant:
    """One mutant and its fate, as mutmut reports it."""

    name: str  # e.g. service.verdict.policy.x_decide__mutmut_5
    status: str  # killed, survived, no tests, timeout, suspicious, skipped, ...

    @property
    def module(self) -> str:
        """The mutated module's dotted name (``service.verdict.policy``)."""
        head = self.name.split("__mutmut_")[0]
        module, _, _function = head.rpartition(".")
        return module

    @property
    def noticed(self) -> bool:
        """The suite failed on this mutant (or it hung, which a test run also notices)."""
        return self.status in _NOTICED

    @property
    def checked(self) -> bool:
        """The mutant was tested (an interrupted run leaves some ``not checked``)."""
        return self.status != "not checked"


EMULATOR_ENV = "DEEP_HEALTH_TEST_EMULATOR"
"""The tests' fixture uses the moto server at this URL instead of starting one (tests/conftest)."""


@contextlib.contextmanager
def shared_emulator() -> Iterator[str]:
    """A moto server on 127.0.0.1 for the whole run; its URL. Stopped by its PID on the way out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **credentials},
    )
    try:
        give_up = time.monotonic() + 30
        while True:  # readiness polling, bounded
            if server.poll() is not None or time.monotonic() > give_up:
                raise RuntimeError(f"moto server did not listen on 127.0.0.1:{port}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait(timeout=10)


def run(children: int, patterns: list[str]) -> None:
    """Generate and test the mutants (all, or those matching ``patterns``); mutmut keeps its
    work in ``mutants/``."""
    with shared_emulator() as url:
        subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(children), *patterns],
            cwd=ROOT,
            check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", EMULATOR_ENV: url},
        )


def results() -> list[Mutant]:
    """Every mutant of the last run, with its fate."""
    listing = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    mutants = []
    for line in listing.splitlines():
        name, sep, status = line.strip().partition(": ")
        if sep and "__mutmut_" in name:
            mutants.append(Mutant(name, status.strip()))
    return mutants


def diff(name: str) -> str:
    """The one-line change a mutant makes, as a unified diff."""
    shown = subprocess.run(
        [str(MUTMUT), "show", name], cwd=ROOT, check=False, capture_output=True, text=True
    )
    return shown.stdout.strip()


def report(mutants: list[Mutant], minimum: float | None) -> int:
    """Print the kill rate per module and every survivor; 1 when a module is under ``minimum``."""
    from rich.console import Console
    from rich.table import Table

    # Piped (a CI log, a file): wide enough that no module name folds.
    console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 140)
    by_module: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in mutants:
        by_module[mutant.module].append(mutant)
    table = Table(title="Mutation testing: mutants killed per module")
    for column in ("module", "mutants", "killed", "survived", "no tests", "unchecked", "kill rate"):
        # Never truncated: a module name folds onto a second line before it is cut.
        table.add_column(column, justify="left" if column == "module" else "right", overflow="fold")
    below = []
    groups = {module: by_module[module] for module in sorted(by_module)}
    groups["all"] = mutants
    for module, group in groups.items():
        counts = Counter(
            "killed" if m.noticed else "unchecked" if not m.checked else m.status for m in group
        )
        checked = len(group) - counts["unchecked"]
        # The rate is over the mutants tested: "no tests" counts against it, "unchecked" not.
        rate = 100.0 * counts["killed"] / checked if checked else 0.0
        if module != "all" and minimum is not None and rate < minimum:
            below.append(module)
        table.add_row(
            module,
            str(len(group)),
            str(counts["killed"]),
            str(counts["survived"]),
            str(counts["no tests"]),
            str(counts["unchecked"]),
            f"{rate:.1f} %" if checked else "-",
        )
    console.print(table)
    survivors = [m for m in mutants if m.checked and not m.noticed]
    if survivors:
        console.print(f"\n{len(survivors)} mutants not noticed by the suite:\n")
    for mutant in survivors:
        console.rule(f"{mutant.name} ({mutant.status})")
        console.print(diff(mutant.name), markup=False, highlight=False)
    if below:
        console.print(f"\nunder {minimum:g} %: {', '.join(below)}")
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "patterns", nargs="*", help='only the mutants matching these (e.g. "checks.sqs*")'
    )
    parser.add_argument("--report", action="store_true", help="report the last run, run nothing")
    parser.add_argument(
        "--children", type=int, default=os.cpu_count() or 2, help="mutants tested at once"
    )
    parser.add_argument(
        "--min", type=float, default=None, help="exit 1 when a module kills fewer (per cent)"
    )
    args = parser.parse_args(sys.argv[1:])
    if not MUTMUT.exists():
        sys.exit(f"mutmut is not installed beside {sys.executable}: pip install -e '.[dev]'")
    if not args.report:
        run(args.children, args.patterns)
    sys.exit(report(results(), args.min))


if __name__ == "__main__":
    main()
