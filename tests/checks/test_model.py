"""model: the demo application's pydantic model and JSON Schema, fixtures and manifest."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
from pydantic import BaseModel, model_validator

from checks import ConfigError, Observation, Status
from checks.model import ModelCheck, build_manifest
from service.config import parse_config
from service.running.testing import run_check

DEMO = Path(__file__).parents[2] / "service" / "demo" / "app"
MODEL = "service.demo.app.models:Account"
SCHEMA = "service.demo.app:fixtures/account.schema.json"
FIXTURES = [
    "service.demo.app:fixtures/account-team.json",
    "service.demo.app:fixtures/account-free.json",
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
    check = ModelCheck(model=MODEL, fixtures=FIXTURES, manifest="service.demo.app:manifest.json")
    result = await run_check(check)
    assert result.status is Status.PASS, result.error
    # Every file the manifest names was hashed, not merely "some".
    assert result.observations["manifestFiles"].value == len(manifest_of(DEMO))


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
        ('model = "service.demo.app.authz:authorize"', "not a pydantic model"),
        (f'model = "{MODEL}"\nmanifest = "/nonexistent.json"', "cannot read"),
    ],
)
def test_bad_options_are_configuration_errors(options: str, message: str) -> None:
    text = f'[[checks]]\ntype = "model"\nfixtures = ["{FIXTURES[0]}"]\n{options}\n'
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


class Refusing(BaseModel):
    """A model whose validation raises an exception with no text at all."""

    @model_validator(mode="before")
    @classmethod
    def refuse(cls, data: object) -> object:
        raise RuntimeError


def manifest_of(package: Path) -> dict[str, str]:
    return dict(json.loads((package / "manifest.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "options",
    [{}, {"model": MODEL, "json_schema": SCHEMA}],
    ids=["neither", "both"],
)
def test_exactly_one_of_model_and_schema(options: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"^set exactly one of 'model' and 'json_schema'$"):
        ModelCheck(fixtures=FIXTURES, **options)


def test_at_least_one_fixture() -> None:
    with pytest.raises(ValueError, match=r"^'fixtures' must name at least one file$"):
        ModelCheck(fixtures=[], model=MODEL)


@pytest.mark.parametrize(
    "model", ["service.demo.app.authz:authorize", "pathlib:Path"], ids=["function", "class"]
)
def test_a_model_must_be_a_pydantic_model(model: str) -> None:
    with pytest.raises(ValueError, match=f"^'{model}' is not a pydantic model$"):
        ModelCheck(fixtures=FIXTURES, model=model)


def test_an_invalid_schema_is_refused_at_start_up(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": 5}), encoding="utf-8")
    with pytest.raises(jsonschema.SchemaError):
        ModelCheck(fixtures=FIXTURES, json_schema=str(schema))


def test_the_schema_is_read_with_its_own_draft(tmp_path: Path) -> None:
    # Draft 4 reads a boolean exclusiveMinimum; later drafts refuse it as a schema.
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "properties": {"seats": {"minimum": 1, "exclusiveMinimum": True}},
            }
        ),
        encoding="utf-8",
    )
    check = ModelCheck(fixtures=FIXTURES, json_schema=str(schema))
    check.validate({"seats": 2})
    with pytest.raises(jsonschema.ValidationError):
        check.validate({"seats": 1})


@pytest.mark.parametrize(
    "content", [[], {}, ["authz.py"], "x"], ids=["list", "empty", "names", "str"]
)
def test_a_manifest_must_map_paths_to_hashes(tmp_path: Path, content: object) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ValueError, match=r"must map file paths to SHA-256 hashes$"):
        ModelCheck(fixtures=FIXTURES, model=MODEL, manifest=str(manifest))


async def test_an_intact_package_reports_what_it_checked() -> None:
    check = ModelCheck(model=MODEL, fixtures=FIXTURES, manifest="service.demo.app:manifest.json")
    result = await run_check(check)
    assert result.status is Status.PASS, result.error
    assert result.observations == {
        "fixtures": Observation(2, "files"),
        "manifestFiles": Observation(len(manifest_of(DEMO)), "files"),
    }
    without = await run_check(ModelCheck(model=MODEL, fixtures=FIXTURES[:1]))
    assert without.observations == {
        "fixtures": Observation(1, "files"),
        "manifestFiles": Observation(0, "files"),
    }


async def test_the_manifest_is_checked_under_its_root(package: Path, tmp_path: Path) -> None:
    # The manifest kept apart from the package: `root` says where the files are; without it
    # they are looked for beside the manifest (where they are not).
    apart = tmp_path / "apart" / "manifest.json"
    apart.parent.mkdir()
    apart.write_text(json.dumps(manifest_of(package)), encoding="utf-8")
    rooted = ModelCheck(model=MODEL, fixtures=FIXTURES, manifest=str(apart), root=str(package))
    assert (await run_check(rooted)).status is Status.PASS
    beside = await run_check(ModelCheck(model=MODEL, fixtures=FIXTURES, manifest=str(apart)))
    assert (beside.status, beside.reason) == (Status.FAIL, "manifest")
    (package / "manifest.json").write_text(json.dumps(manifest_of(package)), encoding="utf-8")
    own = ModelCheck(model=MODEL, fixtures=FIXTURES, manifest=str(package / "manifest.json"))
    assert own.root == package


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        ("edit", "authz.py differs from the manifest"),
        ("delete", "authz.py is missing from the package"),
    ],
)
async def test_the_manifest_failure_says_which_file_and_how(
    package: Path, damage: str, error: str
) -> None:
    target = package / "authz.py"
    if damage == "edit":
        target.write_bytes(target.read_bytes() + b" ")
    else:
        target.unlink()
    check = ModelCheck(model=MODEL, fixtures=FIXTURES, manifest=str(package / "manifest.json"))
    result = await run_check(check)
    assert (result.status, result.reason, result.error) == (
        Status.FAIL,
        "manifest",
        f"CheckFailed: {error}",
    )


async def test_an_invalid_fixture_names_the_file_and_the_first_line_only(package: Path) -> None:
    fixture = package / "fixtures" / "account-team.json"
    document = json.loads(fixture.read_text(encoding="utf-8"))
    fixture.write_text(json.dumps({**document, "seats": 0}), encoding="utf-8")
    result = await run_check(ModelCheck(fixtures=[FIXTURES[1], str(fixture)], model=MODEL))
    assert (result.status, result.reason) == (Status.FAIL, "invalid")
    assert result.error == "CheckFailed: fixture account-team.json: 1 validation error for Account"


async def test_an_exception_without_text_is_named_by_its_type() -> None:
    result = await run_check(ModelCheck(fixtures=FIXTURES, model=f"{__name__}:Refusing"))
    assert (result.status, result.reason) == (Status.FAIL, "invalid")
    assert result.error == "CheckFailed: fixture account-team.json: RuntimeError"


async def test_an_unreadable_fixture_names_the_file(tmp_path: Path) -> None:
    absent = tmp_path / "absent.json"
    result = await run_check(ModelCheck(fixtures=[str(absent)], model=MODEL))
    assert (result.status, result.reason) == (Status.FAIL, "invalid_fixture")
    assert (result.error or "").startswith("CheckFailed: fixture absent.json: [Errno 2]")


def test_build_manifest_is_sorted_by_path(package: Path) -> None:
    names = ["models.py", "authz.py", "fixtures/account-free.json"]
    built = build_manifest(package, names)
    assert list(built) == sorted(names)
    assert built == {name: manifest_of(package)[name] for name in names}


def test_declares_no_network_endpoints() -> None:
    assert ModelCheck(fixtures=FIXTURES, model=MODEL).endpoints() == []


def test_a_schema_without_the_jsonschema_package_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # what an absent package imports as
    with pytest.raises(ValueError, match=r"^a JSON Schema needs the jsonschema package$"):
        ModelCheck(fixtures=FIXTURES, json_schema=SCHEMA)
    assert ModelCheck(fixtures=FIXTURES, model=MODEL).endpoints() == []  # a model needs none
