"""The ``deep-health`` command: ``serve``, ``check``, ``local``, ``deps``, ``simulate``.

Exit codes: 0 healthy (pass or warn), 1 unhealthy, 2 configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from checks.exceptions import ConfigError
from service.config import Config, load_config
from service.health import HealthService
from service.renderers import by_name
from service.report import Report

__all__ = ["EXIT_CONFIG", "EXIT_HEALTHY", "EXIT_UNHEALTHY", "main"]

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1
EXIT_CONFIG = 2

UVICORN_SETTINGS: dict[str, Any] = {
    # h11 even where httptools is installed (uvicorn[standard]): h11 caps a request's head
    # (16 KiB) and refuses a header flood at once, where httptools was seen to leave the
    # connection hanging.
    "http": "h11",
    "access_log": False,
}
"""How ``serve`` runs uvicorn (the benchmarks' baseline uses the same)."""


def _load(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"deep-health: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _serve(config: Config, host: str, port: int, log_level: str) -> int:
    """Serve with the ``serve`` defaults (:data:`service.entrypoints.ENTRY_POINTS`)."""
    import uvicorn

    from service.app import create_app
    from service.compose import compose
    from service.logs import configure

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


async def _check_once(config: Config) -> Report:
    # One evaluation printed to the terminal: no listeners (no EMF lines in the output).
    service = HealthService(config)
    await service.astart()
    try:
        return await service.report()
    finally:
        await service.aclose()


def _check(config: Config, as_json: bool) -> int:
    report = asyncio.run(_check_once(config))
    print(by_name("health+json" if as_json else "table").detailed(report).decode())
    return EXIT_HEALTHY if report.verdict.healthy else EXIT_UNHEALTHY


def _local(host: str, port: int, emulator_port: int) -> int:
    from service.config import CONFIG_ENV
    from service.local import DEMO_CONFIG, demo_aws

    with demo_aws(emulator_port) as aws:
        path = os.environ.get(CONFIG_ENV) or str(DEMO_CONFIG)
        config = _load(path)
        token = os.environ["DEEP_HEALTH_DETAILS_TOKEN"]
        base = f"http://{host}:{port}"
        print(f"deep-health demo: emulated AWS at {aws.endpoint}, config {path}")
        print("try:")
        print(f"  curl -i {base}/health")
        print(f"  curl -s -H 'Authorization: Bearer {token}' {base}/health/details")
        print(f"  curl -i {base}/livez")
        print(f"  curl -s {base}/metrics")
        print("Ctrl-C stops the service and the emulator.", flush=True)
        return _serve(config, host, port, "warning")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deep-health", description="Deep health checks for Route 53 failover."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve /health with uvicorn")
    serve.add_argument("--config", help="TOML config (default: $DEEP_HEALTH_CONFIG)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    check = commands.add_parser("check", help="evaluate once; exit 0 healthy, 1 not, 2 config")
    check.add_argument("--config", help="TOML config (default: $DEEP_HEALTH_CONFIG)")
    check.add_argument("--json", action="store_true", help="print the detailed health+json")
    local = commands.add_parser("local", help="the demo: embedded AWS emulator + demo checks")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    local.add_argument("--emulator-port", type=int, default=0)
    from service.deps import add_deps_parser
    from service.simulation.cli import add_simulate_parser

    add_deps_parser(commands)
    add_simulate_parser(commands)
    try:
        from deploy.verify import add_verify_parser
    except ImportError:  # the container image ships without the deploy tooling
        pass
    else:
        add_verify_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            return _serve(_load(args.config), args.host, args.port, args.log_level)
        if args.command == "check":
            return _check(_load(args.config), args.json)
        if args.command == "local":
            return _local(args.host, args.port, args.emulator_port)
        if args.command == "deps":
            from service.deps import run_deps

            return run_deps(args)
        if args.command == "simulate":
            from service.simulation.cli import run_simulate

            return run_simulate(args)
        if args.command == "verify":
            from deploy.verify import run_verify

            return run_verify(args)
    except KeyboardInterrupt:
        return EXIT_HEALTHY
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_CONFIG
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
