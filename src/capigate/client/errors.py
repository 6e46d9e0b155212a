"""The client's errors. It imports nothing from the gateway, so a bot can vendor the package.

::

    CapigateClientError            anything this client raises on purpose
    ├── InvalidEvent (ValueError)  the caller's event cannot be sent at all (not JSON, no name)
    ├── ClientError                the gateway refused events for good (400/401/403/404/413/422);
    │                              they are never spooled: resending cannot help
    ├── SpoolFull                  the gateway is unreachable and the spool is at its bound
    └── EventsLost                 at close, events that neither the gateway nor a spool took
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capigate.client.events import Event, Finding


class CapigateClientError(Exception):
    """Base of every error the client raises on purpose."""


class InvalidEvent(CapigateClientError, ValueError):
    """The event cannot be encoded or has no name; raised at the call site, never later."""


class ClientError(CapigateClientError):
    """The gateway refused ``events`` for good; ``findings`` name every bad field.

    ``problem`` is the gateway's RFC 9457 problem document (``None`` when the answer had none).
    A finding's path is relative to the event when the refusal is about one event
    (``$.properties.language_selected``), else to the request the client sent.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        findings: Sequence[Finding] = (),
        events: Sequence[Event] = (),
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.findings = tuple(findings)
        self.events = tuple(events)
        self.problem = problem

    def __str__(self) -> str:
        errors = [f for f in self.findings if f.severity == "error"]
        lines = [f"{self.status} {self.kind}: {self.detail}"]
        lines += [f"  {f.path}: {f.message} ({f.rule})" for f in errors]
        return "\n".join(lines)

    @property
    def kind(self) -> str:
        """The problem type's tail (``invalid-events``), or ``http-<status>``."""
        kind = (self.problem or {}).get("type")
        if isinstance(kind, str) and kind:
            return kind.rsplit(":", 1)[-1]
        return f"http-{self.status}"

    @property
    def retryable(self) -> bool:
        """Always False: the same request would be refused again."""
        return False


class SpoolFull(CapigateClientError):
    """Events cannot be held: the gateway is unreachable and the spool is at its bound."""

    def __init__(self, message: str, events: Sequence[Event] = ()) -> None:
        super().__init__(message)
        self.events = tuple(events)


class EventsLost(CapigateClientError):
    """At close: events neither delivered nor spooled (no room, or only a memory spool)."""

    def __init__(self, message: str, events: Sequence[Event] = ()) -> None:
        super().__init__(message)
        self.events = tuple(events)
