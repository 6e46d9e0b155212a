"""The Graph request body of stored events, spliced from their JSON text (pure).

A leased event holds Meta's wire event as JSON text (``LeasedEvent.payload_json``). Decoding a
thousand of them into dicts only to encode them again cost the worker more CPU than the rest
of a delivery, so the ``data`` array is joined from the stored text as it is. The worker hands
the texts to ``MetaClient.send_events``, which joins them and the access token into the body
in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from capigate.errors import ValidationError
from capigate.findings import error
from capigate.validate.request import MAX_EVENTS_PER_REQUEST


def data_json(payloads: Sequence[str]) -> bytes:
    """The ``data`` array of a request: the events' JSON texts, joined.

    Raises ``ValidationError`` for an empty request or one over ``MAX_EVENTS_PER_REQUEST``
    events, which Meta would reject whole.
    """
    return ("[" + ",".join(sized(payloads)) + "]").encode()


def sized(payloads: Sequence[str]) -> Sequence[str]:
    """``payloads`` if they fit one request; ``ValidationError`` as ``data_json`` raises it."""
    if not payloads or len(payloads) > MAX_EVENTS_PER_REQUEST:
        message = (
            f"a request carries 1 to {MAX_EVENTS_PER_REQUEST} events, got {len(payloads)}; "
            "split it into several requests"
        )
        raise ValidationError(message, [error("$.data", "request_size", message, "§1.2")])
    return payloads


def request_options(test_event_code: str | None) -> dict[str, str]:
    """The body's keys besides ``data``: ``test_event_code`` when the batch has one."""
    return {"test_event_code": test_event_code} if test_event_code else {}
