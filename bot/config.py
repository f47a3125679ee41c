"""Settings from the environment and an optional ``.env`` file, one class per section.

Every variable is listed in ``.env.example`` and in the README's configuration table. Invalid values
stop start-up with a message naming the variable (see ``load_settings``), never a traceback.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    AnyWebsocketUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from .storage.urls import DatabaseTarget

README_CONFIG_SECTION = "README.md#configuration"

Port = Annotated[int, Field(ge=0, le=65535)]


class _Section(BaseSettings):
    """Common behaviour: read the environment and ``.env``; ignore unrelated variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class DiscordSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="DISCORD_")

    token: SecretStr | None = None
    dev_guild_id: int | None = Field(default=None, gt=0)
    api_base_url: AnyHttpUrl = AnyHttpUrl("https://discord.com/api/v10")
    gateway_url: AnyWebsocketUrl = AnyWebsocketUrl("wss://gateway.discord.gg/")
    # Seconds to wait for guilds after READY; Discord's default is 2 s.
    guild_ready_timeout: float = Field(default=2.0, ge=0, le=60)
    # Shards: empty asks Discord (GET /gateway/bot) how many; SHARD_IDS ("0-3", "0,2") makes this
    # process run only those shards of SHARD_COUNT (clusters), and needs SHARD_COUNT.
    shard_count: int | None = Field(default=None, ge=1, le=100_000)
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None

    @field_validator("dev_guild_id", "shard_count", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        # ``DISCORD_TOKEN=`` (what ``cp .env.example .env`` gives) means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return parse_shard_ids(value)
        return value

    @field_validator("shard_ids")
    @classmethod
    def _shard_ids_within_count(
        cls, value: tuple[int, ...] | None, info: ValidationInfo
    ) -> tuple[int, ...] | None:
        if value is None:
            return None
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("needs DISCORD_SHARD_COUNT (the total number of shards)")
        outside = [i for i in value if not 0 <= i < count]
        if outside or not value:
            raise ValueError(f"shard ids must be between 0 and {count - 1}; got {outside}")
        return value


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0-3"`` → (0, 1, 2, 3); ``"0,2"`` → (0, 2); ranges and ids mix (``"0-1,4"``)."""
    ids: set[int] = set()
    for part in text.replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"{text!r} is not a list of shard ids like 0-3 or 0,2")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(f"{part!r}: a range goes from low to high, like 0-3")
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


class DatabaseSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="DATABASE_")

    path: Path = Path("data/gw2optimizer.sqlite3")
    # Unset or sqlite:///path = SQLite (DATABASE_PATH is the older spelling of the same);
    # postgresql://user:password@host:5432/db = PostgreSQL (cluster mode). A secret: never logged.
    url: SecretStr | None = None
    # Cluster mode: how long a process's claim on scheduled work lasts; a process that dies holds
    # its claims this long before another takes them over.
    lease_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)

    @field_validator("url", mode="before")
    @classmethod
    def _empty_url_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from .storage.urls import parse_database_url

            # Raises with the password masked.
            parse_database_url(value.get_secret_value(), Path("."))
        return value

    def target(self) -> DatabaseTarget:
        """Which backend and where: SQLite at ``path`` unless ``url`` says otherwise."""
        from .storage.urls import parse_database_url

        return parse_database_url(self.url.get_secret_value() if self.url else None, self.path)

    @property
    def data_dir(self) -> Path:
        """Where the database and the generated encryption key live."""
        target = self.target()
        return target.path.parent if target.path is not None else self.path.parent


class RedisSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="REDIS_")

    # Cluster mode: redis://[:password@]host:6379/0 shares the Discord and GW2 rate limits and
    # the GW2 answers between processes. Unset: each process keeps its own (one process).
    url: SecretStr | None = None
    prefix: str = Field(default="gw2opt:", min_length=1, max_length=64)

    @field_validator("url", mode="before")
    @classmethod
    def _empty_url_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must start with redis://, rediss:// or unix://")
        if value is not None:
            urlsplit(value.get_secret_value()).port  # noqa: B018  a bad port: one clear line now
        return value


class SecuritySettings(_Section):
    key_encryption_key: SecretStr | None = None
    # Deleting GW2 API keys pasted in public channels needs Discord's privileged Message Content
    # intent; with this off the bot neither asks for the intent nor reads guild messages.
    leak_guard_enabled: bool = True
    # Strict verified roles strip managed roles from members who never linked: that needs the
    # privileged Server Members intent, asked for only when this is on.
    roles_strict_mode_enabled: bool = False

    @field_validator("key_encryption_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class GW2Settings(_Section):
    model_config = SettingsConfigDict(env_prefix="GW2_API_")

    base_url: AnyHttpUrl = AnyHttpUrl("https://api.guildwars2.com")
    # ArenaNet rejected the Bearer header for a while in Nov 2024; "query" sends ?access_token=.
    auth_transport: Literal["header", "query"] = "header"


class MistralSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="MISTRAL_")

    api_key: SecretStr | None = None
    model: str = "mistral-small-latest"
    server_url: AnyHttpUrl = AnyHttpUrl("https://api.mistral.ai")
    timeout_seconds: float = Field(default=8.0, gt=0, le=60)

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def enabled(self) -> bool:
        return self.api_key is not None


class MetricsSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="METRICS_")

    host: str = "127.0.0.1"
    port: Port = 9108  # 0 disables the sidecar


class SentrySettings(_Section):
    model_config = SettingsConfigDict(env_prefix="SENTRY_")

    dsn: SecretStr | None = None
    environment: str = "production"
    # Performance tracing: share of interactions and scheduled cycles sent as transactions, and
    # share of those profiled. 0 (the default) turns each off.
    traces_sample_rate: float = Field(default=0.0, ge=0, le=1)
    profiles_sample_rate: float = Field(default=0.0, ge=0, le=1)

    @field_validator("dsn", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("traces_sample_rate", "profiles_sample_rate", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return 0.0 if isinstance(value, str) and not value.strip() else value


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class LoggingSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="LOG_")

    level: str = "INFO"
    format: LogFormat = LogFormat.TEXT

    @field_validator("level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> str:
        name = str(value).strip().upper()
        if name not in logging.getLevelNamesMapping():
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return name


class Settings:
    """All sections, built once at start-up and handed to whoever needs them."""

    def __init__(
        self,
        *,
        discord: DiscordSettings | None = None,
        database: DatabaseSettings | None = None,
        security: SecuritySettings | None = None,
        gw2: GW2Settings | None = None,
        mistral: MistralSettings | None = None,
        metrics: MetricsSettings | None = None,
        sentry: SentrySettings | None = None,
        logging: LoggingSettings | None = None,
        redis: RedisSettings | None = None,
    ) -> None:
        self.discord = discord or DiscordSettings()
        self.database = database or DatabaseSettings()
        self.security = security or SecuritySettings()
        self.gw2 = gw2 or GW2Settings()
        self.mistral = mistral or MistralSettings()
        self.metrics = metrics or MetricsSettings()
        self.sentry = sentry or SentrySettings()
        self.logging = logging or LoggingSettings()
        self.redis = redis or RedisSettings()

    def secrets(self) -> list[str]:
        """Every configured secret value, for the log and Sentry redactors."""
        values = [
            self.discord.token,
            self.security.key_encryption_key,
            self.mistral.api_key,
            self.sentry.dsn,
        ]
        found = [v.get_secret_value() for v in values if v is not None]
        # Connection URLs: the whole URL and its password alone (drivers may quote either).
        for url in (self.database.url, self.redis.url):
            if url is not None:
                found.append(url.get_secret_value())
                password = urlsplit(url.get_secret_value()).password
                if password:
                    found.append(password)
        return found


class ConfigError(Exception):
    """Start-up cannot continue; ``str()`` is one line naming the variable(s) and what to do."""


_SECTIONS: dict[str, tuple[type[_Section], str]] = {
    "discord": (DiscordSettings, "DISCORD_"),
    "database": (DatabaseSettings, "DATABASE_"),
    "redis": (RedisSettings, "REDIS_"),
    "security": (SecuritySettings, ""),
    "gw2": (GW2Settings, "GW2_API_"),
    "mistral": (MistralSettings, "MISTRAL_"),
    "metrics": (MetricsSettings, "METRICS_"),
    "sentry": (SentrySettings, "SENTRY_"),
    "logging": (LoggingSettings, "LOG_"),
}


def load_settings(*, require_token: bool = True) -> Settings:
    """Read every section; raise ``ConfigError`` naming each bad variable (never its value)."""
    built: dict[str, _Section] = {}
    problems: list[str] = []
    for attr, (cls, prefix) in _SECTIONS.items():
        try:
            built[attr] = cls()
        except ValidationError as error:
            for issue in error.errors():
                field = str(issue["loc"][0]) if issue["loc"] else "?"
                problems.append(f"{(prefix + field).upper()}: {issue['msg']}")
    if problems:
        raise ConfigError(
            "Invalid configuration: " + "; ".join(problems) + f" (see {README_CONFIG_SECTION})"
        )
    settings = Settings(**built)  # type: ignore[arg-type]
    if require_token and settings.discord.token is None:
        raise ConfigError(
            "DISCORD_TOKEN is not set: create a bot token in the Discord developer portal and "
            f"put it in the environment or .env (see {README_CONFIG_SECTION})"
        )
    return settings
