"""deep-health beside its peers, on identical work, in the same run.

Run: ``python -m bench.peers [--requests 5] [--rounds 3] [--hang-timeout 35]``.

The peers are installed, pinned, into a venv of the bench's own (``build/bench-peers``, made on
first run; not the project's dependencies) and set up as their READMEs show, with their
defaults (see :mod:`bench.peer_apps`): fastapi-health under uvicorn, py-healthcheck on Flask
under gunicorn (one sync worker). deep-health runs ``deep-health serve``, on-request, with the
cache off (``cache_ttl = 0``), as the others have none (py-healthcheck's is set to 0).

Work, the same for all three: K = 1, 5, 20 checks of 100 ms; a check that hangs; a check that
raises an error whose text holds a secret; 50 concurrent requests on one 100 ms check. Every
GET is a new connection, as Route 53's checkers make. Servers are measured in alternating
order, round after round; medians are printed with the ratio to deep-health.

Throughput (cached ``/health``, keep-alive load client of :mod:`bench._load`) is compared with
two bare FastAPI endpoints: on the uvicorn settings ``deep-health serve`` uses (h11, the
asyncio loop), and on uvicorn's defaults (httptools and uvloop, from ``uvicorn[standard]``).
deep-health pins h11 because httptools left a header flood hanging (see the README's Tests).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._common import ROOT, median, table
from bench._load import Request, run_load
from bench._servers import Server, bare, cpu_seconds
from support.net import free_port, wait_for_port

VENV = ROOT / "build" / "bench-peers"
PINS = (
    "fastapi-health==0.4.0",
    "py-healthcheck==1.10.1",
    "flask==3.1.3",
    "gunicorn==27.0.1",
    "fastapi==0.165.0",
    "uvicorn[standard]==0.54.0",
)
TOKEN = "peers-bench-details-token-0123456789"
DELAY = 0.1
PEERS = ("deep-health", "fastapi-health", "py-healthcheck")


def ensure_venv() -> Path:
    """The bench-only venv with the pinned peers; its Python."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".pins"
    if stamp.exists() and stamp.read_text() == "\n".join(PINS):
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PINS], check=True)
    stamp.write_text("\n".join(PINS))
    return python


@dataclass
class Running:
    name: str
    url: str
    pid: int
    log: Path


def _deep_health_config(directory: Path, work: str, k: int, ttl: float = 0.0) -> Path:
    body = {
        "sleep": "".join(
            f'[[checks]]\ntype = "support.misbehaving:Passing"\nname = "c{i}"\ndelay = {DELAY}\n'
            for i in range(k)
        ),
        "hang": '[[checks]]\ntype = "support.misbehaving:Hangs"\n',
        "secret": '[[checks]]\ntype = "bench.peer_checks:RaisesSecret"\n',
    }[work]
    path = directory / f"dh-{work}-{k}-{ttl}.toml"
    path.write_text(
        f'[service]\nmode = "on-request"\ncache_ttl = {ttl}\ndetails_token = "{TOKEN}"\n' + body
    )
    return path


