"""The fleet's state on Lambda's execution model, through the Lambda handler itself.

Each container is a process of its own that imports the handler (init) and then answers one
invocation at a time; between invocations it is frozen with SIGSTOP, as Lambda freezes an
execution environment, so nothing that the handler left on its event loop can run. The state
table lives in the emulator (moto's server); a fault proxy stands between a container and it
where the store must fail.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.state import LatchRecord, SwitchName, SwitchRecord
from service.state.dynamodb import DynamoDBStore, create_table
from service.verdict.rules import LatchState
from support.emulator import REGION, Emulator
from support.lambda_process import handler_environment
from support.proxy import FaultProxy

pytestmark = pytest.mark.integration

TESTS = Path(__file__).resolve().parents[2]
EVENT = TESTS / "fixtures" / "apigw_v2_health.json"
TOKEN = "details-token-for-tests"
FLEET = "lambda-fleet"
WINDOW = 60.0

# A Lambda container: init at import, then one invocation per line read, each answer written to
# its own pipe (stdout carries the service's logs, as on Lambda).
SCRIPT = """
import json, os, sys, time
answers = os.fdopen(int(sys.argv[2]), "w")
from service.faces import lambda_handler
template = json.load(open(sys.argv[1]))
answers.write("ready\\n"); answers.flush()
for line in sys.stdin:
    path, token = json.loads(line)
    event = json.loads(json.dumps(template))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["timeEpoch"] = int(time.time() * 1000)
    if token:
        event["headers"]["authorization"] = "Bearer " + token
    answer = lambda_handler.handler(event, None)
    answers.write(json.dumps({"status": answer["statusCode"], "body": answer["body"]}) + "\\n")
    answers.flush()
"""


class Container:
    """One Lambda execution environment: init once, one invocation at a time, frozen between.

    Args:
        config: The engine config the function bundles.
        log: Where the container's stdout and stderr go (read when a test fails).
    """

    def __init__(self, config: Path, log: Path) -> None:
        read, write = os.pipe()
        env = handler_environment(config)
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SCRIPT, str(EVENT), str(write)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                pass_fds=(write,),
                text=True,
            )
        os.close(write)
        self.answers = os.fdopen(read, "r")
        assert self._line() == "ready"
        self._freeze()  # ready and waiting: frozen until the first invocation

    def invoke(self, path: str = "/health", token: str | None = None) -> dict[str, Any]:
        """Thaw, run one invocation, freeze again the moment it has answered."""
        assert self.process.stdin is not None
        os.kill(self.process.pid, signal.SIGCONT)
        self.process.stdin.write(json.dumps([path, token]) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._line())
        self._freeze()
        return answer

    def details(self) -> str:
        answer = self.invoke("/health/details", TOKEN)
        body: str = answer["body"]
        return body

    def close(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.answers.close()

    def _freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def _line(self) -> str:
        ready, _, _ = select.select([self.answers], [], [], 60)
        line = self.answers.readline() if ready else ""
        if not line:
            self.process.kill()
            raise AssertionError(f"the container did not answer: {self.log.read_text()[-3000:]}")
        return line.strip()


@dataclasses.dataclass
class Fleet:
    """One region's function: its config, the state table, and the containers it ran."""

    tmp_path: Path
    emulator: Emulator
    table: str
    fault: Path
    containers: list[Container] = dataclasses.field(default_factory=list)

    def config(self, endpoint: str) -> Path:
        path = self.tmp_path / f"health-{len(self.containers)}.toml"
        path.write_text(
            "[service]\ncache_ttl = 0\n"
            f'details_token = "{TOKEN}"\nservice_id = "{FLEET}"\n'
            # One unhealthy evaluation latches; the window never fails the region by itself
            # (min_samples out of reach), so only the latch and the switches decide.
            f"[failover]\nwindow = {WINDOW}\nfail_after = 1\nburst = 0\nrecover_after = 1\n"
            "min_hold = 3600\nquiet = 0\nmin_samples = 100000\n"
            f'[state]\nstore = "dynamodb"\ntable = "{self.table}"\nregion = "{REGION}"\n'
            # A generous timeout: moto on a busy machine may take longer than the default.
            f'endpoint_url = "{endpoint}"\ntimeout = 1.5\n'
            "[[checks]]\n"
            f'type = "support.toggled:FailsWhileFileExists"\npath = "{self.fault}"\n'
        )
        return path

    def container(self, endpoint: str | None = None) -> Container:
        """A new container (a cold start): init reads the config and the fleet's state."""
        config = self.config(endpoint or self.emulator.endpoint)
        log = self.tmp_path / f"container-{len(self.containers)}.log"
        container = Container(config, log)
        self.containers.append(container)
        return container

    def store(self) -> DynamoDBStore:
        return DynamoDBStore(
            table=self.table,
            fleet=f"{FLEET}#{REGION}",  # the default partition names the region
            window=WINDOW,
            region=REGION,
            endpoint_url=self.emulator.endpoint,
        )

    def latch(self) -> LatchRecord:
        """The fleet's latch as the table holds it now (read while every container is frozen)."""
        return _run(self.store(), lambda store: store.load_latch())

    def latch_now(self) -> None:
        """Write a latched failure into the table, as another container would have."""
        now = time.time()
        state = dataclasses.asdict(LatchState(latched_at=now, last_bad=now))
        written = _run(self.store(), lambda store: store.save_latch(state, 0, now))
        assert written

    def switch(self, name: SwitchName) -> None:
        """Turn ``name`` on in the table, as ``deep-health switch NAME on`` does."""
        record = SwitchRecord(name=name, on=True, by="tester", at=time.time(), reason="drill")
        _run(self.store(), lambda store: store.set_switch(record))


