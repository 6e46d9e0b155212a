"""The aiogram example: bot.py compiles without aiogram; its helpers build the right items."""

from __future__ import annotations

import ast
import py_compile
from pathlib import Path

import pytest

from tests.unit.example_bot import EXAMPLE_DIR, load_tracking

tracking = load_tracking()


def test_bot_compiles(tmp_path: Path) -> None:
    """bot.py is valid Python (aiogram itself is not installed, so it is not imported)."""
    py_compile.compile(str(EXAMPLE_DIR / "bot.py"), cfile=str(tmp_path / "bot.pyc"), doraise=True)


def test_helpers_import_neither_aiogram_nor_the_gateway() -> None:
    """tracking.py uses only the stdlib and capigate.client, so the tests can run it."""
    tree = ast.parse((EXAMPLE_DIR / "tracking.py").read_text())
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [m for m in modules if m.startswith("capigate")] == ["capigate.client"]
    assert not [m for m in modules if m.startswith("aiogram")]


@pytest.mark.parametrize(
    ("args", "token"),
    [
        ("lp-81f2_Ab9", "lp-81f2_Ab9"),
        ("  lp-81f2 ", "lp-81f2"),
        ("x" * 64, "x" * 64),
        ("x" * 65, None),
        ("has space", None),
        ("emoji🙂", None),
        ("a/b", None),
        ("", None),
        (None, None),
    ],
)
def test_start_token_accepts_only_telegrams_alphabet(args: str | None, token: str | None) -> None:
    """A deep-link token is 1-64 chars of [A-Za-z0-9_-]; anything else is dropped."""
    assert tracking.start_token(args) == token


def test_start_bot_carries_the_token_as_start_param() -> None:
    """/start <token> -> start_bot with context.start_param and the Telegram id."""
    assert tracking.start_bot(42, "lp-81f2", language="uz") == {
        "event": "start_bot",
        "user": {"telegram_id": "42"},
        "properties": {"language": "uz"},
        "context": {"start_param": "lp-81f2"},
    }
    assert "context" not in tracking.start_bot(42, None)


@pytest.mark.parametrize(
    ("step", "value", "user", "properties"),
    [
        ("language", " UZ ", {}, {"language_selected": "uz"}),
        ("name", "Ali Valiyev", {"first_name": "Ali", "last_name": "Valiyev"}, None),
        ("name", "Ali", {"first_name": "Ali"}, None),
        ("phone", "+998 90 123 45 67", {"phone": "+998 90 123 45 67"}, None),
        ("currency", "usd", {}, {"currency_selected": "USD"}),
        ("capital", "1 000 000", {}, {"start_capital_amount": 1_000_000.0}),
    ],
)
def test_onboarding_steps_map_to_plan_keys(
    step: str, value: str, user: dict[str, str], properties: dict[str, object] | None
) -> None:
    """Each step is its plan key; name and phone go to user fields, never properties."""
    item = tracking.onboarding(step, 42, value)
    assert item["event"] == f"onboarding_{step}"
    assert item["user"] == {"telegram_id": "42", **user}
    assert item.get("properties") == properties


def test_unknown_onboarding_step_is_refused() -> None:
    """A typo in a step name fails loudly, naming the known steps."""
    with pytest.raises(ValueError, match="language, name, phone, currency, capital"):
        tracking.onboarding("age", 42, "30")


def test_onboarding_activity_is_the_plain_step() -> None:
    """The lifecycle engine's activity: onboarding_step with step and value."""
    item = tracking.onboarding_activity("currency", 42, " UZS ")
    assert item == {
        "event": "onboarding_step",
        "user": {"telegram_id": "42"},
        "properties": {"step": "currency", "value": "UZS"},
    }


@pytest.mark.parametrize(
    ("text", "amount"),
    [("25000", 25000.0), ("25 000", 25000.0), ("12,5", 12.5), ("0", None), ("-5", None),
     ("abc", None), ("nan", None), ("inf", None), ("", None)],
)  # fmt: skip
def test_parse_amount(text: str, amount: float | None) -> None:
    """Positive finite numbers, with a space or comma as the user types them."""
    assert tracking.parse_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "expense"),
    [
        ("25000 food", (25000.0, None, "food")),
        ("12.5 usd Taxi ride", (12.5, "USD", "taxi ride")),
        ("300", (300.0, None, None)),
        ("hello there", None),
        ("", None),
    ],
)
def test_parse_expense(text: str, expense: tuple[float, str | None, str | None] | None) -> None:
    """<amount> [currency] [category...]; anything else is not an expense."""
    parsed = tracking.parse_expense(text)
    assert (None if parsed is None else (parsed.amount, parsed.currency, parsed.category)) == (
        expense
    )


def test_expense_events_first_and_activity() -> None:
    """first_entry only for the first expense; expense_logged only with activity on."""
    expense = tracking.Expense(25000.0, None, "food")
    first = tracking.expense_events(42, expense, first=True, activity=False)
    later = tracking.expense_events(42, expense, first=False, activity=False)
    both = tracking.expense_events(42, expense, first=True, activity=True)
    assert [e["event"] for e in first] == ["first_entry"]
    assert first[0]["properties"] == {
        "amount": 25000.0, "category_assigned": "food", "entry_mode": "text"
    }  # fmt: skip
    assert later == []
    assert [e["event"] for e in both] == ["expense_logged", "first_entry"]
