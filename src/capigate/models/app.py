"""``app_data``: what Meta needs to accept an ``action_source=app`` event (spec §5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

EXTINFO_SLOTS = 16  # Meta wants exactly 16 positions, empty strings for unknowns (spec §5.1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtInfo:
    """The 16-slot ``extinfo`` array of spec §5.1, one named field per position.

    Slot 0 (``version``: ``a2`` Android, ``i2`` iOS) and slot 4 (``os_version``) are the
    ones Meta requires; every other slot may stay empty.
    """

    version: str = ""  # 0
    package_name: str = ""  # 1
    short_version: str = ""  # 2
    long_version: str = ""  # 3
    os_version: str = ""  # 4
    device_model: str = ""  # 5
    locale: str = ""  # 6
    timezone_abbreviation: str = ""  # 7
    carrier: str = ""  # 8
    screen_width: str = ""  # 9
    screen_height: str = ""  # 10
    screen_density: str = ""  # 11
    cpu_cores: str = ""  # 12
    external_storage_gb: str = ""  # 13
    free_storage_gb: str = ""  # 14
    device_timezone: str = ""  # 15

    def to_list(self) -> list[str]:
        """The 16 strings in Meta's order."""
        return list(_get_slots(self))

    @classmethod
    def from_list(cls, values: Sequence[str]) -> ExtInfo:
        """Build from Meta's positional array; it must hold exactly 16 strings."""
        if len(values) != EXTINFO_SLOTS:
            raise ValueError(f"extinfo needs {EXTINFO_SLOTS} entries, got {len(values)}")
        return cls(**dict(zip(_SLOT_NAMES, values, strict=True)))


_SLOT_NAMES = tuple(ExtInfo.__dataclass_fields__)
_get_slots = attrgetter(*_SLOT_NAMES)


@dataclass(frozen=True, slots=True, kw_only=True)
class AppData:
    """``app_data`` (spec §5). Tracking flags are booleans here and 0/1 on the wire."""

    advertiser_tracking_enabled: bool | None = None
    application_tracking_enabled: bool | None = None
    extinfo: ExtInfo | None = None
    campaign_ids: str | None = None
    install_referrer: str | None = None
    installer_package: str | None = None
    url_schemes: tuple[str, ...] | None = None
    vendor_id: str | None = None
    windows_attribution_id: str | None = None
    # SDK-only (spec §5, UNCERTAIN).
    consider_views: bool | None = None
    include_dwell_data: bool | None = None
    include_video_data: bool | None = None
    receipt_data: str | None = None
