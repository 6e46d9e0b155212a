"""The exact JSON Meta receives: one event (``event_to_wire``) and a request (``request_body``).

Rules of the wire shape:

* No ``null``, no empty string, list or object, anywhere, with two exceptions:
  ``data_processing_options: []`` is written because it means "explicitly no Limited Data Use"
  (spec §2), and the required keys ``event_name``, ``event_time``, ``action_source`` and
  ``user_data`` are always written so the validator can name what is wrong with them.
* Key order is stable. Event keys follow ``ServerEvent``'s field order: ``event_name``,
  ``event_time``, ``event_id``, ``action_source``, ``event_source_url``, ``referrer_url``,
  ``messaging_channel``, ``user_data``, ``custom_data``, ``app_data``, ``original_event_data``,
  ``attribution_data``, ``opt_out``, ``data_processing_options``,
  ``data_processing_options_country``, ``data_processing_options_state``,
  ``customer_segmentation``, ``advanced_measurement_table``. Nested objects follow their
  dataclass's field order (Meta's table order); ``custom_data`` writes its standard keys first,
  then its custom properties in the order they were given.
* App tracking flags are written as ``0``/``1``; ``extinfo`` is always 16 strings.
* Custom properties cannot shadow standard ``custom_data`` keys: ``CustomData`` refuses them
  at construction (``ValidationError``), so the payload never has to choose. (When parsing a
  wire dict, a standard key is always read as the standard field, so no clash can arise.)

The tables behind these rules live in ``capigate.models.schema``; ``parse_wire`` there gives the
same canonical dict straight from a wire dict, without building dataclasses.

The access token is not part of the body: the Meta client adds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from capigate.errors import ValidationError
from capigate.findings import error
from capigate.models import ServerEvent, write_event
from capigate.validate.request import MAX_EVENTS_PER_REQUEST

__all__ = ["MAX_EVENTS_PER_REQUEST", "dumps", "event_to_wire", "request_body"]


def event_to_wire(event: ServerEvent) -> dict[str, Any]:
    """One event exactly as Meta receives it (the rules are in the module docstring)."""
    return write_event(event)


def request_body(
    events: Sequence[Mapping[str, Any]],
    *,
    test_event_code: str | None = None,
    partner_agent: str | None = None,
    namespace_id: str | None = None,
    upload_id: str | None = None,
    upload_tag: str | None = None,
    upload_source: str | None = None,
) -> dict[str, Any]:
    """The body of ``POST /{version}/{pixel}/events`` without the access token (spec §1.2).

    ``events`` are wire dicts (``event_to_wire``). Raises ``ValidationError`` for an empty
    request or one over ``MAX_EVENTS_PER_REQUEST`` events, which Meta would reject whole.
    """
    if not events or len(events) > MAX_EVENTS_PER_REQUEST:
        message = (
            f"a request carries 1 to {MAX_EVENTS_PER_REQUEST} events, got {len(events)}; "
            "split it into several requests"
        )
        raise ValidationError(message, [error("$.data", "request_size", message, "§1.2")])
    body: dict[str, Any] = {"data": list(events)}
    options = {
        "test_event_code": test_event_code,
        "partner_agent": partner_agent,
        "namespace_id": namespace_id,
        "upload_id": upload_id,
        "upload_tag": upload_tag,
        "upload_source": upload_source,
    }
    body.update((key, value) for key, value in options.items() if value)
    return body


# Compact UTF-8 JSON, as sent to Meta: orjson's own function, with no wrapper call per event.
dumps = orjson.dumps
