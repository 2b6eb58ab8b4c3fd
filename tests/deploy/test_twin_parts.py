"""The twin's parts on their own: the Runtime API's protocol, the AWS front's routing, the
stage throttle, the time scaling of the bundled config, and the figures of a drill."""

from __future__ import annotations

import http.client
import json
import threading
import tomllib

import pytest

from deploy.twin.apigw import RouteThrottle, TokenBucket, event_for
from deploy.twin.aws import AwsFront
from deploy.twin.drills import drill_by_name
from deploy.twin.figures import outcome
from deploy.twin.runtime_api import Invocation, RuntimeApi
from deploy.twin.timescale import Timescale
from service.simulation.realtime import Timeline
from support.proxy import StubHttpServer


def test_the_runtime_api_speaks_lambdas_protocol_and_reports_idle() -> None:
    idle = threading.Event()
    runtime: http.client.HTTPConnection | None = None
    api = RuntimeApi("arn:aws:lambda:eu-west-1:123456789012:function:f", on_idle=idle.set)
    try:
        host, port = api.address.split(":")
        invocation = Invocation(b'{"rawPath": "/health"}', timeout=3.0)
        api.assign(invocation)
        runtime = http.client.HTTPConnection(host, int(port), timeout=10)
        runtime.request("GET", "/2018-06-01/runtime/invocation/next")
        answer = runtime.getresponse()
        assert answer.read() == b'{"rawPath": "/health"}'
        assert answer.version == 11
        request_id = answer.getheader("Lambda-Runtime-Aws-Request-Id")
        assert request_id == invocation.request_id
        assert answer.getheader("Lambda-Runtime-Invoked-Function-Arn", "").endswith(":f")
        assert int(answer.getheader("Lambda-Runtime-Deadline-Ms", "0")) > 0
        assert not idle.is_set(), "an event was waiting: the runtime was never idle"
        runtime.request(
            "POST", f"/2018-06-01/runtime/invocation/{request_id}/response", b'{"statusCode": 200}'
        )
        posted = runtime.getresponse()
        posted.read()
        assert posted.status == 202
        assert invocation.done.is_set()
        assert invocation.result() == {"statusCode": 200}
        runtime.request("POST", "/2018-06-01/runtime/invocation/other-id/response", b"{}")
        refused = runtime.getresponse()
        refused.read()
        assert refused.status == 400
        # The next ``next`` finds nothing waiting: the pool is told (and freezes the process).
        waiting = threading.Thread(
            target=lambda: runtime.request("GET", "/2018-06-01/runtime/invocation/next")
        )
        waiting.start()
        assert idle.wait(10)
        waiting.join(10)
    finally:
        api.close()
        if runtime is not None:
            runtime.close()


def test_the_aws_front_sends_state_table_calls_to_the_store_injector_only() -> None:
    with StubHttpServer(body=b"{}") as upstream:
        front = AwsFront(upstream.port, "twin-eu-west-1-StateTable").start()
        try:
            host, port = front.url.removeprefix("http://").split(":")
            client = http.client.HTTPConnection(host, int(port), timeout=10)
            for table in ("accounts", "twin-eu-west-1-StateTable", "accounts"):
                body = json.dumps({"TableName": table}).encode()
                client.request("GET", "/", body, {"Content-Type": "application/json"})
                assert client.getresponse().read() == b"{}"
            assert (front.dependency.requests, front.store.requests) == (2, 1)
            front.store_throttled = True
            client.request("GET", "/", b'{"TableName": "twin-eu-west-1-StateTable"}')
            throttled = client.getresponse()
            assert throttled.status == 400
            assert b"ThrottlingException" in throttled.read()
            assert front.store.requests == 1  # answered by the front, never forwarded
            client.close()
        finally:
            front.stop()


def test_the_stage_throttle_allows_a_burst_then_refuses() -> None:
    bucket = TokenBucket(RouteThrottle(rate=0.001, burst=3))
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_events_are_payload_format_2() -> None:
    event = event_for(
        "GET", "/health?x=1", {"User-Agent": "r53"}, b"", api_id="abc", region="eu-west-1"
    )
    assert (event["version"], event["rawPath"], event["rawQueryString"]) == (
        "2.0",
        "/health",
        "x=1",
    )
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["headers"]["user-agent"] == "r53"
    assert event["requestContext"]["timeEpoch"] > 0


def test_time_scaling_divides_the_policy_durations_only() -> None:
    config = '[service]\ndeadline = 1.5\n\n[[checks]]\ntype = "dns"\nhost = "localhost"\n'
    scaled, durations = Timescale(10).failover(config)
    raw = tomllib.loads(scaled)
    assert raw["failover"] == {"window": 6, "min_hold": 18, "quiet": 15, "burst": 0.6}
    assert raw["service"]["deadline"] == 1.5
    # The scaled config is one the engine accepts: an unscaled burst (6 s) longer than half
    # the scaled window was refused, and every container failed its init.
    from service.config import parse_config

    assert parse_config(scaled).failover.burst == 0.6
    assert durations["min_hold"] == 18
    own = '[failover]\nwindow = 30\nthreshold = 0.2\n[state]\nstore = "memory"\n'
    rewritten = tomllib.loads(Timescale(10).failover(own)[0])
    assert rewritten["failover"] == {
        "window": 3,
        "threshold": 0.2,
        "min_hold": 18,
        "quiet": 15,
        "burst": 0.6,
    }
    assert rewritten["state"] == {"store": "memory"}
    assert Timescale(1).failover(own)[0] == own
    with pytest.raises(ValueError, match="factor"):
        Timescale(0.5)


