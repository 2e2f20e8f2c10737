"""One frozen Settings object from the environment, .env and config/settings.toml.

Order of precedence: environment, then .env, then config/settings.toml, then the
defaults below. A bad value stops the program with one line naming the setting.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_DIR = Path(os.environ.get("PORCHLIGHT_CONFIG_DIR", Path(__file__).parent.parent / "config"))
_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")


class ConfigError(Exception):
    """A setting that cannot be used; the message is one line a person can act on."""


# What to say for each setting that fails validation.
_ADVICE = {
    "telegram_bot_token": "set it to the token @BotFather gave you (like 123456:ABC-DEF...)",
    "admin_ids": "use comma-separated Telegram user ids, like 11111111,22222222",
    "default_timezone": "use an IANA time zone name such as Europe/Berlin or UTC",
    "log_level": "use one of DEBUG, INFO, WARNING, ERROR",
    "telegram_api_base_url": "use a URL like https://api.telegram.org",
}


class Settings(BaseSettings):
    """Everything configurable about a Porchlight instance."""

    model_config = SettingsConfigDict(
        frozen=True,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        toml_file=CONFIG_DIR / "settings.toml",
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    database_path: Path = Path("data/porchlight.sqlite3")
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_timezone: str = "UTC"
    log_level: str = "INFO"
    invite_ttl_days: int = Field(default=7, ge=1, le=365)
    send_per_second: float = Field(default=29, gt=0)
    send_per_chat_interval: float = Field(default=1.0, ge=0)
    api_timeout_seconds: float = Field(default=10, gt=0, le=120)
    retention_days: int = Field(default=180, ge=1, le=3650)
    checkin_tick_seconds: float = Field(default=15, gt=0, le=3600)
    patience_after: int = Field(default=3, ge=1, le=50)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then .env, then config/settings.toml."""
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
        )

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _token_shape(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        if not _TOKEN_RE.match(str(value).strip()):
            raise ValueError("this does not look like a bot token")
        return str(value).strip()

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, int):
            return frozenset({value})
        if not isinstance(value, str):
            return value
        ids = set()
        for part in value.replace(" ", "").split(","):
            if not part:
                continue
            if not part.isdigit():
                raise ValueError(f"{part!r} is not a Telegram user id")
            ids.add(int(part))
        return frozenset(ids)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{value!r} is not a known time zone") from error
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: Any) -> Any:
        level = str(value).upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"{value!r} is not a log level")
        return level

    @field_validator("telegram_api_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    def token(self) -> str:
        """The bot token, or ConfigError when it is missing."""
        if self.telegram_bot_token is None:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in .env "
                "(see .env.example) or in the environment"
            )
        return self.telegram_bot_token.get_secret_value()

    @property
    def log_level_number(self) -> int:
        """The log level as the logging module's number."""
        return logging.getLevelNamesMapping()[self.log_level]


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning the first validation problem into a ConfigError."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "configuration"
        reason = str(first["msg"]).removeprefix("Value error, ")
        advice = _ADVICE.get(field, "see .env.example and config/settings.toml")
        raise ConfigError(f"{field.upper()}: {reason}; {advice}") from None
