"""A local stand-in for the Functions host's HTTP front: routes ``/api/...`` to the HTTP
functions' ``main`` with real ``azure.functions.HttpRequest`` objects, as the host would.

Core Tools cannot run here; this is what ``make run`` serves and what the tests call. Routes
and auth levels come from each ``function.json``: ``authLevel: function`` needs the key as
``?code=`` or ``x-functions-key`` (the host's two ways), ``anonymous`` does not.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlsplit

from shared.core.functions import discover


class HttpHost:
    def __init__(self, *, env: Mapping[str, str] | None = None, key: str | None = None, port: int = 0):
        self.key = key or secrets.token_urlsafe(24)
        self.env = env
        self.routes = []
        for info in discover().values():
            if info.trigger_type != "httpTrigger":
                continue
            pattern = "^/api/" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", info.trigger["route"]) + "$"
            self.routes.append((re.compile(pattern), info, info.trigger.get("authLevel", "function")))
        self._lock = threading.Lock()
        # (path, status) of the latest requests, in order (bounded: `make run` serves for hours)
        self.served: deque[tuple[str, int]] = deque(maxlen=10_000)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.port = self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HttpHost":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        from urllib.parse import unquote

        import azure.functions as func

        parts = urlsplit(target)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        for pattern, info, auth in self.routes:
            match = pattern.match(parts.path)
            if not match:
                continue
            if auth != "anonymous" and not secrets.compare_digest(
                params.get("code", "") or headers.get("x-functions-key", ""), self.key
            ):
                return 401, {}, b""
            route = {k: unquote(v) for k, v in match.groupdict().items()}
            request = func.HttpRequest(
                method, f"{self.url}{target}", headers=dict(headers), params=params, route_params=route, body=b""
            )
            with self._lock:  # the function reads os.environ, as on Azure: these are its app settings
                saved = dict(os.environ)
                if self.env is not None:
                    os.environ.clear()
                    os.environ.update({**saved, **self.env} if "PATH" not in self.env else self.env)
                try:
                    response = info.module().main(request)
                finally:
                    os.environ.clear()
                    os.environ.update(saved)
            return response.status_code, dict(response.headers), response.get_body()
        return 404, {"Content-Type": "application/json"}, json.dumps({"error": "no such function"}).encode()

    def _handler(self) -> Any:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                status, headers, body = host.handle("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                host.served.append((urlsplit(self.path).path, status))
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
