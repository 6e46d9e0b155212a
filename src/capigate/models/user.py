"""``user_data``: the customer information Meta matches an event to a person with (spec §3)."""

from __future__ import annotations

from dataclasses import dataclass

# A match key holds one value or several (Meta's ``string or list<string>``).
UserValue = str | tuple[str, ...] | None

# Keys whose values Meta wants as SHA-256 of the normalized value (spec §3.1).
HASHED_KEYS = ("em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id")
# SDK-only variants that the SDKs hash too (spec §3.1, UNCERTAIN whether Meta still reads them).
SDK_HASHED_KEYS = ("f5first", "f5last", "fi", "dobd", "dobm", "doby", "app_user_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class UserData:
    """Every ``user_data`` key of spec §3.1, in the order the payload writes them.

    Hashed keys carry what Meta receives (hex SHA-256) once the pipeline has normalized them;
    never-hash keys (IP, user agent, click and device ids) carry their plain value.
    """

    em: UserValue = None
    ph: UserValue = None
    fn: UserValue = None
    ln: UserValue = None
    db: UserValue = None
    ge: UserValue = None
    ct: UserValue = None
    st: UserValue = None
    zp: UserValue = None
    country: UserValue = None
    external_id: UserValue = None
    client_ip_address: str | None = None
    client_user_agent: str | None = None
    fbc: str | None = None
    fbp: str | None = None
    subscription_id: str | None = None
    fb_login_id: str | int | None = None
    lead_id: str | int | None = None
    anon_id: str | None = None
    madid: str | None = None
    page_id: str | None = None
    page_scoped_user_id: str | None = None
    ctwa_clid: str | None = None
    ig_account_id: str | None = None
    ig_sid: str | None = None
    whatsapp_business_account_id: str | None = None
    instagram_business_account_id: str | None = None
    # SDK-only variants (spec §3.1: not in Meta's public table, hashed by the SDKs).
    f5first: UserValue = None
    f5last: UserValue = None
    fi: UserValue = None
    dobd: UserValue = None
    dobm: UserValue = None
    doby: UserValue = None
    app_user_id: UserValue = None
    # Sent by Segment; not in Meta's table (spec §3.1, UNCERTAIN).
    partner_id: str | None = None
    partner_name: str | None = None
