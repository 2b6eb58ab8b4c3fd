"""deploy/operator-policy.json: every AWS call `deep-health verify` and `deep-health switch`
make, recorded on the wire against moto, is allowed by the policy, on the resource it names;
and the policy allows nothing they do not call.

A recording reverse proxy sits between the commands and moto: each request is named
``service:Operation`` from what goes over HTTP (the SigV4 scope's service, then the JSON
protocol's ``X-Amz-Target``, the query protocol's ``Action``, or the REST path matched
against botocore's own service model), and the resource ARN it acts on is built from the
request (the region from the SigV4 scope, moto's account).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from deploy.pairs import load_pairs
from deploy.rehearse import Rehearsal, moto_server, rehearse
from support.httpserver import QuietHandler, ThreadedHttpServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "pairs.example.toml"
POLICY = ROOT / "deploy" / "operator-policy.json"
ACCOUNT = "123456789012"  # moto's
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


@dataclasses.dataclass(frozen=True)
class Call:
    """One recorded AWS call: ``service:Operation`` and the resource ARN it acts on."""

    action: str
    resource: str


Route = tuple[str, re.Pattern[str], frozenset[str], str]


def _rest_routes(service: str) -> list[Route]:
    """Each operation of a REST service as (method, path pattern, required query, name), from
    botocore's model (``/{Bucket}/{Key+}?x-id=GetObject`` needs ``x-id=GetObject``)."""
    model = botocore.session.get_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        http_spec = model.operation_model(name).http
        path, _, query = http_spec["requestUri"].partition("?")
        pattern = re.sub(r"\\\{[A-Za-z]+\\\+\\\}", "(.+)", re.escape(path))
        pattern = re.sub(r"\\\{[A-Za-z]+\\\}", "([^/]+)", pattern)
        required = frozenset(item for item in query.split("&") if item)
        routes.append((http_spec["method"], re.compile(f"^{pattern}$"), required, name))
    # The most specific first: more required query items, then the longer path pattern.
    return sorted(routes, key=lambda route: (-len(route[2]), -len(route[1].pattern)))


_REST = {service: _rest_routes(service) for service in ("route53", "lambda", "s3")}


def _rest_resource(service: str, region: str, path: str, groups: tuple[str, ...]) -> str:
    if service == "route53":
        return f"arn:aws:route53:::{path.split('/')[2]}/{groups[0] if groups else '*'}"
    if service == "lambda":
        return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{urllib.parse.unquote(groups[0])}"
    return f"arn:aws:s3:::{'/'.join(urllib.parse.unquote(g) for g in groups)}"


