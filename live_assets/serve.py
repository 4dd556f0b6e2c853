"""The live page and its static files, served by ``live_view`` and ``live_assets`` (docs/live-api.md).

The files live next to this module (``static/``): the page, its script and style, and the
vendored uPlot (no CDN: the page works with no internet). Static code, no data: anonymous.
"""

from __future__ import annotations

import html
from pathlib import Path

from shared.core.tenants import name_problem

Answer = tuple[int, dict[str, str], bytes]
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {
    "live.js": "text/javascript",
    "live.css": "text/css",
    "uplot.js": "text/javascript",
    "uplot.css": "text/css",
    "uplot-LICENSE.txt": "text/plain",
}
_FILES = {
    "uplot.js": "vendor/uplot-1.6.32/uPlot.iife.min.js",
    "uplot.css": "vendor/uplot-1.6.32/uPlot.min.css",
    "uplot-LICENSE.txt": "vendor/uplot-1.6.32/LICENSE",
}
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def page(tenant: str) -> Answer:
    """``GET /api/view/{tenant}``: the live page, anonymous. It carries no data: its script reads
    ``/api/feed/{tenant}`` with the viewer token from the link's fragment (``#token=…``), which
    browsers never send to a server. The same page for every well-formed name, so the page
    itself tells nobody which tenants exist."""
    problem = name_problem(tenant)
    if problem:
        return (
            400,
            {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
            f"tenant name {problem}".encode("utf-8"),
        )
    template = (STATIC / "live.html").read_text(encoding="utf-8")
    text = template.replace("{{tenant}}", html.escape(tenant, quote=True))
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": PAGE_CSP,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return 200, headers, text.encode("utf-8")


def asset(name: str) -> Answer:
    """``GET /api/assets/{name}``: the page's script, style and the vendored chart library
    (no CDN: the page works with no internet). Static code, no data: anonymous."""
    kind = ASSETS.get(name)
    if kind is None:
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"no such asset"
    data = (STATIC / _FILES.get(name, name)).read_bytes()
    return (
        200,
        {
            "Content-Type": f"{kind}; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
        data,
    )