def _run(store: DynamoDBStore, call: Any) -> Any:
    async def go() -> Any:
        await store.start()
        try:
            return await call(store)
        finally:
            await store.close()

    return asyncio.run(go())


@pytest.fixture
def fleet(tmp_path: Path, emulator: Emulator) -> Iterator[Fleet]:
    table = f"state-{uuid.uuid4().hex[:12]}"
    create_table(emulator.client("dynamodb"), table)
    running = Fleet(tmp_path, emulator, table, tmp_path / "fault-on")
    yield running
    for container in running.containers:
        container.close()


def test_a_latch_change_is_in_the_table_when_the_invocation_returns(fleet: Fleet) -> None:
    """Regression: the latch write trailed the answer on a loop Lambda froze, so it was lost
    (cancelled by its own timeout at the next invocation, or never run)."""
    first = fleet.container()
    fleet.fault.touch()
    assert first.invoke()["status"] == 503
    # The container is frozen now: whatever it did not write before answering is not written.
    latch = fleet.latch()
    assert latch.version == 1
    assert latch.state is not None
    assert latch.state["latched_at"] is not None

    # The outage ends; the operator holds the region failed over. Every container, old or
    # new, keeps it failed over: the fleet's latch says latched, the hold keeps it so.
    fleet.fault.unlink()
    fleet.switch("hold")
    second = fleet.container()
    assert second.invoke()["status"] == 503
    assert first.invoke()["status"] == 503
    assert "hold engaged (state store" in second.details()


@pytest.mark.parametrize("fleet_state", ["latched and held", "drained"])
def test_a_new_container_answers_from_the_state_it_read_at_init(
    fleet: Fleet, emulator: Emulator, fleet_state: str
) -> None:
    """Regression: init never read the fleet's state, so a new container whose first exchange
    failed (or timed out while its store client was opening) answered 200 from blank state."""
    if fleet_state == "drained":
        fleet.switch("drain")
    else:
        fleet.latch_now()
        fleet.switch("hold")
    with FaultProxy(emulator.port) as proxy:
        container = fleet.container(proxy.url)
        proxy.reset = True  # the store answered at init, and not in the first evaluation
        assert container.invoke()["status"] == 503
        details = container.details()
    assert "state_store: dynamodb connection, local state used" in details
    if fleet_state == "drained":
        assert "drained by operator (state store" in details
    else:
        assert "hold engaged (state store" in details


def test_a_store_that_cannot_be_read_at_all_leaves_the_local_checks_to_decide(
    fleet: Fleet, emulator: Emulator
) -> None:
    """The rule when the store is never read (not at init, not since): the container judges
    by its own checks and own state, says so in the details, and the store alone never fails
    the region."""
    fleet.latch_now()  # unreachable: this container cannot know
    with FaultProxy(emulator.port) as proxy:
        proxy.reset = True
        container = fleet.container(proxy.url)
        assert container.invoke()["status"] == 200
        details = container.details()
        assert "state_store: dynamodb connection, local state used" in details
        fleet.fault.touch()
        assert container.invoke()["status"] == 503
        assert fleet.latch().version == 1  # the other container's latch, untouched
