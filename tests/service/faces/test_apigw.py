"""The Lambda transport: API Gateway events answered by the same rules as the FastAPI app.

:mod:`service.faces.routes` holds every HTTP rule; :mod:`service.faces.apigw` only translates
events. These
tests hold the adapter to the FastAPI app's answers, to small 4xx answers for hostile or
malformed events, and the Lambda handler to a cold start without FastAPI, Starlette or Mangum.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.config import parse_config
from service.engine.health import HealthService
from service.faces.apigw import parse, respond, response
from service.faces.app import create_app
from service.faces.routes import Answer, Route, Routes, authorized, error
from support.lambda_process import last_json, run_handler_script
from support.misbehaving import FAKE_SECRET, Counting

TESTS = Path(__file__).resolve().parents[2]
EVENT: dict[str, Any] = json.loads((TESTS / "fixtures" / "apigw_v2_health.json").read_text())
TOKEN = "apigw-token-0123456789"
MARKER = "DEEP-HEALTH-OK"


def config_text(*checks: str, token: str | None = TOKEN) -> str:
    head = "[service]\ncache_ttl = 0\ndeadline = 0.3\n"
    if token:
        head += f'details_token = "{token}"\n'
    return head + "".join(f'[[checks]]\ntype = "support.misbehaving:{c}"\n' for c in checks)


def v2(method: str = "GET", path: str = "/health", **headers: str) -> dict[str, Any]:
    """The fixture's HTTP API v2 event for ``method`` and ``path``, plus ``headers``."""
    event = copy.deepcopy(EVENT)
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = event["rawPath"] = path
    event["headers"].update({name.lower(): value for name, value in headers.items()})
    return event


def v1(method: str = "GET", path: str = "/health", **headers: str) -> dict[str, Any]:
    """A REST API (payload v1) proxy event."""
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Host": "abc123.execute-api.eu-west-1.amazonaws.com", **headers},
        "multiValueHeaders": {"X-Forwarded-Proto": ["https"]},
        "queryStringParameters": None,
        "requestContext": {"identity": {"sourceIp": "54.228.16.1"}, "httpMethod": method},
        "body": None,
        "isBase64Encoded": False,
    }


Serve = Callable[..., Routes]


@pytest.fixture
async def routes() -> AsyncIterator[Serve]:
    services: list[HealthService] = []

    def make(*checks: str, token: str | None = TOKEN) -> Routes:
        service = HealthService(parse_config(config_text(*checks, token=token)))
        service.start()
        services.append(service)
        return Routes(service)

    yield make
    for service in services:
        service.close()


# --- the same answers as the FastAPI app ----------------------------------------------------

CASES = [
    ("GET", "/health", {}),
    ("HEAD", "/health", {}),
    ("GET", "/health", {"Accept": "text/plain"}),
    ("GET", "/health/details", {}),
    ("GET", "/health/details", {"Authorization": f"Bearer {TOKEN}"}),
    ("GET", "/health/details", {"Authorization": f"Digest {TOKEN}"}),
    ("GET", "/health/details", {"Authorization": "Bearer " + "a" * 600}),
    ("GET", "/livez", {}),
    ("POST", "/health", {}),
    ("DELETE", "/livez", {}),
    ("HEAD", "/livez", {}),
    ("GET", "/nope", {}),
    ("GET", "/health/", {}),
    ("GET", "/health/details/", {}),
    ("GET", "/metrics", {}),
    ("GET", "/docs", {}),
]
COMPARED_HEADERS = ("content-type", "cache-control", "www-authenticate", "location")


