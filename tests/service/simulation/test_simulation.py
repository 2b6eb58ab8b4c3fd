"""The Route 53 simulator: the model, virtual time, real time against local servers, the CLI."""

from __future__ import annotations

import argparse
import asyncio
import http.server
import random
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from service.cli.simulate import add_simulate_parser, run_simulate
from service.simulation import (
    PRIMARY,
    SECONDARY,
    RealtimeConfig,
    Route53Config,
    Scenario,
    Timeline,
    failover_answer,
    latency_answer,
    run_virtual,
    scenario_by_name,
    summarize,
    watch,
)
from service.simulation.faults import (
    DependencyOutage,
    Fault,
    Flapping,
    LatencySpike,
    PartialFailure,
    ProcessOutage,
    RegionFaults,
)
from service.simulation.report import format_summaries, format_timeline
from service.simulation.route53 import Checker, EndpointHealth
from service.simulation.strategies import make_strategy
from service.simulation.virtual import measure

# --- the model -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("results", "views"),
    [
        ([False, False, False], [True, True, False]),  # threshold 3 to go unhealthy...
        ([False, False, True, False], [True, True, True, True]),  # ...consecutive
        ([False] * 3 + [True] * 3, [True, True, False, False, False, True]),  # ...and back
    ],
)
def test_checker_flips_after_threshold_consecutive_results_both_ways(
    results: list[bool], views: list[bool]
) -> None:
    checker = Checker("us-east-1", threshold=3)
    seen = []
    for ok in results:
        checker.observe(ok)
        seen.append(checker.healthy)
    assert seen == views


@pytest.mark.parametrize(
    ("checkers", "healthy", "expected"),
    [
        (15, 3, True),  # 20 % > 18 %
        (15, 2, False),  # 13 %
        (50, 9, False),  # exactly 18 %: not *more than*
        (50, 10, True),
        (1, 0, False),
    ],
)
def test_endpoint_is_healthy_when_more_than_18_percent_say_so(
    checkers: int, healthy: int, expected: bool
) -> None:
    endpoint = EndpointHealth(Route53Config(checkers=checkers, failure_threshold=1))
    for index in range(checkers - healthy):
        endpoint.observe(index, False)
    assert endpoint.healthy is expected


def test_endpoint_reports_only_the_flip() -> None:
    endpoint = EndpointHealth(Route53Config(checkers=5, failure_threshold=1))
    flips = [endpoint.observe(index, False) for index in range(5)]
    assert flips == [False, False, False, False, True]  # 1/5 = 20 % still healthy


@pytest.mark.parametrize(
    ("primary", "secondary", "answer"),
    [
        (True, True, PRIMARY),
        (True, False, PRIMARY),
        (False, True, SECONDARY),
        (False, False, PRIMARY),
    ],
)
def test_failover_answer_table(primary: bool, secondary: bool, answer: str) -> None:
    assert failover_answer(primary, secondary) == answer


@pytest.mark.parametrize(
    ("health", "answer"),
    [
        ({"eu": True, "us": True}, {"eu", "us"}),
        ({"eu": False, "us": True}, {"us"}),
        ({"eu": False, "us": False}, {"eu", "us"}),  # fails open
    ],
)
def test_latency_answer_fails_open(health: dict[str, bool], answer: set[str]) -> None:
    assert latency_answer(health) == answer


