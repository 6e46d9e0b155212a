"""The event model: frozen dataclasses for one Meta server event and its parts (spec §2-§5).

``ServerEvent.from_dict`` parses Meta's wire shape; ``capigate.payload.event_to_wire`` writes it
back. ``parse_event`` returns warnings too instead of raising.
"""

from __future__ import annotations

from capigate.models.app import EXTINFO_SLOTS, AppData, ExtInfo
from capigate.models.custom import STANDARD_KEYS, Content, CustomData
from capigate.models.event import (
    ActionSource,
    AttributionData,
    AttributionSetting,
    OriginalEventData,
    ServerEvent,
)
from capigate.models.parse import from_dict, parse_event, parse_wire, write_event
from capigate.models.user import HASHED_KEYS, SDK_HASHED_KEYS, UserData, UserValue

__all__ = [
    "EXTINFO_SLOTS",
    "HASHED_KEYS",
    "SDK_HASHED_KEYS",
    "STANDARD_KEYS",
    "ActionSource",
    "AppData",
    "AttributionData",
    "AttributionSetting",
    "Content",
    "CustomData",
    "ExtInfo",
    "OriginalEventData",
    "ServerEvent",
    "UserData",
    "UserValue",
    "from_dict",
    "parse_event",
    "parse_wire",
    "write_event",
]
