"""End-to-end with fleets: several real ``deep-health serve`` processes per region behind a
round-robin balancer, the failover state in the emulator's DynamoDB, and the real-time Route 53
model polling each region's balancer.

Every duration is scaled down (a 4 s window, a few seconds of hold) so a run takes seconds. The
assertions are on outcomes -- the DNS answer moved, stayed, came back; each instance shows the
hold -- never on how long something took; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.twin.alb import Balancer
from service.cli.main import main
from service.simulation.realtime import RealtimeConfig, Timeline, watch
from service.state.dynamodb import create_table
from support.emulator import Emulator, create_canary_table
from support.process import serve
from support.proxy import FaultProxy, StubHttpServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

TOKEN = "fleet-details-token-0123456789"
MARKER = "DEEP-HEALTH-OK"
POLLING = RealtimeConfig(
    checkers=5,
    interval=0.5,
    failure_threshold=2,
    timeout=1.5,
    search_string=MARKER,
    max_duration=90.0,
    seed=11,
)
MIN_HOLD = 8.0
# The production defaults scaled down: a 4 s window. Only the gray-failure test needs the real
# 10 % threshold; the others judge outages, holds and the store, and a high threshold keeps a
# busy machine's own read timeouts from tripping them.
FAILOVER = (
    "[failover]\nwindow = 4\nthreshold = {threshold}\nmin_samples = 20\nfail_after = 2\n"
    f"recover_after = 3\nmin_hold = {MIN_HOLD}\nquiet = 2\nburst = 0.4\n"
)
WAIT = 60.0  # every bounded wait; a broken fleet never gets there at all


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` after ``timeout``."""
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling interval, not synchronisation by time


class Fleet:
    """One region: instances of one config behind one balancer."""

    def __init__(self, stack: ExitStack, config: Path, size: int) -> None:
        self.config = config
        self._stack = stack
        self._instances: dict[int, AbstractContextManager[str]] = {}
        self._lock = threading.Lock()
        self.balancer = stack.enter_context(Balancer())
        stack.callback(self.stop_all)
        ports = self._start(size)
        self.balancer.backends = ports

    @property
    def url(self) -> str:
        return f"{self.balancer.url}/health"

    @property
    def ports(self) -> list[int]:
        return list(self.balancer.backends)

    def _start(self, count: int) -> list[int]:
        def one(_: int) -> tuple[int, AbstractContextManager[str]]:
            manager = serve(self.config)
            url = manager.__enter__()
            return int(url.rsplit(":", 1)[1]), manager

        with ThreadPoolExecutor(max_workers=count) as pool:
            started = list(pool.map(one, range(count)))
        with self._lock:
            self._instances.update(started)
        return [port for port, _ in started]

    def _stop(self, port: int) -> None:
        with self._lock:
            manager = self._instances.pop(port)
        manager.__exit__(None, None, None)

    def restart(self, port: int) -> None:
        """Stop one instance and start a fresh one in its place (a redeploy, a recycle)."""
        self.balancer.backends = [p for p in self.balancer.backends if p != port]
        self._stop(port)
        (new,) = self._start(1)
        self.balancer.backends = [*self.balancer.backends, new]

    def restart_all(self) -> None:
        """Stop every instance at once, then start as many fresh ones."""
        old = self.ports
        self.balancer.backends = []
        for port in old:
            self._stop(port)
        self.balancer.backends = self._start(len(old))

    def add(self) -> int:
        """Start one more instance behind the balancer; return its port."""
        (new,) = self._start(1)
        self.balancer.backends = [*self.balancer.backends, new]
        return new

    def stop_all(self) -> None:
        for port in list(self._instances):
            self._stop(port)


