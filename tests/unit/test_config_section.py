"""One settings section: YAML values, CAPIGATE_<SECTION>_<KEY> overrides, typed parsers."""

from __future__ import annotations

import pytest

from capigate.config_section import flag, number, parse_section, whole
from capigate.errors import ConfigError

PARSERS = {"enabled": flag, "delay_s": number(0, 10), "size": whole(1, 5)}


def test_environment_wins_and_unset_keys_stay_out() -> None:
    """An env override beats the YAML value; keys set nowhere are not in the result."""
    env = {"CAPIGATE_DEMO_DELAY_S": "2.5"}
    assert parse_section("demo", {"delay_s": 9, "size": 3}, env, PARSERS) == {
        "delay_s": 2.5,
        "size": 3,
    }
    assert parse_section("demo", None, {}, PARSERS) == {}


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        ("x", {}, "demo: must be a mapping of demo settings"),
        ({"zz": 1}, {}, r"demo.zz: unknown \(known: enabled, delay_s, size\)"),
        ({"enabled": "maybe"}, {}, "demo.enabled: must be true or false"),
        (
            {},
            {"CAPIGATE_DEMO_DELAY_S": "11"},
            "CAPIGATE_DEMO_DELAY_S: must be a number from 0 to 10",
        ),
        ({"size": True}, {}, "demo.size: must be a whole number from 1 to 5"),
    ],
)
def test_refusals_name_the_setting_and_rule(raw: object, env: dict[str, str], message: str) -> None:
    """Each refusal names the YAML key or the variable, and the rule."""
    with pytest.raises(ConfigError, match=f"^{message}$"):
        parse_section("demo", raw, env, PARSERS)


def test_the_noun_names_the_kind_of_value() -> None:
    """Sections may say "seconds" instead of "a number" in their errors."""
    with pytest.raises(ConfigError, match="x: must be whole seconds from 0 to 9"):
        whole(0, 9, noun="whole seconds")("x", "1.5")
    assert number(0, 1, noun="seconds")("x", "0.5") == 0.5
    assert flag("x", " Yes ") is True and flag("x", "off") is False
