"""The peers' apps for ``bench.peers``, run by the bench-only venv's Python (not the project's).

Each is set up the way the peer's README shows, with its defaults, on the same work:

- ``fastapi-health``: ``health([conditions...])`` as a FastAPI route, served by uvicorn with its
  defaults (``python bench/peer_apps.py fastapi-health --port P``);
- ``py-healthcheck``: ``HealthCheck`` with checkers on a Flask route, served by gunicorn with
  its defaults (one sync worker, 30 s worker timeout):
  ``gunicorn 'peer_apps:flask_app()'`` with this directory on the path;
- ``bare``: a FastAPI route returning a constant, under uvicorn's defaults (httptools and
  uvloop when installed, as ``uvicorn[standard]`` installs them): a throughput baseline.

The work comes from the environment: ``PEER_WORK`` is ``sleep`` (``PEER_K`` checks of
``PEER_DELAY`` seconds each), ``hang`` (one check that never returns) or ``secret`` (one
check raising an error whose text holds a secret). ``/runs`` answers how many check runs
have started, so a bench can count the work behind concurrent requests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

SECRET = "password=hunter2-bench-secret arn:aws:iam::123456789012:role/orders-db"
RUNS = {"count": 0}


def _work() -> tuple[str, int, float]:
    return (
        os.environ.get("PEER_WORK", "sleep"),
        int(os.environ.get("PEER_K", "1")),
        float(os.environ.get("PEER_DELAY", "0.1")),
    )


def fastapi_health_app() -> Any:
    from fastapi import FastAPI
    from fastapi_health import health

    work, k, delay = _work()
    conditions = []
    for index in range(k if work == "sleep" else 1):

        async def condition() -> bool:
            RUNS["count"] += 1
            if work == "hang":
                await asyncio.Event().wait()
            if work == "secret":
                raise ConnectionError(f"cannot connect: {SECRET}")
            await asyncio.sleep(delay)
            return True

        condition.__name__ = f"check_{index}"
        conditions.append(condition)
    app = FastAPI()
    app.add_api_route("/health", health(conditions))

    @app.get("/runs")
    async def runs() -> dict[str, int]:
        return {"runs": RUNS["count"]}

    return app


def flask_app() -> Any:
    from flask import Flask
    from healthcheck import HealthCheck

    work, k, delay = _work()
    # success_ttl / failed_ttl 0: evaluate on every request, like the others here (the
    # defaults cache a success for 27 s and a failure for 9 s).
    checker = HealthCheck(success_ttl=0, failed_ttl=0)
    for index in range(k if work == "sleep" else 1):

        def check() -> tuple[bool, str]:
            RUNS["count"] += 1
            if work == "hang":
                time.sleep(3600)
            if work == "secret":
                raise ConnectionError(f"cannot connect: {SECRET}")
            time.sleep(delay)
            return True, "ok"

        check.__name__ = f"check_{index}"
        checker.add_check(check)
    app = Flask(__name__)
    app.add_url_rule("/health", "health", view_func=lambda: checker.run())
    app.add_url_rule("/runs", "runs", view_func=lambda: {"runs": RUNS["count"]})
    return app


def bare_app() -> Any:
    from fastapi import FastAPI
    from starlette.responses import Response

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health", response_class=Response)
    async def health() -> Response:
        return Response(b'{"status":"pass"}', media_type="application/json")

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", choices=["fastapi-health", "bare"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = fastapi_health_app() if args.app == "fastapi-health" else bare_app()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
