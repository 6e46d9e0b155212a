"""Deliver encoded events in batches, keeping the good ones when the gateway refuses some.

The gateway takes a batch all or nothing. When it refuses one (422, or 403 naming events),
its findings say which events are bad (``$.batch[3]...``): those become one ``ClientError``
each and the rest is sent again. A 413 halves the batch until it fits or one event is left.
The first batch the gateway cannot take now stops the delivery: it and every later batch come
back as ``unsent``, in order, for the spool.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from capigate.client.errors import ClientError
from capigate.client.events import EventResult, Finding, Pending, Status, decode
from capigate.client.transport import Transport, Unavailable

MAX_BATCH_EVENTS = 1_000  # the gateway's cap per request
ISOLATED_STATUSES = frozenset({403, 422})  # refusals whose findings may name single events
_BATCH_PATH = re.compile(r"^\$\.batch\[(\d+)\](.*)$")


@dataclass(slots=True)
class Outcome:
    """What became of each event handed to ``deliver``."""

    results: list[EventResult] = field(default_factory=list)
    done: list[Pending] = field(default_factory=list)  # accepted or refused: never resend
    rejected: list[ClientError] = field(default_factory=list)
    unsent: list[Pending] = field(default_factory=list)  # for the spool, in order
    unavailable: Unavailable | None = None


async def deliver(
    transport: Transport, events: Sequence[Pending], *, max_events: int, max_bytes: int
) -> Outcome:
    """Send ``events`` in order, in batches of at most ``max_events`` and about ``max_bytes``."""
    outcome = Outcome()
    chunks = deque(chunked(events, max_events, max_bytes))
    while chunks:
        chunk = chunks.popleft()
        try:
            results = await transport.post(body(chunk))
        except Unavailable as exc:
            outcome.unavailable = exc
            outcome.unsent = [p for c in (chunk, *chunks) for p in c]
            break
        except ClientError as exc:
            chunks.extendleft(reversed(_after_refusal(exc, chunk, outcome)))
            continue
        outcome.results.extend(_event_result(results, i) for i in range(len(chunk)))
        outcome.done.extend(chunk)
    return outcome


def chunked(events: Sequence[Pending], max_events: int, max_bytes: int) -> Iterator[list[Pending]]:
    """Consecutive runs of ``events`` within both limits (one event may exceed ``max_bytes``)."""
    chunk: list[Pending] = []
    size = 0
    for event in events:
        if chunk and (len(chunk) >= max_events or size + len(event.data) > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(event)
        size += len(event.data) + 1
    if chunk:
        yield chunk


def body(chunk: Sequence[Pending]) -> bytes:
    """The ingest body ``{"batch": [...]}`` built from already encoded events."""
    return b'{"batch":[' + b",".join(p.data for p in chunk) + b"]}"


def _after_refusal(exc: ClientError, chunk: list[Pending], outcome: Outcome) -> list[list[Pending]]:
    """Record what ``exc`` refused; return the sub-batches still worth sending."""
    if exc.status == 413 and len(chunk) > 1:
        half = len(chunk) // 2
        return [chunk[:half], chunk[half:]]
    per_event = _findings_by_event(exc, len(chunk)) if exc.status in ISOLATED_STATUSES else {}
    bad = {i for i, found in per_event.items() if any(f.severity == "error" for f in found)}
    if not bad:
        outcome.rejected.append(_with_events(exc, chunk))
        outcome.done.extend(chunk)
        return []
    for i in sorted(bad):
        outcome.rejected.append(_for_event(exc, chunk[i], per_event[i]))
        outcome.done.append(chunk[i])
    good = [p for i, p in enumerate(chunk) if i not in bad]
    return [good] if good else []


def _findings_by_event(exc: ClientError, size: int) -> dict[int, list[Finding]]:
    found: dict[int, list[Finding]] = {}
    for finding in exc.findings:
        index, rebased = _rebased(finding)
        if index is not None and index < size:
            found.setdefault(index, []).append(rebased)
    return found


def _rebased(finding: Finding) -> tuple[int | None, Finding]:
    """The event index a finding's ``$.batch[i]...`` path names, and its path from that event."""
    match = _BATCH_PATH.match(finding.path)
    if match is None:
        return None, finding
    path = "$" + match[2]
    return int(match[1]), Finding(path, finding.rule, finding.severity, finding.message,
                                  finding.spec)  # fmt: skip


def _for_event(exc: ClientError, pending: Pending, findings: list[Finding]) -> ClientError:
    item = decode(pending.data)
    errors = sum(1 for f in findings if f.severity == "error")
    detail = f"the gateway refused event {item.get('event')!r}: {errors} error(s)"
    return ClientError(exc.status, detail, findings=findings, events=[item], problem=exc.problem)


def _with_events(exc: ClientError, chunk: list[Pending]) -> ClientError:
    events = [decode(p.data) for p in chunk]
    return ClientError(
        exc.status, exc.detail, findings=exc.findings, events=events, problem=exc.problem
    )


def _event_result(results: list[Any], index: int) -> EventResult:
    raw = results[index] if index < len(results) and isinstance(results[index], dict) else {}
    status: Status = "duplicate" if raw.get("status") == "duplicate" else "queued"
    warnings = raw.get("warnings")
    warnings = warnings if isinstance(warnings, list) else []
    return EventResult(
        status=status,
        event_id=_text(raw.get("event_id")),
        event_name=_text(raw.get("event_name")),
        warnings=tuple(_rebased(Finding.from_json(w))[1] for w in warnings),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