@contextmanager
def start(name: str, python: Path, directory: Path, work: str, k: int) -> Iterator[Running]:
    """One server on 127.0.0.1, its stderr in a file (read for leaked secrets)."""
    port = free_port()
    env = {**os.environ, "PEER_WORK": work, "PEER_K": str(k), "PEER_DELAY": str(DELAY)}
    if name == "deep-health":
        config = _deep_health_config(directory, work, k)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), str(ROOT)])
        argv = [sys.executable, "-m", "service.cli.main", "serve", "--config", str(config),
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    elif name == "fastapi-health":
        argv = [str(python), str(ROOT / "bench" / "peer_apps.py"), "fastapi-health",
                "--port", str(port)]  # fmt: skip
    else:
        env["PYTHONPATH"] = str(ROOT / "bench")
        argv = [str(python.parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                "peer_apps:flask_app()"]  # fmt: skip
    log = directory / f"{name}-{work}-{k}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=sink)
    try:
        wait_for_port(port, proc=process)
        yield Running(name, f"http://127.0.0.1:{port}", process.pid, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _get(url: str, timeout: float) -> tuple[float, str, str]:
    """One GET on a new connection: (seconds, status or what went wrong, body).

    ``http.client``, not httpx: a new httpx client per request costs more than some of the
    servers measured here (it builds a TLS context even for plain HTTP).
    """
    host, port = url.removeprefix("http://").split(":")
    began = time.perf_counter()
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
        return time.perf_counter() - began, str(response.status), body
    except TimeoutError:
        return time.perf_counter() - began, f"no answer in {timeout:g} s", ""
    except (OSError, http.client.HTTPException) as exc:
        return time.perf_counter() - began, f"connection lost ({type(exc).__name__})", ""
    finally:
        connection.close()


def latency(python: Path, directory: Path, requests: int, rounds: int) -> str:
    rows = []
    for k in (1, 5, 20):
        times: dict[str, list[float]] = {name: [] for name in PEERS}
        codes: dict[str, set[str]] = {name: set() for name in PEERS}
        with ExitStack() as stack:
            running = [stack.enter_context(start(n, python, directory, "sleep", k)) for n in PEERS]
            for server in running:
                _get(server.url, 60)  # warm-up
            for round_ in range(rounds):
                for server in running if round_ % 2 == 0 else running[::-1]:
                    for _ in range(requests):
                        took, code, _ = _get(server.url, 60)
                        times[server.name].append(took)
                        codes[server.name].add(code)
        ours = median(times["deep-health"])
        rows.append(
            [str(k)]
            + [f"{median(times[n]) * 1000:.1f} ({','.join(sorted(codes[n]))})" for n in PEERS]
            + [f"{median(times[n]) / ours:.1f}" for n in PEERS[1:]]
        )
    return (
        f"K checks of {DELAY * 1000:.0f} ms: median /health ms (status), new connection per GET, "
        f"{rounds} rounds x {requests} requests in alternating order\n"
        + table(["K", *PEERS, "fastapi-health / deep-health", "py-healthcheck / deep-health"], rows)
    )


def failures(python: Path, directory: Path, hang_timeout: float) -> str:
    rows = []
    for work, label in (("hang", "a check that hangs"), ("secret", "a check leaking a secret")):
        with ExitStack() as stack:
            running = [stack.enter_context(start(n, python, directory, work, 1)) for n in PEERS]

            async def all_at_once(urls: list[str]) -> list[tuple[float, str, str]]:
                return await asyncio.gather(
                    *(asyncio.to_thread(_get, url, hang_timeout) for url in urls)
                )

            answers = asyncio.run(all_at_once([s.url for s in running]))
            time.sleep(0.5)  # let the servers flush their logs before they are read
            for server, (took, code, body) in zip(running, answers, strict=True):
                log = server.log.read_text(errors="replace")
                leak = [
                    where for where, text in (("body", body), ("log", log)) if "hunter2" in text
                ]
                rows.append([label, server.name, code, f"{took:.2f}", ", ".join(leak) or "no"])
    return "Failing dependencies: one request each, the three servers at once\n" + table(
        ["work", "server", "answer", "after s", "secret in"], rows
    )


def _runs(server: Running) -> int:
    if server.name == "deep-health":
        details = httpx.get(
            f"{server.url}/health/details", headers={"Authorization": f"Bearer {TOKEN}"}
        ).json()
        return int(details["evaluation"]["number"])
    return int(httpx.get(f"{server.url}/runs").json()["runs"])


def concurrent(python: Path, directory: Path, rounds: int, clients: int = 50) -> str:
    walls: dict[str, list[float]] = {name: [] for name in PEERS}
    worst: dict[str, list[float]] = {name: [] for name in PEERS}
    work: dict[str, list[int]] = {name: [] for name in PEERS}
    with ExitStack() as stack:
        running = [stack.enter_context(start(n, python, directory, "sleep", 1)) for n in PEERS]
        for round_ in range(rounds):
            for server in running if round_ % 2 == 0 else running[::-1]:
                before = _runs(server)

                # A thread per client, so all 50 are in flight at once (asyncio.to_thread's
                # default pool has only a few workers on 2 cores).
                with ThreadPoolExecutor(max_workers=clients) as pool:
                    began = time.perf_counter()
                    answers = list(pool.map(_get, [server.url] * clients, [60.0] * clients))
                walls[server.name].append(time.perf_counter() - began)
                worst[server.name].append(max(took for took, _, _ in answers))
                # deep-health's count includes the details request that reads it.
                extra = 1 if server.name == "deep-health" else 0
                work[server.name].append(_runs(server) - before - extra)
    rows = [
        [
            name,
            f"{median(walls[name]) * 1000:.0f}",
            f"{median(worst[name]) * 1000:.0f}",
            f"{median(work[name]):g}",
        ]
        for name in PEERS
    ]
    return (
        f"{clients} concurrent requests (new connections), one {DELAY * 1000:.0f} ms check, "
        f"median of {rounds} rounds\n"
        + table(["server", "all answered ms", "slowest ms", "check runs"], rows)
    )


@contextmanager
def _uvicorn_defaults(python: Path) -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen(
        [str(python), str(ROOT / "bench" / "peer_apps.py"), "bare", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc=process)
        yield Server(process.pid, port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def throughput(python: Path, directory: Path, rounds: int, duration: float) -> str:
    from bench._servers import deep_health

    config = _deep_health_config(directory, "sleep", 1, ttl=60)
    starts = {
        "bare FastAPI, uvicorn defaults (httptools, uvloop)": lambda: _uvicorn_defaults(python),
        "bare FastAPI, deep-health's uvicorn settings (h11, asyncio)": bare,
        "deep-health `/health`, cached": lambda: deep_health(config),
    }
    rps: dict[str, list[float]] = {label: [] for label in starts}
    cpu: dict[str, list[float]] = {label: [] for label in starts}
    with ExitStack() as stack:
        servers = {label: stack.enter_context(run()) for label, run in starts.items()}
        for server in servers.values():
            run_load(server.port, [Request("/health")], connections=8, duration=1.0)
        labels = list(servers)
        for round_ in range(rounds):
            for label in labels if round_ % 2 == 0 else labels[::-1]:
                server = servers[label]
                before = cpu_seconds(server.pid)
                result = run_load(
                    server.port, [Request("/health")], connections=8, duration=duration
                )
                rps[label].append(result.rps)
                cpu[label].append((cpu_seconds(server.pid) - before) / result.requests)
    ours = "deep-health `/health`, cached"
    rows = [
        [
            label,
            f"{median(rps[label]):,.0f}",
            f"{median(cpu[label]) * 1e6:.0f}",
            # Per round, then the median: both ran within seconds of each other.
            f"{median([a / b for a, b in zip(rps[ours], rps[label], strict=True)]):.2f}",
            f"{median(cpu[label]) / median(cpu[ours]):.2f}",
        ]
        for label in starts
    ]
    return (
        f"Throughput: 8 keep-alive connections, {duration:g} s runs, median of {rounds} rounds "
        "in alternating order\n"
        + table(
            [
                "server",
                "requests/s",
                "server CPU µs/req",
                "deep-health ÷ this, requests/s",
                "deep-health ÷ this, by CPU per request",
            ],
            rows,
        )
        + "\ndeep-health serves with h11: with httptools, a header flood left uvicorn hanging "
        "(tests/service/test_hardening.py proves serve keeps h11)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5, help="GETs per server per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hang-timeout", type=float, default=35.0)
    parser.add_argument("--duration", type=float, default=3.0, help="throughput run seconds")
    parser.add_argument(
        "--only", choices=["latency", "failures", "concurrent", "throughput"], default=None
    )
    args = parser.parse_args()
    python = ensure_venv()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sections = {
            "latency": lambda: latency(python, directory, args.requests, args.rounds),
            "failures": lambda: failures(python, directory, args.hang_timeout),
            "concurrent": lambda: concurrent(python, directory, args.rounds),
            "throughput": lambda: throughput(python, directory, args.rounds, args.duration),
        }
        for name, run in sections.items():
            if args.only in (None, name):
                print(run(), end="\n\n", flush=True)
    print(
        f"Conditions: {os.cpu_count()} cores shared, load average {load:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end"
    )


if __name__ == "__main__":
    main()
