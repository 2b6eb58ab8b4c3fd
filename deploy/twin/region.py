"""One twin region, as deployed: its AWS front, and its function behind the HTTP API (Lambda
path) or its ``deep-health serve`` tasks behind the ALB stand-in (container path).

Both take the same inputs: the artefact, the environment the template gives the function in
that region (:func:`deploy.engine.function_environment`), with the state table's name the twin
gave it, ``DEEP_HEALTH_AWS_ENDPOINT`` (the region's :class:`~deploy.twin.aws.AwsFront`) and the
role's credentials, as the only additions.

Container path: the wheel the build made is installed (``pip install --target``, no pruning:
what the Dockerfile's ``pip install .`` gives) and each task runs the ``deep-health`` console
script's function, ``serve`` with the pair's bundled config, on its own port. ``replace`` rolls
the tasks as an ECS deployment does: a new task starts and joins the balancer, then an old one
leaves it and stops.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from deploy.twin.alb import Balancer
from deploy.twin.apigw import HttpApi, RouteThrottle
from deploy.twin.aws import CREDENTIALS, AwsFront
from deploy.twin.lambda_pool import FunctionSpec, LambdaPool
from deploy.twin.net import free_port, wait_for_port

__all__ = ["FunctionRegion", "Region", "TaskRegion", "install_container", "serve_entry"]

ENDPOINT_ENV = "DEEP_HEALTH_AWS_ENDPOINT"


class Region(Protocol):
    """What a drill needs of a region, whichever the path."""

    name: str
    front: AwsFront

    @property
    def url(self) -> str:
        """The region's health URL (what Route 53 polls)."""

    @property
    def size(self) -> int:
        """Containers or tasks alive."""

    def replace(self) -> None:
        """Deploy again: every container / task replaced."""

    def scale(self, count: int) -> None:
        """Bring the fleet to ``count`` (Lambda: warm containers; tasks: running tasks)."""

    def stats(self) -> str:
        """What the region's front door saw, in one line."""

    def reset_stats(self) -> None:
        """Count from zero again (a new drill)."""

    @property
    def starved(self) -> int:
        """Requests the region could not answer for want of CPU (timeouts, unanswered)."""

    def stop(self) -> None:
        """Stop everything of this region."""


def twin_environment(environment: Mapping[str, str], front: AwsFront) -> dict[str, str]:
    """The function's environment plus what the twin adds: the AWS endpoint (the engine's
    variable, and botocore's own for SSM, which the details token is read from), credentials."""
    return {
        **environment,
        **CREDENTIALS,
        ENDPOINT_ENV: front.url,
        "AWS_ENDPOINT_URL_SSM": front.url,
    }


class FunctionRegion:
    """Lambda path: the HTTP API stand-in in front of the container pool.

    Args:
        name: ``"primary"`` or ``"secondary"``.
        spec: the function (its environment already the twin's).
        front: the region's AWS front (started).
        routes: per-route throttling; ``default``: the stage's.
        idle_timeout: seconds before an idle container is reaped.
        log: container output file.
    """

    def __init__(
        self,
        name: str,
        spec: FunctionSpec,
        front: AwsFront,
        *,
        routes: Mapping[str, RouteThrottle],
        default: RouteThrottle,
        idle_timeout: float,
        log: Path | None,
    ) -> None:
        self.name = name
        self.front = front
        self.pool = LambdaPool(spec, idle_timeout=idle_timeout, log=log)
        self.api = HttpApi(self.pool, routes, default).start()

    @property
    def url(self) -> str:
        """``/health`` of the stand-in."""
        return f"{self.api.url}/health"

    @property
    def size(self) -> int:
        """Live containers."""
        return self.pool.size

    def replace(self) -> None:
        """A new version: every container gone, the next events start cold."""
        self.pool.replace_all()

    def scale(self, count: int) -> None:
        """Warm containers until ``count`` are alive (never above reserved concurrency)."""
        reserved = self.pool.spec.reserved
        self.pool.prewarm(min(count, reserved) if reserved else count)

    def stats(self) -> str:
        """Answers by status, containers created, invocations timed out, throttled."""
        pool = self.pool
        return (
            f"HTTP API answers {dict(sorted(self.api.statuses.items()))}, stage throttled"
            f" {self.api.throttled}; containers created {pool.created}, alive {pool.size},"
            f" timed out {pool.timed_out}, Lambda-throttled {pool.throttled},"
            f" freezes {pool.freezes}"
        )

    @property
    def starved(self) -> int:
        """Invocations that outran the function's ``Timeout``."""
        return self.pool.timed_out

    def reset_stats(self) -> None:
        """Count from zero again (a new drill)."""
        self.api.statuses.clear()
        self.api.throttled = 0
        pool = self.pool
        pool.created = pool.timed_out = pool.throttled = pool.freezes = 0

    def stop(self) -> None:
        """Stop the API, then every container."""
        self.api.stop()
        self.pool.close()
        self.front.stop()


