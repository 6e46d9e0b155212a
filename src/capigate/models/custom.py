"""``custom_data``: what the event is worth and what it is about (spec §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from capigate.errors import ValidationError
from capigate.findings import error


@dataclass(frozen=True, slots=True, kw_only=True)
class Content:
    """One item of ``custom_data.contents``. Meta requires ``id`` (and ``quantity``) per item;
    the validator reports a missing ``id`` (spec §4, subcode 2804008)."""

    id: str | None = None
    quantity: int | None = None
    item_price: float | None = None
    delivery_category: str | None = None
    title: str | None = None
    description: str | None = None
    brand: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomData:
    """The standard ``custom_data`` keys of spec §4 plus free ``custom_properties``.

    Vertical keys (travel, real estate, automotive) travel in ``custom_properties``. A custom
    property may not reuse a standard key's name (Meta's SDK forbids it too): constructing one
    raises ``ValidationError``, so the payload never has to guess which value wins.
    """

    value: float | None = None
    currency: str | None = None
    content_ids: tuple[str, ...] | None = None
    content_type: str | None = None
    contents: tuple[Content, ...] | None = None
    content_name: str | None = None
    content_category: str | None = None
    num_items: int | None = None
    order_id: str | None = None
    predicted_ltv: float | None = None
    search_string: str | None = None
    status: str | bool | None = None
    delivery_category: str | None = None
    net_revenue: float | None = None
    item_number: str | None = None
    lead_event_source: str | None = None
    product_catalog_id: str | None = None
    customer_segmentation: str | None = None
    custom_properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.custom_properties and not STANDARD_KEYS.isdisjoint(self.custom_properties):
            clashes = sorted(STANDARD_KEYS.intersection(self.custom_properties))
            raise ValidationError(
                f"custom property {clashes[0]!r} reuses a standard custom_data key",
                [
                    error(
                        f"$.custom_data.{key}",
                        "custom_key_collision",
                        f"custom property {key!r} has the name of a standard custom_data key; "
                        "set the standard field instead",
                        "§4",
                    )
                    for key in clashes
                ],
            )


STANDARD_KEYS = frozenset(CustomData.__dataclass_fields__) - {"custom_properties"}
