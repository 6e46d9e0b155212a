"""``GET /capigate.js``: the landing-page snippet, with the running plan's website events.

Cached by browsers and CDNs for ``CACHE_MAX_AGE_S`` and revalidated with its ETag (a new plan
or a new release changes it). ``Cross-Origin-Resource-Policy: cross-origin`` lets pages on any
site load it, also those that isolate themselves with COEP.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from capigate.attribution import snippet
from capigate.web.gateway import Gateway

SNIPPET_PATH = "/capigate.js"
CONTENT_TYPE = "text/javascript; charset=utf-8"
CACHE_MAX_AGE_S = 300  # a plan change reaches browsers within five minutes
router = APIRouter()


@router.head(SNIPPET_PATH, include_in_schema=False)
@router.get(
    SNIPPET_PATH,
    summary="The landing-page snippet (Pixel event ids, fbc/fbp/UTMs, Telegram deep links)",
    response_class=Response,
    responses={
        200: {
            "description": "The script; revalidate with If-None-Match (304 when unchanged).",
            "content": {"text/javascript": {"example": "capigate.init({key: 'pk_web_...'})"}},
        }
    },
    tags=["attribution"],
)
async def capigate_js(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    rendered = snippet.render(snippet.website_events(gateway.ingestor.plan))
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": f"public, max-age={CACHE_MAX_AGE_S}",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if _matches(request.headers.get("if-none-match"), rendered.etag):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else rendered.body
    headers["Content-Length"] = str(len(rendered.body))
    return Response(body, media_type=CONTENT_TYPE, headers=headers)


def _matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (weak tags compare by their value)."""
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags
