"""Plain-value answers and hot-path counters give what starlette and Metrics.inc gave."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from capigate.web.answer import Answer
from capigate.web.metrics import Metrics
from capigate.web.problems import Problem


async def _sent(answer: Answer) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await answer.send(send)
    return messages


async def test_a_sent_answer_has_the_headers_of_a_starlette_response() -> None:
    """Status, body and headers (extra ones lower-cased, length, media type) match Response."""
    answer = Problem(429, "rate-limited", "slow down", retry_after_s=3).answer()
    start, body = await _sent(answer)
    reference = Response(answer.content, answer.status, answer.headers, answer.media_type)
    assert start == {
        "type": "http.response.start",
        "status": 429,
        "headers": reference.raw_headers,
    }
    assert body == {"type": "http.response.body", "body": reference.body}
    assert (b"retry-after", b"3") in start["headers"]


async def test_a_plain_answer_is_json_with_its_length() -> None:
    """Without extra headers only content-length and content-type are sent."""
    start, _ = await _sent(Answer(202, b'{"results":[]}'))
    assert start["headers"] == [(b"content-length", b"14"), (b"content-type", b"application/json")]


def test_a_problem_response_is_its_answer() -> None:
    """Problem.response (FastAPI's stack) and Problem.answer (the direct path) agree."""
    problem = Problem(401, "unauthorized", "no key")
    response, answer = problem.response(), problem.answer()
    assert (response.status_code, response.body) == (answer.status, answer.content)
    assert response.headers["www-authenticate"] == 'Bearer realm="capigate"'
    assert response.headers["content-type"] == "application/problem+json"


def test_a_counter_adds_to_the_series_inc_would_name() -> None:
    """Counter.inc by label values and Metrics.inc by keywords update one and the same series."""
    metrics = Metrics()
    events = metrics.counter("capigate_ingest_events_total", "status", "source")
    events.inc("queued", "bot", amount=2)
    events.inc("queued", "bot")
    metrics.inc("capigate_ingest_events_total", source="bot", status="queued")
    assert metrics.value("capigate_ingest_events_total", source="bot", status="queued") == 4.0
    assert 'capigate_ingest_events_total{source="bot",status="queued"} 4' in metrics.render()
