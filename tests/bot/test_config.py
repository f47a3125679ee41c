from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import _SECTIONS, ConfigError, LogFormat, load_settings


def test_defaults_point_at_the_real_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 30)
    settings = load_settings()
    assert str(settings.discord.api_base_url) == "https://discord.com/api/v10"
    assert str(settings.gw2.base_url).rstrip("/") == "https://api.guildwars2.com"
    assert settings.database.path == Path("data/gw2optimizer.sqlite3")
    assert settings.metrics.port == 9108
    assert settings.logging.format is LogFormat.TEXT
    assert settings.mistral.enabled is False
    assert settings.sentry.dsn is None


def test_missing_token_names_the_variable_and_the_readme() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "DISCORD_TOKEN" in str(error.value)
    assert "README.md#configuration" in str(error.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("METRICS_PORT", "70000"),
        ("METRICS_PORT", "not-a-number"),
        ("GW2_API_BASE_URL", "api.guildwars2.com"),
        ("DISCORD_API_BASE_URL", "ftp://example"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_FORMAT", "xml"),
        ("DISCORD_DEV_GUILD_ID", "-4"),
    ],
)
def test_invalid_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 30)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert variable in str(error.value)


def test_invalid_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 30)
    monkeypatch.setenv("METRICS_PORT", "99999")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "x" * 30 not in str(error.value)


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-dotenv-file\nLOG_LEVEL=debug\n")
    settings = load_settings()
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "from-dotenv-file"
    assert settings.logging.level == "DEBUG"


def test_empty_optional_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 30)
    for name in ("DISCORD_DEV_GUILD_ID", "MISTRAL_API_KEY", "SENTRY_DSN", "KEY_ENCRYPTION_KEY"):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert settings.discord.dev_guild_id is None
    assert settings.mistral.api_key is None
    assert settings.sentry.dsn is None
    assert settings.security.key_encryption_key is None


def test_secrets_lists_every_configured_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "discord-token-value")
    monkeypatch.setenv("MISTRAL_API_KEY", "mistral-key-value")
    monkeypatch.setenv("SENTRY_DSN", "https://abc@o1.ingest.sentry.io/1")
    secrets = load_settings().secrets()
    assert "discord-token-value" in secrets
    assert "mistral-key-value" in secrets
    assert "https://abc@o1.ingest.sentry.io/1" in secrets


REPO = Path(__file__).resolve().parents[2]


def test_env_example_is_a_valid_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (REPO / ".env.example").read_text().replace("DISCORD_TOKEN=\n", "DISCORD_TOKEN=x\n")
    (tmp_path / ".env").write_text(text)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.discord.dev_guild_id is None
    assert settings.security.leak_guard_enabled is True


def test_every_variable_is_documented_in_the_readme_and_env_example() -> None:
    readme = (REPO / "README.md").read_text()
    example = (REPO / ".env.example").read_text()
    # "NAME=value", or "# NAME=value" for a default left unset on purpose (container paths).
    variables = {
        match.group(1)
        for match in re.finditer(r"^(?:# )?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE)
    }
    # Read by docker compose, not by the bot.
    variables -= {"ALERTMANAGER_DISCORD_WEBHOOK_URL", "GRAFANA_ADMIN_PASSWORD"}
    settings_variables = {
        (prefix + field).upper() for cls, prefix in _SECTIONS.values() for field in cls.model_fields
    }
    assert settings_variables == variables
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert missing == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", "redis://:hunter2pass@cache:abc/0"),
        ("DATABASE_URL", "postgresql://bot:hunter2pass@db:abc/gw2"),
    ],
)
def test_a_bad_port_in_a_service_url_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 30)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert variable in str(error.value)
    assert "Port" in str(error.value)
    assert "hunter2pass" not in str(error.value)
