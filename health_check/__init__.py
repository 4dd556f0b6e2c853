"""health_check: ``GET /api/health``, 200 when every enabled collector is fresh, else 503 (docs/live-api.md)."""

from __future__ import annotations

import os

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    from shared.read.api import health

    status, headers, body = health(env=os.environ)
    return func.HttpResponse(body, status_code=status, headers=headers)
