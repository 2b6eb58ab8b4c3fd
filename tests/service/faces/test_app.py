"""The HTTP contract: status codes, health+json, the marker, and what the public body hides."""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from service.config import parse_config
from service.engine.health import HealthService
from service.faces.app import create_app
from support.misbehaving import FAKE_SECRET

TOKEN = "details-token-0123456789"
MARKER = "DEEP-HEALTH-OK"


def config_text(*checks: str, token: str | None = TOKEN) -> str:
    head = "[service]\ncache_ttl = 0\ndeadline = 0.3\n"
    if token:
        head += f'details_token = "{token}"\n'
    return head + "".join(f'[[checks]]\ntype = "support.misbehaving:{c}"\n' for c in checks)


Client = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    services: list[HealthService] = []

    def make(*checks: str, token: str | None = TOKEN) -> httpx.AsyncClient:
        service = HealthService(parse_config(config_text(*checks, token=token)))
        service.start()
        services.append(service)
        transport = httpx.ASGITransport(app=create_app(service, manage_lifespan=False))
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    yield make
    for service in services:
        service.close()


async def test_healthy_answers_200_with_marker_near_the_start(client: Client) -> None:
    async with client("Passing", "Warns") as http:
        response = await http.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/health+json"
    assert response.headers["cache-control"] == "no-store"
    assert MARKER.encode() in response.content[:5120]
    body = response.json()
    assert body["status"] == "warn"
    assert body["releaseId"] == "dev"
    assert set(body["checks"]) == {"passing:responseTime", "warns:responseTime"}


async def test_unhealthy_answers_503_without_marker(client: Client) -> None:
    async with client("Passing", "Raises") as http:
        response = await http.get("/health")
    assert response.status_code == 503
    assert MARKER.encode() not in response.content
    assert response.json()["status"] == "fail"


async def test_head_has_status_and_no_body(client: Client) -> None:
    async with client("Raises") as http:
        response = await http.head("/health")
    assert response.status_code == 503
    assert response.content == b""


async def test_public_body_hides_errors_and_timings(client: Client) -> None:
    async with client("Raises") as http:
        public = await http.get("/health")
        details = await http.get("/health/details", headers={"Authorization": f"Bearer {TOKEN}"})
    assert FAKE_SECRET not in public.text
    assert "RuntimeError" not in public.text
    assert "observedValue" not in public.text
    assert public.json()["checks"]["raises:responseTime"] == [{"status": "fail"}]
    assert details.status_code == 503
    assert FAKE_SECRET in details.text
    entry = details.json()["checks"]["raises:responseTime"][0]
    assert entry["reason"] == "error"
    assert entry["observedUnit"] == "ms"
    assert any("raises" in r for r in details.json()["evaluation"]["reasons"])


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token-000000000",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN}x",
        "Bearer " + "a" * 10**6,
    ],
)
async def test_details_need_the_token(client: Client, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with client("Raises") as http:
        response = await http.get("/health/details", headers=headers)
    assert response.status_code == 401
    assert FAKE_SECRET not in response.text
    assert len(response.content) < 100


async def test_details_route_absent_without_token(client: Client) -> None:
    async with client("Passing", token=None) as http:
        response = await http.get("/health/details", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404


async def test_livez_touches_no_dependency(client: Client) -> None:
    async with client("Counting") as http:
        from support.misbehaving import Counting

        before = Counting.runs
        response = await http.get("/livez")
    assert response.status_code == 200
    assert Counting.runs == before


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/nope", 404),
        ("POST", "/health", 405),
        ("DELETE", "/livez", 405),
        ("GET", "/../etc/passwd", 404),
    ],
)
async def test_small_json_errors(client: Client, method: str, path: str, code: int) -> None:
    async with client("Passing") as http:
        response = await http.request(method, path)
    assert response.status_code == code
    assert len(response.content) < 100
    assert "Traceback" not in response.text
    json.loads(response.content)


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(f"Digest {TOKEN}", id="another-seven-letter-scheme"),
        pytest.param(f"Bearer{TOKEN}", id="no-space"),
        pytest.param(f" Bearer {TOKEN}", id="leading-space"),
        pytest.param(TOKEN, id="no-scheme"),
        pytest.param("Bearer ", id="empty-token"),
    ],
)
async def test_details_need_the_bearer_scheme(client: Client, authorization: str) -> None:
    async with client("Raises") as http:
        response = await http.get("/health/details", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["cache-control"] == "no-store"


async def test_details_with_the_token_show_everything(client: Client) -> None:
    async with client("Passing") as http:
        response = await http.get("/health/details", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/health+json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["checks"]["passing:responseTime"][0]["observedUnit"] == "ms"
    assert MARKER in response.text


@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 401)], ids=["512", "513"])
async def test_authorization_header_is_capped_at_512_characters(
    client: Client, extra: int, status: int
) -> None:
    token = "t" * (512 - len("Bearer ") + extra)
    async with client("Passing", token=token) as http:
        response = await http.get("/health/details", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status


async def test_livez_body_is_fixed(client: Client) -> None:
    async with client("Raises") as http:
        response = await http.get("/livez")
    assert (response.status_code, response.content) == (200, b'{"status":"pass"}')
    assert response.headers["content-type"] == "application/health+json"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/nope", {"error": "not found"}),
        ("POST", "/health", {"error": "method not allowed"}),
        ("GET", "/docs", {"error": "not found"}),
        ("GET", "/redoc", {"error": "not found"}),
        ("GET", "/openapi.json", {"error": "not found"}),
        ("GET", "/metrics", {"error": "not found"}),
    ],
)
async def test_error_bodies_are_exact(
    client: Client, method: str, path: str, body: dict[str, str]
) -> None:
    async with client("Passing") as http:
        response = await http.request(method, path)
    assert response.json() == body


