"""Settings: YAML plus CAPIGATE_* overrides, secrets only from env or a secrets file, fail fast."""

from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path

import pytest

from capigate import settings
from capigate.errors import ConfigError
from capigate.sources import DEV_SOURCE, SourceKind

SERVER_KEY = "sk_live_0123456789abcdef"
BROWSER_KEY = "pk_live_0123456789abcdef"


@pytest.fixture(autouse=True)
def _in_empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray ./capigate.yaml


def write(tmp_path: Path, text: str, name: str = "capigate.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_defaults_are_sandbox_with_a_loopback_dev_source() -> None:
    """With nothing configured the gateway runs in sandbox mode with the keyless dev source."""
    s = settings.load(environ={})
    assert s.sandbox
    assert s.db_url == "sqlite:///./capigate.db"
    assert s.sources == (DEV_SOURCE,)
    assert DEV_SOURCE.loopback_only and DEV_SOURCE.keyless
    assert s.default_pixel.id == settings.SANDBOX_PIXEL_ID
    assert s.config_path is None


def test_yaml_then_env_then_flags(tmp_path: Path) -> None:
    """CLI overrides beat CAPIGATE_* variables, which beat the YAML file."""
    path = write(tmp_path, "port: 9000\nhost: 0.0.0.0\nmax_body_bytes: 5000\ndb: memory://\n")
    environ = {"CAPIGATE_PORT": "9100", "CAPIGATE_MAX_BODY_BYTES": "6000"}
    s = settings.load(config_path=path, environ=environ, overrides={"port": 9200, "db": None})
    assert (s.port, s.host, s.max_body_bytes, s.db_url) == (9200, "0.0.0.0", 6000, "memory://")
    assert s.config_path == path


def test_config_path_from_environment(tmp_path: Path) -> None:
    """CAPIGATE_CONFIG names the YAML file."""
    path = write(tmp_path, "outbox_high_water: 77\n", "other.yaml")
    assert settings.load(environ={"CAPIGATE_CONFIG": path}).outbox_high_water == 77


def test_trusted_proxies_from_yaml_list_and_env_commas(tmp_path: Path) -> None:
    """Trusted proxies are CIDRs: a YAML list or a comma-separated variable."""
    path = write(tmp_path, "trusted_proxies: [10.0.0.0/8, '::1']\n")
    s = settings.load(config_path=path, environ={})
    assert s.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    s = settings.load(environ={"CAPIGATE_TRUSTED_PROXIES": "192.168.0.0/16, 127.0.0.1"})
    assert len(s.trusted_proxies) == 2


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({"CAPIGATE_PORT": "http"}, "CAPIGATE_PORT: must be a whole number"),
        ({"CAPIGATE_PORT": "70000"}, "CAPIGATE_PORT: must be a whole number from 1 to 65535"),
        ({"CAPIGATE_DB": "mysql://x"}, "CAPIGATE_DB: must start with sqlite:///"),
        ({"CAPIGATE_TRUSTED_PROXIES": "10.0.0.0/8,nope"}, "'nope' is not an IP address"),
        ({"CAPIGATE_MAX_BODY_BYTES": "10"}, "CAPIGATE_MAX_BODY_BYTES: must be a whole number"),
        ({"CAPIGATE_LOG_LEVEL": "loud"}, "CAPIGATE_LOG_LEVEL: must be one of"),
        ({"CAPIGATE_GRAPH_VERSION": "25"}, "CAPIGATE_GRAPH_VERSION: must look like v25.0"),
        ({"CAPIGATE_META_ACCESS_TOKEN": "EAAB"}, "pixel_id: CAPIGATE_META_ACCESS_TOKEN is set"),
    ],
)
def test_bad_environment_values_name_the_setting_and_rule(
    environ: dict[str, str], needle: str
) -> None:
    """A bad value fails at load with the variable's name and the rule it breaks."""
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        settings.load(environ=environ)


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        ("prot: 80\n", "prot: unknown setting"),
        ("access_token: EAAB\n", "access_token: secrets may not be written"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("port: [1\n", "not valid YAML"),
        ("pixels:\n  - id: '12'\n    access_token: EAAB\n", r"pixels\[0\].access_token"),
        ("pixels:\n  - id: abc\n", r"pixels\[0\].id: must be a numeric"),
        ("pixels: []\n", "pixels: must be a non-empty list"),
    ],
)
def test_bad_yaml_names_the_setting(tmp_path: Path, yaml_text: str, needle: str) -> None:
    """Unknown keys, secrets in the file and malformed entries fail with the key's name."""
    with pytest.raises(ConfigError, match=needle):
        settings.load(config_path=write(tmp_path, yaml_text), environ={})


