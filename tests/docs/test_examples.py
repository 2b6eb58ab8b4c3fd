"""The docs' code samples are files, and these tests run them: a sample cannot go stale.

Every file under docs/examples/ is included by a page (pymdownx.snippets) and exercised here:
the TOML files are parsed by the service's own loader, the checks run through the runner
against a real HTTP server or the AWS emulator, the embedded apps answer /health over ASGI.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from checks import ConfigError, Status
from service.compose import compose
from service.config import load_config, parse_config
from service.faces.app import create_app
from service.running.testing import run_check
from support.emulator import Emulator
from support.httpserver import QuietHandler, ThreadedHttpServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
TOKEN = "a-details-token-of-32-characters"
# The README is read on GitHub, where nothing is included: a copy of a sample follows a
# `<!-- sample: path -->` line, and must be the file, byte for byte.
COPY = re.compile(
    r"^<!-- sample: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL
)
# `--8<-- "path"`, or `--8<-- "path:first:last"` for some lines of it.
INCLUDE = re.compile(r'^\s*--8<--\s+"(?P<path>[^":]+)(?::\d+)*"', re.MULTILINE)


@pytest.fixture
def examples_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``docs/examples`` importable, as ``PYTHONPATH=docs/examples`` makes it for the CLI."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield
    for name in [n for n in sys.modules if n == "mypkg" or n.startswith("mypkg.")]:
        del sys.modules[name]


def _answering(code: int) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def test_every_included_sample_exists_and_every_sample_is_included() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    texts = [page.read_text("utf-8") for page in pages]
    included = {
        m["path"] for text in texts for m in (*INCLUDE.finditer(text), *COPY.finditer(text))
    }
    assert included, "no page includes a sample"
    missing = sorted(path for path in included if not (ROOT / path).is_file())
    assert missing == []
    samples = {
        p.relative_to(ROOT).as_posix()
        for p in EXAMPLES.rglob("*")
        if p.is_file() and p.suffix in {".py", ".toml", ".txt", ".json"} and p.name != "__init__.py"
    }
    assert sorted(samples - included) == [], "a sample no page shows"


def test_the_readmes_copies_of_samples_are_the_files() -> None:
    copies = list(COPY.finditer((ROOT / "README.md").read_text("utf-8")))
    assert len(copies) >= 2
    for copy in copies:
        assert copy["body"] == (ROOT / copy["path"]).read_text("utf-8"), copy["path"]


def test_the_full_configuration_sample_is_valid() -> None:
    config = load_config(
        EXAMPLES / "health.toml",
        environ={"DEEP_HEALTH_DETAILS_TOKEN": TOKEN, "AWS_REGION": "eu-west-1"},
    )
    assert config.settings.metrics_port == 9102
    assert config.state.store == "dynamodb"
    assert [c.check_name for c in config.checks] == ["accounts-table"]
    assert config.checks[0].samples == 3


def test_the_typos_sample_prints_what_the_page_shows() -> None:
    # The real command, as the page shows it: every error at once, exit 2.
    ran = subprocess.run(
        [sys.executable, "-m", "service.cli", "check", "--config", "docs/examples/typos.toml"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": "docs/examples"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 2
    assert ran.stderr == (EXAMPLES / "typos.txt").read_text("utf-8")


async def test_the_healthy_body_sample_is_what_health_answers() -> None:
    config = parse_config(
        """
        [service]
        release_id = "local-demo"
        [[checks]]
        type = "dns"
        name = "accounts-table"
        host = "localhost"
        [[checks]]
        type = "dns"
        name = "jobs-queue"
        host = "localhost"
        """,
        environ={},
    )
    app = create_app(compose(config, "embedded").service)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as client,
    ):
        body = (await client.get("/health")).json()
    sample = json.loads((EXAMPLES / "health-body.json").read_text("utf-8"))
    assert {**body, "time": None} == {**sample, "time": None}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", body["time"])


def test_the_state_sample_is_valid() -> None:
    config = load_config(EXAMPLES / "state.toml", environ={})
    assert (config.state.table, config.state.fleet, config.state.region) == (
        "deep-health-state",
        "orders-api",
        "eu-west-1",
    )


@pytest.mark.usefixtures("examples_on_path")
async def test_the_billing_check_passes_and_fails_as_written() -> None:
    billing: ModuleType = importlib.import_module("mypkg.billing")
    with ThreadedHttpServer(_answering(200)) as up:
        passed = await run_check(billing.Billing(url=up.url))
    with ThreadedHttpServer(_answering(503)) as down:
        failed = await run_check(billing.Billing(url=down.url))
    assert passed.status is Status.PASS
    assert failed.status is Status.FAIL
    assert failed.reason == "status"


@pytest.mark.usefixtures("examples_on_path")
async def test_the_sample_test_of_a_check_passes() -> None:
    sample: ModuleType = importlib.import_module("test_billing")
    try:
        with ThreadedHttpServer(_answering(200)) as up:
            await sample.test_billing_passes_when_billing_answers(up.url)
        with ThreadedHttpServer(_answering(500)) as down, pytest.raises(AssertionError):
            await sample.test_billing_passes_when_billing_answers(down.url)
    finally:
        sys.modules.pop("test_billing", None)


@pytest.mark.usefixtures("examples_on_path")
def test_the_billing_config_names_the_check_by_import_path() -> None:
    with ThreadedHttpServer(_answering(200)) as up:
        config = load_config(EXAMPLES / "billing.toml", environ={"BILLING_URL": up.url})
    (check,) = config.checks
    assert type(check).__module__ == "mypkg.billing"
    assert check.url == up.url  # type: ignore[attr-defined]


@pytest.mark.integration
@pytest.mark.usefixtures("examples_on_path")
async def test_the_aws_check_sample_runs_against_dynamodb(emulator: Emulator) -> None:
    orders: ModuleType = importlib.import_module("mypkg.orders")
    table = f"orders-{uuid.uuid4().hex[:8]}"
    emulator.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        present = await run_check(orders.Orders(table=table, endpoint_url=emulator.endpoint))
        absent = await run_check(
            orders.Orders(table="no-such-table", endpoint_url=emulator.endpoint)
        )
    finally:
        emulator.client("dynamodb").delete_table(TableName=table)
    assert present.status is Status.PASS
    assert (absent.status, absent.reason) == (Status.FAIL, "not_found")


@pytest.mark.parametrize("module", ["embedded_fastapi", "embedded_starlette"])
async def test_an_embedded_app_serves_health_beside_its_own_routes(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEP_HEALTH_CONFIG", str(EXAMPLES / "embedded.toml"))
    monkeypatch.setenv("DEEP_HEALTH_DETAILS_TOKEN", TOKEN)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    sys.modules.pop(module, None)
    app = importlib.import_module(module).app
    transport = httpx.ASGITransport(app=app)
    try:
        # The app's own lifespan, as uvicorn runs it: it starts and stops the checks.
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://app") as client,
        ):
            health = await client.get("/health")
            details = await client.get(
                "/health/details", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            own = await client.get("/orders")
    finally:
        sys.modules.pop(module, None)
    assert health.status_code == HTTPStatus.OK
    assert health.headers["content-type"].startswith("application/health+json")
    assert "DEEP-HEALTH-OK" in health.text
    assert details.json()["checks"]["resolver:responseTime"][0]["status"] == "pass"
    assert own.json() == []


def test_parse_config_reads_the_custom_check_sample_text() -> None:
    # The README's TOML for a custom check is this file: its interpolation default is the demo.
    text = (EXAMPLES / "billing.toml").read_text("utf-8")
    assert 'type = "mypkg.billing:Billing"' in text
    with pytest.raises(ConfigError, match="mypkg"):
        parse_config(text, environ={})  # not importable without PYTHONPATH=docs/examples
