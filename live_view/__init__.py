"""live_view: ``GET /api/view/{tenant}``, the live page (charts of the last two hours, health)."""
from __future__ import annotations

import os

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    from shared.read_side import page

    status, headers, body = page(req.route_params.get("tenant", ""), env=os.environ)
    return func.HttpResponse(body, status_code=status, headers=headers)
