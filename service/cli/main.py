"""The ``deep-health`` command: ``serve``, ``check``, ``status``, ``local``, ``deps``,
``simulate``, ``switch``.

Exit codes: 0 healthy (pass or warn), 1 unhealthy, 2 configuration error (141: the reader of
the output went away, as a shell reports for SIGPIPE). Output for people goes through
:mod:`service.cli.terminal` (rich, imported lazily: never on the request path).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from checks.exceptions import ConfigError
from service.cli.common import EXIT_CONFIG, EXIT_HEALTHY, EXIT_UNHEALTHY
from service.cli.common import load_or_exit as _load
from service.config import CONFIG_ENV, Config
from service.engine.report import Report
from service.output.renderers import by_name

__all__ = ["EXIT_CONFIG", "EXIT_HEALTHY", "EXIT_UNHEALTHY", "main"]


_CHECK_CLOSE = 1.0  # seconds `check` gives the checks' stop() hooks after printing

UVICORN_SETTINGS: dict[str, Any] = {
    # h11 even where httptools is installed (uvicorn[standard]): h11 caps a request's head
    # (16 KiB) and refuses a header flood at once, where httptools was seen to leave the
    # connection hanging.
    "http": "h11",
    "access_log": False,
}
"""How ``serve`` runs uvicorn (the benchmarks' baseline uses the same)."""


def _serve(config: Config, host: str, port: int, log_level: str) -> int:
    """Serve with the ``serve`` defaults (:data:`service.entrypoints.ENTRY_POINTS`)."""
    import uvicorn

    from service.compose import compose
    from service.faces.app import create_app
    from service.listeners.logs import configure

    settings = config.settings
    configure(log_level.upper())
    composed = compose(config, "serve")
    metrics = composed.metrics
    if metrics is not None and settings.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, settings.metrics_host, registry=metrics.registry)
    app = create_app(composed.service, metrics=metrics)
    uvicorn.run(app, **UVICORN_SETTINGS, host=host, port=port, log_level=log_level)
    return EXIT_HEALTHY


def _print_report(report: Report) -> None:
    """A rich table wrapped to the terminal's width; plain lines when piped."""
    from service.cli.terminal import console, emit, is_terminal

    if not is_terminal():
        emit(by_name("table").detailed(report).decode())
        return
    from rich.table import Table
    from rich.text import Text

    colours = {"pass": "green", "warn": "yellow", "fail": "red"}
    table = Table(show_lines=False, expand=True)
    for column, options in (
        ("check", {"no_wrap": True}),
        ("status", {"no_wrap": True}),
        ("ms", {"justify": "right", "no_wrap": True}),
        ("reason", {"no_wrap": True}),
        ("error", {"overflow": "fold", "ratio": 1}),
    ):
        table.add_column(column, **options)
    for r in report.evaluation.results:
        colour = colours.get(r.status.value, "")
        table.add_row(
            Text(r.name),
            Text(r.status.value, style=colour),
            f"{r.duration * 1000:.1f}",
            Text(r.reason or ""),
            Text(r.error or ""),  # Text: an error's brackets are not markup
        )
    out = console()
    out.print(table)
    status = report.verdict.status.value
    out.print(Text.assemble("region: ", (status, f"bold {colours.get(status, '')}")))
    for reason in report.verdict.reasons:
        out.print(Text(f"  - {reason}"), overflow="fold")


async def _check_once(config: Config, as_json: bool) -> Report:
    from service.compose import compose

    # One evaluation printed to the terminal: no listeners (no EMF lines in the output).
    service = compose(config, "check").service
    await service.astart()
    try:
        report = await service.report()
        # Printed before closing: a hung check never holds back what the operator reads.
        if as_json:
            from service.cli.terminal import emit

            emit(by_name("health+json").detailed(report).decode())
        else:
            _print_report(report)
        return report
    finally:
        # Briefly: a hung check's thread or blocked loop is a daemon, left to the exit.
        await asyncio.to_thread(service.runner.close, _CHECK_CLOSE)


def _only(config: Config, names: Sequence[str] | None) -> Config:
    """The config with only the named checks (``check --only``); exit 2 for an unknown one."""
    if not names:
        return config
    known = [c.check_name for c in config.checks]
    unknown = [n for n in names if n not in known]
    if unknown:
        import difflib

        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            print(
                f"deep-health: --only {name}: no such check; {hint}configured: {', '.join(known)}",
                file=sys.stderr,
            )
        raise SystemExit(EXIT_CONFIG)
    return replace(config, checks=tuple(c for c in config.checks if c.check_name in names))


def _check(config: Config, as_json: bool) -> int:
    report = asyncio.run(_check_once(config, as_json))
    return EXIT_HEALTHY if report.verdict.healthy else EXIT_UNHEALTHY


def _local(args: argparse.Namespace) -> int:
    from service.demo.local import DEMO_CONFIG, demo_aws, run_seed_hook

    with demo_aws(args.emulator_port) as aws:
        if args.seed:
            run_seed_hook(args.seed, aws)
        path = args.config or os.environ.get(CONFIG_ENV) or str(DEMO_CONFIG)
        config = _load(path)
        token = os.environ["DEEP_HEALTH_DETAILS_TOKEN"]
        base = f"http://{args.host}:{args.port}"
        names = ["DEEP_HEALTH_AWS_ENDPOINT", "DEMO_TABLE", "DEMO_QUEUE_URL", "DEMO_STATE_TABLE"]
        names += ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]  # the emulator's
        demo_env = " ".join(f"{name}={os.environ[name]}" for name in names)
        lines = [
            f"deep-health local: emulated AWS at {aws.endpoint} ({os.environ['AWS_REGION']}),"
            f" config {path}",
            "try:",
            f"  curl -i {base}/health",
            f"  curl -s -H 'Authorization: Bearer {token}' {base}/health/details",
            f"  curl -i {base}/livez",
            f"  curl -s {base}/metrics",
            f"  DEEP_HEALTH_DETAILS_TOKEN={token} deep-health status {base} --once",
            f"  {demo_env} deep-health switch status --config {path}",
            "seed your own tables and queues (another terminal, while this runs):",
            f"  AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo aws --region"
            f" {os.environ['AWS_REGION']} --endpoint-url {aws.endpoint} dynamodb create-table ...",
            "Ctrl-C stops the service and the emulator.",
        ]
        from service.cli.terminal import emit

        emit("\n".join(lines))
        return _serve(config, args.host, args.port, args.log_level)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` after every option's help, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default in ([], ""):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Every (sub)command gets the defaults-showing help formatter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deep-health")
    except PackageNotFoundError:
        return "unknown (not installed)"


_CONFIG_HELP = f"TOML config file (default: ${CONFIG_ENV})"
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deep-health", description="Deep health checks for Route 53 failover.")
    parser.add_argument("--version", action="version", version=f"deep-health {_version()}")
    commands: Any = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="serve /health with uvicorn")
    serve.add_argument("--config", help=_CONFIG_HELP)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind")
    serve.add_argument("--port", type=int, default=8000, help="port to bind")
    serve.add_argument(
        "--log-level", default="info", choices=_LOG_LEVELS, help="JSON log lines at this level"
    )
    check = commands.add_parser("check", help="evaluate once; exit 0 healthy, 1 not, 2 config")
    check.add_argument("--config", help=_CONFIG_HELP)
    check.add_argument("--json", action="store_true", help="print the detailed health+json")
    check.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this check (repeat for several); the verdict covers those alone",
    )
    local = commands.add_parser(
        "local",
        help="the demo, or your config, against an embedded AWS emulator",
        description="Start an AWS emulator on 127.0.0.1 with the demo table and queue, run "
        "--seed to create your own resources, and serve the config with uvicorn.",
    )
    local.add_argument(
        "--config", help=f"TOML config (default: ${CONFIG_ENV}, else the bundled demo)"
    )
    local.add_argument(
        "--seed",
        metavar="MODULE:FUNCTION",
        help="called with the emulator (endpoint, region) before serving, to create your "
        "tables, queues and canary items (the module must be importable)",
    )
    local.add_argument("--host", default="127.0.0.1", help="address to bind")
    local.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port ($PORT)"
    )
    local.add_argument(
        "--emulator-port", type=int, default=0, help="the emulator's port (0: any free one)"
    )
    local.add_argument(
        "--log-level", default="info", choices=_LOG_LEVELS, help="JSON log lines at this level"
    )
    from service.cli.console import add_status_parser
    from service.cli.deps import add_deps_parser
    from service.cli.simulate import add_simulate_parser
    from service.cli.switch import add_switch_parser

    add_status_parser(commands)
    add_deps_parser(commands)
    add_simulate_parser(commands)
    add_switch_parser(commands)
    try:
        from deploy.verify import add_verify_parser
    except ImportError:  # the container image ships without the deploy tooling
        pass
    else:
        add_verify_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, a usage error: argparse has said why
        return exc.code if isinstance(exc.code, int) else EXIT_CONFIG
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            return _serve(_load(args.config), args.host, args.port, args.log_level)
        if args.command == "check":
            return _check(_only(_load(args.config), args.only), args.json)
        if args.command == "local":
            return _local(args)
        if args.command == "status":
            from service.cli.console import run_status

            return run_status(args)
        if args.command == "deps":
            from service.cli.deps import run_deps

            return run_deps(args)
        if args.command == "simulate":
            from service.cli.simulate import run_simulate

            return run_simulate(args)
        if args.command == "switch":
            from service.cli.switch import run_switch

            return run_switch(args)
        if args.command == "verify":
            from deploy.verify import run_verify

            return run_verify(args)
    except ConfigError as exc:  # found after loading, e.g. a switch variable's value
        print(f"deep-health: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_HEALTHY
    except BrokenPipeError:
        # `deep-health deps --json | head`: the reader went away; no traceback about it.
        from service.cli.terminal import EXIT_BROKEN_PIPE, silence_stdout

        silence_stdout()
        return EXIT_BROKEN_PIPE
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)  # says what to fix; returning would swallow it
        return exc.code if isinstance(exc.code, int) else EXIT_CONFIG
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
