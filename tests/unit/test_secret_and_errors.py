"""Secrets never print; InvalidField names its key and rule."""

from __future__ import annotations

from capigate.errors import GatewayError, InvalidField
from capigate.secret import Secret


def test_secret_masks_value_in_str_and_repr() -> None:
    """Neither str() nor repr() nor an f-string shows the secret."""
    s = Secret("EAAB-very-secret")
    assert "very-secret" not in str(s)
    assert "very-secret" not in repr(s)
    assert "very-secret" not in f"{s} {s!r}"
    assert s.reveal() == "EAAB-very-secret"


def test_secret_compares_by_value_and_is_falsy_when_empty() -> None:
    """Two secrets with one value are equal; an empty secret is falsy."""
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert not Secret("")
    assert hash(Secret("a")) == hash(Secret("a"))


def test_invalid_field_names_key_and_rule() -> None:
    """The message a user sees carries the field and the rule slug."""
    err = InvalidField("em", "email_format", "not an email address")
    assert isinstance(err, GatewayError)
    assert err.key == "em" and err.rule == "email_format"
    assert "em" in str(err) and "email_format" in str(err)


def test_finding_under_moves_path_below_prefix() -> None:
    """An event-level finding is re-rooted under its request index."""
    from capigate.findings import error

    f = error("$.user_data.em", "email_format", "not an email", "§3.1")
    assert f.under("$.data[3]").path == "$.data[3].user_data.em"
    assert f.is_error
    assert f.to_dict()["severity"] == "error"
