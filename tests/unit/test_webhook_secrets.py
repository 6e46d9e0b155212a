"""Webhook secrets come from the environment or the secrets file, through Settings, masked."""

from __future__ import annotations

from pathlib import Path

from capigate import settings
from capigate.secret import Secret
from capigate.webhook_ingest import providers_from
from tests.unit import webhook_kit as kit


def test_settings_keep_named_secrets_from_the_environment() -> None:
    """Any variable the plan names can be looked up; the value never shows in repr."""
    loaded = settings.load(environ={"CAPIGATE_WEBHOOK_BILLING_SECRET": kit.BILLING_SECRET})
    assert loaded.secrets.get("CAPIGATE_WEBHOOK_BILLING_SECRET") == Secret(kit.BILLING_SECRET)
    assert loaded.secrets.get("CAPIGATE_ATMOS_CALLBACK_KEY") is None
    assert kit.BILLING_SECRET not in repr(loaded)


def test_secrets_may_come_from_the_secrets_file(tmp_path: Path) -> None:
    """secrets_file lines feed the same lookup, so providers are enabled from it."""
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("\n".join(f"{name}={value}" for name, value in kit.ENV.items()))
    loaded = settings.load(environ={"CAPIGATE_SECRETS_FILE": str(secrets_file)})
    assert set(providers_from(kit.plan(), loaded.secrets.get)) == {"billing", "atmos"}
