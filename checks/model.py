"""``model``: validates golden fixtures against the application's data models, and optionally
verifies the deployed package against a manifest of file hashes.

A pydantic model (``model``, an import path) or a JSON Schema (``json_schema``, a file; needs the
``jsonschema`` package) validates each fixture file; any fixture that is unreadable, not JSON
or invalid fails. The manifest (``{"path": "sha256 hex", ...}``, paths relative to ``root``,
default the manifest's own directory) catches a damaged or partial deploy;
:func:`build_manifest` writes one at build time.

Config::

    [[checks]]
    type = "model"
    name = "account-model"
    model = "myapp.models:Account"                  # or: json_schema = "myapp:schemas/account.json"
    fixtures = ["myapp:health/account.json"]        # files, or "package:relative/path"
    manifest = "myapp:manifest.json"                # optional
    root = "/var/task/myapp"                        # optional: the manifest's directory

Reason codes: ``invalid_fixture`` (unreadable or not JSON), ``invalid`` (fails validation),
``manifest`` (a file is missing or its hash differs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from checks.base import Check, Endpoint, Observations
from checks.exceptions import CheckFailed
from checks.result import Observation
from checks.support import data_path, import_object, load_json

__all__ = ["ModelCheck", "build_manifest"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_manifest(root: Path, files: Iterable[str]) -> dict[str, str]:
    """The manifest of ``files`` (relative to ``root``): path to SHA-256, sorted by path."""
    return {name: _sha256(root / name) for name in sorted(files)}


def _pydantic_validator(path: str) -> Callable[[Any], object]:
    from pydantic import BaseModel

    model = import_object(path)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ValueError(f"{path!r} is not a pydantic model")
    return model.model_validate


def _schema_validator(spec: str) -> Callable[[Any], object]:
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:
        raise ValueError("a JSON Schema needs the jsonschema package") from None
    schema = load_json(spec)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: Callable[[Any], object] = cls(schema).validate
    return validator


class ModelCheck(Check):
    """Validates fixtures against a model or schema; verifies a hash manifest."""

    name = "model"
    timeout = 0.5

    def __init__(
        self,
        *,
        fixtures: list[str],
        model: str | None = None,
        json_schema: str | None = None,
        manifest: str | None = None,
        root: str | None = None,
    ) -> None:
        if (model is None) == (json_schema is None):
            raise ValueError("set exactly one of 'model' and 'json_schema'")
        if not fixtures:
            raise ValueError("'fixtures' must name at least one file")
        self.validate = (
            _schema_validator(json_schema)
            if json_schema is not None
            else _pydantic_validator(str(model))
        )
        self.fixtures = [data_path(spec) for spec in fixtures]
        self.manifest: dict[str, str] = {}
        self.root = Path(root) if root else None
        if manifest is not None:
            loaded = load_json(manifest)
            if not isinstance(loaded, dict) or not loaded:
                raise ValueError(f"{manifest!r} must map file paths to SHA-256 hashes")
            self.manifest = {str(k): str(v) for k, v in loaded.items()}
            self.root = self.root or data_path(manifest).parent

    def run(self) -> Observations:  # plain def: file reads run in a worker thread
        for path in self.fixtures:
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CheckFailed(f"fixture {path.name}: {exc}", reason="invalid_fixture") from None
            try:
                self.validate(document)
            except Exception as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise CheckFailed(f"fixture {path.name}: {first}", reason="invalid") from None
        for name, expected in self.manifest.items():
            assert self.root is not None
            try:
                actual = _sha256(self.root / name)
            except OSError:
                raise CheckFailed(
                    f"{name} is missing from the package", reason="manifest"
                ) from None
            if actual != expected:
                raise CheckFailed(f"{name} differs from the manifest", reason="manifest")
        return {
            "fixtures": Observation(len(self.fixtures), "files"),
            "manifestFiles": Observation(len(self.manifest), "files"),
        }

    def endpoints(self) -> list[Endpoint]:
        """None: it runs the application's code in this process."""
        return []
