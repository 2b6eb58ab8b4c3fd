"""model: the demo application's pydantic model and JSON Schema, fixtures and manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from checks import ConfigError, Status
from checks.model import ModelCheck, build_manifest
from checks.testing import run_check
from service.config import parse_config

DEMO = Path(__file__).parents[2] / "service" / "demo_app"
MODEL = "service.demo_app.models:Account"
SCHEMA = "service.demo_app:fixtures/account.schema.json"
FIXTURES = [
    "service.demo_app:fixtures/account-team.json",
    "service.demo_app:fixtures/account-free.json",
]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of the demo package, to damage."""
    copy = tmp_path / "demo_app"
    shutil.copytree(DEMO, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.mark.parametrize(
    "source", [{"model": MODEL}, {"json_schema": SCHEMA}], ids=["pydantic", "schema"]
)
async def test_demo_fixtures_validate(source: dict[str, str]) -> None:
    result = await run_check(ModelCheck(fixtures=FIXTURES, **source))
    assert result.status is Status.PASS, result.error
    assert result.observations["fixtures"].value == 2


@pytest.mark.parametrize(
    "source", [{"model": MODEL}, {"json_schema": SCHEMA}], ids=["pydantic", "schema"]
)
async def test_truncated_fixture_fails_as_invalid_fixture(
    package: Path, source: dict[str, str]
) -> None:
    fixture = package / "fixtures" / "account-team.json"
    fixture.write_bytes(fixture.read_bytes()[:40])
    result = await run_check(ModelCheck(fixtures=[str(fixture)], **source))
    assert (result.status, result.reason) == (Status.FAIL, "invalid_fixture")


@pytest.mark.parametrize(
    "source", [{"model": MODEL}, {"json_schema": SCHEMA}], ids=["pydantic", "schema"]
)
async def test_fixture_the_model_rejects_fails_as_invalid(
    package: Path, source: dict[str, str]
) -> None:
    fixture = package / "fixtures" / "account-team.json"
    document = json.loads(fixture.read_text(encoding="utf-8"))
    fixture.write_text(json.dumps({**document, "seats": 0}), encoding="utf-8")
    result = await run_check(ModelCheck(fixtures=[str(fixture)], **source))
    assert (result.status, result.reason) == (Status.FAIL, "invalid")
    assert "account-team.json" in (result.error or "")


async def test_intact_package_matches_its_manifest() -> None:
    check = ModelCheck(model=MODEL, fixtures=FIXTURES, manifest="service.demo_app:manifest.json")
    result = await run_check(check)
    assert result.status is Status.PASS, result.error
    assert result.observations["manifestFiles"].value >= 5


@pytest.mark.parametrize("damage", ["edit", "delete"])
async def test_damaged_or_partial_deploy_fails_the_manifest(package: Path, damage: str) -> None:
    target = package / "authz.py"
    if damage == "edit":
        target.write_text(target.read_text(encoding="utf-8") + "\n# tampered\n", encoding="utf-8")
    else:
        target.unlink()
    check = ModelCheck(model=MODEL, fixtures=FIXTURES, manifest=str(package / "manifest.json"))
    result = await run_check(check)
    assert (result.status, result.reason) == (Status.FAIL, "manifest")
    assert "authz.py" in (result.error or "")


def test_build_manifest_round_trips(package: Path) -> None:
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    assert build_manifest(package, manifest) == manifest


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (f'model = "{MODEL}"\njson_schema = "{SCHEMA}"', "exactly one"),
        ('model = "service.demo_app.authz:authorize"', "not a pydantic model"),
        (f'model = "{MODEL}"\nmanifest = "/nonexistent.json"', "cannot read"),
    ],
)
def test_bad_options_are_configuration_errors(options: str, message: str) -> None:
    text = f'[[checks]]\ntype = "model"\nfixtures = ["{FIXTURES[0]}"]\n{options}\n'
    with pytest.raises(ConfigError, match=message):
        parse_config(text)