def test_missing_config_file_is_an_error() -> None:
    """An explicitly named config file that does not exist stops start-up."""
    with pytest.raises(ConfigError, match="cannot read it"):
        settings.load(config_path="/nonexistent/capigate.yaml", environ={})


def test_live_mode_requires_sources(tmp_path: Path) -> None:
    """Without sandbox there is no keyless dev source: a live gateway must list its sources."""
    environ = {"CAPIGATE_PIXEL_ID": "123456", "CAPIGATE_META_ACCESS_TOKEN": "EAAB-token"}
    with pytest.raises(ConfigError, match="sources: none configured"):
        settings.load(environ=environ)
    path = write(tmp_path, "sources:\n  - {name: bot, kind: server}\n")
    s = settings.load(config_path=path, environ={**environ, "CAPIGATE_SOURCE_BOT_KEY": SERVER_KEY})
    assert not s.sandbox
    assert s.default_pixel.access_token is not None
    assert s.default_pixel.access_token.reveal() == "EAAB-token"
    assert "EAAB" not in repr(s)


def test_pixel_tokens_from_named_variables_and_secrets_file(tmp_path: Path) -> None:
    """Each pixel names its token variable; the secrets file supplies what the env lacks."""
    secrets = write(
        tmp_path, "# tokens\nTOKEN_B='EAAB-b'\nCAPIGATE_SOURCE_BOT_KEY=" + SERVER_KEY, "s"
    )
    path = write(
        tmp_path,
        "secrets_file: " + secrets + "\n"
        "pixels:\n"
        "  - {id: '111', token_env: TOKEN_A, test_event_code: TEST1}\n"
        "  - {id: '222', token_env: TOKEN_B}\n"
        "sources:\n  - {name: bot, kind: server, pixel: '222'}\n",
    )
    s = settings.load(config_path=path, environ={"TOKEN_A": "EAAB-a"})
    tokens = [p.access_token.reveal() if p.access_token else None for p in s.pixels]
    assert tokens == ["EAAB-a", "EAAB-b"]
    assert s.pixel("111").test_event_code == "TEST1"
    assert s.pixel(None).id == "111"
    assert s.sources[0].pixel_id == "222"


def test_some_pixels_without_token_is_an_error(tmp_path: Path) -> None:
    """Mixing live and sandbox pixels is ambiguous and refused."""
    path = write(tmp_path, "pixels:\n  - {id: '1', token_env: T1}\n  - {id: '2', token_env: T2}\n")
    with pytest.raises(ConfigError, match="pixel 2 has no token in T2"):
        settings.load(config_path=path, environ={"T1": "EAAB"})


def test_sources_keep_only_key_digests(tmp_path: Path) -> None:
    """Server keys come from the environment, browser keys may be in YAML; only digests stay."""
    path = write(
        tmp_path,
        "sources:\n"
        "  - name: bot\n    kind: server\n    key_env: BOT_KEY\n"
        "  - name: web\n    kind: browser\n    key: " + BROWSER_KEY + "\n"
        "    origins: ['https://Example.com/']\n    events: [page_view]\n"
        "  - name: pay\n    kind: server\n    key_sha256: " + "a" * 64 + "\n",
    )
    s = settings.load(config_path=path, environ={"BOT_KEY": SERVER_KEY})
    bot, web, pay = s.sources
    assert bot.kind is SourceKind.SERVER and not bot.request_context
    assert bot.key_digests == (hashlib.sha256(SERVER_KEY.encode()).digest(),)
    assert web.is_browser and web.request_context
    assert web.origins == frozenset({"https://example.com"})
    assert web.events == frozenset({"page_view"})
    assert pay.key_digests == (bytes.fromhex("a" * 64),)
    assert SERVER_KEY not in repr(s) and BROWSER_KEY not in repr(s)


