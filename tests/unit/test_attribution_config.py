"""The attribution: settings section: defaults, YAML values, environment overrides, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from capigate import settings
from capigate.attribution.config import DAY_S, AttributionSettings, parse_attribution
from capigate.errors import ConfigError


def test_defaults_link_for_a_week_and_carry_everything() -> None:
    """No section: enabled, 7-day link window and IP/UA, 90-day fbc/fbp/UTMs."""
    settings = parse_attribution(None, {})
    assert settings == AttributionSettings()
    assert settings.link_window_s == 7 * DAY_S
    assert settings.keys_ttl_s == 90 * DAY_S
    assert settings.ip_ua_ttl_s == 7 * DAY_S
    assert settings.carry == {"fbc", "fbp", "utm", "ip", "user_agent"}
    assert settings.retention_s == 90 * DAY_S


def test_yaml_values_are_read_and_the_environment_wins() -> None:
    """CAPIGATE_ATTRIBUTION_<KEY> overrides the YAML section."""
    raw = {"ip_ua_ttl_s": 3600, "carry": ["fbc", "utm"], "enabled": True}
    env = {"CAPIGATE_ATTRIBUTION_ENABLED": "false", "CAPIGATE_ATTRIBUTION_CARRY": "fbp, ip"}
    settings = parse_attribution(raw, env)
    assert settings.ip_ua_ttl_s == 3600
    assert settings.enabled is False
    assert settings.carry == {"fbp", "ip"}


def test_carry_may_be_a_comma_separated_string() -> None:
    """carry: "fbc,fbp" in YAML reads like the environment variable."""
    assert parse_attribution({"carry": "fbc,fbp"}, {}).carry == {"fbc", "fbp"}


def test_an_empty_carry_list_carries_nothing() -> None:
    """carry: [] links users but copies no keys."""
    assert parse_attribution({"carry": []}, {}).carry == frozenset()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "attribution: must be a mapping"),
        ({"ttl": 5}, "attribution.ttl: unknown"),
        ({"keys_ttl_s": -1}, "attribution.keys_ttl_s: must be whole seconds"),
        ({"keys_ttl_s": 1.5}, "attribution.keys_ttl_s: must be whole seconds"),
        ({"link_window_s": 10**9}, "attribution.link_window_s: must be whole seconds"),
        ({"enabled": "maybe"}, "attribution.enabled: must be true or false"),
        ({"carry": ["fbc", "email"]}, "attribution.carry: 'email' is not one of"),
    ],
)
def test_bad_values_name_the_setting_and_the_rule(raw: object, message: str) -> None:
    """Every problem is a ConfigError naming the key and the rule."""
    with pytest.raises(ConfigError, match=message):
        parse_attribution(raw, {})


def test_a_bad_environment_value_names_the_variable() -> None:
    """The error names CAPIGATE_ATTRIBUTION_IP_UA_TTL_S, not the YAML key."""
    with pytest.raises(ConfigError, match="CAPIGATE_ATTRIBUTION_IP_UA_TTL_S"):
        parse_attribution({}, {"CAPIGATE_ATTRIBUTION_IP_UA_TTL_S": "a week"})


def test_capigate_yaml_has_an_attribution_section(tmp_path: Path) -> None:
    """settings.load reads attribution: from the YAML file; CAPIGATE_ATTRIBUTION_* wins."""
    config = tmp_path / "capigate.yaml"
    config.write_text("attribution:\n  ip_ua_ttl_s: 86400\n  carry: [fbc, fbp, utm]\n")
    env = {"CAPIGATE_ATTRIBUTION_LINK_WINDOW_S": "3600"}
    loaded = settings.load(config_path=str(config), environ=env).attribution
    assert (loaded.ip_ua_ttl_s, loaded.link_window_s) == (86_400, 3_600)
    assert loaded.carry == {"fbc", "fbp", "utm"}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert settings.load(config_path=str(empty), environ={}).attribution == AttributionSettings()
