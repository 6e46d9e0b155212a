"""Health, readiness, metrics, OpenAPI, the sandbox emulator mount and unknown routes."""

from __future__ import annotations

from typing import Any

from tests.unit.web_kit import (
    BOT_KEY,
    INGEST,
    bearer,
    bot_event,
    live_settings,
    problem,
    running,
    sandbox_settings,
)


async def test_healthz_answers_while_the_process_is_up() -> None:
    """/healthz is 200 {"status": "ok"}."""
    async with running(live_settings()) as h:
        response = await h.client.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_sandbox_mode_and_outbox_depth() -> None:
    """/readyz says ready, shows the outbox depth and names sandbox mode loudly."""
    async with running(sandbox_settings()) as h:
        report = (await h.client.get("/readyz")).json()
    assert report["status"] == "ready"
    assert report["sandbox"] is True
    assert report["store"] == "ok"
    assert report["outbox_depth"] == 0
    assert any("sandbox mode" in reason for reason in report["reasons"])


async def test_readyz_in_live_mode_has_no_sandbox_note() -> None:
    """A live gateway's readiness mentions no sandbox."""
    async with running(live_settings()) as h:
        report = (await h.client.get("/readyz")).json()
    assert report["sandbox"] is False
    assert report["reasons"] == []


async def test_metrics_count_accepted_duplicate_and_rejected() -> None:
    """/metrics shows counters by status and reason, and the outbox gauge."""
    async with running(live_settings()) as h:
        await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
        await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
        await h.client.post(INGEST, content=b"{", headers=bearer(BOT_KEY))
        await h.client.post(INGEST, json=bot_event())
        response = await h.client.get("/metrics")
    text = response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'capigate_ingest_events_total{source="bot",status="queued"} 1' in text
    assert 'capigate_ingest_events_total{source="bot",status="duplicate"} 1' in text
    assert 'capigate_ingest_rejected_total{reason="malformed_json"} 1' in text
    assert 'capigate_ingest_rejected_total{reason="unauthorized"} 1' in text
    assert "capigate_outbox_depth 1" in text
    assert "capigate_sandbox 0" in text


def _has_example(content: dict[str, Any]) -> bool:
    return any("example" in media or media.get("examples") for media in content.values())


async def test_every_openapi_operation_has_examples() -> None:
    """Each path's request body and every documented response carry an example."""
    async with running(live_settings()) as h:
        schema = (await h.client.get("/openapi.json")).json()
        docs = await h.client.get("/docs")
    assert docs.status_code == 200
    assert set(schema["paths"]) >= {INGEST, "/healthz", "/readyz", "/metrics"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is not None:
                assert _has_example(body["content"]), (path, method)
            for status, response in operation["responses"].items():
                assert _has_example(response.get("content", {})), (path, method, status)
    components = schema["components"]["schemas"]
    assert {"IngestEvent", "IngestBatch", "IngestResponse", "ProblemDocument"} <= set(components)


async def test_ingest_documents_every_refusal() -> None:
    """The ingest operation lists 202 and every problem status it can answer."""
    async with running(live_settings()) as h:
        operation = (await h.client.get("/openapi.json")).json()["paths"][INGEST]["post"]
    assert set(operation["responses"]) >= {"202", "400", "401", "403", "413", "422", "429", "503"}


async def test_sandbox_mounts_the_emulator_and_live_mode_does_not() -> None:
    """/__emulator__/events exists only in sandbox mode."""
    async with running(sandbox_settings()) as h:
        sandbox = await h.client.get("/__emulator__/events")
    async with running(live_settings()) as h:
        live = await h.client.get("/__emulator__/events")
    assert sandbox.json() == {"requests": 0, "events": []}
    problem(live, 404)


async def test_unknown_routes_and_methods_are_problem_documents() -> None:
    """404 and 405 come as problem+json too."""
    async with running(live_settings()) as h:
        missing = await h.client.get("/nope")
        wrong_method = await h.client.get(INGEST)
    assert problem(missing, 404)["type"] == "urn:capigate:problem:not-found"
    assert problem(wrong_method, 405)["type"] == "urn:capigate:problem:method-not-allowed"
