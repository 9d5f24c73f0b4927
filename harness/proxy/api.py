"""The Toxiproxy 2.12 HTTP API: routes, middleware (request id, browser guard) and handlers."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from harness.proxy.collection import PROXY_FIELDS, PopulateError, ProxyCollection, ProxySpec, populate_specs
from harness.proxy.errors import ApiError
from harness.proxy.http import Request, Response
from harness.proxy.jsonbody import parse_body
from harness.proxy.metrics import ProxyMetrics
from harness.proxy.toxic import toxic_from_body, update_from_body

log = structlog.get_logger("proxy.api")

TOXIPROXY_VERSION = "2.12.0"
HANDLER_TIMEOUT_S = 25.0
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"

Params = dict[str, str]
RouteHandler = Callable[[Request, Params], Awaitable[Response]]


def encode_json(value: Any) -> bytes:
    """Compact JSON with Go's HTML escaping of ``<``, ``>`` and ``&``."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode()


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, encode_json(value), JSON)


def error_response(error: ApiError) -> Response:
    """Go's ``http.Error``: the JSON error object plus a newline, sent as text/plain."""
    return Response(error.status, encode_json(error.as_json()) + b"\n", TEXT,
                    [("X-Content-Type-Options", "nosniff")])


def not_found() -> Response:
    return Response(404, b"404 page not found\n", TEXT, [("X-Content-Type-Options", "nosniff")])


class RequestIds:
    """20-character ids shaped like the xids the real server puts in ``X-Toxiproxy-Request-Id``."""

    def __init__(self) -> None:
        self._machine = os.urandom(3)
        self._pid = (os.getpid() & 0xFFFF).to_bytes(2, "big")
        self._counter = itertools.count(int.from_bytes(os.urandom(3), "big"))

    def next(self) -> str:
        raw = (int(time.time()).to_bytes(4, "big") + self._machine + self._pid
               + (next(self._counter) & 0xFFFFFF).to_bytes(3, "big"))
        return base64.b32hexencode(raw).decode().rstrip("=").lower()


