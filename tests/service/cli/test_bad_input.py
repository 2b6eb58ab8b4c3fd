"""Bad input to any subcommand is one line on stderr and exit 2, never a traceback.

Arguments, environment variables, files that are not UTF-8, and whatever answers a URL that is
not deep-health (HTML, non-JSON) in ``status``.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from service.cli.main import main
from support.httpserver import QuietHandler, ThreadedHttpServer

TOKEN = "bad-input-details-token-0123456789"


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_bad_port_in_the_environment_leaves_version_alone_and_local_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", "abc")
    assert main(["--version"]) == 0
    assert "deep-health" in capsys.readouterr().out
    assert main(["local"]) == 2
    assert "PORT='abc'" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "99999"],
        ["serve", "--port", "0"],
        ["local", "--port", "-1"],
        ["local", "--port", "65535"],
        ["local", "--emulator-port", "70000"],
        ["status", "http://127.0.0.1:1", "http://127.0.0.1:2", "--interval", "0"],
        ["status", "http://127.0.0.1:1", "http://127.0.0.1:2", "--interval", "-1"],
        ["status", "http://127.0.0.1:1", "http://127.0.0.1:2", "--interval", "nan"],
        ["status", "http://127.0.0.1:1", "http://127.0.0.1:2", "--poll-interval", "inf"],
        ["status", "http://[::1", "http://127.0.0.1:2", "--once"],
        ["status", "http://127.0.0.1:99999", "http://127.0.0.1:2", "--once"],
        ["status", "foo", "bar", "--once"],
        ["verify", "--pairs", "deploy/pairs.example.toml", "--endpoint-url", "foo"],
        ["simulate", "--interval", "nan"],
        ["simulate", "--min-hold", "nan"],
        ["simulate", "--primary", "not a url", "--secondary", "http://127.0.0.1:1"],
        ["switch", "hold", "maybe"],
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"deep-health {argv[0]}: ")
    assert "--help" in line  # where to read more, instead of the whole usage


def test_a_non_ascii_token_is_one_line_naming_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEP_HEALTH_DETAILS_TOKEN", "é" * 20)
    with ThreadedHttpServer(QuietHandler) as server:
        assert main(["status", server.url, server.url, "--once"]) == 2
    assert "$DEEP_HEALTH_DETAILS_TOKEN" in one_line(capsys.readouterr().err)


def test_a_config_that_is_not_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[service]\nrelease_id = "caf\u00e9"\n'.encode("latin-1"))
    for argv in (["check"], ["deps"], ["switch", "status"], ["serve"]):
        assert main([*argv, "--config", str(path)]) == 2
        assert "not UTF-8" in one_line(capsys.readouterr().err)


def test_a_pairs_file_that_is_not_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pairs.toml"
    path.write_bytes(b"# \xff\n")
    assert main(["verify", "--pairs", str(path)]) == 2
    assert "not UTF-8" in one_line(capsys.readouterr().err)
    assert main(["status", "--pairs", str(path), "--once"]) == 2
    assert "not UTF-8" in one_line(capsys.readouterr().err)


def test_a_state_table_with_no_region_anywhere_is_one_line_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    path = tmp_path / "health.toml"
    path.write_text(
        '[state]\nstore = "dynamodb"\ntable = "orders-state"\n'
        '[[checks]]\ntype = "support.misbehaving:Passing"\n'
    )
    for argv in (["check"], ["switch", "status"], ["serve"]):
        assert main([*argv, "--config", str(path)]) == 2
        assert "state.region" in one_line(capsys.readouterr().err)


class _NotDeepHealth(QuietHandler):
    """A proxy's HTML page on /health, and JSON that is not a health body on the details."""

    def do_GET(self) -> None:
        if self.path.endswith("/details"):
            body, kind = b'["not", "a", "body"]', "application/json"
        elif "json" in self.path:
            body, kind = b'{"status": {"nested": 1}, "checks": [1, 2]}', "application/json"
        else:
            body, kind = b"<html><body>502 Bad Gateway</body></html>", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _HtmlDetails(QuietHandler):
    def do_GET(self) -> None:
        body = b"<html>login</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize("handler", [_NotDeepHealth, _HtmlDetails])
def test_status_of_something_that_is_not_deep_health_says_so_without_a_traceback(
    handler: type[BaseHTTPRequestHandler],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEEP_HEALTH_DETAILS_TOKEN", TOKEN)
    with ThreadedHttpServer(handler) as server:
        code = main(["status", server.url, f"{server.url}/json/health", "--once"])
    captured = capsys.readouterr()
    assert code == 1  # neither answers a pass: not healthy, but no crash
    assert "Traceback" not in captured.err
    assert "details unreadable (not a health+json body)" in captured.out


def test_every_subcommand_says_what_it_does_in_its_help() -> None:
    import argparse

    from service.cli.main import _parser

    (commands,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [name for name, sub in commands.choices.items() if not sub.description]
    assert missing == []
