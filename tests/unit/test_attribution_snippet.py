"""GET /capigate.js: the plan's website events inside, content type, caching and ETags."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from capigate.attribution import snippet
from capigate.plan.load import default_plan
from capigate.web.snippet import CACHE_MAX_AGE_S, CONTENT_TYPE, SNIPPET_PATH
from tests.unit.web_kit import live_settings, running

MAX_SNIPPET_BYTES = 20_000  # "small": the snippet is read by people, not minified


def _plan_block(text: str) -> dict[str, dict[str, str]]:
    match = re.search(r"/\*plan\*/(.*?)/\*end plan\*/", text, re.DOTALL)
    assert match is not None
    block: dict[str, dict[str, str]] = json.loads(match.group(1))
    return block


def test_the_shipped_source_names_seed_000s_website_events() -> None:
    """Served raw, the file still names ViewContent/Lead with the seed's id templates."""
    block = _plan_block(snippet.source())
    assert block["landing_view"] == {
        "event_name": "ViewContent",
        "event_id": "viewcontent_{session_id}",
    }
    assert block["cta_click"] == {"event_name": "Lead", "event_id": "cta_{session_id}"}


def test_render_writes_the_plans_website_events() -> None:
    """Every plan key a website may send is in the rendered plan, with its name and template."""
    plan = default_plan()
    rendered = snippet.render(snippet.website_events(plan)).body.decode()
    block = _plan_block(rendered)
    expected = {k for k, rule in plan.events.items() if "website" in rule.sources}
    assert set(block) == expected
    for key in expected:
        assert block[key]["event_name"] == plan.events[key].event_name


def test_a_renamed_event_changes_the_script_and_its_etag() -> None:
    """A plan that calls cta_click 'Contact' serves a snippet that says so, with a new ETag."""
    plan = default_plan()
    renamed = dict(plan.events)
    renamed["cta_click"] = dataclasses.replace(plan.events["cta_click"], event_name="Contact")
    before = snippet.render(snippet.website_events(plan))
    after = snippet.render(snippet.website_events(dataclasses.replace(plan, events=renamed)))
    assert _plan_block(after.body.decode())["cta_click"]["event_name"] == "Contact"
    assert before.etag != after.etag


async def test_the_route_serves_javascript_with_cache_headers() -> None:
    """200 with text/javascript, nosniff, a public max-age, a strong ETag and CORP."""
    async with running(live_settings()) as h:
        response = await h.client.get(SNIPPET_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    assert response.headers["cache-control"] == f"public, max-age={CACHE_MAX_AGE_S}"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
    assert "window.capigate = {" in response.text
    assert len(response.content) < MAX_SNIPPET_BYTES


@pytest.mark.parametrize("header", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
async def test_a_matching_if_none_match_gets_304(header: str) -> None:
    """Revalidation with the current ETag (also weak, listed, or *) answers 304, no body."""
    async with running(live_settings()) as h:
        etag = (await h.client.get(SNIPPET_PATH)).headers["etag"]
        again = await h.client.get(
            SNIPPET_PATH, headers={"If-None-Match": header.format(etag=etag)}
        )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_a_stale_etag_gets_the_script() -> None:
    """An old ETag is answered with the whole script."""
    async with running(live_settings()) as h:
        response = await h.client.get(SNIPPET_PATH, headers={"If-None-Match": '"old"'})
    assert response.status_code == 200
    assert response.content


async def test_head_answers_headers_without_the_body() -> None:
    """HEAD gives the GET's headers and length, but no bytes."""
    async with running(live_settings()) as h:
        got = await h.client.get(SNIPPET_PATH)
        head = await h.client.head(SNIPPET_PATH)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["etag"] == got.headers["etag"]


async def test_the_route_is_documented() -> None:
    """/capigate.js appears in the OpenAPI document under its tag."""
    async with running(live_settings()) as h:
        schema = (await h.client.get("/openapi.json")).json()
    assert schema["paths"][SNIPPET_PATH]["get"]["tags"] == ["attribution"]
