"""The client's ingest items: building, checking, pinning time and ids, encoding."""

from __future__ import annotations

import math
import re

import pytest

from capigate.client import InvalidEvent, event
from capigate.client.events import checked, decode, encode, prepared, stamped

NOW_S = 1_763_800_000.5


def test_event_leaves_out_none_and_empty_fields() -> None:
    """None values, inside sections too, and empty sections are not sent."""
    item = event(
        "start_bot",
        user={"telegram_id": 42, "phone": None},
        properties={},
        context={"start_param": "lp-81f2"},
        event_id=None,
    )
    assert item == {
        "event": "start_bot",
        "user": {"telegram_id": 42},
        "context": {"start_param": "lp-81f2"},
    }


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"event": ""}, "event: must be a non-empty string"),
        ({"event": 7}, "event: must be a non-empty string"),
        ({"event": "x", "user": "42"}, "user: must be an object (a mapping), not str"),
        ({"event": "x", "context": [1]}, "context: must be an object (a mapping), not list"),
        ({"event": "x", "event_time": "now"}, "event_time: must be Unix seconds"),
        ({"event": "x", "event_time": True}, "event_time: must be Unix seconds"),
        ({"event": "x", "event_id": " "}, "event_id: must be a non-empty string"),
    ],
)
def test_checked_names_the_bad_field(item: dict[str, object], message: str) -> None:
    """A shape the gateway could never take fails at the call site, naming the field."""
    with pytest.raises(InvalidEvent, match=re.escape(message)):
        checked(item)


def test_stamped_pins_event_time_and_keeps_a_given_one() -> None:
    """event_time is pinned to the queueing moment (whole seconds) unless the caller set it."""
    assert stamped({"event": "x"}, now_s=NOW_S)["event_time"] == 1_763_800_000
    assert stamped({"event": "x", "event_time": 5}, now_s=NOW_S)["event_time"] == 5


def test_stamped_adds_an_id_only_when_asked_and_missing() -> None:
    """With new_id, an event without event_id gets one; a given id is kept."""
    assert "event_id" not in stamped({"event": "x"}, now_s=NOW_S)
    assert stamped({"event": "x"}, now_s=NOW_S, new_id=lambda: "u1")["event_id"] == "u1"
    given = {"event": "x", "event_id": "mine"}
    assert stamped(given, now_s=NOW_S, new_id=lambda: "u1")["event_id"] == "mine"


def test_prepared_takes_a_name_with_fields_or_a_mapping_alone() -> None:
    """A plan key with keyword fields, or one Event mapping; mixing both is a TypeError."""
    by_name = prepared("x", {"user": {"telegram_id": 1}}, now_s=NOW_S, new_id=None)
    by_item = prepared({"event": "x", "user": {"telegram_id": 1}}, {}, now_s=NOW_S, new_id=None)
    assert by_name == by_item
    with pytest.raises(TypeError, match="plan key with keyword fields"):
        prepared({"event": "x"}, {"user": {}}, now_s=NOW_S, new_id=None)


def test_encode_round_trips_compact_utf8() -> None:
    """Encoding is compact JSON in UTF-8 and decodes to the same item."""
    item = event("onboarding_name", user={"first_name": "Ōzbek"})
    data = encode(item)
    assert data == '{"event":"onboarding_name","user":{"first_name":"Ōzbek"}}'.encode()
    assert decode(data) == item


@pytest.mark.parametrize("bad", [math.nan, math.inf, object(), {1, 2}])
def test_encode_refuses_what_is_not_plain_json(bad: object) -> None:
    """NaN, infinities and Python objects fail when tracked, not later in a background flush."""
    with pytest.raises(InvalidEvent, match="is not plain JSON"):
        encode({"event": "x", "properties": {"amount": bad}})