async def test_health_serves_health_json_whatever_the_accept(client: Client) -> None:
    async with client("Passing") as http:
        plain = await http.get("/health", headers={"Accept": "text/plain"})
        named = await http.get("/health", headers={"Accept": "application/health+json"})
    for response in (plain, named):
        assert response.headers["content-type"] == "application/health+json"
        assert response.json()["status"] == "pass"


@pytest.mark.parametrize(("metrics_port", "served"), [(None, True), (9464, False)])
async def test_metrics_route_only_without_a_port_of_its_own(
    metrics_port: int | None, served: bool
) -> None:
    from service.listeners.metrics import Metrics

    text = config_text("Passing")
    if metrics_port is not None:
        text = text.replace("[service]\n", f"[service]\nmetrics_port = {metrics_port}\n")
    service = HealthService(parse_config(text))
    service.start()
    try:
        app = create_app(service, manage_lifespan=False, metrics=Metrics(service))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await http.get("/health")
            response = await http.get("/metrics")
    finally:
        service.close()
    assert (response.status_code == 200) is served
    if served:
        assert response.headers["content-type"].startswith("text/plain")
        assert "deep_health" in response.text


async def test_standalone_app_starts_the_checks_with_its_lifespan() -> None:
    from support.misbehaving import Counting

    service = HealthService(parse_config(config_text("Counting")))
    app = create_app(service)
    before = Counting.starts
    try:
        async with app.router.lifespan_context(app):
            assert Counting.starts == before + 1
    finally:
        service.close()


async def test_the_apps_error_handlers_cover_every_route(client: Client) -> None:
    # A route the host adds: a bad parameter is a small 400, a crash a small 500 without text.
    service = HealthService(parse_config(config_text("Passing")))
    app = create_app(service, manage_lifespan=False)

    @app.get("/typed")
    async def typed(n: int) -> dict[str, int]:
        return {"n": n}

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError(f"boom {FAKE_SECRET}")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        bad = await http.get("/typed", params={"n": "x"})
        crashed = await http.get("/crash")
        allowed = await http.post("/livez")
    service.close()
    assert (bad.status_code, bad.json()) == (400, {"error": "bad request"})
    assert (crashed.status_code, crashed.json()) == (500, {"error": "internal error"})
    assert FAKE_SECRET not in crashed.text
    assert allowed.status_code == 405
    assert allowed.headers["allow"] == "GET"


def test_the_openapi_document_names_the_service_and_its_version() -> None:
    text = config_text("Passing").replace("[service]\n", '[service]\nversion = "7"\n')
    service = HealthService(parse_config(text))
    with warnings.catch_warnings():
        # One route answers GET and HEAD /health, so FastAPI gives both one operationId.
        warnings.filterwarnings("ignore", "Duplicate Operation ID health_health_", UserWarning)
        info = create_app(service, manage_lifespan=False).openapi()["info"]
    service.close()
    assert (info["title"], info["version"]) == ("deep-health", "7")


async def test_requests_are_counted_into_the_metrics() -> None:
    from service.listeners.metrics import Metrics

    service = HealthService(parse_config(config_text("Passing")))
    service.start()
    try:
        app = create_app(service, manage_lifespan=False, metrics=Metrics(service))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await http.get("/livez")
            await http.get("/livez")
            exposition = (await http.get("/metrics")).text
    finally:
        service.close()
    assert 'deep_health_http_requests_total{code="200",route="/livez"} 2.0' in exposition


def test_the_openapi_document_declares_each_route_as_served() -> None:
    # Built here, not at import: each route's documented answers, media types and security.
    from service.listeners.metrics import Metrics

    service = HealthService(parse_config(config_text("Passing")))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate Operation ID health_health_", UserWarning)
        paths = create_app(service, manage_lifespan=False, metrics=Metrics(service)).openapi()[
            "paths"
        ]
    service.close()
    documented = {
        (path, method): (
            {code: sorted(answer.get("content", {})) for code, answer in op["responses"].items()},
            op.get("security"),
            bool(op.get("description")),
        )
        for path, operations in paths.items()
        for method, op in operations.items()
    }
    health = {"200": ["application/health+json"], "503": ["application/health+json"]}
    assert documented == {
        ("/health", "get"): (health, None, True),
        ("/health", "head"): (health, None, True),
        ("/health/details", "get"): (
            {**health, "401": ["application/json"]},
            [{"detailsToken": []}],
            True,
        ),
        ("/livez", "get"): ({"200": ["application/health+json"]}, None, True),
        ("/metrics", "get"): ({"200": ["text/plain"]}, None, True),
    }
