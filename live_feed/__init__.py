"""live_feed: ``GET /api/feed/{tenant}``, a station's live numbers for its page, with the viewer
token of its link (``Authorization: Bearer``); anonymous to the host, checked by the app."""

from __future__ import annotations

import os

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    from shared.read.feed import feed

    status, headers, body = feed(req.route_params.get("tenant", ""), req.params, dict(req.headers), env=os.environ)
    return func.HttpResponse(body, status_code=status, headers=headers)