def name_call(method: str, path: str, headers: dict[str, str], body: bytes) -> Call:
    """What one request to AWS is, as IAM sees it."""
    scope = _SCOPE.search(headers.get("authorization", ""))
    assert scope is not None, f"unsigned request {method} {path}"
    region, service = scope.group(1), scope.group(2)
    if "x-amz-target" in headers:  # JSON protocol (DynamoDB)
        operation = headers["x-amz-target"].split(".", 1)[1]
        table = json.loads(body or b"{}").get("TableName", "*")
        return Call(f"{service}:{operation}", f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}")
    form = urllib.parse.parse_qs(body.decode()) if body and service != "s3" else {}
    if "Action" in form:  # query protocol (CloudFormation)
        stack = form.get("StackName", ["*"])[0]
        return Call(
            f"{service}:{form['Action'][0]}",
            f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{stack}/*",
        )
    split = urllib.parse.urlsplit(path)
    bare = split.path
    query = {
        item if not value else f"{item}={value[0]}"
        for item, value in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()
    } | set(urllib.parse.parse_qs(split.query, keep_blank_values=True))
    for verb, pattern, required, operation in _REST.get(service, []):
        match = pattern.match(bare)
        if verb == method and match and required <= query:
            return Call(
                f"{service}:{operation}", _rest_resource(service, region, bare, match.groups())
            )
    raise AssertionError(f"cannot name {service} request {method} {path}")


class Recorder:
    """A reverse proxy to moto that names every call it forwards."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                call = name_call(self.command, self.path, headers, body)
                with recorder._lock:
                    recorder.calls.append(call)
                connection = http.client.HTTPConnection(
                    recorder.upstream.hostname or "127.0.0.1", recorder.upstream.port, timeout=30
                )
                try:
                    connection.request(self.command, self.path, body, dict(self.headers.items()))
                    answer = connection.getresponse()
                    payload = answer.read()
                finally:
                    connection.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self.server = ThreadedHttpServer(Handler)


@dataclasses.dataclass(frozen=True)
class Scene:
    moto: str
    recorder: Recorder
    rehearsal: Rehearsal
    pairs: Path
    config: Path


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with moto_server() as url:
        pairs = load_pairs(EXAMPLE)
        api_only = dataclasses.replace(pairs, pairs=pairs.pairs[:1])
        result = rehearse(api_only, endpoint_url=url, release_id="policy", log=lambda _: None)
        here = tmp_path_factory.mktemp("operator")
        path = here / "pairs.toml"
        path.write_text(
            EXAMPLE.read_text(encoding="utf-8").replace(
                "Z0123456789EXAMPLE", result.zones["Z0123456789EXAMPLE"]
            ),
            encoding="utf-8",
        )
        recorder = Recorder(url)
        primary = result.stacks[0]
        config = here / "health.toml"
        config.write_text(
            '[service]\nmarker = "DEEP-HEALTH-OK"\n'
            '[[checks]]\ntype = "peer"\nurl = "https://health-euw1.example.com/health"\n'
            f'[state]\nstore = "dynamodb"\ntable = "{primary.outputs["StateTableName"]}"\n'
            f'region = "{primary.region}"\nendpoint_url = "{recorder.server.url}"\n',
            encoding="utf-8",
        )
        with recorder.server:
            yield Scene(url, recorder, result, path, config)


def deep_health(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def recorded(scene: Scene) -> list[Call]:
    """Every call of verify (armed) and of switch status, hold on, hold off."""
    verified = deep_health(
        "verify", "--pairs", str(scene.pairs), "--pair", "api",
        "--endpoint-url", scene.recorder.server.url,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "failover ARMED" in verified.stdout
    for args in (["status"], ["hold", "on", "--reason", "drill"], ["hold", "off"]):
        switched = deep_health("switch", *args, "--config", str(scene.config))
        assert switched.returncode == 0, switched.stdout + switched.stderr
    return list(scene.recorder.calls)


def load_policy() -> list[dict[str, Any]]:
    document = json.loads(POLICY.read_text(encoding="utf-8"))
    assert document["Version"] == "2012-10-17"
    statements: list[dict[str, Any]] = document["Statement"]
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
    return statements


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def allowed(statements: list[dict[str, Any]], call: Call) -> bool:
    return any(
        any(fnmatch.fnmatchcase(call.action, a) for a in _listed(s["Action"]))
        and any(fnmatch.fnmatchcase(call.resource, r) for r in _listed(s["Resource"]))
        for s in statements
    )


def test_every_call_of_verify_and_switch_is_allowed_on_its_resource(
    recorded: list[Call],
) -> None:
    statements = load_policy()
    denied = sorted({c for c in recorded if not allowed(statements, c)}, key=str)
    assert not denied, denied
    # What was exercised: both commands, every service they touch.
    services = {c.action.split(":")[0] for c in recorded}
    assert services == {"route53", "cloudformation", "dynamodb", "lambda", "s3"}
    assert "dynamodb:PutItem" in {c.action for c in recorded}  # the switch was written


ARC_ONLY = {"route53-recovery-cluster:GetRoutingControlState"}
"""Called by ``verify --arc-endpoint`` only (routing controls' state). moto has no ARC (and
keeps no ``RoutingControlArn`` on a health check), so this one is not recorded on the wire:
:func:`test_verify_calls_only_this_of_arc` pins it to the source instead."""


def test_the_policy_allows_nothing_the_commands_do_not_call(recorded: list[Call]) -> None:
    granted = {a for s in load_policy() for a in _listed(s["Action"])}
    assert all("*" not in action for action in granted), granted
    assert granted == {c.action for c in recorded} | ARC_ONLY


def test_verify_calls_only_this_of_arc() -> None:
    source = (ROOT / "deploy" / "verify.py").read_text(encoding="utf-8")
    called = set(re.findall(r"\barc\.([a-z_]+)\(", source))
    assert called == {"get_routing_control_state"}
    call = Call(
        "route53-recovery-cluster:GetRoutingControlState",
        "arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/def",
    )
    assert allowed(load_policy(), call)


def test_the_policy_grants_no_write_outside_the_state_tables() -> None:
    for statement in load_policy():
        writes = set(_listed(statement["Action"])) & {"dynamodb:PutItem", "dynamodb:UpdateItem"}
        if writes:
            for resource in _listed(statement["Resource"]):
                assert resource.startswith("arn:aws:dynamodb:")
                assert "StateTable" in resource


def test_the_recorder_names_calls_as_iam_does() -> None:
    scope = "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/dynamodb/aws4_request, X=1"
    call = name_call(
        "POST", "/", {"authorization": scope, "x-amz-target": "DynamoDB_20120810.PutItem"},
        b'{"TableName": "t-StateTable-1"}',
    )  # fmt: skip
    assert call == Call(
        "dynamodb:PutItem", f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/t-StateTable-1"
    )
    r53 = scope.replace("eu-west-1/dynamodb", "us-east-1/route53")
    status = name_call("GET", "/2013-04-01/healthcheck/abc/status", {"authorization": r53}, b"")
    assert status == Call("route53:GetHealthCheckStatus", "arn:aws:route53:::healthcheck/abc")
    s3 = scope.replace("eu-west-1/dynamodb", "eu-west-1/s3")
    got = name_call("GET", "/b/k.zip?x-id=GetObject", {"authorization": s3}, b"")
    assert got == Call("s3:GetObject", "arn:aws:s3:::b/k.zip")
    acl = name_call("GET", "/b/k.zip?acl", {"authorization": s3}, b"")
    assert acl.action == "s3:GetObjectAcl"
