"""The Lambda handler answers real API Gateway v2 events and creates clients once per process."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.lambda_process import last_json, run_handler_script

# Runs in a fresh process, as Lambda would: import (init), then several warm invocations.
SCRIPT = """
import json, sys
from service.faces import lambda_handler
from support.misbehaving import Counting
event = json.load(open(sys.argv[1]))
answers = [lambda_handler.handler(event, None) for _ in range(3)]
print(json.dumps({
    "answers": [{"status": a["statusCode"], "body": a["body"],
                 "type": a["headers"].get("content-type")} for a in answers],
    "starts": Counting.starts,
    "runs": Counting.runs,
    "init_seconds": lambda_handler.init_seconds,
}))
"""


def invoke(tmp_path: Path, checks: str) -> dict:
    config = tmp_path / "health.toml"
    config.write_text("[service]\ncache_ttl = 0\n" + checks)
    return dict(last_json(run_handler_script(SCRIPT, config)))


def test_warm_invocations_reuse_clients(tmp_path: Path) -> None:
    out = invoke(tmp_path, '[[checks]]\ntype = "support.misbehaving:Counting"\nsamples = 1\n')
    assert [a["status"] for a in out["answers"]] == [200, 200, 200]
    assert out["answers"][0]["type"] == "application/health+json"
    assert "DEEP-HEALTH-OK" in out["answers"][0]["body"]
    assert out["starts"] == 1
    assert out["runs"] == 3
    assert out["init_seconds"] > 0


def test_unhealthy_region_answers_503(tmp_path: Path) -> None:
    out = invoke(tmp_path, '[[checks]]\ntype = "support.misbehaving:Raises"\n')
    assert {a["status"] for a in out["answers"]} == {503}
    assert "AKIAFAKE" not in out["answers"][0]["body"]


@pytest.mark.parametrize(("debt", "expected"), [(0.4, 1.1), (5.0, 0.1)])
async def test_cold_start_shortens_the_first_deadline(debt: float, expected: float) -> None:
    from service.config import parse_config
    from service.engine.health import HealthService

    service = HealthService(
        parse_config('[service]\ncache_ttl = 0\n[[checks]]\ntype = "support.misbehaving:Passing"')
    )
    seen: list[float | None] = []
    original = service.runner.evaluate

    async def spy(*, deadline: float | None = None):  # type: ignore[no-untyped-def]
        seen.append(deadline)
        return await original(deadline=deadline)

    service.runner.evaluate = spy  # type: ignore[method-assign]
    service.start()
    try:
        service.charge_deadline(debt)
        await service.report()
        await service.report()
    finally:
        service.close()
    assert seen[0] == pytest.approx(expected)
    assert seen[1] is None


# A request that arrives after init finished (provisioned concurrency), and one that waited
# through it (a cold start on demand). Init takes over 1.6 s (a slow start()); the check 0.3 s.
CHARGE_SCRIPT = """
import json, sys, time
from service.faces import lambda_handler
event = json.load(open(sys.argv[1]))
event["requestContext"]["timeEpoch"] = int(
    (time.time() if sys.argv[2] == "after" else time.time() - 60) * 1000
)
answer = lambda_handler.handler(event, None)
print(json.dumps({"status": answer["statusCode"], "init_seconds": lambda_handler.init_seconds}))
"""


@pytest.mark.parametrize(("arrival", "status"), [("after", 200), ("before", 503)])
def test_init_is_charged_only_to_a_request_that_waited_for_it(
    tmp_path: Path, arrival: str, status: int
) -> None:
    config = tmp_path / "health.toml"
    config.write_text(
        "[service]\ncache_ttl = 0\ndeadline = 1.5\n[failover]\nenabled = false\n"
        '[[checks]]\ntype = "support.misbehaving:SlowStart"\nstart_delay = 1.6\ndelay = 0.3\n'
    )
    out = last_json(run_handler_script(CHARGE_SCRIPT, config, arrival))
    assert out["init_seconds"] > 1.5
    # After: the full 1.5 s deadline (the 0.3 s check passes). Before: the deadline shrinks to
    # its 0.1 s floor and the check times out.
    assert out["status"] == status
