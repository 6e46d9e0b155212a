"""Request and response shapes of the HTTP API, for the OpenAPI document and ``/docs``.

The ingest route parses its body itself (orjson, size-limited) and reports problems as RFC 9457
documents, so these models describe the wire format; they do not validate requests.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH_EVENTS = 1_000


class User(BaseModel):
    """Identifiers of the person behind the event; hashed at ingest where Meta requires it."""

    model_config = ConfigDict(extra="allow")

    email: str | list[str] | None = None
    phone: str | list[str] | None = None
    first_name: str | None = None
    last_name: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    date_of_birth: str | None = None
    gender: str | None = None
    external_id: str | None = None
    user_id: str | None = Field(None, description="Browser keys: only with valid initData.")
    telegram_id: str | int | None = Field(
        None, description="Browser keys: only with valid Telegram initData."
    )
    ip: str | None = Field(None, description="Default: the client IP of the request.")
    user_agent: str | None = Field(None, description="Default: the User-Agent header.")
    fbp: str | None = Field(None, description="Default: the _fbp cookie.")
    fbc: str | None = Field(None, description="Default: the _fbc cookie, else built from fbclid.")
    fbclid: str | None = None
    madid: str | None = None


class Context(BaseModel):
    """Where the event happened; ids that event_id templates use (``session_id``)."""

    model_config = ConfigDict(extra="allow")

    page_url: str | None = None
    session_id: str | None = None
    start_param: str | None = None
    test_event_code: str | None = None
    init_data: str | None = Field(
        None, description="Telegram Mini App initData (or header X-Telegram-Init-Data)."
    )


class IngestEvent(BaseModel):
    """One event: a tracking-plan key plus what the product knows about it."""

    event: str = Field(description="A tracking-plan key, e.g. cta_click.")
    event_id: str | None = Field(None, description="Default: the plan's event_id template.")
    event_time: int | None = Field(None, description="Unix seconds. Default: now.")
    action_source: str | None = None
    user: User | None = None
    properties: dict[str, Any] | None = None
    context: Context | None = None


class IngestBatch(BaseModel):
    """Up to 1,000 events. One invalid event refuses the whole batch (nothing is stored)."""

    batch: list[IngestEvent] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


class EventResult(BaseModel):
    """What happened to one event of the request, in request order."""

    index: int
    status: Literal["queued", "duplicate", "recorded"] = Field(
        description="recorded: a lifecycle activity, kept as user state and not sent itself"
    )
    event_id: str
    event_name: str
    warnings: list[ProblemError] = []
    derived: list[dict[str, str]] = Field(
        [], description="For an activity: the events it derived (event_name, event_id, status)."
    )


class IngestResponse(BaseModel):
    """Sent only after every event is durably stored."""

    results: list[EventResult]


class ProblemError(BaseModel):
    """One finding: where (JSONPath into the request body) and which rule."""

    path: str = Field(examples=["$.batch[2].user.email"])
    rule: str = Field(examples=["email_format"])
    severity: Literal["error", "warning"]
    message: str
    spec: str | None = None


class ProblemDocument(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None
    valid_keys: list[str] | None = None


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """Whether this gateway should receive traffic, and why not."""

    status: Literal["ready", "not_ready"]
    sandbox: bool
    store: Literal["ok", "unreachable"]
    outbox_depth: int | None
    outbox_high_water: int
    reasons: list[str]
    delivery: dict[str, Any] = Field(
        default_factory=dict,
        description="paused_pixels (each with pixel_id, status, reason, next_probe_at) and, "
        "when serve runs the worker, worker (worker_id, running, batches_in_flight, events by "
        "pixel and result).",
    )


EventResult.model_rebuild()
