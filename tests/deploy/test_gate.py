"""The gate between regions: a region that comes up unhealthy stops the rollout before the next.

The "regions" are local HTTP servers on 127.0.0.1 answering as a deployed health URL would;
the commands the rollout would run are recorded instead of run (no ``sam`` here).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.gate import Gate, checker_share, probe
from deploy.pairs import RegionStack, load_pairs
from deploy.plan import pair_steps
from deploy.rollout import rollout
from support.httpserver import QuietHandler, ThreadedHttpServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "pairs.example.toml"
HEALTHY = b'{"status":"pass","marker":"DEEP-HEALTH-OK"}'


class Region(ThreadedHttpServer):
    """A local server answering ``/health`` with a status and body the test sets."""

    def __init__(self) -> None:
        self.status = 200
        self.body = HEALTHY
        region = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.send_response(region.status)
                self.send_header("Content-Length", str(len(region.body)))
                self.end_headers()
                self.wfile.write(region.body)

        super().__init__(Handler)
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"


@pytest.fixture
def regions() -> Iterator[dict[str, Region]]:
    started = {"us-east-1": Region(), "eu-west-1": Region()}
    yield started
    for region in started.values():
        region.stop()


class Recorder:
    """Stands in for ``sam``: records what the rollout would run."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> None:
        self.commands.append(tuple(argv))

    def deployed(self) -> list[str]:
        return [c[c.index("--stack-name") + 1] + "@" + c[c.index("--region") + 1]
                for c in self.commands]  # fmt: skip


def run_rollout(
    tmp_path: Path, regions: dict[str, Region], *, force: bool = False, route53: Any = None
) -> tuple[int, Recorder, list[str]]:
    pairs = load_pairs(EXAMPLE)
    api = pairs.pairs[0]
    steps = pair_steps(pairs, api, None, release_id="r", project_root=ROOT)
    recorder = Recorder()
    warnings: list[str] = []
    sleeps: list[float] = []

    def outputs(stack: RegionStack) -> dict[str, str]:
        return {
            "HealthUrl": regions[stack.region].url,
            "HealthCheckId": f"check-{stack.region}",
            "RecordHealthCheckId": f"record-check-{stack.region}",
            "FunctionName": f"fn-{stack.region}",
            "PreviousVersion": "41",
        }

    code = rollout(
        steps,
        run=recorder,
        outputs=outputs,
        gate=Gate(attempts=3, interval=7.0, sleep=sleeps.append, route53=route53),
        project_root=tmp_path,
        force=force,
        pairs_path=EXAMPLE,
        log=lambda _: None,
        warn=warnings.append,
    )
    if code == 1 and not force:
        assert sleeps == [7.0, 7.0]  # it retried a bounded number of times
    return code, recorder, warnings


def test_healthy_regions_roll_out_in_order_then_the_alarms(
    tmp_path: Path, regions: dict[str, Region]
) -> None:
    code, recorder, warnings = run_rollout(tmp_path, regions)
    assert code == 0, warnings
    assert recorder.deployed() == [
        "deep-health-api@us-east-1",
        "deep-health-api-alarms@us-east-1",
        "deep-health-api@eu-west-1",
        "deep-health-api-alarms@eu-west-1",
        "deep-health-api-monitoring@us-east-1",
        "deep-health-api-dashboard@us-east-1",
    ]
    monitoring = recorder.commands[-2]
    # The alarms watch the check the records carry (the calculated one with an operator
    # control), not the deep check behind it.
    assert "PrimaryHealthCheckId=record-check-us-east-1" in monitoring
    assert "SecondaryHealthCheckId=record-check-eu-west-1" in monitoring
    # The alarms and the dashboard are built from the deployed stacks' outputs at run time.
    assert "FunctionName=fn-eu-west-1" in recorder.commands[3]
    dashboard = recorder.commands[-1]
    assert "PrimaryHealthCheckId=record-check-us-east-1" in dashboard
    assert "PrimaryDeepCheckId=check-us-east-1" in dashboard
    bundled = tmp_path / "build/lambda/config/health.toml"
    assert 'type = "dynamodb_read"' in bundled.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("status", "body"),
    [(503, b'{"status":"fail"}'), (200, b'{"status":"pass"}')],  # down; up without the marker
)
def test_a_primary_that_comes_up_unhealthy_stops_the_rollout_before_the_secondary(
    tmp_path: Path, regions: dict[str, Region], status: int, body: bytes
) -> None:
    regions["us-east-1"].status, regions["us-east-1"].body = status, body
    code, recorder, warnings = run_rollout(tmp_path, regions)
    assert code == 1
    # eu-west-1 never touched (the primary's own alarms are deployed before its gate)
    assert recorder.deployed() == ["deep-health-api@us-east-1", "deep-health-api-alarms@us-east-1"]
    (message,) = warnings
    assert "STOPPED: deep-health-api (PRIMARY) in us-east-1 is not healthy" in message
    assert "stopped before SECONDARY eu-west-1" in message
    assert (
        "aws lambda update-alias --region us-east-1 --function-name fn-us-east-1 --name live"
        " --function-version 41" in message
    )
    assert f"python -m deploy --pairs {EXAMPLE} --pair api" in message


def test_a_secondary_that_comes_up_unhealthy_leaves_the_alarms_alone(
    tmp_path: Path, regions: dict[str, Region]
) -> None:
    regions["eu-west-1"].status = 503
    code, recorder, warnings = run_rollout(tmp_path, regions)
    assert code == 1
    assert [d for d in recorder.deployed() if "-alarms@" not in d] == [
        "deep-health-api@us-east-1",
        "deep-health-api@eu-west-1",
    ]
    assert "SECONDARY" in warnings[0]


