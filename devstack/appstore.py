"""Stand-ins for App Store Connect's sales reports and Google's OAuth token endpoint.

They answer as the vendors document: Apple verifies the ES256 JWT (kid, iss, aud
``appstoreconnect-v1``, lifetime at most 20 minutes) and serves gzip TSVs with
``Content-Encoding: agzip``; 404 "There were no sales for the date specified." for a zero day,
404 "Report is not available yet" for a pending one, 410 past retention, 429 with
``RATE_LIMIT_EXCEEDED``. Google's token endpoint verifies the RS256 JWT-bearer assertion.
"""

from __future__ import annotations

import gzip
import json
from typing import Callable, Mapping

from werkzeug import Request, Response

APPLE_COLUMNS = (
    "Provider",
    "Provider Country",
    "SKU",
    "Developer",
    "Title",
    "Version",
    "Product Type Identifier",
    "Units",
    "Developer Proceeds",
    "Begin Date",
    "End Date",
    "Customer Currency",
    "Country Code",
    "Currency of Proceeds",
    "Apple Identifier",
    "Customer Price",
    "Promo Code",
    "Parent Identifier",
    "Subscription",
    "Period",
    "Category",
    "CMB",
    "Device",
    "Supported Platforms",
    "Proceeds Reason",
    "Preserved Pricing",
    "Client",
    "Order Type",
)


def apple_tsv(day: str, rows: list[tuple[str, str, str, int | str]]) -> bytes:
    """A SALES/SUMMARY daily report: rows of (Apple Identifier, Product Type Identifier, Country Code, Units)."""
    y, m, d = day.split("-")
    us = f"{m}/{d}/{y}"
    lines = ["\t".join(APPLE_COLUMNS)]
    for app, kind, country, units in rows:
        values = {
            "Provider": "APPLE",
            "Provider Country": "US",
            "SKU": f"sku-{app}",
            "Developer": "Fabrik Test",
            "Title": "Acme Radio",
            "Version": "3.2",
            "Product Type Identifier": kind,
            "Units": str(units),
            "Developer Proceeds": "0",
            "Begin Date": us,
            "End Date": us,
            "Customer Currency": "EUR",
            "Country Code": country,
            "Currency of Proceeds": "EUR",
            "Apple Identifier": app,
            "Customer Price": "0",
            "Device": "iPhone",
            "Supported Platforms": "iOS",
            "Category": "Music",
        }
        lines.append("\t".join(values.get(c, "") for c in APPLE_COLUMNS))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _apple_error(status: int, code: str, title: str, detail: str) -> Response:
    return Response(
        json.dumps({"errors": [{"id": "0f3c", "status": str(status), "code": code, "title": title, "detail": detail}]}),
        status=status,
        content_type="application/json",
    )


def appstore_handler(
    public_key_pem: str, *, issuer: str, key_id: str, vendor: str, days: Mapping[str, object], seen: list | None = None
) -> Callable[[Request], Response]:
    """``days[date]`` is report bytes (TSV), or "zero", "pending", "expired", or a list of answers
    consumed one per request (e.g. ["ratelimit", tsv]), or ("raw", bytes) served as they are (a
    damaged gzip)."""
    import jwt

    def handler(request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if seen is not None:
            seen.append({"args": request.args.to_dict(), "auth": auth, "accept": request.headers.get("Accept")})
        try:
            token = auth.removeprefix("Bearer ")
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                public_key_pem,
                algorithms=["ES256"],
                audience="appstoreconnect-v1",
                issuer=issuer,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
            if header.get("kid") != key_id or claims["exp"] - claims["iat"] > 1200:
                raise jwt.InvalidTokenError("bad kid or lifetime")
        except jwt.PyJWTError:
            return _apple_error(
                401,
                "NOT_AUTHORIZED",
                "Authentication credentials are missing or invalid.",
                "Provide a properly configured and signed bearer token, and make sure that it has not expired.",
            )
        args = request.args
        expected = {
            "filter[frequency]": "DAILY",
            "filter[reportType]": "SALES",
            "filter[reportSubType]": "SUMMARY",
            "filter[vendorNumber]": vendor,
        }
        if any(args.get(k) != v for k, v in expected.items()):
            return _apple_error(
                400,
                "PARAMETER_ERROR.INVALID",
                "A parameter has an invalid value",
                "Invalid vendor number specified. Try again.",
            )
        answer = days.get(args.get("filter[reportDate]", ""), "zero")
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if answer == "zero":
            return _apple_error(
                404, "NOT_FOUND", "The specified resource does not exist", "There were no sales for the date specified."
            )
        if answer == "pending":
            return _apple_error(
                404,
                "NOT_FOUND",
                "The specified resource does not exist",
                "Report is not available yet. Daily reports for the Americas are available by 5 am PT.",
            )
        if answer == "expired":
            return _apple_error(
                410, "GONE", "The requested resource is no longer available", "Report is no longer available."
            )
        if answer == "ratelimit":
            response = _apple_error(
                429,
                "RATE_LIMIT_EXCEEDED",
                "The request rate limit has been reached.",
                "We've received too many requests for this API. Please wait and try again.",
            )
            response.headers["Retry-After"] = "1"
            return response
        body = answer[1] if isinstance(answer, tuple) else gzip.compress(answer)  # ("raw", bytes): as is
        return Response(
            body,
            status=200,
            headers={
                "Content-Type": "application/a-gzip",
                "Content-Encoding": "agzip",
                "Content-Disposition": "attachment;filename="
                f"S_D_{vendor}_{args['filter[reportDate]'].replace('-', '')}.txt.gz",
                "X-Rate-Limit": "user-hour-lim:3600;user-hour-rem:3599;",
            },
        )

    return handler


def google_token_handler(
    public_key_pem: str,
    *,
    client_email: str,
    token_url: str,
    access_token: str = "ya29.test-access-token",
    seen: list | None = None,
) -> Callable[[Request], Response]:
    import jwt

    def handler(request: Request) -> Response:
        form = request.form
        if seen is not None:
            seen.append(form.to_dict())
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Response(json.dumps({"error": "unsupported_grant_type"}), 400, content_type="application/json")
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                public_key_pem,
                algorithms=["RS256"],
                audience=token_url,
                issuer=client_email,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
            if "devstorage.read_only" not in claims.get("scope", "") or claims["exp"] - claims["iat"] > 3600:
                raise jwt.InvalidTokenError("scope or lifetime")
        except jwt.PyJWTError:
            return Response(
                json.dumps({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
                400,
                content_type="application/json",
            )
        return Response(
            json.dumps({"access_token": access_token, "expires_in": 3599, "token_type": "Bearer"}),
            content_type="application/json",
        )

    return handler
