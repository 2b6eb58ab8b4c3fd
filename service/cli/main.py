"""The ``deep-health`` command: ``serve``, ``check``, ``status``, ``local``, ``deps``,
``simulate``, ``switch``.

Exit codes: 0 healthy (pass or warn), 1 unhealthy, 2 bad input (configuration, arguments,
environment: one line on stderr), 130 interrupted (Ctrl-C: the command did not finish), 141 the
reader of the output went away (as a shell reports for SIGPIPE). Output for people goes through
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
from typing import Any, NoReturn

from checks.exceptions import ConfigError
from service.cli.common import (
    EXIT_CONFIG,
    EXIT_HEALTHY,
    EXIT_INTERRUPTED,
    EXIT_UNHEALTHY,
    port,
    port_free,
    port_or_any,
)
from service.cli.common import load_or_exit as _load
from service.config import CONFIG_ENV, Config
from service.engine.report import Report
from service.output.renderers import by_name

__all__ = ["EXIT_CONFIG", "EXIT_HEALTHY", "EXIT_INTERRUPTED", "EXIT_UNHEALTHY", "main"]


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
    try:
        await service.astart()  # inside: a store read interrupted here is closed too
        report = await service.report()
        # Printed before closing: a hung check never holds back what the operator reads.
        if as_json:
            from service.cli.terminal import emit

            emit(by_name("health+json").detailed(report).decode())
        else:
            _print_report(report)
        return report
    finally:
        # The state store's client too (its HTTP session), also when interrupted.
        await service.fleet.close()
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
    from service.config import load_config
    from service.demo.local import (
        DEMO_CONFIG,
        REGION_STATE_TABLES,
        banner,
        demo_aws,
        demo_environment,
        run_seed_hook,
    )

    if args.port == 65535:
        print(
            "deep-health local: --port 65535: the secondary region needs the next port"
            " (see deep-health local --help)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    ports = {"primary": args.port, "secondary": args.port + 1}
    for label, number in ports.items():  # before anything is started or evaluated
        if not port_free(args.host, number):
            hint = f"PORT={number + 10} make run, or --port {number + 10}"
            print(
                f"deep-health local: port {number} on {args.host} (the {label} region) is in "
                f"use, by another deep-health local?: stop it, or use other ports ({hint})",
                file=sys.stderr,
            )
            return EXIT_CONFIG
    with demo_aws(args.emulator_port) as aws:
        if args.seed:
            run_seed_hook(args.seed, aws)
        path = args.config or os.environ.get(CONFIG_ENV) or str(DEMO_CONFIG)
        configs = {}
        for label, table in REGION_STATE_TABLES.items():
            environ = {**os.environ, "DEMO_STATE_TABLE": table}
            try:
                configs[label] = load_config(path, environ=environ)
            except ConfigError as exc:
                from service.cli.common import config_error_text

                print(config_error_text(exc, path), file=sys.stderr)
                return EXIT_CONFIG
        config = configs["primary"]
        from service.cli.terminal import emit

        emit(
            banner(
                endpoint=aws.endpoint,
                region=aws.region,
                config=path,
                urls={label: f"http://{args.host}:{ports[label]}" for label in configs},
                token=config.settings.details_token,
                shared_store=config.state.store != "memory" and config.state.table is not None,
                environment=demo_environment(),
                own_tables=path == str(DEMO_CONFIG),
            )
        )
        return _serve_regions(
            [(configs[label], ports[label]) for label in configs], args.host, args.log_level
        )


def _serve_regions(regions: list[tuple[Config, int]], host: str, log_level: str) -> int:
    """Serve each ``(config, port)`` with uvicorn in this one process (the local demo's pair)."""
    import uvicorn

    from service.compose import compose
    from service.faces.app import create_app
    from service.listeners.logs import configure

    configure(log_level.upper())
    servers = []
    for config, number in regions:
        composed = compose(config, "serve")
        app = create_app(composed.service, metrics=composed.metrics)
        settings = uvicorn.Config(
            app, **UVICORN_SETTINGS, host=host, port=number, log_level=log_level
        )
        servers.append(uvicorn.Server(settings))

    async def serve_all() -> None:
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(serve_all())
    return EXIT_HEALTHY


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` after every option's help, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default in ([], ""):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Every (sub)command gets the defaults-showing help formatter, and a usage error is one
    line (exit 2), pointing at ``--help`` rather than printing the whole usage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print ``prog: message (see prog --help)`` on stderr and exit 2."""
        self.exit(EXIT_CONFIG, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deep-health")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _port_or_env(value: str) -> int:
    """``local --port``, whose default is ``$PORT``: a bad one says where it came from."""
    try:
        return port(value)
    except argparse.ArgumentTypeError:
        if value == os.environ.get("PORT"):
            raise argparse.ArgumentTypeError(
                f"PORT={value!r} in the environment is not a port (1 to 65535)"
            ) from None
        raise


_CONFIG_HELP = f"TOML config file (default: ${CONFIG_ENV})"
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deep-health", description="Deep health checks for Route 53 failover.")
    parser.add_argument("--version", action="version", version=f"deep-health {_version()}")
    commands: Any = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser(
        "serve",
        help="serve /health with uvicorn",
        description="Serve /health, /health/details (with a details token), /livez and "
        "/metrics with uvicorn, evaluating the configured checks in the background. Exit 2 "
        "for bad input (configuration, a port in use), 130 when stopped with Ctrl-C.",
    )
    serve.add_argument("--config", help=_CONFIG_HELP)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind")
    serve.add_argument("--port", type=port, default=8000, help="port to bind")
    serve.add_argument(
        "--log-level", default="info", choices=_LOG_LEVELS, help="JSON log lines at this level"
    )
    check = commands.add_parser(
        "check",
        help="evaluate once; exit 0 healthy, 1 not, 2 config",
        description="Evaluate the configured checks once and print a table (or the detailed "
        "health+json). Exit 0 healthy (pass or warn), 1 unhealthy, 2 bad input, 130 "
        "interrupted.",
    )
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
        "--seed to create your own resources, and serve the config as two regions with "
        "uvicorn: the primary on --port, the secondary on the next port. It prints commands "
        "to paste in another terminal.",
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
        # A string default: argparse converts (and checks) it only when `local` runs, so a
        # bad $PORT is one line from `local`, never a traceback from `--version`.
        "--port",
        type=_port_or_env,
        default=os.environ.get("PORT") or "8000",
        help="port ($PORT)",
    )
    local.add_argument(
        "--emulator-port", type=port_or_any, default=0, help="the emulator's port (0: any free one)"
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
            config = _load(args.config)
            if not port_free(args.host, args.port):  # said before start-up, not after
                print(
                    f"deep-health serve: port {args.port} on {args.host} is in use: stop what "
                    "uses it, or choose another with --port",
                    file=sys.stderr,
                )
                return EXIT_CONFIG
            return _serve(config, args.host, args.port, args.log_level)
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
    except KeyboardInterrupt:  # the command did not finish: never report success
        print("deep-health: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
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
