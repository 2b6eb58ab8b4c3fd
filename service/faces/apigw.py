"""API Gateway events in, Lambda proxy responses out: the Lambda transport, framework-free.

It only translates: the request's method, path and headers go to :meth:`Routes.answer
<service.faces.routes.Routes.answer>`, which decides everything, and its
:class:`~service.faces.routes.Answer`
goes back in the shape API Gateway expects. Handled: HTTP API payload v2 (what the template
deploys) and REST API / HTTP API payload v1 proxy events. An event that is neither, or whose
method, path or headers are malformed, gets the small 400 (a hostile event never reaches a
check, and never gets a 500 with text).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from service.faces.routes import Answer, Routes, error
from service.output.renderers import text_media_types

if TYPE_CHECKING:
    from service.listeners.metrics import Metrics

__all__ = ["Request", "parse", "respond", "response"]

logger = logging.getLogger("deep_health.apigw")

_MAX_METHOD = 16
_MAX_PATH = 2048
_MAX_HEADERS = 200
# Media types sent as text: the served formats and error bodies (service.output.renderers says
# which),
# and any text/* (the Prometheus exposition); anything else, or a body that is not UTF-8, goes
# as base64.
_TEXT = ("text/", *text_media_types())


@dataclass(frozen=True, slots=True)
class Request:
    """What :class:`~service.faces.routes.Routes` needs of a request.

    Attributes:
        method: The method, as sent.
        path: The decoded path, without query string.
        headers: Header names lower-cased.
        version2: From an HTTP API payload v2 event (else v1: the response shape differs).
    """

    method: str
    path: str
    headers: dict[str, str]
    version2: bool


def parse(event: object) -> Request | None:
    """The request an API Gateway proxy event carries, or None when it is not a valid one."""
    if not isinstance(event, Mapping) or not isinstance(event.get("requestContext"), Mapping):
        return None
    version2 = event.get("version") == "2.0"
    if version2:
        http = event["requestContext"].get("http")
        if not isinstance(http, Mapping):
            return None
        method, path = http.get("method"), http.get("path")
    else:
        method, path = event.get("httpMethod"), event.get("path")
    # A token of ASCII letters ("".isalpha() is False: an empty method is refused too).
    if not isinstance(method, str) or len(method) > _MAX_METHOD:
        return None
    if not (method.isascii() and method.isalpha()):
        return None
    if not isinstance(path, str) or not path.startswith("/") or len(path) > _MAX_PATH:
        return None
    headers = _headers(event.get("headers"))
    if headers is None:
        return None
    if not version2:
        multi = _headers(event.get("multiValueHeaders"), multi=True)
        if multi is None:
            return None
        headers.update(multi)
    return Request(method, unquote(path), headers, version2)


def _headers(raw: object, *, multi: bool = False) -> dict[str, str] | None:
    """Header names lower-cased, or None when malformed. ``multi``: v1's multiValueHeaders,
    each a list of strings, joined with ", " as HTTP folds repeated headers."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or len(raw) > _MAX_HEADERS:
        return None
    headers: dict[str, str] = {}
    for name, value in raw.items():
        if multi:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return None
            value = ", ".join(value)
        if not isinstance(name, str) or not isinstance(value, str):
            return None
        headers[name.lower()] = value
    return headers


def response(answer: Answer, *, head: bool = False, version2: bool = True) -> dict[str, Any]:
    """The Lambda proxy response for ``answer``; no body for a ``HEAD`` request."""
    headers = {name.lower(): value for name, value in answer.headers}
    if answer.media_type is not None:
        headers["content-type"] = answer.media_type
    body, encoded = _body(b"" if head else answer.body, answer.media_type)
    out: dict[str, Any] = {
        "statusCode": answer.status,
        "headers": headers,
        "body": body,
        "isBase64Encoded": encoded,
    }
    if not version2:
        out["multiValueHeaders"] = {}
    return out


def _body(body: bytes, media_type: str | None) -> tuple[str, bool]:
    if media_type is not None and media_type.startswith(_TEXT):
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), bool(body)


async def respond(
    routes: Routes, event: object, *, metrics: Metrics | None = None
) -> dict[str, Any]:
    """Answer one API Gateway event with ``routes``.

    Args:
        routes: The health routes.
        event: The Lambda event, as received.
        metrics: Prometheus metrics to count the request into (by route template), or None.

    Returns:
        The Lambda proxy response.
    """
    request = parse(event)
    if request is None:
        answer = error(400)
    else:
        try:
            answer = await routes.answer(request.method, request.path, request.headers)
        except Exception as exc:  # the answer must not carry the error's text
            logger.error("request failed: %s", type(exc).__name__)
            answer = error(500)
    if metrics is not None:
        from service.listeners.metrics import UNMATCHED_ROUTE

        metrics.count_request(answer.route or UNMATCHED_ROUTE, answer.status)
    return response(
        answer,
        head=request is not None and request.method == "HEAD",
        version2=request is None or request.version2,
    )
