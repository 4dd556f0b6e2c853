"""live_api: ``GET /api/live/{tenant}``, a tenant's live series and recent events (docs/live-api.md)."""

from __future__ import annotations

import os

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    from shared.read.api import live

    status, headers, body = live(req.route_params.get("tenant", ""), req.params, env=os.environ)
    return func.HttpResponse(body, status_code=status, headers=headers)
