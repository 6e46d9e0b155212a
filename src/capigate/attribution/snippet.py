"""The landing-page snippet ``capigate.js`` as the gateway serves it: with its own plan inside.

The Meta Pixel and the gateway deduplicate a pair of events only when both carry the same event
name and id, so the snippet must name each website event as the plan does and build its id from
the plan's template. The file ships with seed 000's names; ``render`` writes the running plan's
website events between the ``/*plan*/`` and ``/*end plan*/`` markers.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from capigate.plan.model import Plan

WEBSITE_SOURCE = "website"
_PLAN_BLOCK = re.compile(r"/\*plan\*/.*?/\*end plan\*/", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Snippet:
    """The rendered script and its strong ETag (a quoted SHA-256 prefix of the bytes)."""

    body: bytes
    etag: str


def source() -> str:
    """The snippet's source as shipped (``capigate/attribution/capigate.js``)."""
    return resources.files(__package__).joinpath("capigate.js").read_text("utf-8")


def website_events(plan: Plan) -> tuple[tuple[str, str, str], ...]:
    """``(plan key, event_name, event_id template)`` of every event a website may send."""
    return tuple(
        (key, rule.event_name, rule.event_id)
        for key, rule in plan.events.items()
        if WEBSITE_SOURCE in rule.sources
    )


@cache
def render(events: tuple[tuple[str, str, str], ...]) -> Snippet:
    """The snippet with ``events`` (from ``website_events``) as its plan."""
    plan = {key: {"event_name": name, "event_id": template} for key, name, template in events}
    block = "/*plan*/ " + json.dumps(plan, indent=2).replace("\n", "\n  ") + " /*end plan*/"
    text, count = _PLAN_BLOCK.subn(lambda _: block, source(), count=1)
    if count != 1:
        raise ValueError("capigate.js has lost its /*plan*/ ... /*end plan*/ markers")
    body = text.encode("utf-8")
    return Snippet(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