class ToxiproxyApi:
    """Dispatches requests to handlers over a :class:`ProxyCollection`."""

    def __init__(self, proxies: ProxyCollection, metrics: ProxyMetrics | None = None) -> None:
        self.proxies = proxies
        self.metrics = metrics
        self._ids = RequestIds()
        self._lock = asyncio.Lock()
        self._routes: dict[tuple[str, ...], dict[str, RouteHandler]] = {
            ("reset",): {"POST": self.reset},
            ("proxies",): {"GET": self.proxy_index, "POST": self.proxy_create},
            ("populate",): {"POST": self.populate},
            ("proxies", "*"): {"GET": self.proxy_show, "POST": self.proxy_update, "PATCH": self.proxy_update,
                               "DELETE": self.proxy_delete},
            ("proxies", "*", "toxics"): {"GET": self.toxic_index, "POST": self.toxic_create},
            ("proxies", "*", "toxics", "*"): {"GET": self.toxic_show, "POST": self.toxic_update,
                                              "PATCH": self.toxic_update, "DELETE": self.toxic_delete},
            ("version",): {"GET": self.version},
        }
        if metrics is not None:
            self._routes[("metrics",)] = {method: self.metrics_page for method in
                                          ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}

    async def __call__(self, request: Request) -> Response:
        route = self._match(request.path)
        if route is None:
            return not_found()
        pattern, params = route
        handler = self._routes[pattern].get(request.method)
        if handler is None:
            return Response(405)
        response = await self._guarded(handler, request, params)
        response.headers.append(("X-Toxiproxy-Request-Id", self._ids.next()))
        return response

    def _match(self, path: str) -> tuple[tuple[str, ...], Params] | None:
        if not path.startswith("/"):
            return None
        segments = path[1:].split("/")
        for pattern in self._routes:
            if len(pattern) != len(segments):
                continue
            params: Params = {}
            for expected, segment in zip(pattern, segments, strict=True):
                if expected == "*" and segment:
                    params["toxic" if "proxy" in params else "proxy"] = segment
                elif expected != segment:
                    break
            else:
                return pattern, params
        return None

    async def _guarded(self, handler: RouteHandler, request: Request, params: Params) -> Response:
        if request.headers.get("user-agent", "").startswith("Mozilla/"):
            return Response(403, b"User agent not allowed\n", TEXT, [("X-Content-Type-Options", "nosniff")])
        try:
            async with asyncio.timeout(HANDLER_TIMEOUT_S):
                async with self._lock:
                    return await handler(request, params)
        except ApiError as error:
            if error.status >= 500:
                log.warning("api error", method=request.method, path=request.path, error=error.message)
            return error_response(error)
        except TimeoutError:
            return Response(503)

    # --- proxies ----------------------------------------------------------------------------------------

    async def proxy_index(self, _request: Request, _params: Params) -> Response:
        return json_response({name: proxy.as_json() for name, proxy in self.proxies.all().items()})

    async def proxy_create(self, request: Request, _params: Params) -> Response:
        fields = PROXY_FIELDS.decode(parse_body(request.body))
        proxy = await self.proxies.create(ProxySpec.from_fields(fields))
        return json_response(proxy.as_json(), 201)

    async def proxy_show(self, _request: Request, params: Params) -> Response:
        return json_response(self.proxies.get(params["proxy"]).as_json())

    async def proxy_update(self, request: Request, params: Params) -> Response:
        proxy = self.proxies.get(params["proxy"])
        fields = PROXY_FIELDS.decode(parse_body(request.body))
        await proxy.update(fields.get("listen", proxy.listen), fields.get("upstream", proxy.upstream),
                           fields.get("enabled", proxy.enabled))
        return json_response(proxy.as_json())

    async def proxy_delete(self, _request: Request, params: Params) -> Response:
        self.proxies.remove(params["proxy"])
        return Response(204)

    async def populate(self, request: Request, _params: Params) -> Response:
        try:
            created = await self.proxies.populate(populate_specs(parse_body(request.body)))
        except ApiError as error:
            return self._populate_response(error, [])
        except PopulateError as failure:
            return self._populate_response(failure.error, failure.proxies)
        return self._populate_response(None, created)

    @staticmethod
    def _populate_response(error: ApiError | None, proxies: list[Any]) -> Response:
        body: dict[str, Any] = error.as_json() if error is not None else {}
        body["proxies"] = [proxy.as_json() for proxy in proxies] or None
        return json_response(body, error.status if error is not None else 201)

    async def reset(self, _request: Request, _params: Params) -> Response:
        await self.proxies.reset()
        return Response(204)

    # --- toxics -----------------------------------------------------------------------------------------

    async def toxic_index(self, _request: Request, params: Params) -> Response:
        proxy = self.proxies.get(params["proxy"])
        return json_response([toxic.as_json() for toxic in proxy.toxics.ordered()])

    async def toxic_create(self, request: Request, params: Params) -> Response:
        proxy = self.proxies.get(params["proxy"])
        toxic = toxic_from_body(parse_body(request.body), proxy.toxics.names())
        proxy.toxics.add(toxic)
        return json_response(toxic.as_json())

    async def toxic_show(self, _request: Request, params: Params) -> Response:
        proxy = self.proxies.get(params["proxy"])
        return json_response(proxy.toxics.get(params["toxic"]).as_json())

    async def toxic_update(self, request: Request, params: Params) -> Response:
        proxy = self.proxies.get(params["proxy"])
        toxic = proxy.toxics.get(params["toxic"])
        proxy.toxics.update(toxic, update_from_body(toxic, parse_body(request.body)))
        return json_response(toxic.as_json())

    async def toxic_delete(self, _request: Request, params: Params) -> Response:
        self.proxies.get(params["proxy"]).toxics.remove(params["toxic"])
        return Response(204)

    # --- misc -------------------------------------------------------------------------------------------

    async def version(self, _request: Request, _params: Params) -> Response:
        body = f'{{"version": "{TOXIPROXY_VERSION}"}}\n'.encode()
        return Response(200, body, "application/json;charset=utf-8")

    async def metrics_page(self, _request: Request, _params: Params) -> Response:
        assert self.metrics is not None
        return Response(200, self.metrics.render(), self.metrics.content_type)