@pytest.mark.parametrize(
    ("source_yaml", "needle"),
    [
        ("{name: bot, kind: server, key: " + SERVER_KEY + "}", r"sources\[bot\].key: a server key"),
        ("{name: bot, kind: robot}", r"sources\[bot\].kind: must be 'server' or 'browser'"),
        ("{name: Bot!, kind: server}", r"sources\[0\].name"),
        ("{name: web, kind: browser, key: " + BROWSER_KEY + "}", "origins"),
        ("{name: web, kind: server, key_env: NOPE}", r"sources\[web\]: no key; set NOPE"),
        ("{name: bot, kind: server, colour: red}", r"sources\[0\].colour: unknown"),
        ("{name: bot, kind: server, pixel: '999'}", "not one of the configured pixels"),
        ("{name: bot, kind: server, key_sha256: abc}", "64 lowercase hex"),
        ("{name: web, kind: browser, key: short, origins: ['https://a.b']}", "at least 16"),
    ],
)
def test_bad_sources_name_the_source_and_rule(
    tmp_path: Path, source_yaml: str, needle: str
) -> None:
    """Each source error names the source and the broken rule."""
    path = write(tmp_path, f"sources:\n  - {source_yaml}\n")
    with pytest.raises(ConfigError, match=needle):
        settings.load(config_path=path, environ={})


def test_two_sources_with_one_key_are_refused(tmp_path: Path) -> None:
    """A key identifies exactly one source."""
    path = write(
        tmp_path,
        "sources:\n"
        "  - {name: a, kind: server, key_env: K}\n"
        "  - {name: b, kind: server, key_env: K}\n",
    )
    with pytest.raises(ConfigError, match="share a key"):
        settings.load(config_path=path, environ={"K": SERVER_KEY})


def test_default_key_variable_is_derived_from_the_name(tmp_path: Path) -> None:
    """Without key_env a source reads CAPIGATE_SOURCE_<NAME>_KEY."""
    path = write(tmp_path, "sources:\n  - {name: mini-app, kind: server}\n")
    s = settings.load(config_path=path, environ={"CAPIGATE_SOURCE_MINI_APP_KEY": SERVER_KEY})
    assert s.sources[0].key_digests


def test_telegram_bot_token_is_a_secret_from_the_environment() -> None:
    """The bot token for initData checks comes from CAPIGATE_TELEGRAM_BOT_TOKEN."""
    s = settings.load(environ={"CAPIGATE_TELEGRAM_BOT_TOKEN": "123:ABC"})
    assert s.telegram_bot_token is not None
    assert s.telegram_bot_token.reveal() == "123:ABC"
    assert "ABC" not in repr(s)


def test_worker_section_is_parsed_by_the_worker_module(tmp_path: Path) -> None:
    """The worker: section and CAPIGATE_WORKER_* reach Settings.worker."""
    path = write(tmp_path, "worker:\n  batch_size: 500\n")
    s = settings.load(config_path=path, environ={"CAPIGATE_WORKER_CONCURRENCY": "3"})
    assert (s.worker.batch_size, s.worker.concurrency) == (500, 3)


def test_source_channel_defaults_and_is_checked(tmp_path: Path) -> None:
    """A source's plan channel defaults from its name or kind and must be a known kind."""
    path = write(
        tmp_path,
        "sources:\n"
        "  - {name: bot, kind: server}\n"
        "  - {name: billing, kind: server}\n"
        "  - {name: lp, kind: browser, key: " + BROWSER_KEY + ", origins: ['https://a.io']}\n"
        "  - {name: app, kind: server, channel: mini_app}\n",
    )
    environ = {f"CAPIGATE_SOURCE_{n}_KEY": SERVER_KEY + n for n in ("BOT", "BILLING", "APP")}
    s = settings.load(config_path=path, environ=environ)
    assert [x.channel for x in s.sources] == ["bot", "server", "website", "mini_app"]
    bad = write(tmp_path, "sources:\n  - {name: x, kind: server, channel: fax}\n", "bad.yaml")
    with pytest.raises(ConfigError, match=r"sources\[x\].channel: must be one of"):
        settings.load(config_path=bad, environ={"CAPIGATE_SOURCE_X_KEY": SERVER_KEY})
