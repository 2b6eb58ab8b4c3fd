"""Keep the Lambda package lean: only what the bundled config's checks need.

The build installs the project with every runtime dependency (``pip install --target``);
this step then removes what the function never imports, because on Lambda every megabyte is
unpacked and every imported module is read before the first answer:

- the local server and its helpers (uvicorn, click: Lambda has no HTTP server), and the
  deploy tooling itself;
- the web framework (FastAPI, Starlette and what only they need): the Lambda handler serves
  API Gateway events through :mod:`service.faces.apigw`, never through FastAPI;
- the terminal output (rich and its helpers): only the CLI imports it;
- httpx (and httpcore, h11, anyio) unless an ``http`` or ``peer`` check is configured:
  aiobotocore only uses it when present, and with click and rich installed its import pulls in
  a CLI;
- prometheus-client unless ``metrics = true`` (nothing scrapes a Lambda function);
- the AWS SDK (aioboto3, aiobotocore, botocore, boto3, aiohttp, ...) unless an AWS check is
  configured, and otherwise botocore's service models except those of the configured
  services (botocore ships hundreds of them: most of the package's size).

A check given as ``package.module:Class`` may need anything: with one configured, only the
server and the deploy tooling are removed.

Bytecode: ``/var/task`` is read-only, so Python cannot cache what it compiles there, and
bytecode of another Python version is ignored: without ``.pyc`` files for the runtime's
version, every cold start compiles every imported module again. ``pip`` compiles for the
interpreter that runs it, so when that is not the runtime's Python (3.12), the package is
compiled again with a 3.12 found on this machine (``python3.12`` on ``PATH``, or a pyenv
version; ``--python`` names one), as unchecked-hash ``.pyc`` files (a zip does not keep
source timestamps exactly; the package never changes once built). Bytecode for other
versions is removed; without any 3.12 a warning says so.

Run ``python -m deploy.package build/lambda --config deploy/health.lambda.toml``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RUNTIME_PYTHON",
    "Needs",
    "compile_bytecode",
    "needs",
    "prune",
    "prune_bytecode",
    "runtime_python",
    "size",
]

RUNTIME_PYTHON = "3.12"
"""The function's runtime (``template.yaml``: ``python3.12``)."""

_NEVER = ("uvicorn", "click", "deploy")
# FastAPI's and Starlette's own dependencies go with them; anyio stays while httpx needs it.
_WEB = ("fastapi", "starlette", "mangum", "annotated_doc", "opentelemetry", "opentelemetry_api")
_CLI = ("rich", "pygments", "markdown_it", "markdown_it_py", "mdurl")
_HTTP = ("httpx", "httpcore", "h11", "anyio", "sniffio")
_METRICS = ("prometheus_client",)
_AWS = (
    "aioboto3", "aiobotocore", "botocore", "boto3", "s3transfer", "aiofiles", "aiohttp",
    "aiohappyeyeballs", "aiosignal", "aioitertools", "attr", "attrs", "frozenlist",
    "multidict", "propcache", "yarl", "wrapt", "jmespath", "dateutil", "python_dateutil",
    "urllib3", "six",
)  # fmt: skip
_AWS_SERVICES = {"dynamodb_read": "dynamodb", "sqs": "sqs", "s3_object": "s3"}
_HTTP_CHECKS = frozenset({"http", "peer"})
_BUILTIN_OTHER = frozenset({"authorizer", "model", "dns"})
_BOTOCORE_ALWAYS = frozenset({"sts"})  # credentials may be assumed through STS


@dataclass(frozen=True)
class Needs:
    """What a configuration's checks need at run time.

    Attributes:
        aws_services: botocore service names; empty when no AWS check is configured.
        http: an httpx-based check is configured.
        metrics: ``metrics = true``.
        anything: a custom check is configured: keep every runtime dependency.
    """

    aws_services: frozenset[str]
    http: bool
    metrics: bool
    anything: bool