def test_force_goes_on_past_an_unhealthy_region_loudly(
    tmp_path: Path, regions: dict[str, Region]
) -> None:
    regions["us-east-1"].status = 503
    code, recorder, warnings = run_rollout(tmp_path, regions, force=True)
    assert code == 0
    assert len(recorder.deployed()) == 6
    (message,) = warnings
    assert message.startswith("WARNING: --force: PRIMARY us-east-1 of pair api is NOT healthy")


def test_the_gate_reads_route_53_s_checkers_too(
    tmp_path: Path, regions: dict[str, Region], emulator: Any
) -> None:
    route53 = boto3.client(
        "route53",
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    created = route53.create_health_check(
        CallerReference="gate",
        HealthCheckConfig={
            "Type": "HTTPS_STR_MATCH",
            "FullyQualifiedDomainName": "health-use1.example.com",
            "ResourcePath": "/health",
            "SearchString": "DEEP-HEALTH-OK",
        },
    )
    check_id = created["HealthCheck"]["Id"]
    share, count = checker_share(route53, check_id)
    assert (share, count) == (1.0, 1)  # moto reports one healthy checker
    gate = Gate(attempts=1, route53=route53)
    passed = gate.check(regions["us-east-1"].url, "DEEP-HEALTH-OK", check_id)
    assert passed.healthy
    assert any("Route 53: 100% of 1 checkers healthy" in line for line in passed.seen)


class Checkers:
    """Route 53's answer for a health check whose checkers mostly fail (pure data)."""

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses

    def get_health_check_status(self, HealthCheckId: str) -> dict[str, Any]:
        return {"HealthCheckObservations": [{"StatusReport": {"Status": s}} for s in self.statuses]}


@pytest.mark.parametrize(
    ("healthy", "total", "passes"),
    [(2, 16, False), (3, 16, True), (1, 11, False), (2, 11, True), (0, 0, False)],
)
def test_route_53_s_view_follows_the_18_percent_rule(
    regions: dict[str, Region], healthy: int, total: int, passes: bool
) -> None:
    statuses = ["Success: HTTP Status Code 200"] * healthy + ["Failure: 503"] * (total - healthy)
    gate = Gate(attempts=1, route53=Checkers(statuses))
    assert gate.check(regions["us-east-1"].url, "DEEP-HEALTH-OK", "c").healthy is passes


class Slow(ThreadedHttpServer):
    """Answers only once released: a region slower than Route 53's timeouts, without sleeps."""

    def __init__(self, *, hold_status: bool) -> None:
        self.release = threading.Event()
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if hold_status:
                    server.release.wait(30)
                self.send_response(200)
                self.send_header("Content-Length", str(len(HEALTHY)))
                self.end_headers()
                self.wfile.flush()
                if not hold_status:
                    server.release.wait(30)
                self.wfile.write(HEALTHY)

        super().__init__(Handler)

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        super().__exit__(*exc)


def region_url(server: ThreadedHttpServer, path: str = "/health") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def test_the_probe_gives_the_status_line_route_53_s_time_and_no_more() -> None:
    with Slow(hold_status=True) as slow:
        ok, seen = probe(region_url(slow), "DEEP-HEALTH-OK", status_timeout=0.2)
    assert not ok
    assert seen.endswith("no status line within 0.2 s (Route 53 would count a failure)")


def test_the_probe_gives_the_body_route_53_s_time_and_no_more() -> None:
    with Slow(hold_status=False) as slow:
        ok, seen = probe(region_url(slow), "DEEP-HEALTH-OK", body_timeout=0.2)
    assert not ok
    assert "no body within 0.2 s of the status line" in seen


def test_the_probe_waits_as_long_as_route_53_by_default() -> None:
    defaults = inspect.signature(probe).parameters
    assert (
        defaults["connect_timeout"].default,
        defaults["status_timeout"].default,
        defaults["body_timeout"].default,
    ) == (4.0, 2.0, 2.0)


def test_the_probe_does_not_follow_a_redirect() -> None:
    # The redirect's target would carry the marker; Route 53 reads the 302's own body only.
    class Target(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(HEALTHY)))
            self.end_headers()
            self.wfile.write(HEALTHY)

    with ThreadedHttpServer(Target) as target:

        class Redirect(QuietHandler):
            def do_GET(self) -> None:
                self.send_response(302)
                self.send_header("Location", region_url(target))
                self.send_header("Content-Length", "0")
                self.end_headers()

        with ThreadedHttpServer(Redirect) as redirect:
            ok, seen = probe(region_url(redirect), "DEEP-HEALTH-OK")
    assert not ok
    assert seen.endswith("answered 302 without the marker 'DEEP-HEALTH-OK' (Route 53 does not"
                         " follow redirects)")  # fmt: skip


def test_probe_says_why(regions: dict[str, Region]) -> None:
    assert probe(regions["us-east-1"].url, "DEEP-HEALTH-OK") == (
        True,
        f"{regions['us-east-1'].url} answered 200 with the marker",
    )
    regions["us-east-1"].status = 503
    assert probe(regions["us-east-1"].url, "DEEP-HEALTH-OK")[1].endswith("answered 503")
    # Only the first 5,120 bytes count, as for Route 53.
    regions["us-east-1"].status = 200
    regions["us-east-1"].body = b" " * 5200 + HEALTHY
    assert probe(regions["us-east-1"].url, "DEEP-HEALTH-OK")[0] is False
