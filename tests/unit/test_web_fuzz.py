"""Nothing a client sends makes the ingest API answer 500: garbage bodies and headers, fuzzed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capigate.secret import Secret
from tests.unit.web_kit import (
    BOT_KEY,
    INGEST,
    NOW_S,
    PAY_KEY,
    WEB_KEY,
    Harness,
    live_settings,
    running,
)

ALLOWED = {202, 400, 401, 403, 413, 422, 429}
PLAN_KEYS = ["cta_click", "landing_view", "start_bot", "subscribe", "onboarding_phone", "app_open"]
USER_KEYS = ["email", "phone", "first_name", "telegram_id", "user_id", "ip", "fbc", "fbclid", "zip"]
ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
events = st.fixed_dictionaries(
    {"event": st.sampled_from(PLAN_KEYS) | st.text(max_size=12)},
    optional={
        "event_id": json_values,
        "event_time": st.integers(int(NOW_S) - 10 * 86_400, int(NOW_S) + 86_400) | json_values,
        "action_source": st.sampled_from(["website", "app", "chat", "nope"]) | json_values,
        "user": st.dictionaries(st.sampled_from(USER_KEYS), st.text(max_size=20) | json_values)
        | json_values,
        "properties": st.dictionaries(st.text(max_size=10), json_values, max_size=4),
        "context": st.dictionaries(
            st.sampled_from(["session_id", "page_url", "init_data", "test_event_code", "app"]),
            json_values,
            max_size=4,
        ),
    },
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | events.map(lambda e: json.dumps(e).encode())
    | st.lists(events, max_size=4).map(lambda b: json.dumps({"batch": b}).encode())
)
identity_headers = st.fixed_dictionaries(
    {},
    optional={
        "X-Telegram-Init-Data": ASCII,
        "X-Forwarded-For": ASCII,
        "Cookie": ASCII,
        "Content-Type": st.sampled_from(["application/json", "text/plain"]),
    },
)
valid_keys = st.sampled_from(
    [
        {"Authorization": f"Bearer {BOT_KEY}"},
        {"Authorization": f"Bearer {PAY_KEY}"},
        {"X-Capigate-Key": WEB_KEY, "Origin": "https://example.com"},
    ]
)
any_keys = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.sampled_from([f"Bearer {BOT_KEY}", "Bearer", "Basic x"]) | ASCII,
        "X-Capigate-Key": st.sampled_from([WEB_KEY]) | ASCII,
        "Origin": st.sampled_from(["https://example.com"]) | ASCII,
    },
)


@pytest.fixture
def harness() -> Iterator[tuple[asyncio.AbstractEventLoop, Harness]]:
    """One running gateway (bot token set, generous limits) for all examples of a test."""
    loop = asyncio.new_event_loop()
    manager = running(
        live_settings(telegram_bot_token=Secret("1:token"), max_body_bytes=4_096),
        peer="198.51.100.7",
    )
    h = loop.run_until_complete(manager.__aenter__())
    yield loop, h
    loop.run_until_complete(manager.__aexit__(None, None, None))
    loop.close()


def post(harness: tuple[asyncio.AbstractEventLoop, Harness], body: bytes, hdrs: Any) -> int:
    """POST and check the answer is a 2xx or a 4xx problem document; returns the status."""
    loop, h = harness
    response = loop.run_until_complete(h.client.post(INGEST, content=body, headers=hdrs))
    assert response.status_code in ALLOWED, response.text
    if response.status_code != 202:
        assert response.headers["content-type"] == "application/problem+json"
    return response.status_code


FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(body=bodies, keys=valid_keys, extra=identity_headers)
def test_garbage_bodies_with_valid_keys_never_cause_a_500(
    harness: tuple[asyncio.AbstractEventLoop, Harness], body: bytes, keys: Any, extra: Any
) -> None:
    """Any body from an authenticated source gets a 2xx or a 4xx problem document."""
    post(harness, body, {**keys, **extra})


@FUZZ
@given(body=bodies, keys=any_keys, extra=identity_headers)
def test_garbage_headers_never_cause_a_500(
    harness: tuple[asyncio.AbstractEventLoop, Harness], body: bytes, keys: Any, extra: Any
) -> None:
    """Any mix of key, origin and identity headers gets a 2xx or a 4xx problem document."""
    post(harness, body, {**keys, **extra})


near_valid = st.fixed_dictionaries(
    {
        "event": st.just("start_bot"),
        "event_id": st.text(min_size=1, max_size=20),
        "user": st.dictionaries(
            st.sampled_from([*USER_KEYS, "city", "country", "date_of_birth", "gender"]),
            st.text(max_size=25) | json_values,
            max_size=6,
        ),
    },
    optional={
        "event_time": st.integers(int(NOW_S) - 10 * 86_400, int(NOW_S) + 86_400) | json_values,
        "properties": st.dictionaries(st.text(max_size=10), json_values, max_size=4),
        "context": st.dictionaries(
            st.sampled_from(["platform", "app", "page_url", "test_event_code"]),
            json_values,
            max_size=3,
        ),
    },
)


@FUZZ
@given(event=near_valid)
def test_garbage_user_data_reaching_the_pipeline_never_causes_a_500(
    harness: tuple[asyncio.AbstractEventLoop, Harness], event: Any
) -> None:
    """Events that pass the plan carry arbitrary user values into normalization and hashing."""
    post(harness, json.dumps(event).encode(), {"Authorization": f"Bearer {BOT_KEY}"})
