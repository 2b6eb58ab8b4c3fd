"""One region's Lambda function: execution environments as processes, with Lambda's model.

Each container is a separate process: the runtime's Python (``python -S``: no site-packages,
so nothing of this checkout leaks in) with ``PYTHONPATH`` the package directory
(``/var/task``) and then the runtime directory (``/var/runtime``: ``awslambdaric``), running
``python -m awslambdaric <Handler>`` against its own :class:`~deploy.twin.runtime_api.RuntimeApi`.
What Lambda does, and this pool does:

- **init once**: the handler module is imported when the process starts (cold start), and an
  on-demand start is caused by the event that waits for it;
- **one invocation at a time**, and a **new container when every one is busy**, up to the
  reserved concurrency; beyond it the invocation is throttled (API Gateway answers 500);
- **frozen between invocations**: ``SIGSTOP`` when the runtime asks for the next event,
  ``SIGCONT`` just before giving it one, so nothing the handler left running runs in between;
- a container idle longer than ``idle_timeout`` is reaped; one whose invocation outruns the
  function's ``Timeout`` is killed (Lambda discards that environment).

``extra_env`` lets a drill give one container more (a clock ``faketime`` shifts, say).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy.twin.runtime_api import Invocation, RuntimeApi

__all__ = ["Container", "FunctionSpec", "LambdaPool", "Throttled"]


class Throttled(Exception):
    """Every container is busy and the reserved concurrency is reached (Lambda's 429)."""


@dataclass(frozen=True)
class FunctionSpec:
    """What the rendered template says of the function, and where its code is.

    Attributes:
        name: the function's name (``AWS_LAMBDA_FUNCTION_NAME``).
        region: its region.
        handler: ``Handler`` (``module.function``).
        package: the code package directory (``/var/task``).
        runtime: the directory holding ``awslambdaric`` (``/var/runtime``).
        python: the interpreter of the runtime.
        environment: ``Environment.Variables`` plus what Lambda itself sets.
        memory: ``MemorySize`` (MB).
        timeout: ``Timeout`` (seconds).
        reserved: ``ReservedConcurrentExecutions`` (0: the account's pool, unbounded here).
    """

    name: str
    region: str
    handler: str
    package: Path
    runtime: Path
    python: str
    environment: Mapping[str, str]
    memory: int = 1024
    timeout: float = 3.0
    reserved: int = 0

    @property
    def arn(self) -> str:
        """The function's ARN (the account is the emulator's)."""
        return f"arn:aws:lambda:{self.region}:123456789012:function:{self.name}:live"

    def process_environment(self, runtime_api: str) -> dict[str, str]:
        """The container's whole environment: nothing of this shell's but ``PATH`` and TZ."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": f"{self.package}:{self.runtime}",
            "PYTHONNOUSERSITE": "1",
            "LAMBDA_TASK_ROOT": str(self.package),
            "LAMBDA_RUNTIME_DIR": str(self.runtime),
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_DEFAULT_REGION": self.region,
            "_HANDLER": self.handler,
            **self.environment,
            "AWS_REGION": self.region,
        }


@dataclass
class Container:
    """One execution environment.

    Attributes:
        number: its order of creation in the pool (1, 2, ...).
        api: its Runtime API.
        process: the runtime's process.
        busy: an invocation is in progress (or init, for the event that caused it).
        frozen: stopped with ``SIGSTOP``.
        last_used: ``time.monotonic()`` at the end of its last invocation.
        invocations: invocations answered.
    """

    number: int
    api: RuntimeApi
    process: subprocess.Popen[bytes] | None = None
    busy: bool = True
    frozen: bool = False
    last_used: float = field(default_factory=time.monotonic)
    invocations: int = 0

    @property
    def alive(self) -> bool:
        """The process still runs."""
        return self.process is not None and self.process.poll() is None

    def freeze(self) -> None:
        """``SIGSTOP``: nothing in the process runs until :meth:`thaw`."""
        if self.alive and not self.frozen:
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGSTOP)
            self.frozen = True

    def thaw(self) -> None:
        """``SIGCONT``."""
        if self.alive and self.frozen:
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGCONT)
        self.frozen = False

    def kill(self) -> None:
        """End the environment (its process, thawed first so it can die, and its API)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
                os.kill(self.process.pid, signal.SIGCONT)
            self.process.wait(timeout=10)
        self.api.close()


class LambdaPool:
    """The function's containers in one region.

    Args:
        spec: the function.
        idle_timeout: seconds an idle container lives before it is reaped.
        log: where container output goes (a file), or None to drop it.
        on_change: called with the number of live containers when it changes.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        idle_timeout: float = 300.0,
        log: Path | None = None,
        on_change: Callable[[int], None] = lambda count: None,
    ) -> None:
        self.spec = spec
        self.idle_timeout = idle_timeout
        self.containers: list[Container] = []
        self.created = 0
        self.throttled = 0
        self.timed_out = 0
        self.init_errors: list[bytes] = []
        self.freezes = 0  # SIGSTOPs sent: the execution model at work
        self.extra_env: dict[str, str] = {}  # applies to the next container created only
        self._log = log
        self._lock = threading.Lock()
        self._on_change = on_change
        self._closed = False

    # -- containers -----------------------------------------------------------------------

    def _start(self) -> Container:
        """A new busy container (the caller gives it the event that caused it)."""
        self.created += 1
        container: Container | None = None

        def idle() -> None:
            assert container is not None
            with self._lock:
                container.freeze()
                self.freezes += 1
                container.busy = False
                container.last_used = time.monotonic()

        container = Container(self.created, RuntimeApi(self.spec.arn, on_idle=idle))
        environment = self.spec.process_environment(container.api.address)
        environment.update(self.extra_env)
        self.extra_env = {}
        output = open(self._log, "ab") if self._log else subprocess.DEVNULL  # noqa: SIM115
        try:
            container.process = subprocess.Popen(
                [self.spec.python, "-S", "-m", "awslambdaric", self.spec.handler],
                cwd=self.spec.package,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        finally:
            if output is not subprocess.DEVNULL:
                output.close()  # type: ignore[union-attr]
        self.containers.append(container)
        return container

    def _acquire(self) -> Container:
        with self._lock:
            if self._closed:
                raise Throttled("the function is gone")
            self._reap()
            for container in self.containers:
                if not container.busy and container.alive:
                    container.busy = True
                    container.thaw()
                    return container
            live = sum(1 for c in self.containers if c.alive)
            if self.spec.reserved and live >= self.spec.reserved:
                self.throttled += 1
                raise Throttled("reserved concurrency reached")
            container = self._start()
        self._on_change(self.size)
        return container

    def _reap(self) -> None:
        """Remove dead containers and those idle past ``idle_timeout`` (lock held)."""
        now = time.monotonic()
        for container in list(self.containers):
            expired = not container.busy and now - container.last_used > self.idle_timeout
            if expired or not container.alive:
                self.containers.remove(container)
                threading.Thread(target=container.kill, daemon=True).start()

    @property
    def size(self) -> int:
        """Live containers."""
        return sum(1 for c in self.containers if c.alive)

    def prewarm(self, count: int, *, wait: float = 60.0) -> None:
        """Start containers until ``count`` are alive, and wait (up to ``wait`` seconds) until
        each has initialised and answered one event: a fleet warmed ahead of demand."""
        started: list[tuple[Container, Invocation]] = []
        with self._lock:
            while sum(1 for c in self.containers if c.alive) < count:
                container = self._start()
                warmup = Invocation(b'{"warmup": true}', self.spec.timeout)
                container.api.assign(warmup)
                started.append((container, warmup))
        self._on_change(self.size)
        give_up = time.monotonic() + wait
        for container, warmup in started:
            warmup.done.wait(max(0.0, give_up - time.monotonic()))
            if container.api.init_error is not None:
                self.init_errors.append(container.api.init_error)

    def invoke(self, event: bytes) -> Invocation:
        """Run one event on a container, as Lambda's invoke does.

        Args:
            event: the event's JSON.

        Returns:
            The finished invocation (``outcome`` ``"timeout"`` when it outran the function's
            ``Timeout``, or its container died).

        Raises:
            Throttled: the reserved concurrency is reached.
        """
        container = self._acquire()
        invocation = Invocation(event, self.spec.timeout)
        container.api.assign(invocation)
        if not invocation.done.wait(self.spec.timeout + (0 if container.invocations else 10)):
            invocation.outcome = "timeout"
        if container.api.init_error is not None:
            self.init_errors.append(container.api.init_error)
        if invocation.outcome in ("timeout", "") or not container.alive:
            self.timed_out += invocation.outcome == "timeout"
            with self._lock:
                if container in self.containers:
                    self.containers.remove(container)
            container.kill()
            self._on_change(self.size)
            if not invocation.outcome:
                invocation.outcome = "timeout"
        else:
            container.invocations += 1
        return invocation

    def reap(self) -> None:
        """Reap idle and dead containers now."""
        with self._lock:
            self._reap()
        self._on_change(self.size)

    def replace_all(self) -> None:
        """Drop every container (a new version deployed: the next events start cold)."""
        with self._lock:
            old, self.containers = self.containers, []
        for container in old:
            container.kill()
        self._on_change(0)

    def close(self) -> None:
        """Kill every container."""
        with self._lock:
            self._closed = True
        self.replace_all()