class Pair:
    """Two regions, each with its dependency proxy and its state store proxy."""

    def __init__(
        self,
        stack: ExitStack,
        tmp: Path,
        emulator: Emulator,
        sizes: tuple[int, int],
        threshold: float,
        store_upstream: int | None,
    ) -> None:
        self.emulator = emulator
        suffix = uuid.uuid4().hex[:8]
        self.dependency: dict[str, FaultProxy] = {}
        self.store: dict[str, FaultProxy] = {}
        self.configs: dict[str, Path] = {}
        fleets = []
        for name, size in zip(("primary", "secondary"), sizes, strict=True):
            table, state = f"fleet-{name}-{suffix}", f"fleet-state-{name}-{suffix}"
            create_canary_table(emulator, table, {"pk": {"S": "canary"}, "status": {"S": "ok"}})
            create_table(emulator.client("dynamodb"), state)
            dependency = stack.enter_context(FaultProxy(emulator.port))
            store = stack.enter_context(FaultProxy(store_upstream or emulator.port))
            config = tmp / f"{name}.toml"
            config.write_text(
                f'[service]\ndeadline = 0.5\ncache_ttl = 0.5\nmode = "on-request"\n'
                f'details_token = "{TOKEN}"\n'
                + FAILOVER.format(threshold=threshold)
                + f'[state]\nstore = "dynamodb"\ntable = "{state}"\nfleet = "{name}"\n'
                f'endpoint_url = "{store.url}"\ntimeout = 0.3\n'
                f'[[checks]]\ntype = "dynamodb_read"\nname = "accounts"\ntable = "{table}"\n'
                f'key = {{ pk = "canary" }}\ntimeout = 0.4\nsamples = 3\n'
                f'endpoint_url = "{dependency.url}"\n'
            )
            self.dependency[name], self.store[name], self.configs[name] = dependency, store, config
            fleets.append(Fleet(stack, config, size))
        self.primary, self.secondary = fleets


class Watch:
    """The Route 53 model polling both regions in a thread of its own, until told to stop."""

    def __init__(self, pair: Pair) -> None:
        self.timeline: Timeline | None = None
        self._done = threading.Event()
        self._started = threading.Event()
        self._result: list[Timeline] = []
        self._thread = threading.Thread(target=self._run, args=(pair,), daemon=True)
        self._thread.start()
        self._started.wait(timeout=WAIT)

    def _run(self, pair: Pair) -> None:
        def stop(timeline: Timeline) -> bool:
            self.timeline = timeline
            self._started.set()
            return self._done.is_set()

        self._result.append(
            asyncio.run(watch(pair.primary.url, pair.secondary.url, config=POLLING, stop=stop))
        )
        self._started.set()

    @property
    def answer(self) -> str:
        assert self.timeline is not None
        return self.timeline.answer

    @property
    def polls(self) -> int:
        return self.timeline.polls if self.timeline is not None else 0

    def more_polls(self, count: int) -> None:
        """Wait until ``count`` more polls happened."""
        target = self.polls + count
        wait_until(lambda: self.polls >= target, f"{count} more polls")

    def finish(self) -> Timeline:
        self._done.set()
        self._thread.join(timeout=WAIT)
        (timeline,) = self._result
        assert timeline.finished == "stop", "the model ran out of time"
        return timeline


@pytest.fixture
def pair_factory(tmp_path: Path, emulator: Emulator) -> Iterator[Callable[..., Pair]]:
    with ExitStack() as stack:

        def build(
            sizes: tuple[int, int] = (3, 2),
            threshold: float = 0.5,
            store_upstream: int | None = None,
        ) -> Pair:
            return Pair(stack, tmp_path, emulator, sizes, threshold, store_upstream)

        yield build


