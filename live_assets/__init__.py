"""live_assets: ``GET /api/assets/{name}``, the live page's script, style and vendored uPlot
(anonymous: code, no data)."""

from __future__ import annotations

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    from live_assets.serve import asset

    status, headers, body = asset(req.route_params.get("name", ""))
    return func.HttpResponse(body, status_code=status, headers=headers)