def needs(config: Path) -> Needs:
    """Read ``config`` (TOML; ``${...}`` values are irrelevant here) for what it needs."""
    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    types = [str(entry.get("type", "")) for entry in raw.get("checks", [])]
    known = set(_AWS_SERVICES) | _HTTP_CHECKS | _BUILTIN_OTHER
    return Needs(
        aws_services=frozenset(_AWS_SERVICES[t] for t in types if t in _AWS_SERVICES),
        http=any(t in _HTTP_CHECKS for t in types),
        metrics=raw.get("service", {}).get("metrics") is True,
        anything=any(t not in known for t in types),
    )


def _remove(target: Path, packages: Iterable[str]) -> None:
    for name in packages:
        for path in (target / name, target / f"{name}.py"):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        normalized = name.replace("_", "-").lower()
        for info in target.glob("*.dist-info"):
            project = info.name.removesuffix(".dist-info").rsplit("-", 1)[0]
            project = project.replace("_", "-").lower()
            if project == normalized:
                shutil.rmtree(info)


def _prune_botocore_data(target: Path, services: frozenset[str]) -> None:
    data = target / "botocore" / "data"
    if not data.is_dir():
        return
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in services | _BOTOCORE_ALWAYS:
            shutil.rmtree(entry)


def prune(target: Path, found: Needs) -> None:
    """Remove from the installed package ``target`` what ``found`` does not need."""
    _remove(target, _NEVER)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: nothing runs them
    if found.anything:
        return
    _remove(target, _WEB + _CLI)
    if not found.http:
        _remove(target, _HTTP)
    if not found.metrics:
        _remove(target, _METRICS)
    if found.aws_services:
        _prune_botocore_data(target, found.aws_services)
    else:
        _remove(target, _AWS)


def prune_bytecode(target: Path, python: str = RUNTIME_PYTHON) -> int:
    """Remove bytecode compiled for another Python than ``python``; return how many files
    of ``python``'s own there are (0: every cold start compiles from source)."""
    tag = f"cpython-{python.replace('.', '')}"
    kept = 0
    for path in target.rglob("*.pyc"):
        if f".{tag}." in path.name:
            kept += 1
        else:
            path.unlink()
    return kept


def _version_of(python: str) -> str | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def runtime_python(python: str = RUNTIME_PYTHON) -> str | None:
    """An interpreter of version ``python`` on this machine, or None.

    This one when it is that version, else ``python3.12`` on ``PATH`` (a pyenv shim there may
    not run), else a pyenv installation of that version.
    """
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == python:
        return sys.executable
    candidates = [shutil.which(f"python{python}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(p) for p in sorted(pyenv.glob(f"{python}*/bin/python{python}"))]
    for candidate in candidates:
        if candidate and _version_of(candidate) == python:
            return candidate
    return None


def compile_bytecode(target: Path, python: str) -> None:
    """Compile every module under ``target`` with the interpreter ``python``, as unchecked-hash
    ``.pyc`` files (valid whatever the sources' timestamps after zipping)."""
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0",
         "--invalidation-mode", "unchecked-hash", str(target)],
        capture_output=True,
        check=False,  # a module that does not compile (a py2 test file) stays source only
        timeout=1800,
    )  # fmt: skip


def size(target: Path) -> int:
    """Bytes of every file under ``target`` (what the zip is made of, uncompressed)."""
    return sum(path.stat().st_size for path in target.rglob("*") if path.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m deploy.package TARGET [--config FILE]``: prune and report the size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("--config", type=Path, help="the bundled engine config")
    parser.add_argument(
        "--python",
        default="auto",
        help=f"the Python {RUNTIME_PYTHON} that compiles the bytecode (default: find one; "
        "'none': do not compile)",
    )
    args = parser.parse_args(argv)
    before = size(args.target)
    found = needs(args.config) if args.config else Needs(frozenset(), True, True, True)
    prune(args.target, found)
    python = runtime_python() if args.python == "auto" else args.python
    if python not in (None, "none"):
        print(f"compiling for Python {RUNTIME_PYTHON} with {python}", file=sys.stderr)
        compile_bytecode(args.target, python)
    if not prune_bytecode(args.target):
        print(
            f"warning: no bytecode for Python {RUNTIME_PYTHON}: install a Python "
            f"{RUNTIME_PYTHON} (or pass --python), or every cold start compiles every module",
            file=sys.stderr,
        )
    after = size(args.target)
    print(f"package: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