def details(port: int) -> dict[str, Any]:
    response = httpx.get(
        f"http://127.0.0.1:{port}/health/details",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    body: dict[str, Any] = response.json()
    body["code"] = response.status_code
    return body


def reasons(port: int) -> list[str]:
    return list(details(port)["evaluation"]["reasons"])


ROUND = 2 * POLLING.checkers * 3  # polls: every checker of both regions, three times over


def test_gray_failure_moves_dns_and_restarts_do_not_bring_it_back(
    pair_factory: Callable[..., Pair],
) -> None:
    """(a) 20 % of the primary's reads fail; its three instances restart one by one."""
    pair = pair_factory(threshold=0.1)
    pair.dependency["primary"].fail_fraction = 0.2
    watching = Watch(pair)
    wait_until(lambda: watching.answer == "secondary", "DNS to move to the secondary")
    for port in pair.primary.ports:
        pair.primary.restart(port)  # the fault goes on: a fresh instance must still say 503
        watching.more_polls(ROUND)
    timeline = watching.finish()
    assert pair.dependency["primary"].failed > 0
    assert timeline.answers() == ["primary", "secondary"], timeline.changes


def test_restarting_every_instance_does_not_shorten_the_recovery_hold(
    pair_factory: Callable[..., Pair],
) -> None:
    """(b) an outage latches; the fleet is replaced during the hold; recovery still waits."""
    pair = pair_factory()
    started = time.monotonic()
    pair.dependency["primary"].reset = True  # every read of the primary fails from now on
    watching = Watch(pair)
    wait_until(lambda: watching.answer == "secondary", "DNS to move to the secondary")
    pair.dependency["primary"].clear()
    pair.primary.restart_all()
    wait_until(lambda: watching.answer == "primary", "DNS to come back", timeout=WAIT + MIN_HOLD)
    back = time.monotonic()
    timeline = watching.finish()
    assert timeline.answers() == ["primary", "secondary", "primary"], timeline.changes
    # The failure latched after the fault began, and the hold counts from the latch: the
    # answer cannot return sooner, however many instances were replaced. (A slow machine
    # only makes this later.)
    assert back - started >= MIN_HOLD


def test_hold_switch_reaches_every_instance_and_new_ones(
    pair_factory: Callable[..., Pair],
) -> None:
    """(c) ``deep-health switch hold on`` keeps the region failed over, on every instance."""
    pair = pair_factory()
    pair.dependency["primary"].reset = True
    watching = Watch(pair)
    wait_until(lambda: watching.answer == "secondary", "DNS to move to the secondary")
    config = ["--config", str(pair.configs["primary"])]
    assert main(["switch", "hold", "on", *config, "--reason", "failover drill", "--by", "t"]) == 0
    restored = time.monotonic()
    pair.dependency["primary"].clear()
    newcomer = pair.primary.add()

    def everyone_held() -> bool:
        return all(
            any("hold engaged (state store, by t at" in r for r in reasons(port))
            for port in pair.primary.ports
        )

    wait_until(everyone_held, "every instance, the new one too, to show the hold")
    assert newcomer in pair.primary.ports
    # Past the hold and the clean streak a released region would be back by now.
    wait_until(lambda: time.monotonic() - restored > MIN_HOLD + 2, "the hold to outlast min_hold")
    watching.more_polls(ROUND)
    assert watching.answer == "secondary"
    assert details(newcomer)["code"] == 503
    assert main(["switch", "hold", "off", *config, "--by", "t"]) == 0
    wait_until(lambda: watching.answer == "primary", "DNS to come back after the release")
    timeline = watching.finish()
    assert timeline.answers() == ["primary", "secondary", "primary"], timeline.changes


def test_an_unreachable_store_never_moves_dns_by_itself(
    pair_factory: Callable[..., Pair],
) -> None:
    """(d) the primary's state store is blackholed: answers in time, reason shown, DNS stays."""
    # Behind the proxy, a stub instead of the emulator: a blackholed store holds each of its
    # connections open, and the canary reads must not queue behind them in the same emulator.
    with StubHttpServer() as stub:
        pair = pair_factory(store_upstream=stub.port)
        pair.store["primary"].blackhole = True
        run_store_blackholed(pair)


def run_store_blackholed(pair: Pair) -> None:
    watching = Watch(pair)
    watching.more_polls(4 * ROUND)
    port = pair.primary.ports[0]
    shown = [r for r in reasons(port) if r.startswith("state_store")]
    timeline = watching.finish()
    # DNS never moved: the store alone does not fail the region. (Single polls may still fail
    # on a busy machine, in both regions alike; Route 53's threshold absorbs them.)
    assert timeline.answers() == ["primary"], (timeline.changes, timeline.failed_polls)
    assert shown, "the details name the state store's problem"
    assert pair.store["primary"].requests > 0
