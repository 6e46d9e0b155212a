"""Wire-shaped events shared by the model, payload and pipeline tests."""

from __future__ import annotations

from typing import Any

H = "a" * 64  # a SHA-256-shaped value
NOW_S = 1_763_800_000.0
EXTINFO = [
    "i2", "com.example", "1.0", "1.0 long", "17.0", "iPhone14,2", "en_US", "UTC",
    "Beeline", "1170", "2532", "3", "6", "128", "64", "Asia/Tashkent",
]  # fmt: skip


def full_event() -> dict[str, Any]:
    """Every server-event field set, in canonical form and canonical key order."""
    return {
        "event_name": "Purchase",
        "event_time": 1_763_799_000,
        "event_id": "sub_81f2",
        "action_source": "app",
        "event_source_url": "https://example.com/pay",
        "referrer_url": "https://example.com/",
        "messaging_channel": "whatsapp",
        "user_data": {
            "em": H,
            "ph": [H, "b" * 64],
            "fn": H,
            "ln": H,
            "db": H,
            "ge": H,
            "ct": H,
            "st": H,
            "zp": H,
            "country": H,
            "external_id": H,
            "client_ip_address": "2001:db8::1",
            "client_user_agent": "Mozilla/5.0",
            "fbc": "fb.1.1554763741205.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB",
            "fbp": "fb.1.1596403881668.1116446470",
            "subscription_id": "sub-1",
            "fb_login_id": 1234567890,
            "lead_id": "123456789012345",
            "anon_id": "anon-1",
            "madid": "38400000-8cf0-11bd-b23e-10b96e40000d",
            "page_id": "1001",
            "page_scoped_user_id": "2002",
            "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO",
            "ig_account_id": "3003",
            "ig_sid": "4004",
            "whatsapp_business_account_id": "5005",
            "instagram_business_account_id": "6006",
        },
        "custom_data": {
            "value": 142.52,
            "currency": "usd",
            "content_ids": ["sku-1", "sku-2"],
            "content_type": "product",
            "contents": [
                {
                    "id": "sku-1",
                    "quantity": 2,
                    "item_price": 71.26,
                    "delivery_category": "home_delivery",
                    "title": "Lamp",
                    "description": "A lamp",
                    "brand": "Acme",
                    "category": "Home",
                }
            ],
            "content_name": "Lamp",
            "content_category": "Home",
            "num_items": 2,
            "order_id": "order-1",
            "predicted_ltv": 400.0,
            "search_string": "lamp",
            "status": "completed",
            "delivery_category": "home_delivery",
            "net_revenue": 30.5,
            "item_number": "1",
            "lead_event_source": "crm",
            "product_catalog_id": "cat-1",
            "customer_segmentation": "new_customer_to_business",
            "plan": "monthly",
            "utm_source": "fb",
        },
        "app_data": {
            "advertiser_tracking_enabled": 1,
            "application_tracking_enabled": 0,
            "extinfo": EXTINFO,
            "campaign_ids": "enc-campaigns",
            "install_referrer": "utm_source=fb",
            "installer_package": "com.android.vending",
            "url_schemes": ["example"],
            "vendor_id": "idfv-1",
            "windows_attribution_id": "win-1",
            "consider_views": 1,
            "include_dwell_data": 0,
            "include_video_data": 1,
            "receipt_data": "receipt",
        },
        "original_event_data": {
            "event_name": "Subscribe",
            "event_time": 1_763_700_000,
            "order_id": "order-0",
            "event_id": "sub_0",
        },
        "attribution_data": {
            "scope": "click",
            "visit_time": 1_763_700_000,
            "ad_id": "ad-1",
            "adset_id": "adset-1",
            "campaign_id": "campaign-1",
            "attribution_share": 0.5,
            "attribution_model": "last_click",
            "attr_window": 7,
            "attribution_value": 10.0,
            "attribution_source": "meta",
            "touchpoint_type": "click",
            "touchpoint_ts": 1_763_700_001,
            "attribution_method": "deeplink",
            "decline_reason": "duplicated",
            "auditing_token": "token",
            "linkage_key": "link",
            "touchpoint_id": "tp-1",
            "attribution_setting": {
                "inactivity_window_hours": 24,
                "reattribution_window_hours": 48,
            },
            "total_credit": 1.0,
            "partner_client_id": "partner-1",
        },
        "opt_out": False,
        "data_processing_options": ["LDU"],
        "data_processing_options_country": 1,
        "data_processing_options_state": 1000,
        "customer_segmentation": "existing_customer_to_business",
        "advanced_measurement_table": "amt",
    }


def small_event(**overrides: Any) -> dict[str, Any]:
    """A minimal valid website event with hashed user_data."""
    event: dict[str, Any] = {
        "event_name": "Lead",
        "event_time": 1_763_799_000,
        "action_source": "website",
        "event_source_url": "https://example.com/",
        "user_data": {"em": H, "client_user_agent": "Mozilla/5.0"},
    }
    event.update(overrides)
    return event