def install_container(wheel_dir: Path, target: Path, python: str, config: str) -> Path:
    """The container image's content: the wheel installed with its dependencies, the config.

    Args:
        wheel_dir: where the build put the project's wheel.
        target: the directory to install into (replaced).
        python: the interpreter the tasks run with (its version's wheels are installed).
        config: the engine config text (the pair's bundled one).

    Returns:
        ``target``.
    """
    stamp = target / ".wheel"
    (wheel,) = sorted(wheel_dir.glob("*.whl"))
    marker = f"{wheel.stat().st_mtime_ns}:{python}"
    if not (stamp.is_file() and stamp.read_text() == marker):
        import shutil

        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--target", str(target), str(wheel)],
            check=True,
            capture_output=True,
        )
        stamp.write_text(marker)
    (target / "config").mkdir(exist_ok=True)
    (target / "config" / "health.toml").write_text(config, encoding="utf-8")
    return target


def serve_entry(target: Path) -> tuple[str, str]:
    """The ``deep-health`` console script's ``(module, function)`` in the installed package."""
    for info in target.glob("deep_health-*.dist-info"):
        parser = configparser.ConfigParser()
        parser.read(info / "entry_points.txt")
        module, _, function = parser["console_scripts"]["deep-health"].partition(":")
        return module, function
    raise FileNotFoundError(f"no deep_health dist-info in {target}")


class TaskRegion:
    """Container path: ``count`` ``serve`` tasks behind the ALB stand-in (round robin).

    Args:
        name: ``"primary"`` or ``"secondary"``.
        target: the installed container content (:func:`install_container`).
        python: the interpreter.
        environment: the task's environment (the twin's).
        front: the region's AWS front (started).
        count: tasks.
        log: task output file.
    """

    def __init__(
        self,
        name: str,
        target: Path,
        python: str,
        environment: Mapping[str, str],
        front: AwsFront,
        *,
        count: int,
        log: Path | None,
    ) -> None:
        self.name = name
        self.front = front
        self._target, self._python, self._log = target, python, log
        self._environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(target),
            "PYTHONNOUSERSITE": "1",
            "PYTHONUNBUFFERED": "1",
            **environment,
        }
        self._module, self._function = serve_entry(target)
        self.tasks: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self.replaced = 0
        self.extra_env: dict[str, str] = {}  # applies to the next task started only
        self.balancer = Balancer().start()
        self.balancer.backends = [self._start() for _ in range(count)]

    @property
    def url(self) -> str:
        """``/health`` through the balancer."""
        return f"{self.balancer.url}/health"

    @property
    def size(self) -> int:
        """Running tasks."""
        return sum(1 for p in self.tasks.values() if p.poll() is None)

    def _start(self) -> int:
        port = free_port()
        code = f"import sys; from {self._module} import {self._function} as m; sys.exit(m())"
        env, self.extra_env = {**self._environment, **self.extra_env}, {}
        output = open(self._log, "ab") if self._log else subprocess.DEVNULL  # noqa: SIM115
        try:
            process = subprocess.Popen(
                [self._python, "-S", "-c", code, "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--config", "config/health.toml"],
                cwd=self._target, env=env, stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        finally:
            if output is not subprocess.DEVNULL:
                output.close()  # type: ignore[union-attr]
        wait_for_port(port, timeout=120.0, proc=process)  # a busy host starts slowly
        with self._lock:
            self.tasks[port] = process
        return port

    def _stop(self, port: int) -> None:
        with self._lock:
            process = self.tasks.pop(port)
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def replace(self) -> None:
        """Roll every task: a new one in, then an old one out, one at a time."""
        for old in list(self.balancer.backends):
            new = self._start()
            self.balancer.backends = [*self.balancer.backends, new]
            self.balancer.backends = [p for p in self.balancer.backends if p != old]
            self._stop(old)
            self.replaced += 1

    def scale(self, count: int) -> None:
        """Start tasks until ``count`` run behind the balancer."""
        while len(self.balancer.backends) < count:
            self.balancer.backends = [*self.balancer.backends, self._start()]

    def stats(self) -> str:
        """Requests per task, unanswered, tasks replaced."""
        return (
            f"ALB requests per task {self.balancer.requests}, unanswered"
            f" {self.balancer.unanswered}; tasks replaced {self.replaced}"
        )

    @property
    def starved(self) -> int:
        """Requests no task answered."""
        return self.balancer.unanswered

    def reset_stats(self) -> None:
        """Count from zero again (a new drill)."""
        self.balancer.requests.clear()
        self.balancer.unanswered = self.replaced = 0

    def stop(self) -> None:
        """Stop the balancer, every task and the front."""
        self.balancer.stop()
        for port in list(self.tasks):
            self._stop(port)
        self.front.stop()
