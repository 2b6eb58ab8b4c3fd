"""The dependency audit: declared endpoints, global-endpoint warnings, the deps command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from checks import Check, Endpoint, Observations
from checks.dns import DnsCheck
from checks.dynamodb_read import DynamoDBRead
from checks.http import HttpCheck
from checks.peer import PeerCheck
from service.cli.deps import IN_PROCESS, UNDECLARED, add_deps_parser, audit, format_audit, run_deps


class CallsGlobalSts(Check):
    name = "identity"

    async def run(self) -> Observations:
        return None

    def endpoints(self) -> list[Endpoint]:
        return [Endpoint("https://sts.amazonaws.com", region="us-east-1", global_service=True)]


class Undeclared(Check):
    name = "mystery"

    async def run(self) -> Observations:
        return None


def test_regional_check_on_a_global_endpoint_warns() -> None:
    (row,) = audit([CallsGlobalSts()], region="eu-west-1")
    assert row.global_service
    assert row.warning is not None
    assert "global endpoint" in row.warning


def test_global_scope_acknowledges_the_global_dependency() -> None:
    check = CallsGlobalSts()
    check.scope = "global"
    (row,) = audit([check], region="eu-west-1")
    assert row.global_service
    assert row.warning is None


def test_regional_endpoints_in_the_home_region_do_not_warn() -> None:
    checks = [
        DynamoDBRead(table="t", key={"pk": "k"}, region="eu-west-1"),
        DnsCheck(host="dynamodb.eu-west-1.amazonaws.com"),
    ]
    rows = audit(checks, region="eu-west-1")
    assert [(r.url, r.region, r.warning) for r in rows] == [
        ("https://dynamodb.eu-west-1.amazonaws.com", "eu-west-1", None),
        ("dynamodb.eu-west-1.amazonaws.com", "eu-west-1", None),
    ]


def test_regional_check_calling_another_region_warns() -> None:
    (row,) = audit(
        [DynamoDBRead(table="t", key={"pk": "k"}, region="us-east-1")], region="eu-west-1"
    )
    assert row.warning is not None
    assert "us-east-1" in row.warning


def test_peer_in_the_other_region_does_not_warn() -> None:
    (row,) = audit(
        [PeerCheck(url="https://h.example.com/health", region="us-west-2")], region="eu-west-1"
    )
    assert (row.scope, row.region, row.warning) == ("peer", "us-west-2", None)


def test_checks_without_endpoints_are_listed_not_guessed() -> None:
    from checks.authorizer import Authorizer

    authorizer = Authorizer(
        function="service.demo.app.authz:authorize", cases="service.demo.app:golden/authorizer.json"
    )
    rows = audit([Undeclared(), DnsCheck(host="localhost")], region="eu-west-1")
    assert rows[0].url == UNDECLARED
    assert audit([authorizer])[0].url == IN_PROCESS


def test_format_lists_every_endpoint_then_the_warnings() -> None:
    text = format_audit(
        audit([CallsGlobalSts(), HttpCheck(url="https://api.example.com/s")], region="eu-west-1")
    )
    lines = text.splitlines()
    assert lines[0].split() == ["check", "scope", "critical", "region", "global", "endpoint"]
    assert "GLOBAL" in lines[1]
    assert "https://sts.amazonaws.com" in lines[1]
    assert "https://api.example.com/s" in lines[2]
    assert "warnings:" in lines
    assert "identity" in lines[-1]


CONFIG = """
[[checks]]
type = "dns"
name = "ddb-dns"
host = "dynamodb.eu-west-1.amazonaws.com"

[[checks]]
type = "http"
name = "identity"
url = "https://sts.amazonaws.com/"
"""


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_deps_parser(parser.add_subparsers(dest="command"))
    return run_deps(parser.parse_args(argv))


def test_deps_command_prints_json_and_is_strict_on_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep-health.toml"
    path.write_text(CONFIG, encoding="utf-8")
    assert run(["deps", "--config", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["check"], r["global_service"]) for r in rows] == [
        ("ddb-dns", False),
        ("identity", True),
    ]
    assert run(["deps", "--config", str(path), "--strict"]) == 1
    assert "warnings:" in capsys.readouterr().out


def test_deps_command_reports_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[checks]]\ntype = "nope"\n', encoding="utf-8")
    from service.cli.main import main

    assert main(["deps", "--config", str(path)]) == 2  # as `check` does (load_or_exit)
    assert "configuration error" in capsys.readouterr().err
