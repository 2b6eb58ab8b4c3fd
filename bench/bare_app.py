"""The throughput baseline: one FastAPI route returning a constant small JSON.

Served exactly as ``deep-health serve`` serves its app: ``uvicorn.run`` with
``service.cli.main.UVICORN_SETTINGS``, log level ``warning``, on 127.0.0.1. Run
``python -m bench.bare_app --port P``; it stops on SIGTERM like uvicorn does.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from starlette.responses import Response

from service.cli.main import UVICORN_SETTINGS

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/health", response_class=Response)
async def health() -> Response:
    return Response(b'{"status":"pass"}', media_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, **UVICORN_SETTINGS, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
