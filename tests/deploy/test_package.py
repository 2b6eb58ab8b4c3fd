"""deploy.package: the Lambda package keeps what the configured checks import, nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deploy.package import main, needs, prune, prune_bytecode, runtime_python

INSTALLED = [
    "uvicorn/__init__.py", "uvicorn-0.54.0.dist-info/METADATA", "click/__init__.py",
    "h11/__init__.py", "deploy/__init__.py", "bin/uvicorn",
    "httpx/__init__.py", "httpx-0.28.1.dist-info/METADATA", "httpcore/__init__.py",
    "prometheus_client/__init__.py", "prometheus_client-0.26.0.dist-info/METADATA",
    "fastapi/__init__.py", "mangum/__init__.py", "pydantic/__init__.py", "service/__init__.py",
    "checks/__init__.py", "aioboto3/__init__.py", "aiohttp/__init__.py", "six.py",
    "botocore/__init__.py", "botocore/data/endpoints.json",
    "botocore/data/dynamodb/2012-08-10/service-2.json.gz",
    "botocore/data/sqs/2012-11-05/service-2.json.gz",
    "botocore/data/sts/2011-06-15/service-2.json.gz",
    "botocore/data/ec2/2016-11-15/service-2.json.gz",
    "starlette/__init__.py", "starlette-1.10.0.dist-info/METADATA", "annotated_doc/__init__.py",
    "opentelemetry/trace/__init__.py", "opentelemetry_api-1.45.2.dist-info/METADATA",
    "anyio/__init__.py", "rich/__init__.py", "pygments/__init__.py", "markdown_it/__init__.py",
    "mdurl/__init__.py", "pydantic_core/__init__.py", "annotated_types/__init__.py",
    "typing_extensions.py", "typing_inspection/__init__.py",
    "fastapi/__pycache__/applications.cpython-311.pyc",
    "fastapi/__pycache__/routing.cpython-312.pyc",
]  # fmt: skip


@pytest.fixture
def target(tmp_path: Path) -> Path:
    root = tmp_path / "lambda"
    for name in INSTALLED:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    return root


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "health.toml"
    path.write_text("[service]\n" + body)
    return path


def left(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_aws_checks_keep_the_sdk_and_only_their_service_models(
    tmp_path: Path, target: Path
) -> None:
    found = needs(
        config(tmp_path, '[[checks]]\ntype = "dynamodb_read"\n[[checks]]\ntype = "sqs"\n')
    )
    prune(target, found)
    kept = left(target)
    gone = {
        "uvicorn/__init__.py", "click/__init__.py", "h11/__init__.py", "bin/uvicorn",
        "deploy/__init__.py", "httpx/__init__.py", "httpcore/__init__.py",
        "prometheus_client/__init__.py", "botocore/data/ec2/2016-11-15/service-2.json.gz",
        "uvicorn-0.54.0.dist-info/METADATA", "httpx-0.28.1.dist-info/METADATA",
        "anyio/__init__.py",
    }  # fmt: skip
    stays = {
        "aioboto3/__init__.py",
        "botocore/data/endpoints.json", "service/__init__.py", "six.py",
        "botocore/data/dynamodb/2012-08-10/service-2.json.gz",
        "botocore/data/sqs/2012-11-05/service-2.json.gz",
        "botocore/data/sts/2011-06-15/service-2.json.gz",
    }  # fmt: skip
    assert not gone & kept
    assert stays <= kept


# What pydantic needs (the config is validated with it) is never the web framework's to take.
PYDANTIC = {
    "pydantic/__init__.py",
    "pydantic_core/__init__.py",
    "annotated_types/__init__.py",
    "typing_extensions.py",
    "typing_inspection/__init__.py",
}
WEB_AND_CLI = {
    "fastapi/__init__.py", "starlette/__init__.py", "mangum/__init__.py",
    "starlette-1.10.0.dist-info/METADATA", "annotated_doc/__init__.py",
    "opentelemetry/trace/__init__.py", "opentelemetry_api-1.45.2.dist-info/METADATA",
    "rich/__init__.py", "pygments/__init__.py", "markdown_it/__init__.py", "mdurl/__init__.py",
}  # fmt: skip


@pytest.mark.parametrize(
    "checks",
    ['[[checks]]\ntype = "dynamodb_read"\n', '[[checks]]\ntype = "http"\n', ""],
    ids=["aws", "http", "none"],
)
def test_the_web_framework_and_the_terminal_output_go_pydantic_stays(
    tmp_path: Path, target: Path, checks: str
) -> None:
    # The Lambda handler serves API Gateway events through service.faces.apigw, not FastAPI.
    prune(target, needs(config(tmp_path, checks)))
    kept = left(target)
    assert not WEB_AND_CLI & kept
    assert kept >= PYDANTIC


def test_without_an_aws_check_the_sdk_goes_and_http_checks_keep_httpx(
    tmp_path: Path, target: Path
) -> None:
    prune(target, needs(config(tmp_path, 'metrics = true\n[[checks]]\ntype = "http"\n')))
    kept = left(target)
    assert "aioboto3/__init__.py" not in kept
    assert "botocore/__init__.py" not in kept
    assert "six.py" not in kept
    # httpx imports httpcore, which imports h11; httpx needs anyio.
    assert {"httpx/__init__.py", "prometheus_client/__init__.py"} <= kept
    assert {"httpcore/__init__.py", "h11/__init__.py", "anyio/__init__.py"} <= kept


def test_a_custom_check_keeps_every_runtime_dependency(tmp_path: Path, target: Path) -> None:
    prune(target, needs(config(tmp_path, '[[checks]]\ntype = "team.health:Orders"\n')))
    kept = left(target)
    assert "uvicorn/__init__.py" not in kept
    assert {"httpx/__init__.py", "botocore/data/ec2/2016-11-15/service-2.json.gz"} <= kept
    assert {"fastapi/__init__.py", "starlette/__init__.py", "rich/__init__.py"} <= kept


def test_bytecode_of_another_python_is_removed(target: Path) -> None:
    assert prune_bytecode(target, "3.12") == 1
    kept = left(target)
    assert "fastapi/__pycache__/routing.cpython-312.pyc" in kept
    assert "fastapi/__pycache__/applications.cpython-311.pyc" not in kept


def test_the_command_warns_without_bytecode_for_the_runtime(
    tmp_path: Path, target: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (target / "fastapi/__pycache__/routing.cpython-312.pyc").unlink()
    argv = [str(target), "--config", str(config(tmp_path, "")), "--python", "none"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "no bytecode for Python 3.12" in err
    assert "MB ->" in err


def test_the_running_python_is_its_own_runtime_and_a_missing_one_is_none() -> None:
    assert runtime_python(f"{sys.version_info[0]}.{sys.version_info[1]}") == sys.executable
    assert runtime_python("2.1") is None


@pytest.mark.skipif(runtime_python() is None, reason="no Python 3.12 on this machine")
def test_the_command_compiles_unchecked_hash_bytecode_for_the_runtime(
    tmp_path: Path, target: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (target / "service" / "engine.py").write_text("ANSWER = 42\n")
    assert main([str(target), "--config", str(config(tmp_path, ""))]) == 0
    assert "no bytecode" not in capsys.readouterr().err
    pyc = target / "service" / "__pycache__" / "engine.cpython-312.pyc"
    # PEP 552: flags 0b01 = hash-based, source not checked (the zip changes timestamps).
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01
    assert not list(target.rglob("*.cpython-311.pyc"))
