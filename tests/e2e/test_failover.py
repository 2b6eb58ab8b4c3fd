"""End-to-end failover: two real deep-health processes, faults injected on the wire, and the
Route 53 model polling both in real time with short intervals.

Each region reads its own canary table through its own fault proxy to the emulator. The
assertions are on the order of DNS answers; the only timing bound is a generous one derived
from interval x threshold + deadline, far below the run's own limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.simulation.realtime import RealtimeConfig, Timeline, watch
from support.emulator import Emulator, create_canary_table
from support.process import serve
from support.proxy import FaultProxy

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

MARKER = "DEEP-HEALTH-OK"
POLLING = RealtimeConfig(
    checkers=5,
    interval=0.25,
    failure_threshold=2,
    timeout=1.5,
    search_string=MARKER,
    max_duration=60.0,
    seed=7,
)
# interval x (threshold + 1) for Route 53 to notice, plus one evaluation deadline; x4 for a
# busy 2-core machine. A broken failover path never moves at all (60 s run limit).
BOUND = 4 * (POLLING.interval * 1.1 * (POLLING.failure_threshold + 1) + 0.5)
# The production defaults scaled down ~40x so a run takes seconds: a 3 s window of ~90 samples.
MIN_HOLD = 3.0
FAILOVER = (
    "[failover]\nwindow = 3\nthreshold = 0.1\nmin_samples = 20\nfail_after = 2\n"
    f"recover_after = 3\nmin_hold = {MIN_HOLD}\nquiet = 0\nburst = 0.3\n"
)


@dataclass
class Region:
    name: str
    table: str
    proxy: FaultProxy
    url: str
    emulator: Emulator

    def drain(self, on: bool) -> None:
        item = {"pk": {"S": "canary"}, "status": {"S": "ok"}, "drain": {"BOOL": on}}
        self.emulator.client("dynamodb").put_item(TableName=self.table, Item=item)


def _region(
    stack: ExitStack,
    tmp_path: Path,
    emulator: Emulator,
    name: str,
    suffix: str,
    extra: str = "",
) -> Region:
    table = f"failover-{name}-{suffix}"
    create_canary_table(emulator, table, {"pk": {"S": "canary"}, "status": {"S": "ok"}})
    proxy = stack.enter_context(FaultProxy(emulator.port).start())
    config = tmp_path / f"{name}.toml"
    config.write_text(
        '[service]\ndeadline = 0.5\ncache_ttl = 0.1\nmode = "on-request"\n'
        + FAILOVER
        + f'[[checks]]\ntype = "dynamodb_read"\nname = "accounts"\ntable = "{table}"\n'
        f'key = {{ pk = "canary" }}\ntimeout = 0.3\nsamples = 3\nendpoint_url = "{proxy.url}"\n'
        + extra
    )
    url = stack.enter_context(serve(config))
    return Region(name, table, proxy, f"{url}/health", emulator)


@pytest.fixture
def regions(
    tmp_path: Path, emulator: Emulator, request: pytest.FixtureRequest
) -> Iterator[tuple[Region, Region]]:
    suffix = str(abs(hash(request.node.name)))
    with ExitStack() as stack:
        yield (
            _region(stack, tmp_path, emulator, "primary", suffix),
            _region(stack, tmp_path, emulator, "secondary", suffix),
        )


def run(primary: Region, secondary: Region, stop: Callable[[Timeline], bool]) -> Timeline:
    return asyncio.run(watch(primary.url, secondary.url, config=POLLING, stop=stop))


def moved_after(timeline: Timeline, answer: str) -> float:
    return next(t for t, a in timeline.changes if a == answer)


def test_full_outage_fails_over_and_back_only_after_the_hysteresis(
    regions: tuple[Region, Region],
) -> None:
    primary, secondary = regions
    primary.proxy.reset = True  # every DynamoDB call from the primary region fails
    restored: list[float] = []

    def stop(timeline: Timeline) -> bool:
        if timeline.answer == "secondary" and not restored:
            primary.proxy.clear()  # the outage ends once the answer has moved
            restored.append(timeline.changes[-1][0])
        return timeline.answers() == ["primary", "secondary", "primary"]

    timeline = run(primary, secondary, stop)
    assert timeline.finished == "stop", timeline.changes
    assert moved_after(timeline, "secondary") < BOUND
    # The fault is there from t=0, so the failure latched at t >= 0 and recovery cannot come
    # before MIN_HOLD. Without hysteresis the answer would return ~threshold x interval after
    # the restore. A lower bound: a slow machine only makes it larger.
    assert timeline.changes[-1][0] >= MIN_HOLD


@pytest.mark.parametrize(("fraction", "moves"), [(0.2, True), (0.01, False)])
def test_partial_failure_moves_only_above_the_threshold(
    regions: tuple[Region, Region], fraction: float, moves: bool
) -> None:
    primary, secondary = regions
    primary.proxy.fail_fraction = fraction  # of DynamoDB requests reset, spread evenly
    enough = 400  # polls: several windows' worth of evaluations

    def stop(timeline: Timeline) -> bool:
        return timeline.answer == "secondary" or timeline.polls >= enough

    timeline = run(primary, secondary, stop)
    assert primary.proxy.failed > 0
    assert (timeline.answer == "secondary") is moves, timeline.changes


def test_drain_moves_the_answer_and_release_brings_it_back(
    regions: tuple[Region, Region],
) -> None:
    primary, secondary = regions
    primary.drain(True)
    drained = [True]

    def stop(timeline: Timeline) -> bool:
        if timeline.answer == "secondary" and drained[0]:
            primary.drain(False)
            drained[0] = False
        return timeline.answers() == ["primary", "secondary", "primary"]

    timeline = run(primary, secondary, stop)
    assert timeline.finished == "stop", timeline.changes


def test_both_regions_failing_stays_on_the_primary(regions: tuple[Region, Region]) -> None:
    primary, secondary = regions
    primary.proxy.reset = secondary.proxy.reset = True

    def stop(timeline: Timeline) -> bool:
        return timeline.healthy == [False, False]

    timeline = run(primary, secondary, stop)
    assert timeline.finished == "stop"
    # Route 53 may see one region fail first and move briefly; with both down it answers
    # the primary (failing over cannot help).
    assert timeline.answer == "primary"


def test_healthy_pair_never_moves(regions: tuple[Region, Region]) -> None:
    primary, secondary = regions

    def stop(timeline: Timeline) -> bool:
        return timeline.polls >= 10 * 2 * POLLING.checkers

    timeline = run(primary, secondary, stop)
    assert timeline.answers() == ["primary"]
    assert timeline.failed_polls == [0, 0]


def test_global_dependency_down_for_both_never_moves(
    tmp_path: Path, emulator: Emulator, request: pytest.FixtureRequest
) -> None:
    suffix = str(abs(hash(request.node.name)))
    shared_table = f"failover-shared-{suffix}"
    create_canary_table(emulator, shared_table, {"pk": {"S": "canary"}, "status": {"S": "ok"}})
    with ExitStack() as stack:
        shared = stack.enter_context(FaultProxy(emulator.port).start())
        extra = (
            f'[[checks]]\ntype = "dynamodb_read"\nname = "org-directory"\nscope = "global"\n'
            f'table = "{shared_table}"\nkey = {{ pk = "canary" }}\ntimeout = 0.3\n'
            f'endpoint_url = "{shared.url}"\n'
        )
        primary = _region(stack, tmp_path, emulator, "primary", suffix, extra)
        secondary = _region(stack, tmp_path, emulator, "secondary", suffix, extra)
        shared.reset = True  # the dependency every region shares is down

        def stop(timeline: Timeline) -> bool:
            return timeline.polls >= 10 * 2 * POLLING.checkers

        timeline = run(primary, secondary, stop)
    assert shared.failed > 0
    assert timeline.answers() == ["primary"]
    assert timeline.failed_polls == [0, 0]  # warn answers 200 with the marker
