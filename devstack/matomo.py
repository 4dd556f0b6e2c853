"""A stand-in that answers like Matomo's HTTP API for Live.getCounters and API.getBulkRequest.

Behaviour as Matomo 5 documents and implements it: POST form parameters, ``token_auth``
accepted only from the body (a token in the query string is refused as insecure), errors as
``{"result": "error", "message": ...}`` with HTTP 200, 401 for a wrong token, counts as strings.
PHP reads at most ``max_input_vars`` (1,000 by default) form fields of a request and drops the
rest with only a warning in its log, so a bulk request with too many ``urls[i]`` gets a short
answer: the stand-in does the same.
"""

from __future__ import annotations

import json
from typing import Callable, Mapping
from urllib.parse import parse_qsl

from werkzeug import Request, Response

MAX_INPUT_VARS = 1000  # PHP's default


def matomo_handler(
    sites: Mapping[int, Mapping[int, dict]],
    *,
    token: str,
    seen: list | None = None,
    max_input_vars: int = MAX_INPUT_VARS,
    broken_sites: frozenset[int] = frozenset(),
) -> Callable[[Request], Response]:
    """``sites[id][lastMinutes]`` gives ``{"visits", "visitors", "actions"}`` for that window;
    a bulk request naming one of ``broken_sites`` is answered with HTTP 500, as a PHP fatal error is."""

    def answer(params: Mapping[str, str]) -> object:
        if params.get("method") != "Live.getCounters":
            return {"result": "error", "message": f"The method '{params.get('method')}' does not exist"}
        try:
            site, minutes = int(params.get("idSite", "")), int(params.get("lastMinutes", ""))
        except ValueError:
            return {"result": "error", "message": "idSite and lastMinutes must be numbers"}
        if not 1 <= minutes <= 2880:
            return {"result": "error", "message": "lastMinutes only accepts values between 1 and 2880"}
        if site not in sites:
            return {
                "result": "error",
                "message": f"You can't access this resource as it requires 'view' access for the website id = {site}.",
            }
        counts = sites[site].get(minutes, {"visits": 0, "visitors": 0, "actions": 0})
        if not counts.get("visits"):
            return [{"visits": 0, "actions": 0, "visitors": 0, "visitsConverted": 0}]
        return [{k: str(counts[k]) for k in ("visits", "actions", "visitors")} | {"visitsConverted": "0"}]

    def handler(request: Request) -> Response:
        if seen is not None:
            seen.append(
                {
                    "method": request.method,
                    "url": request.url,
                    "form": request.form.to_dict(),
                    "query": request.args.to_dict(),
                }
            )
        if "token_auth" in request.args:
            return _json({"result": "error", "message": "token_auth must be sent by POST"}, 401)
        params = dict(list(request.form.items())[:max_input_vars])  # PHP drops the rest
        if params.get("token_auth") != token:
            return _json({"result": "error", "message": "You must be logged in to access this functionality."}, 401)
        if params.get("method") == "API.getBulkRequest":
            out = []
            i = 0
            while f"urls[{i}]" in params:
                sub = dict(parse_qsl(params[f"urls[{i}]"]))
                if sub.get("idSite", "").isdigit() and int(sub["idSite"]) in broken_sites:
                    return Response("<b>Fatal error</b>: Allowed memory size exhausted", status=500)
                out.append(answer(sub))
                i += 1
            return _json(out)
        return _json(answer(params))

    return handler


def _json(doc: object, status: int = 200) -> Response:
    return Response(json.dumps(doc), status=status, content_type="application/json; charset=utf-8")
