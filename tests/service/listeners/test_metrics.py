"""/metrics: every family, correct values after known evaluations, bounded label values."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from service.config import parse_config
from service.engine.health import HealthService
from service.faces.app import create_app
from service.listeners.metrics import MAX_REASONS_PER_CHECK, Metrics
from support.observed import OUTCOMES, Clock, Ticker


@dataclass
class Scraped:
    text: str

    def samples(self, name: str) -> list[Sample]:
        return [
            sample
            for family in text_string_to_metric_families(self.text)
            for sample in family.samples
            if sample.name == name
        ]

    def value(self, name: str, **labels: str) -> float:
        [sample] = [s for s in self.samples(name) if s.labels == labels]
        return sample.value

    def families(self) -> dict[str, str]:
        return {f.name: f.type for f in text_string_to_metric_families(self.text)}


@dataclass
class App:
    service: HealthService
    metrics: Metrics
    http: httpx.AsyncClient
    keys: dict[str, str]

    def set(self, check: str, outcome: str) -> None:
        OUTCOMES[self.keys[check]] = outcome

    async def scrape(self) -> Scraped:
        response = await self.http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return Scraped(response.text)


MakeApp = Callable[..., Awaitable[App]]


@pytest.fixture
async def app() -> AsyncIterator[MakeApp]:
    made: list[App] = []

    async def make(*names: str, service_lines: str = "", **kwargs: object) -> App:
        keys = {name: uuid.uuid4().hex for name in names}
        text = (
            '[service]\ncache_ttl = 0\nrelease_id = "r-42"\n'
            + service_lines
            + "[failover]\nenabled = false\n"  # hysteresis off: each evaluation counts as is
            + "".join(
                f'[[checks]]\ntype = "support.observed:Scripted"\nname = "{n}"\nkey = "{k}"\n'
                for n, k in keys.items()
            )
        )
        service = HealthService(parse_config(text), **kwargs)  # type: ignore[arg-type]
        metrics = Metrics(service)
        await service.astart()
        transport = httpx.ASGITransport(
            app=create_app(service, manage_lifespan=False, metrics=metrics)
        )
        http = httpx.AsyncClient(transport=transport, base_url="http://test")
        made.append(App(service, metrics, http, keys))
        return made[-1]

    yield make
    for a in made:
        await a.http.aclose()
        await a.service.aclose()


async def test_every_family_is_exposed(app: MakeApp) -> None:
    a = await app("db")
    scraped = await a.scrape()
    families = {n: t for n, t in scraped.families().items() if not n.endswith("_created")}
    assert families == {
        "deep_health_check_duration_seconds": "histogram",
        "deep_health_check_status": "gauge",
        "deep_health_check_failures": "counter",
        "deep_health_evaluations": "counter",
        "deep_health_evaluation_duration_seconds": "histogram",
        "deep_health_last_evaluation_timestamp_seconds": "gauge",
        "deep_health_region_healthy": "gauge",
        "deep_health_transitions": "counter",
        "deep_health_http_requests": "counter",
        "deep_health_build_info": "gauge",  # an Info, as the text format exposes it
        "deep_health_log_lines_dropped": "counter",
        "deep_health_state_store_fallbacks": "counter",
        "deep_health_state_store_available": "gauge",
        "deep_health_state_duration_seconds": "histogram",
        "deep_health_state_records_damaged": "counter",
    }
    assert (
        scraped.value(
            "deep_health_build_info", version="1", release_id="r-42", service_id="deep-health"
        )
        == 1
    )


async def test_values_after_known_evaluations(app: MakeApp) -> None:
    a = await app("db", "queue")
    a.set("queue", "drained")
    for _ in range(3):
        assert (await a.http.get("/health")).status_code == 503
    a.set("queue", "pass")
    assert (await a.http.get("/health")).status_code == 200
    s = await a.scrape()

    assert s.value("deep_health_check_duration_seconds_count", check="db") == 4
    assert s.value("deep_health_check_duration_seconds_count", check="queue") == 4
    assert s.value("deep_health_check_duration_seconds_bucket", check="db", le="+Inf") == 4
    assert s.value("deep_health_check_status", check="queue", status="pass") == 1
    assert s.value("deep_health_check_status", check="queue", status="fail") == 0
    assert s.value("deep_health_check_failures_total", check="queue", reason="drained") == 3
    assert not [
        x for x in s.samples("deep_health_check_failures_total") if x.labels["check"] == "db"
    ]
    assert s.value("deep_health_evaluations_total", status="fail") == 3
    assert s.value("deep_health_evaluations_total", status="pass") == 1
    assert s.value("deep_health_evaluations_total", status="warn") == 0
    assert s.value("deep_health_evaluation_duration_seconds_count") == 4
    assert s.value("deep_health_last_evaluation_timestamp_seconds") > 0
    assert s.value("deep_health_region_healthy") == 1
    assert s.value("deep_health_transitions_total", **{"from": "unknown", "to": "fail"}) == 1
    assert s.value("deep_health_transitions_total", **{"from": "fail", "to": "pass"}) == 1
    assert len(s.samples("deep_health_transitions_total")) == 2
    assert s.value("deep_health_http_requests_total", route="/health", code="503") == 3
    assert s.value("deep_health_http_requests_total", route="/health", code="200") == 1
    # The scrape is counted once its answer is sent.
    again = await a.scrape()
    assert again.value("deep_health_http_requests_total", route="/metrics", code="200") == 1


async def test_label_values_never_come_from_request_data(app: MakeApp) -> None:
    a = await app("db")
    tokens = [uuid.uuid4().hex for _ in range(6)]
    requests = [
        a.http.get(f"/{tokens[0]}"),
        a.http.get(f"/health/{tokens[1]}"),
        a.http.get(f"/health?{tokens[2]}=1"),
        a.http.post(f"/metrics/{tokens[3]}"),
        a.http.get("/livez", headers={"X-Route": tokens[4], "User-Agent": tokens[5]}),
        a.http.request(tokens[0][:8].upper(), "/health"),
    ]
    codes = [(await r).status_code for r in requests]
    assert codes == [404, 404, 200, 404, 200, 405]
    s = await a.scrape()
    for token in tokens:
        assert token not in s.text
        assert token[:8].upper() not in s.text
    routes = {x.labels["route"] for x in s.samples("deep_health_http_requests_total")}
    assert routes == {"unmatched", "/health", "/livez"}
    assert s.value("deep_health_http_requests_total", route="unmatched", code="404") == 3
    assert s.value("deep_health_http_requests_total", route="/health", code="405") == 1


async def test_failure_reasons_are_bounded(app: MakeApp) -> None:
    a = await app("db")
    for i in range(MAX_REASONS_PER_CHECK + 5):
        a.set("db", f"reason_{i}")
        await a.http.get("/health")
    a.set("db", "Not A Code!")
    await a.http.get("/health")
    s = await a.scrape()
    reasons = {x.labels["reason"] for x in s.samples("deep_health_check_failures_total")}
    assert len(reasons) == MAX_REASONS_PER_CHECK + 1
    assert s.value("deep_health_check_failures_total", check="db", reason="other") == 6


async def test_stale_background_result_sets_region_unhealthy(app: MakeApp) -> None:
    clock, ticker = Clock(), Ticker()
    a = await app(
        "db",
        service_lines="interval = 1\nmax_age = 3\n",
        mode="background",
        clock=clock,
        sleep=ticker.sleep,
    )
    assert (await a.scrape()).value("deep_health_region_healthy") == 1
    clock.advance(3.5)
    s = await a.scrape()  # the scrape alone lets the watchdog judge
    assert s.value("deep_health_region_healthy") == 0
    assert s.value("deep_health_transitions_total", **{"from": "pass", "to": "fail"}) == 1
    assert s.value("deep_health_evaluations_total", status="pass") == 1  # stale is no evaluation
    await ticker.tick()
    s = await a.scrape()
    assert s.value("deep_health_region_healthy") == 1
    assert s.value("deep_health_evaluations_total", status="pass") == 2


async def test_apps_have_registries_of_their_own(app: MakeApp) -> None:
    first, second = await app("db"), await app("db")
    await first.http.get("/health")
    assert first.metrics.registry is not second.metrics.registry
    assert (await first.scrape()).value("deep_health_evaluations_total", status="pass") == 1
    assert (await second.scrape()).value("deep_health_evaluations_total", status="pass") == 0


async def test_metrics_port_moves_metrics_off_the_health_app(app: MakeApp) -> None:
    a = await app("db", service_lines="metrics_port = 9999\n")
    assert (await a.http.get("/metrics")).status_code == 404
