"""The simulator's one Route 53 polling loop (``service.simulation.virtual.poll``)."""

from __future__ import annotations

import random
from collections import defaultdict

from service.simulation.route53 import EndpointHealth, Route53Config
from service.simulation.virtual import Scenario, poll


class _Scripted:
    """A region whose every probe answers ``healthy(t)``, counting the probes it saw."""

    def __init__(self, config: Route53Config, down_from: float | None = None) -> None:
        self.health = EndpointHealth(config)
        self.down_from = down_from
        self.probes: list[float] = []

    def probe(self, t: float, rng: random.Random) -> bool:
        self.probes.append(t)
        return self.down_from is None or t < self.down_from


CONFIG = Route53Config(checkers=6, interval=10.0, jitter=0.1, failure_threshold=3)


def test_checkers_poll_both_regions_at_their_interval_and_all_well_changes_nothing() -> None:
    regions = [_Scripted(CONFIG), _Scripted(CONFIG)]
    events = list(poll(regions, CONFIG, Scenario(name="calm", duration=300.0), random.Random(3)))

    times = [t for t, *_ in events]
    assert times == sorted(times)
    assert times[-1] < 300.0
    assert [len(r.probes) for r in regions] == [
        sum(1 for _, e, *_ in events if e == index) for index in (0, 1)
    ]
    # A first poll in [0, 10) s, then one every 9-11 s: 27 to 34 in 300 s per checker and region.
    assert 6 * 2 * 27 <= len(events) <= 6 * 2 * 34
    by_region: dict[int, list[float]] = defaultdict(list)
    for t, e, _, _ in events:
        by_region[e].append(t)
    assert set(by_region) == {0, 1}
    assert not any(changed for *_, changed in events)
    assert {answer for _, _, answer, _ in events} == {"primary"}


def test_the_answer_moves_once_when_the_primary_goes_down_and_is_reported_as_a_change() -> None:
    primary, secondary = _Scripted(CONFIG, down_from=100.0), _Scripted(CONFIG)
    events = list(
        poll([primary, secondary], CONFIG, Scenario(name="down", duration=400.0), random.Random(1))
    )

    changes = [(t, answer) for t, _, answer, changed in events if changed]
    assert len(changes) == 1
    moved_at, answer = changes[0]
    assert answer == "secondary"
    # Every checker needs 3 failed polls, and more than 82 % of them must turn: 20-33 s after.
    assert 100.0 + 2 * CONFIG.interval * (1 - CONFIG.jitter) < moved_at < 100.0 + 40.0
    assert all(a == "primary" for t, _, a, _ in events if t < moved_at)
    assert all(a == "secondary" for t, _, a, _ in events if t >= moved_at)
    # Only the region a request went to is probed by it.
    assert len(primary.probes) + len(secondary.probes) == len(events)


def test_the_same_seed_gives_the_same_polls() -> None:
    def run(seed: int) -> list[tuple[float, int, str, bool]]:
        regions = [_Scripted(CONFIG, down_from=50.0), _Scripted(CONFIG)]
        return list(poll(regions, CONFIG, Scenario(name="s", duration=120.0), random.Random(seed)))

    assert run(7) == run(7)
    assert run(7) != run(8)
