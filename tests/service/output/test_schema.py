"""The OpenAPI document against a real server: every route answers what it documents.

The document is built in-process by ``create_app`` (it is never served: ``openapi_url=None``)
on the same config the served process runs, with a details token and ``/metrics`` so every
route exists. Schemathesis drives a real ``deep-health serve`` with generated requests:
documented and undocumented methods, random and missing ``Authorization`` values, extra
headers, undeclared content types. Every answer must carry a documented status and media type
and match the documented body and headers; no answer is a 5xx except the intended 503 of
``/health`` and ``/health/details`` when the region is unhealthy; ``/health/details`` answers
nobody without the token; and no answer but the authorized details body carries a stack
trace, an exception's name or a check's secret.
"""

from __future__ import annotations

import builtins
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import CheckContext, CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from service.config import parse_config
from service.engine.health import HealthService
from service.faces.app import create_app
from service.listeners.metrics import Metrics
from support.misbehaving import FAKE_SECRET
from support.process import serve

pytestmark = pytest.mark.e2e

TOKEN = "schema-test-token-0123456789"
CHECKS = {
    "healthy": "support.misbehaving:Passing",
    "unhealthy": "support.misbehaving:Raises",
    # A healthy critical check beside non-critical ones misbehaving in every way there is.
    "misbehaving": "support.misbehaving:Passing",
}
INTENDED_503 = {"/health", "/health/details"}
MISBEHAVING = "".join(
    f'[[checks]]\ntype = "support.misbehaving:{kind}"\ncritical = false\n'
    for kind in (
        "BlocksLoop", "CancelsOwnTask", "RaisesUnprintable", "FailsWithBadObservations",
        "OddObservations", "HangsInThread", "HangsInToThread", "StartRaises", "StopRaises",
        "RaisesSystemExit",
    )
)  # fmt: skip


def config_text(check: str, *, misbehaving: bool = False) -> str:
    return (
        f'[service]\nmode = "on-request"\ncache_ttl = 0.2\ndetails_token = "{TOKEN}"\n'
        f'metrics = true\n[[checks]]\ntype = "{check}"\n' + (MISBEHAVING if misbehaving else "")
    )


def openapi_document() -> dict[str, Any]:
    """What ``create_app`` documents; the served configs differ only in their check."""
    service = HealthService(parse_config(config_text(CHECKS["healthy"])))
    with warnings.catch_warnings():
        # One route answers GET and HEAD /health, so FastAPI gives both one operationId.
        warnings.filterwarnings("ignore", "Duplicate Operation ID health_health_", UserWarning)
        return create_app(service, metrics=Metrics(service)).openapi()


schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 20261123,
            "generation": {
                "mode": "all",  # valid and invalid requests
                "max-examples": 100,
                "deterministic": True,
                "database": "none",
            },
            # examples, coverage (undocumented methods, missing headers) and fuzzing
            "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}},
        }
    ),
)


@pytest.fixture(scope="module", params=sorted(CHECKS))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """``(state, base URL)`` of a real server whose one check passes or raises."""
    state = str(request.param)
    config = tmp_path_factory.mktemp(state) / "health.toml"
    config.write_text(config_text(CHECKS[state], misbehaving=state == "misbehaving"))
    with serve(config) as url:
        yield state, url


EXCEPTION_NAMES = sorted(
    {
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    | {"CancelledError", "CheckFailed", "CheckWarning", "HTTPException", "ValidationError"}
)
LEAK = re.compile(
    r"Traceback|File \"|\b(?:" + "|".join(EXCEPTION_NAMES) + r")\b|" + re.escape(FAKE_SECRET)
)


def checks_for(state: str) -> list[CheckFunction]:
    def not_an_unintended_server_error(ctx: CheckContext, response: Any, case: Any) -> None:
        """``not_a_server_error``, but for the unhealthy region's 503 on the health routes."""
        if state == "unhealthy" and response.status_code == 503 and case.path in INTENDED_503:
            return
        not_a_server_error(ctx, response, case)

    return [
        not_an_unintended_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        ignored_auth,
        missing_required_header,
        unsupported_method,
    ]


@schema.parametrize()
def test_every_answer_conforms_to_the_schema(
    case: schemathesis.Case, served: tuple[str, str]
) -> None:
    state, url = served
    response = case.call_and_validate(base_url=url, checks=checks_for(state))
    leak = LEAK.search(response.text)
    assert leak is None, f"{leak.group()!r} in {response.text[:500]!r}"
    if response.request.method != case.operation.method.upper():
        assert response.status_code == 405  # an undocumented method
    elif case.path == "/health/details":
        assert response.status_code == 401  # a generated token is never the right one
    elif case.path == "/health":
        assert response.status_code == (503 if state == "unhealthy" else 200)


def test_the_authorized_details_conform_to_the_schema(served: tuple[str, str]) -> None:
    """Generated tokens are never the right one: the authorized body is checked here, and
    ``ignored_auth`` replays it without and with a wrong token."""
    state, url = served
    case = schema["/health/details"]["GET"].Case(headers={"Authorization": f"Bearer {TOKEN}"})
    response = case.call_and_validate(base_url=url, checks=checks_for(state))
    assert response.status_code == (503 if state == "unhealthy" else 200)
    assert "Traceback" not in response.text
    if state == "unhealthy":  # the error text is there, for the token holder only
        assert f"RuntimeError: connection failed with key {FAKE_SECRET}" in response.text


def test_the_document_covers_every_route() -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(operation.method.upper(), operation.path) for operation in operations} == {
        ("GET", "/health"),
        ("HEAD", "/health"),
        ("GET", "/health/details"),
        ("GET", "/livez"),
        ("GET", "/metrics"),
    }