@pytest.mark.parametrize("checks", [("Passing",), ("Raises",)], ids=["pass", "fail"])
async def test_the_adapter_answers_as_the_fastapi_app_does(
    routes: Serve, checks: tuple[str, ...]
) -> None:
    served = routes(*checks)
    app = create_app(served.service, manage_lifespan=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for method, path, headers in CASES:
            expected = await http.request(method, path, headers=headers)
            got = await respond(served, v2(method, path, **headers))
            where = f"{method} {path} {headers}"
            assert got["statusCode"] == expected.status_code, where
            for name in COMPARED_HEADERS:
                assert got["headers"].get(name) == expected.headers.get(name), (where, name)
            # Starlette lists the allowed methods from a set: compare them as one.
            allowed = {m.strip() for m in got["headers"].get("allow", "").split(",")}
            assert allowed == {m.strip() for m in expected.headers.get("allow", "").split(",")}
            if expected.status_code >= 400 and expected.status_code != 503:
                assert got["body"].encode() == expected.content, where


async def test_health_answers_the_report_with_its_marker(routes: Serve) -> None:
    got = await respond(routes("Passing"), v2())
    assert got["statusCode"] == 200
    assert got["isBase64Encoded"] is False
    assert got["headers"]["content-type"] == "application/health+json"
    assert got["headers"]["cache-control"] == "no-store"
    body = json.loads(got["body"])
    assert body["status"] == "pass"
    assert body["notes"] == [MARKER]


async def test_a_failing_region_answers_503_without_error_text(routes: Serve) -> None:
    got = await respond(routes("Passing", "Raises"), v2())
    assert got["statusCode"] == 503
    assert MARKER not in got["body"]
    assert FAKE_SECRET not in got["body"]
    assert json.loads(got["body"])["status"] == "fail"


async def test_head_has_the_status_and_no_body(routes: Serve) -> None:
    got = await respond(routes("Raises"), v2("HEAD"))
    assert (got["statusCode"], got["body"]) == (503, "")
    assert got["headers"]["content-type"] == "application/health+json"


async def test_details_with_the_token_show_everything(routes: Serve) -> None:
    got = await respond(
        routes("Raises"), v2(path="/health/details", authorization=f"Bearer {TOKEN}")
    )
    assert got["statusCode"] == 503
    assert got["headers"]["cache-control"] == "no-store"
    entry = json.loads(got["body"])["checks"]["raises:responseTime"][0]
    assert entry["observedUnit"] == "ms"  # what the public body hides


@pytest.mark.parametrize("offered", ["\ud800", f"{TOKEN}\udfff", "\udcff" * 40])
async def test_a_lone_surrogate_in_the_authorization_header_is_401_not_500(
    routes: Serve, offered: str
) -> None:
    # The event is JSON: "\ud800" in it decodes to a lone surrogate that UTF-8 refuses.
    event = json.loads(json.dumps(v2(path="/health/details", authorization=f"Bearer {offered}")))
    got = await respond(routes("Passing"), event)
    assert (got["statusCode"], json.loads(got["body"])) == (401, {"error": "unauthorized"})


async def test_details_route_absent_without_token(routes: Serve) -> None:
    got = await respond(routes("Passing", token=None), v2(path="/health/details"))
    assert (got["statusCode"], json.loads(got["body"])) == (404, {"error": "not found"})


async def test_rest_api_v1_events_are_answered_in_their_shape(routes: Serve) -> None:
    served = routes("Passing")
    got = await respond(served, v1())
    head = await respond(served, v1("HEAD"))
    details = await respond(served, v1(path="/health/details", Authorization=f"Bearer {TOKEN}"))
    assert got["statusCode"] == 200
    assert got["multiValueHeaders"] == {}
    assert MARKER in got["body"]
    assert (head["statusCode"], head["body"]) == (200, "")
    assert details["statusCode"] == 200  # the mixed-case header name was lower-cased


async def test_multi_value_headers_of_v1_events_are_read(routes: Serve) -> None:
    event = v1(path="/health/details")
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {TOKEN}"]
    got = await respond(routes("Passing"), event)
    assert got["statusCode"] == 200


async def test_requests_are_counted_by_route_template(routes: Serve) -> None:
    from service.listeners.metrics import Metrics

    served = routes("Passing")
    metrics = Metrics(served.service)
    with_metrics = Routes(served.service, metrics=metrics)
    for event in (v2(path="/livez"), v2(path="/livez"), v2(path="/nope"), ["not", "an", "event"]):
        await respond(with_metrics, event, metrics=metrics)
    exposition = (await respond(with_metrics, v2(path="/metrics"), metrics=metrics))["body"]
    assert 'deep_health_http_requests_total{code="200",route="/livez"} 2.0' in exposition
    exposition = (await respond(with_metrics, v2(path="/metrics"), metrics=metrics))["body"]
    assert 'deep_health_http_requests_total{code="200",route="/metrics"} 1.0' in exposition
    assert 'deep_health_http_requests_total{code="404",route="unmatched"} 1.0' in exposition
    assert 'deep_health_http_requests_total{code="400",route="unmatched"} 1.0' in exposition


# --- hostile and malformed events -----------------------------------------------------------


def without(key: str) -> dict[str, Any]:
    event = v2()
    del event[key]
    return event


def with_http(**fields: object) -> dict[str, Any]:
    event = v2()
    event["requestContext"]["http"].update(fields)
    return event


def with_headers(headers: object) -> dict[str, Any]:
    event = v2(path="/health/details")
    event["headers"] = headers
    return event


HOSTILE: list[tuple[str, object, int]] = [
    ("not-a-dict", ["GET", "/health"], 400),
    ("none", None, 400),
    ("a-string", "GET /health", 400),
    ("no-request-context", without("requestContext"), 400),
    ("request-context-not-a-dict", {**v2(), "requestContext": "x"}, 400),
    ("no-http", {**v2(), "requestContext": {"timeEpoch": 1}}, 400),
    ("no-method", with_http(method=None), 400),
    ("method-not-a-string", with_http(method=7), 400),
    ("empty-method", with_http(method=""), 400),
    ("method-with-a-space", with_http(method="G ET"), 400),
    ("method-not-ascii", with_http(method="GÉT"), 400),
    ("huge-method", with_http(method="G" * 10_000), 400),
    ("lower-case-method", with_http(method="get"), 405),
    ("one-letter-method", with_http(method="A"), 405),
    ("16-letter-method", with_http(method="A" * 16), 405),
    ("17-letter-method", with_http(method="A" * 17), 400),
    ("2048-character-path", with_http(path="/" + "a" * 2047), 404),
    ("2049-character-path", with_http(path="/" + "a" * 2048), 400),
    ("200-headers", with_headers({f"x-{n}": "y" for n in range(200)}), 401),
    ("201-headers", with_headers({f"x-{n}": "y" for n in range(201)}), 400),
    (
        "v1-200-multi-value",
        {**v1(), "multiValueHeaders": {f"x-{n}": ["y"] for n in range(200)}},
        503,
    ),
    (
        "v1-201-multi-value",
        {**v1(), "multiValueHeaders": {f"x-{n}": ["y"] for n in range(201)}},
        400,
    ),
    ("options", with_http(method="OPTIONS"), 405),
    ("trace", with_http(method="TRACE"), 405),
    ("no-path", with_http(path=None), 400),
    ("relative-path", with_http(path="health"), 400),
    ("huge-path", with_http(path="/" + "a" * 100_000), 400),
    ("dot-dot", with_http(path="/health/../../etc/passwd"), 404),
    ("encoded-dot-dot", with_http(path="/%2e%2e/%2e%2e/etc/passwd"), 404),
    ("encoded-health", with_http(path="/health%2F"), 404),
    ("trailing-slash", with_http(path="/health/"), 404),
    ("headers-not-a-dict", with_headers(["authorization"]), 400),
    ("header-value-not-a-string", with_headers({"authorization": ["Bearer x"]}), 400),
    ("header-name-not-a-string", with_headers({1: "x"}), 400),
    ("too-many-headers", with_headers({f"x-{n}": "y" for n in range(1000)}), 400),
    ("huge-authorization", with_headers({"authorization": "Bearer " + "a" * 1_000_000}), 401),
    ("token-minus-one", with_headers({"authorization": f"Bearer {TOKEN[:-1]}"}), 401),
    ("no-headers", without("headers"), 503),  # answered: the region fails (Raises)
    ("v1-multi-value-not-a-dict", {**v1(), "multiValueHeaders": "x"}, 400),
    ("v1-multi-value-not-a-list", {**v1(), "multiValueHeaders": {"a": "b"}}, 400),
    ("v1-multi-value-not-strings", {**v1(), "multiValueHeaders": {"a": [1]}}, 400),
]


@pytest.mark.parametrize(
    ("event", "status"), [(e, s) for _, e, s in HOSTILE], ids=[i for i, _, _ in HOSTILE]
)
async def test_hostile_events_get_small_answers_and_trigger_nothing(
    routes: Serve, event: object, status: int
) -> None:
    served = routes("Counting", "Raises")
    before = Counting.runs
    got = await respond(served, event)
    assert got["statusCode"] == status
    assert "location" not in got["headers"]
    assert FAKE_SECRET not in got["body"]
    assert "Traceback" not in got["body"]
    if status != 503:
        assert len(got["body"]) < 200
        assert set(json.loads(got["body"])) == {"error"}
        assert Counting.runs == before  # nothing hostile evaluated


async def test_a_failure_inside_the_routes_is_a_small_500_without_text(
    routes: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    served = routes("Passing")

    async def broken() -> None:
        raise RuntimeError(f"boom {FAKE_SECRET}")

    served.service.report = broken  # type: ignore[assignment,method-assign]
    with caplog.at_level("ERROR", logger="deep_health.apigw"):
        got = await respond(served, v2())
    assert (got["statusCode"], json.loads(got["body"])) == (500, {"error": "internal error"})
    assert FAKE_SECRET not in got["body"]
    # The log names the exception's type, never its text.
    assert [r.getMessage() for r in caplog.records] == ["request failed: RuntimeError"]


async def test_a_malformed_event_is_answered_in_the_v2_shape(routes: Serve) -> None:
    got = await respond(routes("Passing"), {"requestContext": {}})
    assert got == {
        "statusCode": 400,
        "headers": {"content-type": "application/json"},
        "body": '{"error":"bad request"}',
        "isBase64Encoded": False,
    }


# --- the pieces ------------------------------------------------------------------------------


def test_parse_reads_method_decoded_path_and_lower_case_headers() -> None:
    request = parse(v2("HEAD", "/health%2Fdetails", Accept="text/plain"))
    assert request is not None
    assert (request.method, request.path, request.version2) == ("HEAD", "/health/details", True)
    assert request.headers["accept"] == "text/plain"
    legacy = parse(v1(path="/livez", Accept="a/b"))
    assert legacy is not None
    assert (legacy.path, legacy.version2) == ("/livez", False)
    assert legacy.headers["accept"] == "a/b"
    assert legacy.headers["x-forwarded-proto"] == "https"
    repeated = v1()
    repeated["multiValueHeaders"]["Accept"] = ["a/b", "c/d"]
    joined = parse(repeated)
    assert joined is not None
    assert joined.headers["accept"] == "a/b, c/d"


def test_a_body_that_is_not_text_goes_as_base64() -> None:
    binary = response(Answer(200, b"\xff\x00", "application/octet-stream"))
    not_utf8 = response(Answer(200, b"\xff", "text/plain"))
    text = response(Answer(200, "é".encode(), "text/plain; charset=utf-8"))
    assert (binary["body"], binary["isBase64Encoded"]) == (
        base64.b64encode(b"\xff\x00").decode(),
        True,
    )
    assert base64.b64decode(not_utf8["body"]) == b"\xff"
    assert not_utf8["isBase64Encoded"] is True
    assert (text["body"], text["isBase64Encoded"]) == ("é", False)
    assert "multiValueHeaders" not in text
    empty = response(Answer(204))
    assert (empty["body"], empty["isBase64Encoded"], empty["headers"]) == ("", False, {})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Bearer {TOKEN}", True),
        (None, False),
        ("", False),
        (f"Bearer {TOKEN}x", False),
        (f"bearer {TOKEN}", False),
        (f"Bearer  {TOKEN}", False),
        (f"Digest {TOKEN}", False),
        (f"Bearer{TOKEN}", False),
        (TOKEN, False),
    ],
)
def test_authorized_needs_the_bearer_scheme_and_the_exact_token(
    header: str | None, expected: bool
) -> None:
    assert authorized(header, TOKEN) is expected