@pytest.mark.parametrize(
    "bad", [{"checkers": 0}, {"interval": 0.0}, {"failure_threshold": 11}, {"samples": 0}]
)
def test_route53_config_rejects_what_route53_would(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must be|need"):
        Route53Config(**bad)  # type: ignore[arg-type]


def test_faults_apply_only_in_their_window() -> None:
    rng = random.Random(0)
    process = RegionFaults((ProcessOutage(start=10.0, end=20.0),))
    assert [process.process_up(t) for t in (9.9, 10.0, 19.9, 20.0)] == [True, False, False, True]
    dependency = RegionFaults((DependencyOutage(start=10.0, end=20.0),))
    assert dependency.process_up(15.0)
    assert [dependency.sample_ok(t, rng) for t in (5.0, 15.0, 25.0)] == [True, False, True]
    slow = RegionFaults((LatencySpike(start=10.0, seconds=3.0),))
    assert (slow.latency(5.0), slow.latency(1e6)) == (0.0, 3.0)
    flapping = RegionFaults((Flapping(start=0.0, up=120.0, down=60.0),))
    assert [flapping.sample_ok(t, rng) for t in (0.0, 59.0, 60.0, 179.0, 180.0)] == [
        False,
        False,
        True,
        True,
        False,
    ]
    shared = RegionFaults((DependencyOutage(shared=True),))
    assert (shared.sample_ok(0.0, rng), shared.shared_ok(0.0, rng)) == (True, False)


def test_partial_failure_fails_about_its_rate() -> None:
    rng = random.Random(1)
    partial = RegionFaults((PartialFailure(rate=0.15),))
    failures = sum(not partial.sample_ok(0.0, rng) for _ in range(10_000))
    assert 1300 < failures < 1700


@pytest.mark.parametrize(
    ("expected", "answers", "metrics"),
    [
        (True, [], (None, None, 0, 0, 0)),
        (True, [(130.0, SECONDARY), (1000.0, PRIMARY)], (30.0, 100.0, 2, 0, 0)),
        (True, [(130.0, SECONDARY), (140.0, PRIMARY), (150.0, SECONDARY)], (30.0, None, 3, 2, 0)),
        (False, [(130.0, SECONDARY), (140.0, PRIMARY)], (30.0, None, 2, 2, 1)),
        (True, [(50.0, SECONDARY), (60.0, PRIMARY)], (None, None, 2, 2, 1)),  # before the fault
    ],
)
def test_measure(
    expected: bool, answers: list[tuple[float, str]], metrics: tuple[object, ...]
) -> None:
    scenario = Scenario(
        name="x", duration=2000.0, fault_start=100.0, fault_end=900.0, failover_expected=expected
    )
    m = measure(scenario, answers)  # type: ignore[arg-type]
    assert (m.failover_after, m.failback_after, m.changes, m.flaps, m.false_failovers) == metrics


# --- virtual time --------------------------------------------------------------------------

FAST = Route53Config()  # 15 checkers, 10 s, threshold 3: Route 53 "fast" polling


def test_same_seed_same_run_other_seed_other_run() -> None:
    scenario = scenario_by_name("partial", rate=0.15)
    first = run_virtual(scenario, "deep-health", seed=7)
    assert run_virtual(scenario, "deep-health", seed=7) == first
    assert run_virtual(scenario, "deep-health", seed=8).answers != first.answers


@pytest.mark.parametrize("strategy", ["deep", "deep-health"])
def test_full_outage_fails_over_within_threshold_polls_and_back(strategy: str) -> None:
    summary = summarize(scenario_by_name("outage"), strategy, range(10))
    assert summary.failed_over == 10
    # Every checker needs `threshold` polls, each at most interval * (1 + jitter) apart, the
    # first of them within one interval; plus one cached evaluation.
    bound = FAST.interval * (1 + FAST.jitter) * FAST.failure_threshold + FAST.cache_ttl
    assert summary.failover_max is not None
    assert summary.failover_max <= bound
    assert summary.failback_max is not None
    assert summary.flaps_mean == 0
    assert summary.false_failovers == 0


def test_shallow_check_sees_only_a_dead_process() -> None:
    assert summarize(scenario_by_name("outage"), "shallow", range(5)).failed_over == 0
    assert summarize(scenario_by_name("process"), "shallow", range(5)).failed_over == 5


def test_deep_health_recovers_more_slowly_than_it_fails() -> None:
    deep = summarize(scenario_by_name("outage"), "deep", range(5))
    tracked = summarize(scenario_by_name("outage"), "deep-health", range(5))
    assert deep.failback_median is not None
    assert tracked.failback_median is not None
    assert tracked.failback_median > deep.failback_median + 120.0  # at least the quiet period


def test_15_percent_partial_fails_over_within_two_minutes_with_deep_health_only() -> None:
    scenario = scenario_by_name("partial", rate=0.15)
    tracked = summarize(scenario, "deep-health", range(30))
    assert tracked.failed_over == 30
    assert tracked.failover_max is not None
    assert tracked.failover_max < 120.0
    assert tracked.flaps_mean == 0
    # A plain deep check passes most evaluations: Route 53 never agrees to move.
    assert summarize(scenario, "deep", range(10)).failed_over == 0


def test_1_percent_noise_never_fails_over() -> None:
    summary = summarize(scenario_by_name("noise", rate=0.01, hours=12.0), "deep-health", range(4))
    assert summary.hours == 48.0
    assert summary.failed_over == 0
    assert summary.false_failovers == 0


def test_latency_spike_past_the_deadline_fails_over() -> None:
    scenario = scenario_by_name("latency")
    assert summarize(scenario, "deep", range(3)).failed_over == 3
    assert summarize(scenario, "deep-health", range(3)).failed_over == 3
    assert summarize(scenario, "shallow", range(3)).failed_over == 0


def test_flapping_dependency_moves_the_answer_once_with_deep_health() -> None:
    scenario = scenario_by_name("flapping")
    assert summarize(scenario, "deep", range(3)).flaps_mean > 10
    tracked = summarize(scenario, "deep-health", range(3))
    assert (tracked.failed_over, tracked.flaps_mean) == (3, 0)


def test_shared_dependency_outage_never_moves_deep_health() -> None:
    scenario = scenario_by_name("shared")
    assert summarize(scenario, "deep-health", range(10)).false_failovers == 0
    # Without scopes, a deep check fails both regions and Route 53's race moves the answer.
    assert summarize(scenario, "deep", range(10)).false_failovers > 0


def test_both_regions_down_answers_the_primary() -> None:
    scenario = scenario_by_name("both")
    for seed in range(5):
        result = run_virtual(scenario, "deep", seed=seed)
        middle = (scenario.fault_start + (scenario.fault_end or 0.0)) / 2
        answer = next((a for t, a in reversed(result.answers) if t <= middle), PRIMARY)
        assert answer == PRIMARY


def test_report_renders_a_markdown_table() -> None:
    table = format_summaries([summarize(scenario_by_name("outage"), "deep", range(2))])
    header, rule, row = table.splitlines()
    assert header.startswith("| scenario")
    assert set(rule) <= {"|", "-", " "}
    assert "full outage" in row
    assert "2/2" in row


# --- the CLI -------------------------------------------------------------------------------


def _parse(argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_simulate_parser(parser.add_subparsers())
    return parser.parse_args(["simulate", *argv.split()])


def test_cli_prints_a_table_per_strategy(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse("--scenario partial --rate 0.15 --interval 10 --threshold 3 --hours 1 --seeds 2")
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.count("15% partial") == 3


def test_cli_rejects_unusable_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_simulate(_parse("--threshold 11 --seeds 1")) == 2
    assert run_simulate(_parse("--primary http://127.0.0.1:1/")) == 2
    assert "deep-health simulate:" in capsys.readouterr().err


# --- real time against local servers ---------------------------------------------------------

MARKER = b"deep-health:ok"


class FakeEndpoint:
    """A tiny HTTP server whose health the test flips: ``up``, ``down`` (503), ``nomarker``
    (200 without the search string) or ``hang`` (never answers)."""

    def __init__(self) -> None:
        self.mode = "up"
        self.release = asyncio.Event()
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/health"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        self.release.set()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.mode == "hang":
                await self.release.wait()
                return
            status, body = {
                "up": (b"200 OK", b'{"status":"pass","marker":"' + MARKER + b'"}'),
                "down": (b"503 Service Unavailable", b'{"status":"fail"}'),
                "nomarker": (b"200 OK", b'{"status":"pass"}'),
            }[self.mode]
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                b"Connection: close\r\n\r\n" + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def endpoints() -> AsyncIterator[tuple[FakeEndpoint, FakeEndpoint]]:
    pair = (FakeEndpoint(), FakeEndpoint())
    for endpoint in pair:
        await endpoint.start()
    yield pair
    for endpoint in pair:
        await endpoint.stop()


# Short intervals, few checkers: each test runs in well under a second; max_duration only bounds
# a broken run.
QUICK = RealtimeConfig(
    checkers=3, interval=0.02, failure_threshold=2, timeout=0.5, max_duration=20.0, seed=1
)


async def test_unhealthy_primary_moves_the_answer_to_the_secondary(
    endpoints: tuple[FakeEndpoint, FakeEndpoint],
) -> None:
    primary, secondary = endpoints
    primary.mode = "down"
    timeline = await watch(
        primary.url, secondary.url, config=QUICK, stop=lambda tl: tl.answer == SECONDARY
    )
    assert timeline.finished == "stop"
    assert timeline.answers() == [PRIMARY, SECONDARY]
    assert timeline.healthy == [False, True]
    assert timeline.failed_polls[0] >= QUICK.failure_threshold


async def test_answer_moves_back_when_the_primary_recovers(
    endpoints: tuple[FakeEndpoint, FakeEndpoint],
) -> None:
    primary, secondary = endpoints
    primary.mode = "down"

    def stop(timeline: Timeline) -> bool:
        if timeline.answer == SECONDARY:
            primary.mode = "up"  # heal it from inside the run: no sleeping to synchronise
        return len(timeline.changes) == 3

    timeline = await watch(primary.url, secondary.url, config=QUICK, stop=stop)
    assert timeline.answers() == [PRIMARY, SECONDARY, PRIMARY]
    header, *events, summary = format_timeline(timeline).splitlines()
    assert header == "time since start  event"
    times = [float(line.split(" s ")[0]) for line in events]
    assert times == sorted(times)  # in order
    assert len(set(events)) == len(events)  # each once
    dns = [line.split("DNS answer: ")[1].split()[0] for line in events if "DNS answer" in line]
    assert dns == ["primary", "secondary", "primary"]
    assert any("primary unhealthy for Route 53" in line for line in events)  # labelled
    assert "final answer primary" in summary


@pytest.mark.parametrize("mode", ["nomarker", "hang"])
async def test_missing_search_string_or_a_hang_is_unhealthy(
    endpoints: tuple[FakeEndpoint, FakeEndpoint], mode: str
) -> None:
    primary, secondary = endpoints
    primary.mode = mode
    config = RealtimeConfig(
        checkers=3,
        interval=0.02,
        failure_threshold=2,
        timeout=0.1,
        search_string=MARKER.decode(),
        max_duration=20.0,
    )
    timeline = await watch(
        primary.url, secondary.url, config=config, stop=lambda tl: tl.answer == SECONDARY
    )
    assert timeline.answers() == [PRIMARY, SECONDARY]


async def test_both_unhealthy_stays_on_the_primary(
    endpoints: tuple[FakeEndpoint, FakeEndpoint],
) -> None:
    primary, secondary = endpoints
    secondary.mode = "down"

    def stop(timeline: Timeline) -> bool:
        if not timeline.healthy[1]:
            primary.mode = "down"  # only once the secondary is seen down: no race to lose
        return timeline.healthy == [False, False]

    timeline = await watch(primary.url, secondary.url, config=QUICK, stop=stop)
    assert timeline.answers() == [PRIMARY]


async def test_run_is_bounded_by_max_duration(
    endpoints: tuple[FakeEndpoint, FakeEndpoint],
) -> None:
    primary, secondary = endpoints
    config = RealtimeConfig(checkers=1, interval=0.02, max_duration=0.2)
    timeline = await watch(primary.url, secondary.url, config=config)
    assert timeline.finished == "max-duration"
    assert timeline.answers() == [PRIMARY]
    assert timeline.polls > 0


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status":"pass"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output clean


@pytest.fixture
def threaded_urls() -> Iterator[tuple[str, str]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    primary, secondary = (f"http://127.0.0.1:{s.server_address[1]}/health" for s in servers)
    yield primary, secondary
    for server in servers:
        server.shutdown()
        server.server_close()


def test_cli_real_time_mode_prints_the_timeline(
    threaded_urls: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    primary, secondary = threaded_urls
    args = _parse(
        f"--primary {primary} --secondary {secondary} --checkers 2 --interval 0.05"
        " --max-duration 0.3"
    )
    assert run_simulate(args) == 0
    out = capsys.readouterr().out
    assert "time since start  event" in out
    assert out.count("DNS answer: primary (start") == 1  # printed live, never again at the end
    assert "ended by max-duration" in out


def test_the_live_printer_prints_each_event_once_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from service.cli.simulate import _LivePrinter

    timeline = Timeline()
    printer = _LivePrinter(max_duration=300.0)
    printer(timeline)
    timeline.events.append((14.2, "DNS answer: secondary"))
    printer(timeline)
    printer(timeline)  # nothing new: nothing printed
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("    ")[-1] for line in lines] == [
        "DNS answer: primary (start; every checker healthy)",
        "DNS answer: secondary",
    ]


@dataclass(frozen=True, kw_only=True)
class _ScriptedSamples(Fault):
    """Regional samples succeed or fail in the scripted order."""

    script: Iterator[bool]

    def sample_ok(self, t: float, rng: random.Random) -> bool:
        return next(self.script)


@pytest.mark.parametrize(
    ("ok_samples", "healthy"),
    [
        pytest.param([True, True, True], True, id="all-pass"),
        pytest.param([False, True, True], True, id="one-of-three-fails-warns"),
        # Before issue 11 the simulator failed a check only when every sample failed, while the
        # runner fails it when more than half do: this evaluation passed in the simulator.
        pytest.param([False, False, True], False, id="two-of-three-fail-like-the-runner"),
        pytest.param([False, False, False], False, id="all-fail"),
    ],
)
def test_deep_health_strategy_judges_samples_by_the_runners_rule(
    ok_samples: list[bool], healthy: bool
) -> None:
    strategy = make_strategy("deep-health", Route53Config(samples=3))
    faults = RegionFaults((_ScriptedSamples(script=iter(ok_samples)),))
    assert strategy.evaluate(0.0, faults, random.Random(0)) is healthy
