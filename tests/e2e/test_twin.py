"""End-to-end on the twin: the package ``python -m deploy`` builds, run as a deployed pair.

One short drill per path, time x5 (``deploy/twin/pairs.twin.toml``, its config generated as
for a new user's pair): every read of the primary's table fails for the incident. Lambda: the
function's containers (three warm) are ``awslambdaric`` processes frozen between invocations,
behind the HTTP API stand-in; container path: three ``deep-health serve`` tasks of the
installed wheel behind the ALB stand-in. The assertions are on outcomes - DNS moved to the
backup during the incident, stayed there, never moved before it, came back only after the
incident and not before ``min_hold``; ``verify`` on the twin's Route 53 says what the twin's
DNS does - never on how long anything took. The rest of the drills are ``python -m bench.twin``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.loading import load_pairs_file
from deploy.twin.drills import drill_by_name
from deploy.twin.figures import Outcome
from deploy.twin.lambda_pool import LambdaPool
from deploy.twin.region import FunctionRegion
from deploy.twin.timescale import Timescale
from deploy.twin.twin import Twin, twin

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "deploy" / "twin" / "pairs.twin.toml"
# x5, not x10: the pair polls every 10 s (the template's default), and at x10 its 15 checkers
# per region poll every second, more than two cores running every container and the emulator
# answer in time (the outage drill then ends "host starved": invocations time out in the
# secondary, which fails open).
FACTOR = Timescale(5)


@pytest.fixture(params=["lambda", "tasks"])
def deployed(request: pytest.FixtureRequest) -> Iterator[Twin]:
    pairs = load_pairs_file(PAIRS, None)
    # Three warm containers: with one, a poll that meets it busy starts a cold one, and on two
    # shared cores a burst of cold starts starves every container (see docs/twin.md).
    size = 3
    with twin(
        pairs,
        pairs.pairs[0],
        path=request.param,
        scale=FACTOR,
        size=size,
        project_root=ROOT,
        log=lambda line: None,
    ) as built:
        yield built


def assert_failed_over_and_back(result: Outcome) -> None:
    answers = result.timeline.answers()
    assert result.moves_before_incident == 0, result.timeline.changes
    assert result.moved_after is not None, ("DNS never moved", result.timeline.changes)
    assert result.on_backup == 1.0, ("DNS came back during the incident", result.timeline.changes)
    assert answers[:2] == ["primary", "secondary"], result.timeline.changes
    if len(answers) > 2:  # it came back: after the incident, and not before the hold
        assert result.failed_back_after is not None, result.timeline.changes
        # The latch follows the fault's start, and the hold counts from the latch.
        back = result.settle + result.incident + result.failed_back_after
        assert back - result.settle >= result.min_hold
    assert result.verify is not None
    said, dns = result.verify
    assert said.startswith("ARMED"), said
    assert result.verify_agrees, result.verify
    assert dns == "secondary"


def test_an_outage_moves_dns_to_the_backup_and_keeps_it_there(deployed: Twin) -> None:
    result = deployed.run(drill_by_name("outage"))
    assert deployed.primary.front.dependency.failed > 0, "the fault reached the function"
    assert_failed_over_and_back(result)
    if isinstance(deployed.primary, FunctionRegion):
        pool: LambdaPool = deployed.primary.pool
        # The function ran as Lambda runs it: containers frozen between invocations, from the
        # package deploy built (its bundled config, not this checkout's).
        assert pool.freezes > 0
        assert pool.spec.package == ROOT / "build" / "twin" / "lambda"
        assert (pool.spec.package / "config" / "health.toml").read_text() == deployed.config_text
        assert not pool.init_errors