def test_authorized_caps_the_header_at_512_characters() -> None:
    token = "t" * (512 - len("Bearer "))
    assert authorized(f"Bearer {token}", token) is True
    assert authorized(f"Bearer {token}t", token + "t") is False


def test_error_bodies_are_small_fixed_json() -> None:
    assert error(404).body == b'{"error":"not found"}'
    assert error(405).body == b'{"error":"method not allowed"}'
    assert error(400).body == b'{"error":"bad request"}'
    assert error(401).body == b'{"error":"unauthorized"}'
    assert error(500).body == b'{"error":"internal error"}'
    assert error(418).body == b'{"error":"error"}'
    assert error(404).media_type == "application/json"
    assert error(404, (("Allow", "GET"),)).headers == (("Allow", "GET"),)
    assert error(404).route is None


async def test_routes_tables_follow_the_settings(routes: Serve) -> None:
    from service.listeners.metrics import Metrics

    assert [r.path for r in routes("Passing").table] == ["/health", "/health/details", "/livez"]
    assert [r.path for r in routes("Passing", token=None).table] == ["/health", "/livez"]
    served = routes("Passing", token=None)
    with_metrics = Routes(served.service, metrics=Metrics(served.service))
    assert [r.path for r in with_metrics.table] == ["/health", "/livez", "/metrics"]