def test_time_scaling_keeps_the_evidence_a_window_holds() -> None:
    # The rules count samples (min_samples) and buckets (spread) in the window. Scaling the
    # window but not the rate the engine samples at (the background loop's interval, the
    # on-request cache) left a tenth of the evidence in it: at x10 three serve tasks, 2 s apart
    # each, put 9 evaluations in the 6 s window where reality puts 90, and a 15 % gray failure
    # moved DNS after 135 s (real-scenario) instead of within 2 min.
    from service.config import parse_config

    config = (
        "[service]\ndeadline = 1.5\ncache_ttl = 1.0\n\n"
        '[[checks]]\ntype = "dns"\nhost = "localhost"\n'
    )
    real = parse_config(config)
    for factor in (5, 10):
        twin = parse_config(Timescale(factor).engine_config(config)[0])
        for rate in ("interval", "cache_ttl"):
            assert twin.failover.window / getattr(twin.settings, rate) == pytest.approx(
                real.failover.window / getattr(real.settings, rate)
            ), (factor, rate)
        # The staleness watchdog bounds real work: it keeps its real value.
        assert twin.settings.effective_max_age == real.settings.effective_max_age
    # A config's own values are scaled, and its own max_age kept.
    own = '[service]\ninterval = 5\nmax_age = 20\n[state]\nstore = "memory"\n'
    raw = tomllib.loads(Timescale(10).engine_config(own)[0])
    assert raw["service"] == {"interval": 0.5, "max_age": 20, "cache_ttl": 0.1}
    assert Timescale(1).engine_config(own)[0] == own


def test_figures_of_a_drill_that_failed_over_and_back() -> None:
    timeline = Timeline(changes=[(0.0, "primary"), (14.0, "secondary"), (60.0, "primary")])
    result = outcome(
        drill_by_name("outage"), timeline, path="lambda", size=3, scale=Timescale(10),
        settle=9.0, incident=30.0, min_hold=18.0, switch_exits=(),
        verify=("ARMED, answers SECONDARY eu-central-1 (failed over)", "secondary"),
    )  # fmt: skip
    assert result.moved_after == pytest.approx(5.0)
    assert result.on_backup == 1.0
    assert result.failed_back_after == pytest.approx(21.0)
    assert result.passed
    assert result.verdict() == "ok"


def test_a_drill_that_came_back_during_the_incident_fails() -> None:
    timeline = Timeline(changes=[(0.0, "primary"), (14.0, "secondary"), (20.0, "primary")])
    result = outcome(
        drill_by_name("gray-failure"), timeline, path="tasks", size=3, scale=Timescale(10),
        settle=9.0, incident=30.0, min_hold=18.0, switch_exits=(),
    )  # fmt: skip
    assert result.on_backup == pytest.approx(6 / 25)
    assert not result.passed
    assert result.verdict() == "came back during the incident"


def test_a_store_drill_that_never_reached_a_store_is_not_a_pass() -> None:
    result = outcome(
        drill_by_name("store-down"), Timeline(), path="lambda", size=1, scale=Timescale(10),
        settle=9.0, incident=30.0, min_hold=18.0, switch_exits=(), store_calls=0,
    )  # fmt: skip
    assert not result.passed
    assert result.verdict().startswith("vacuous")


def test_a_failed_drill_on_a_starved_host_says_it_proves_nothing() -> None:
    timeline = Timeline(changes=[(0.0, "primary"), (14.0, "secondary"), (20.0, "primary")])
    result = outcome(
        drill_by_name("outage"), timeline, path="lambda", size=5, scale=Timescale(10),
        settle=9.0, incident=30.0, min_hold=18.0, switch_exits=(), starved=12,
    )  # fmt: skip
    assert not result.passed
    assert result.verdict().startswith("inconclusive: host starved")


def test_a_blip_that_moves_dns_after_it_ended_fails() -> None:
    # A blip latched for min_hold shows as a move after the blip's end: still a false move.
    blip = drill_by_name("blip")
    assert not blip.expect.moves
    assert blip.incident <= 6.0  # a blip, not a burst the rules could take for an incident
    timeline = Timeline(changes=[(0.0, "primary"), (11.0, "secondary"), (40.0, "primary")])
    result = outcome(
        blip, timeline, path="lambda", size=5, scale=Timescale(10),
        settle=9.0, incident=0.5, min_hold=18.0, switch_exits=(),
    )  # fmt: skip
    assert not result.passed
    assert result.verdict() == "moved 1x"
