"""Per-user lifecycle state in the store (migration 0003): the protocol and the row mapping.

``save_user_state`` is the one write: it saves a user's state over the version the caller read
and enqueues the events the rules derived, in one transaction. Two writers that read the same
version cannot both win: the loser gets ``None``, nothing of its work is stored, and it reads
again and re-runs the rules. So a rule that fires once (retention, First_Entry) is stored once
even under concurrent requests, and its event is enqueued if and only if its state is saved.

The tick's scheduler lease (``acquire_scheduler``) lets one worker at a time run the timeouts;
the holder renews it on every tick and another worker takes over once it has expired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from capigate.lifecycle import Flow, UserState
from capigate.store import sql

if TYPE_CHECKING:
    from capigate.store.base import EnqueueResult, NewEvent

JsonCodec = Callable[[Any], Any]
_FLOWS = ("onboarding", "checkout")
_JSON_FIELDS = ("retention_done", "onboarding_values")
_SCALARS = tuple(
    name
    for name in UserState.__dataclass_fields__
    if name not in (*_FLOWS, *_JSON_FIELDS, "version")
)


class LifecycleStore(Protocol):
    """The lifecycle operations every store implements (memory, SQLite, PostgreSQL)."""

    async def load_user_state(self, user_key: str) -> UserState | None:
        """The saved state of ``user_key`` (with its version), or ``None`` for a new user."""
        ...

    async def save_user_state(
        self,
        state: UserState,
        *,
        expected_version: int,
        events: Sequence[NewEvent],
        now_s: float,
    ) -> list[EnqueueResult] | None:
        """Save ``state`` as version ``expected_version + 1`` and enqueue ``events``, atomically.

        ``expected_version`` is the version the caller read (0: the user must not exist yet).
        Returns one result per event (dedup as ``enqueue``), or ``None`` when another writer
        saved in between: then nothing was written.
        """
        ...

    async def due_user_states(self, *, now_s: float, limit: int) -> list[UserState]:
        """Up to ``limit`` users whose ``next_due_at`` is at or before ``now_s``, oldest first."""
        ...

    async def acquire_scheduler(
        self, name: str, *, owner: str, now_s: float, lease_s: float
    ) -> bool:
        """Take or renew the lease ``name`` for ``lease_s``; ``False`` while another holds it."""
        ...

    async def release_scheduler(self, name: str, *, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        ...


@cache
def queries(dialect: str) -> dict[str, str]:
    """The lifecycle's named queries for ``dialect`` (``sql/lifecycle_<dialect>.sql``)."""
    if dialect not in sql.DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {sql.DIALECTS}")
    text = resources.files(sql.__name__).joinpath(f"lifecycle_{dialect}.sql").read_text("utf-8")
    return sql.parse(text)


def state_params(
    state: UserState, *, expected_version: int, now_s: float, dump: JsonCodec
) -> dict[str, Any]:
    """The parameters of ``insert_user_state`` / ``update_user_state``."""
    params: dict[str, Any] = {name: getattr(state, name) for name in _SCALARS}
    params["retention_done"] = dump(sorted(state.retention_done))
    params["onboarding_values"] = dump(dict(state.onboarding_values))
    for prefix in _FLOWS:
        flow: Flow | None = getattr(state, prefix)
        params[f"{prefix}_session_id"] = flow.session_id if flow else None
        params[f"{prefix}_started_at"] = flow.started_at if flow else None
        params[f"{prefix}_last_at"] = flow.last_at if flow else None
        params[f"{prefix}_step"] = flow.step if flow else None
    params.update(expected=expected_version, version=expected_version + 1, now=now_s)
    return params


def state_from_row(row: Mapping[str, Any] | Any, load: JsonCodec) -> UserState:
    """A ``UserState`` from a ``lifecycle_users`` row (readable by column name)."""
    values: dict[str, Any] = {name: row[name] for name in _SCALARS}
    values["retention_done"] = frozenset(int(n) for n in load(row["retention_done"]))
    values["onboarding_values"] = MappingProxyType(dict(load(row["onboarding_values"])))
    for prefix in _FLOWS:
        session_id = row[f"{prefix}_session_id"]
        values[prefix] = None
        if session_id is not None:
            times = (row[f"{prefix}_started_at"], row[f"{prefix}_last_at"])
            values[prefix] = Flow(session_id, *times, row[f"{prefix}_step"])
    return UserState(**values, version=int(row["version"]))