async def test_the_routes_headers_are_exact(routes: Serve) -> None:
    served = routes("Passing")
    refused = await served.answer("POST", "/health", {})
    challenged = await served.answer("GET", "/health/details", {"authorization": "Bearer x"})
    livez = await served.answer("GET", "/livez", {})
    assert refused.headers == (("Allow", "GET, HEAD"),)
    assert challenged.headers == (("Cache-Control", "no-store"), ("WWW-Authenticate", "Bearer"))
    assert livez.headers == (("Cache-Control", "no-store"),)
    assert (livez.body, livez.media_type) == (b'{"status":"pass"}', "application/health+json")


async def test_a_route_not_in_the_table_is_not_found(routes: Serve) -> None:
    answer = await routes("Passing").serve(Route("/x", ("GET",), "x"), {})
    assert (answer.status, answer.body, answer.route) == (404, b'{"error":"not found"}', None)


async def test_answers_name_their_route(routes: Serve) -> None:
    served = routes("Passing")
    assert (await served.answer("GET", "/health", {})).route == "/health"
    assert (await served.answer("GET", "/livez", {})).route == "/livez"
    assert (await served.answer("POST", "/livez", {})).route == "/livez"
    assert (await served.answer("GET", "/health/details", {})).route == "/health/details"
    assert (await served.answer("GET", "/x", {})).route is None


# --- the cold start imports no web framework -------------------------------------------------

IMPORTS = """
import json, sys
from service.faces import lambda_handler
event = json.load(open(sys.argv[1]))
answer = lambda_handler.handler(event, None)
print(json.dumps({
    "status": answer["statusCode"],
    "loaded": sorted({name.split(".")[0] for name in sys.modules}),
}))
"""


def test_the_lambda_handler_imports_no_web_framework(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text(config_text("Passing"))
    out = last_json(run_handler_script(IMPORTS, config))
    assert out["status"] == 200
    loaded = set(out["loaded"])
    assert "service" in loaded  # the listing is real
    assert not loaded & {"fastapi", "starlette", "mangum", "anyio", "uvicorn"}
