"""live_view: ``GET /api/view/{tenant}``, the live page (anonymous: the page holds no data; its
script reads ``/api/feed/{tenant}`` with the token of the link it was opened with)."""

from __future__ import annotations

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    from live_assets.serve import page

    status, headers, body = page(req.route_params.get("tenant", ""))
    return func.HttpResponse(body, status_code=status, headers=headers)
