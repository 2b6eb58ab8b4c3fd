"""A deployed pair on one machine: build it, run a drill on it, measure what DNS did.

:class:`Twin` builds the artefact (:mod:`deploy.twin.artefact`), starts one moto server, and
per region an AWS front with its fault injectors (:mod:`deploy.twin.aws`) and either the
function behind the HTTP API (``path="lambda"``) or ``serve`` tasks behind the ALB
(``path="tasks"``) (:mod:`deploy.twin.region`); Route 53 polls both (:mod:`deploy.twin.dns`).
:meth:`Twin.run` plays one drill (:mod:`deploy.twin.drills`) and returns its
:class:`~deploy.twin.figures.Outcome`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from deploy.pairs import Pair, PairsFile
from deploy.template import load_template
from deploy.twin.apigw import RouteThrottle
from deploy.twin.artefact import (
    TWIN_DIR,
    Artefact,
    build_artefact,
    environment,
    function_properties,
    function_values,
    resolve,
)
from deploy.twin.aws import AwsFront, provision
from deploy.twin.dns import CHECKERS, Dns, polling
from deploy.twin.drills import Drill
from deploy.twin.figures import Outcome, outcome
from deploy.twin.lambda_pool import FunctionSpec
from deploy.twin.region import (
    FunctionRegion,
    Region,
    TaskRegion,
    install_container,
    twin_environment,
)
from deploy.twin.timescale import Timescale
from deploy.twin.verified import Route53Stacks

__all__ = ["FAKETIME", "Twin", "twin"]

Path_ = Literal["lambda", "tasks"]
TOKEN = "twin-details-token-0123456789abcdef"  # noqa: S105 -- the twin's own, in its SSM
FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
"""libfaketime (Debian's ``libfaketime``): shifts one process's clock for the clock drill."""


class Twin:
    """One pair, deployed on this machine.

    Args:
        pairs: the pairs file.
        pair: the pair.
        path: ``"lambda"`` or ``"tasks"``.
        emulator: the moto server's URL.
        scale: the time factor.
        size: containers kept warm (Lambda) or tasks (container path).
        project_root: the checkout.
        release_id: ``ReleaseId``.
        log: progress lines.
    """

    def __init__(
        self,
        pairs: PairsFile,
        pair: Pair,
        *,
        path: Path_,
        emulator: str,
        scale: Timescale,
        size: int,
        project_root: Path,
        release_id: str = "twin",
        log: Callable[[str], None] = print,
    ) -> None:
        self.pair, self.path, self.scale, self.size = pair, path, scale, size
        self.emulator = emulator
        self.log = log
        default = pairs.config.read_text(encoding="utf-8") if pairs.config else None
        self.artefact: Artefact = build_artefact(pair, default, project_root=project_root, log=log)
        config_path = self.artefact.package / "config" / "health.toml"
        scaled, self.durations = scale.engine_config(self.artefact.config)
        config_path.write_text(scaled, encoding="utf-8")
        self.config_text = scaled
        self._template = load_template(pairs.template)
        self._logs = project_root / TWIN_DIR / "logs"
        self._logs.mkdir(parents=True, exist_ok=True)
        self._skew: dict[str, str] = {}
        self.environments: dict[str, dict[str, str]] = {}
        # The template's own defaults under what deploy passes (as CloudFormation resolves).
        defaults = {
            name: _text(parameter["Default"])
            for name, parameter in self._template.get("Parameters", {}).items()
            if "Default" in parameter
        }
        self.values = {
            s.role: {**defaults, **function_values(pair, s, release_id=release_id)}
            for s in pair.stacks
        }
        if path == "tasks":
            self._container = install_container(
                project_root / TWIN_DIR / "wheel",
                project_root / TWIN_DIR / "container",
                self.artefact.python,
                scaled,
            )
        self.primary = self._region(pair.primary)
        self.secondary = self._region(pair.secondary)
        self.route53 = Route53Stacks(pairs, pair, emulator, release_id)

    # -- building a region ----------------------------------------------------------------

    def _region(self, stack: object) -> Region:
        from deploy.pairs import RegionStack

        assert isinstance(stack, RegionStack)
        values = self.values[stack.role]
        name = "primary" if stack.role == "PRIMARY" else "secondary"
        env = environment(values, stack.region)
        state_table = (
            f"twin-{stack.region}-StateTable" if env.get("DEEP_HEALTH_STATE_TABLE", "") else ""
        )
        if state_table:
            env["DEEP_HEALTH_STATE_TABLE"] = state_table
        port = int(self.emulator.rsplit(":", 1)[1])
        front = AwsFront(port, state_table or None).start()
        provision(
            self.emulator,
            stack.region,
            table=env.get("DEEP_HEALTH_TABLE", "") or None,
            canary_key=env.get("DEEP_HEALTH_CANARY_KEY", "canary"),
            state_table=state_table or None,
            token_parameter=env.get("DEEP_HEALTH_DETAILS_TOKEN_PARAMETER", "") or None,
            token=TOKEN,
        )
        env = twin_environment(env, front)
        self.environments[name] = env
        log = self._logs / f"{self.path}-{name}.log"
        if self.path == "tasks":
            return TaskRegion(
                name, self._container, self.artefact.python, env, front, count=self.size, log=log
            )
        properties = function_properties(self._template)
        reserved = resolve(properties.get("ReservedConcurrentExecutions"), values)
        spec = FunctionSpec(
            name=f"{self.pair.name}-{name}-health",
            region=stack.region,
            handler=str(properties["Handler"]),
            package=self.artefact.package,
            runtime=self.artefact.runtime,
            python=self.artefact.python,
            environment=env,
            memory=int(properties.get("MemorySize", 1024)),
            timeout=float(properties.get("Timeout", 3)),
            reserved=int(reserved or 0),
        )
        api = self._template["Resources"]["HealthApi"]["Properties"]
        default = _throttle(api.get("DefaultRouteSettings", {}), values)
        routes = {k: _throttle(v, values) for k, v in api.get("RouteSettings", {}).items()}
        return FunctionRegion(
            name, spec, front, routes=routes, default=default,
            idle_timeout=self.scale(600.0), log=log,
        )  # fmt: skip

    # -- what drills do -------------------------------------------------------------------

    def switch(self, kind: str, state: str) -> int:
        """``deep-health switch KIND STATE`` as an operator runs it: the function's config and
        environment (so the same table), from this checkout's CLI."""
        script = Path(sys.executable).parent / "deep-health"
        argv = [str(script) if script.exists() else "deep-health", "switch", kind, state,
                "--config", str(self.artefact.package / "config" / "health.toml"),
                "--reason", "twin drill", "--by", "twin"]  # fmt: skip
        env = {**os.environ, **self.environments["primary"]}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        self.log(f"deep-health switch {kind} {state}: exit {done.returncode}")
        if done.returncode:
            self.log(f"  {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        self.switch_exits.append(done.returncode)
        return done.returncode

    switch_exits: list[int]

    def skew_next(self, seconds: float) -> None:
        """The next container or task the primary starts runs with its clock ``seconds`` ahead."""
        if not FAKETIME.exists():
            self.log("libfaketime is not installed: the clock drill runs without a skewed clock")
            return
        extra = {"LD_PRELOAD": str(FAKETIME), "FAKETIME": f"+{int(seconds)}s"}
        if isinstance(self.primary, FunctionRegion):
            self.primary.pool.extra_env = extra
        elif isinstance(self.primary, TaskRegion):
            self.primary.extra_env = extra

    # -- a drill ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to a fresh deploy: faults off, switches and shared state gone, fleets replaced."""
        from deploy.twin.aws import client

        for name, region in (("primary", self.primary), ("secondary", self.secondary)):
            region.front.dependency.clear()
            region.front.store.clear()
            region.front.store_throttled = False
            table = self.environments[name].get("DEEP_HEALTH_STATE_TABLE")
            if table:
                dynamodb = client("dynamodb", self.emulator, self.environments[name]["AWS_REGION"])
                for page in dynamodb.get_paginator("scan").paginate(TableName=table):
                    for item in page["Items"]:
                        key = {k: item[k] for k in ("pk", "sk") if k in item}
                        dynamodb.delete_item(TableName=table, Key=key)
            region.replace()
            region.reset_stats()

    def run(self, drill: Drill, *, progress: Callable[[float], None] | None = None) -> Outcome:
        """Play ``drill`` and measure what DNS did (call :meth:`reset` between drills)."""
        self.switch_exits = []
        for action in drill.prepare:
            action(self)
        if not drill.cold and self.path == "lambda":
            self.primary.scale(self.size)
            self.secondary.scale(self.size)
        settle, incident, after = (
            self.scale(d) for d in (drill.settle, drill.incident, drill.after)
        )
        values = self.values["PRIMARY"]
        dns = Dns(self.primary.url, self.secondary.url, polling(values, self.scale)).start()
        t0 = dns.started
        moved_done = False
        verdict: tuple[str, str] | None = None
        phases = [(settle, "incident", drill.start), (settle + incident, "after", drill.end)]
        total = settle + incident + after
        try:
            while (now := time.monotonic() - t0) < total:
                while phases and now >= phases[0][0]:
                    _, label, actions = phases.pop(0)
                    if label == "after":
                        verdict = self._verify(dns)
                    self.log(f"{now:6.1f}s {label}")
                    for action in actions:
                        action(self)
                if (
                    not moved_done
                    and settle <= now < settle + incident
                    and dns.answer == "secondary"
                ):
                    moved_done = True
                    for action in drill.when_moved:
                        action(self)
                if progress is not None:
                    progress(now / total)
                time.sleep(0.1)  # the drill's own clock ticks; DNS runs in its thread
        finally:
            timeline = dns.stop()
        for region in (self.primary, self.secondary):
            self.log(f"{region.name}: {region.stats()}")
        return outcome(
            drill,
            timeline,
            path=self.path,
            size=self.size,
            scale=self.scale,
            settle=settle,
            incident=incident,
            min_hold=self.durations["min_hold"],
            switch_exits=tuple(self.switch_exits),
            verify=verdict,
            store_calls=self.primary.front.store.requests + self.primary.front.throttled,
            starved=self.secondary.starved,
        )

    def _verify(self, dns: Dns) -> tuple[str, str]:
        """``verify``'s verdict on the twin's Route 53 now, and the twin's DNS answer now."""
        timeline = dns.timeline
        counts = [CHECKERS, CHECKERS]
        for _, endpoint, _, healthy in timeline.samples if timeline is not None else ():
            counts[endpoint] = healthy
        verdict = self.route53.verdict(counts, CHECKERS)
        armed = "ARMED" if verdict.armed else f"NOT ARMED ({'; '.join(verdict.problems)})"
        return f"{armed}, answers {verdict.answer}", dns.answer

    def stop(self) -> None:
        """Stop both regions."""
        for region in (self.primary, self.secondary):
            with contextlib.suppress(Exception):
                region.stop()


def _text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _throttle(settings: dict[str, object], values: dict[str, str]) -> RouteThrottle:
    rate = resolve(settings.get("ThrottlingRateLimit", 10000), values)
    burst = resolve(settings.get("ThrottlingBurstLimit", 5000), values)
    return RouteThrottle(rate=float(rate), burst=int(burst))


@contextlib.contextmanager
def twin(
    pairs: PairsFile,
    pair: Pair,
    *,
    path: Path_,
    scale: Timescale,
    size: int,
    project_root: Path,
    log: Callable[[str], None] = print,
) -> Iterator[Twin]:
    """A twin with its own moto server, stopped (and the server killed) afterwards."""
    from deploy.rehearse import moto_server

    with moto_server() as url:
        built = Twin(
            pairs, pair, path=path, emulator=url, scale=scale, size=size,
            project_root=project_root, log=log,
        )  # fmt: skip
        try:
            yield built
        finally:
            built.stop()
