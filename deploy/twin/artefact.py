"""Build what ``python -m deploy`` ships, for this machine, and read what the template gives it.

The build runs :func:`deploy.plan.build_steps` - the same wheel, the same ``pip install
--target`` with the same pins and ``--only-binary``, the same pruning by
:mod:`deploy.package` - with two substitutions: the directory (``build/twin/lambda`` instead of
``build/lambda``, so a real deploy's package is never overwritten by this machine's) and the
platform (this machine's, e.g. ``manylinux2014_x86_64``, instead of ``manylinux2014_aarch64``:
the shipped wheels cannot run here). The Python version stays the runtime's (3.12) when a 3.12
is on this machine, which then runs the containers too; else this interpreter's, said in
:attr:`Artefact.note`. Then the pair's engine config is bundled by the step
:func:`deploy.plan.bundle_steps` gives (generated, the defaults' or the pair's own).

:func:`function_spec` reads ``Handler``, ``MemorySize``, ``Timeout``, the reserved concurrency
and the HTTP API's throttling from the template, and the function's environment from
:func:`deploy.engine.function_environment` (the template's ``Environment``, kept equal to it by
a test).

The build is cached under ``build/twin``, keyed by the sources that go into the wheel, the
platform and the Python version; the config is bundled afresh every run.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.engine import function_environment
from deploy.package import RUNTIME_PYTHON, runtime_python
from deploy.pairs import Pair, RegionStack
from deploy.plan import BUILD_DIR, CONFIG_IN_PACKAGE, build_steps, bundle_steps, overrides
from deploy.template import Template

__all__ = ["Artefact", "build_artefact", "function_values", "resolve"]

TWIN_DIR = BUILD_DIR / "twin"
_SHIPPED_PLATFORM = "manylinux2014_aarch64"
_SOURCES = ("pyproject.toml", "service", "checks", "deploy/package.py", "deploy/plan.py")


@dataclass(frozen=True)
class Artefact:
    """The built package.

    Attributes:
        package: the code package directory (what the zip holds; ``/var/task``).
        runtime: ``awslambdaric`` and its dependencies (``/var/runtime``).
        python: the interpreter that runs the containers.
        platform: the wheels' platform.
        python_version: the wheels' Python version.
        config: the bundled engine config's text.
        config_source: ``"generated"``, ``"defaults.config"`` or the pair's file.
        note: how this build differs from the shipped one.
    """

    package: Path
    runtime: Path
    python: str
    platform: str
    python_version: str
    config: str
    config_source: str
    note: str


def _machine_platform() -> str:
    machine = platform.machine().lower()
    return f"manylinux2014_{'aarch64' if machine in ('arm64', 'aarch64') else machine}"


def _key(project_root: Path, *parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode())
    for name in _SOURCES:
        root = project_root / name
        files = (
            [root] if root.is_file() else sorted(root.rglob("*.py")) + sorted(root.rglob("*.toml"))
        )
        for path in files:
            if "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(project_root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _substituted(
    argv: tuple[str, ...], target: Path, wheel_dir: Path, plat: str, version: str
) -> list[str]:
    """A build step's argv with this machine's directories and platform."""
    out = []
    for arg in argv:
        arg = arg.replace(str(BUILD_DIR / "lambda"), str(target))
        arg = arg.replace(str(BUILD_DIR / "wheel"), str(wheel_dir))
        out.append(arg)
    for i, arg in enumerate(out):
        if arg == "--platform" and out[i + 1] == _SHIPPED_PLATFORM:
            out[i + 1] = plat
        if arg == "--python-version" and out[i + 1] == RUNTIME_PYTHON:
            out[i + 1] = version
    return out


def build_artefact(
    pair: Pair, default_config: str | None, *, project_root: Path, log: Any = print
) -> Artefact:
    """Build the package as deploy does (cached), then bundle ``pair``'s engine config.

    Args:
        pair: the pair whose function to build.
        default_config: the pairs file's ``[defaults] config`` text, if any.
        project_root: the checkout.
        log: where progress lines go.

    Returns:
        The artefact.

    Raises:
        subprocess.CalledProcessError: a build step failed.
    """
    runtime_interpreter = runtime_python()
    python = runtime_interpreter or sys.executable
    version = RUNTIME_PYTHON if runtime_interpreter else "{}.{}".format(*sys.version_info[:2])
    plat = _machine_platform()
    twin = project_root / TWIN_DIR
    target, wheel_dir, runtime = twin / "lambda", twin / "wheel", twin / "runtime"
    key = _key(project_root, plat, version)
    stamp = twin / "built.key"
    if not (stamp.is_file() and stamp.read_text() == key and target.is_dir()):
        shutil.rmtree(target, ignore_errors=True)
        shutil.rmtree(wheel_dir, ignore_errors=True)
        for step in build_steps(python=sys.executable, project_root=project_root):
            assert step.argv is not None
            argv = _substituted(step.argv, target, wheel_dir, plat, version)
            described = step.description.replace("linux/arm64", "this machine")
            log(f"{described} ({plat}, Python {version})")
            subprocess.run(argv, cwd=project_root, check=True, capture_output=True)
        _install_runtime(runtime, plat, version, project_root)
        stamp.write_text(key)
    (text_step,) = bundle_steps(pair, default_config, project_root=project_root)
    destination = target / CONFIG_IN_PACKAGE
    destination.parent.mkdir(parents=True, exist_ok=True)
    if text_step.write is not None:
        text, _ = text_step.write
        destination.write_text(text, encoding="utf-8")
        source = (
            "generated" if pair.config is None and default_config is None else "defaults.config"
        )
    else:
        assert text_step.copy is not None
        shutil.copyfile(text_step.copy[0], destination)
        source = str(text_step.copy[0])
    note = (
        f"built as `python -m deploy` builds it, for {plat} (the function ships for"
        f" {_SHIPPED_PLATFORM}), Python {version}, same pins"
    )
    if runtime_interpreter is None:
        note += f" (no Python {RUNTIME_PYTHON} here: the runtime's is {RUNTIME_PYTHON})"
    return Artefact(
        package=target,
        runtime=runtime,
        python=python,
        platform=plat,
        python_version=version,
        config=destination.read_text(encoding="utf-8"),
        config_source=source,
        note=note,
    )


def _install_runtime(runtime: Path, plat: str, version: str, project_root: Path) -> None:
    """``awslambdaric`` (the version this environment pins) where the runtime keeps it."""
    shutil.rmtree(runtime, ignore_errors=True)
    pinned = importlib.metadata.version("awslambdaric")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(runtime),
         "--platform", plat, "--implementation", "cp", "--python-version", version,
         "--only-binary=:all:", f"awslambdaric=={pinned}"],
        cwd=project_root, check=True, capture_output=True,
    )  # fmt: skip


def function_values(pair: Pair, stack: RegionStack, *, release_id: str) -> dict[str, str]:
    """The stack's parameter values as ``sam deploy`` passes them (defaults, file, managed)."""
    return {**pair.values(stack), **overrides(pair, stack, release_id=release_id)}


def resolve(node: Any, values: Mapping[str, str]) -> Any:
    """A template value with ``Ref`` to a parameter and ``Fn::If`` on ``Has*`` resolved."""
    if isinstance(node, dict) and set(node) == {"Ref"}:
        name = node["Ref"]
        return None if name == "AWS::NoValue" else values.get(name)
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        condition, yes, no = node["Fn::If"]
        parameter = condition.removeprefix("Has")
        chosen = values.get(parameter, "") not in ("", "0", "false")
        return resolve(yes if chosen else no, values)
    return node


def function_properties(template: Template) -> Mapping[str, Any]:
    """``HealthFunction``'s properties in the template."""
    properties: Mapping[str, Any] = template["Resources"]["HealthFunction"]["Properties"]
    return properties


def environment(values: Mapping[str, str], region: str) -> dict[str, str]:
    """The function's environment in ``region`` (the template's ``Environment``)."""
    return function_environment(values, region)
