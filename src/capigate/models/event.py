"""The server event: one element of the ``data`` array Meta receives (spec §2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from capigate.models.app import AppData
from capigate.models.custom import CustomData
from capigate.models.user import UserData


class ActionSource(StrEnum):
    """Where the conversion happened; Meta accepts exactly these nine values (spec §2)."""

    EMAIL = "email"
    WEBSITE = "website"
    APP = "app"
    PHONE_CALL = "phone_call"
    CHAT = "chat"
    PHYSICAL_STORE = "physical_store"
    SYSTEM_GENERATED = "system_generated"
    BUSINESS_MESSAGING = "business_messaging"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginalEventData:
    """Links a delayed event to the acquisition event it follows (spec §2, D-OED)."""

    event_name: str | None = None
    event_time: int | None = None
    order_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributionSetting:
    """``attribution_data.attribution_setting`` (SDK-only, spec §2)."""

    inactivity_window_hours: int | None = None
    reattribution_window_hours: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributionData:
    """Attribution passback data (SDK-only, not in Meta's public table; spec §2 UNCERTAIN)."""

    scope: str | None = None
    visit_time: int | None = None
    ad_id: str | None = None
    adset_id: str | None = None
    campaign_id: str | None = None
    attribution_share: float | None = None
    attribution_model: str | None = None
    attr_window: int | None = None
    attribution_value: float | None = None
    attribution_source: str | None = None
    touchpoint_type: str | None = None
    touchpoint_ts: int | None = None
    attribution_method: str | None = None
    decline_reason: str | None = None
    auditing_token: str | None = None
    linkage_key: str | None = None
    touchpoint_id: str | None = None
    attribution_setting: AttributionSetting | None = None
    total_credit: float | None = None
    partner_client_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerEvent:
    """One Meta server event with every field of spec §2.

    Fields are declared in the order the payload writes them (``capigate.payload``):
    identity, where it happened, who, what, links to other events, privacy, extras.
    ``data_processing_options=()`` is meaningful (an explicit "no LDU") and is kept on the wire.
    """

    event_name: str
    event_time: int
    event_id: str | None = None
    action_source: ActionSource
    event_source_url: str | None = None
    referrer_url: str | None = None
    messaging_channel: str | None = None
    user_data: UserData
    custom_data: CustomData | None = None
    app_data: AppData | None = None
    original_event_data: OriginalEventData | None = None
    attribution_data: AttributionData | None = None
    opt_out: bool | None = None
    data_processing_options: tuple[str, ...] | None = None
    data_processing_options_country: int | None = None
    data_processing_options_state: int | None = None
    customer_segmentation: str | None = None
    advanced_measurement_table: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServerEvent:
        """Parse Meta's wire shape; raise ``ValidationError`` listing every wrongly typed field.

        Warnings (such as a fractional ``event_time``) are dropped here; use
        ``capigate.models.parse_event`` to see them.
        """
        from capigate.models.parse import from_dict

        return from_dict(data)
