"""One frozen Settings object from the environment, .env and config/settings.toml.

Order of precedence: environment, then .env, then config/settings.toml, then the
defaults below. A bad value stops the program with one line naming the setting.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.domain.rhythm import parse_zone
from bot.report.figures import parse_weekly

# The configuration a wheel carries (setup.py copies config/ there), with .env.example.
SHIPPED_CONFIG_DIR = Path(__file__).parent / "_config"
SHIPPED_ENV_EXAMPLE = SHIPPED_CONFIG_DIR / "env.example"


def find_config_dir(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> Path:
    """The configuration folder: PORCHLIGHT_CONFIG_DIR (environment, or .env); else
    ./config when it holds a Porchlight configuration (a checkout, or a folder `porchlight
    init` made); else the checkout this code runs from (an editable install); else the copy
    the wheel carries."""
    where = cwd or Path.cwd()
    # Read from .env too, as every setting is (and named there, it must not be ignored).
    if chosen := environ.get("PORCHLIGHT_CONFIG_DIR") or _in_env_file(where / ".env"):
        return where / chosen
    here = where / "config"
    if (here / "settings.toml").is_file() and (here / "messages").is_dir():
        return here
    return default_config_dir()


def _in_env_file(env: Path) -> str | None:
    try:
        return dotenv_values(env).get("PORCHLIGHT_CONFIG_DIR")
    except (OSError, UnicodeDecodeError):
        return None  # loading the settings says what is wrong with the file


def default_config_dir() -> Path:
    """The configuration as shipped: the checkout's config/, or the wheel's copy of it."""
    checkout = Path(__file__).parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "config").is_dir():
        return checkout / "config"
    return SHIPPED_CONFIG_DIR


def env_example() -> Path:
    """The example .env: the checkout's, or the copy the wheel carries."""
    checkout = Path(__file__).parent.parent / ".env.example"
    return checkout if checkout.is_file() else SHIPPED_ENV_EXAMPLE


CONFIG_DIR = find_config_dir()
# The exit status for configuration a person must mend before the bot can run.
EXIT_CONFIG = 2


def configuration_error(error: Exception) -> str:
    """The one line for configuration files that cannot be used."""
    return f"Error in the configuration in {CONFIG_DIR}: {error}"


_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
# Telegram allows 1-256 of these characters; fewer than 16 would be guessable.
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")
_WEBHOOK_PATH_RE = re.compile(r"[A-Za-z0-9/_.~-]*")
OFFICIAL_API = "https://api.telegram.org"
# Read from the environment or .env only, never from config/settings.toml (which is
# shared, copied into images and often committed).
SECRETS = frozenset({"telegram_bot_token", "webhook_secret"})


class ConfigError(Exception):
    """A setting that cannot be used; the message is one line a person can act on."""


class MissingToken(ConfigError):
    """TELEGRAM_BOT_TOKEN is not set (the demo needs none)."""


# What to say for each setting that fails validation.
_ADVICE = {
    "telegram_bot_token": "set it to the token @BotFather gave you (like 123456:ABC-DEF...)",
    "admin_ids": "use comma-separated Telegram user ids, like 11111111,22222222",
    "default_timezone": "use an IANA time zone name such as Europe/Berlin or UTC, or an offset"
    " like UTC+02:00",
    "log_level": "use one of DEBUG, INFO, WARNING, ERROR",
    "telegram_api_base_url": "use a URL like https://api.telegram.org",
    "webhook_url": "use the public https URL Telegram should call, like https://example.org/hook",
    "webhook_port": "use a port number between 1 and 65535",
    "webhook_secret": "use 16-256 letters, digits, _ or -; make one with: "
    "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
    "log_format": "use text or json",
    "report_weekly": "use a day and a time, like mon 09:00",
    "metrics_port": "use a port number between 1 and 65535, or leave it empty for no metrics",
    "team_chat_id": "use the team supergroup's id, a negative number like -1001234567890,"
    " or leave it empty for no team inbox",
    "team_mode": "use copy (the specialist's private chat and the team group) or group (the"
    " team group only)",
}


@dataclass(frozen=True)
class Webhook:
    """Where `run` listens for Telegram's calls, and the secret each call must carry."""

    url: str
    path: str
    listen: str
    port: int
    secret: SecretStr


class _TomlWithoutSecrets(TomlConfigSettingsSource):
    """config/settings.toml, refusing the secrets that belong in .env or the environment."""

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        found = sorted(SECRETS & values.keys())
        if found:
            raise ConfigError(
                f"{found[0].upper()} is a secret: remove it from config/settings.toml and put "
                "it in .env or the environment"
            )
        return values


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
    log_format: Literal["text", "json"] = "text"
    invite_ttl_days: int = Field(default=7, ge=1, le=365)
    send_per_second: float = Field(default=29, gt=0)
    send_per_chat_interval: float = Field(default=1.0, ge=0)
    api_timeout_seconds: float = Field(default=10, gt=0, le=120)
    retention_days: int = Field(default=180, ge=1, le=3650)
    checkin_tick_seconds: float = Field(default=15, gt=0, le=3600)
    patience_after: int = Field(default=3, ge=1, le=50)
    # Escalation: an urgent message unanswered this long goes to the supervisors; any
    # client unanswered this long brings their specialist one reminder.
    escalate_after_minutes: float = Field(default=15, gt=0, le=24 * 60)
    remind_after_hours: float = Field(default=24, gt=0, le=24 * 30)
    # The programme report to every admin once a week ("mon 09:00", programme time).
    report_weekly: str | None = None
    # A database that stays unusable this long stops the bot (exit 1) for its supervisor.
    storage_failure_exit_minutes: float = Field(default=5, gt=0, le=1440)
    database_busy_timeout_seconds: float = Field(default=5, gt=0, le=600)
    # Webhook mode (long polling without WEBHOOK_URL). The secret comes after the URL:
    # its check reads the URL.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    # Prometheus metrics (off without a port): counts and timings only (bot/metrics.py).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_listen: str = "127.0.0.1"
    # A stranger hears the same answer once in this many minutes; 0: every time.
    stranger_reply_minutes: float = Field(default=60, ge=0, le=1440)
    # The team inbox (off without a chat id): a staff supergroup with one topic per client.
    team_chat_id: int | None = Field(default=None, lt=0)
    team_mode: Literal["copy", "group"] = "copy"
    # Telegram lets a bot send about 20 messages a minute into one group.
    team_send_per_minute: float = Field(default=20, gt=0)

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
            _TomlWithoutSecrets(settings_cls),
        )

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _token_shape(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
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
        """An IANA name or a UTC offset, read as a client's /timezone reads it."""
        try:
            return parse_zone(value)
        except ValueError as error:
            raise ValueError(f"{value!r} is not a known time zone") from error

    @field_validator("report_weekly", mode="before")
    @classmethod
    def _weekly(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        parse_weekly(str(value))
        return str(value).strip()

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

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _no_port(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("team_chat_id", mode="before")
    @classmethod
    def _no_team(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("team_mode", mode="before")
    @classmethod
    def _mode_name(cls, value: Any) -> Any:
        # group: what the group cannot take goes to the specialist's private chat instead
        # (bot.services.team, Team.failed), so the topic is never the only way to them.
        return str(value).strip().lower()

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_name(cls, value: Any) -> Any:
        return str(value).strip().lower()

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: Any, info: ValidationInfo) -> Any:
        if value in (None, ""):
            return None
        url = str(value).strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL")
        if parts.scheme == "http" and info.data.get("telegram_api_base_url") == OFFICIAL_API:
            # Only a self-hosted Bot API server calls plain http (and the tests' fake).
            raise ValueError("Telegram only calls https:// webhooks")
        if not _WEBHOOK_PATH_RE.fullmatch(parts.path) or parts.query or parts.fragment:
            raise ValueError(f"{url!r} has characters the path cannot use")
        return url

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: Any, info: ValidationInfo) -> Any:
        if value in (None, ""):
            if info.data.get("webhook_url"):
                raise ValueError("not set, and webhook mode (WEBHOOK_URL) needs it")
            return None
        secret = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not _WEBHOOK_SECRET_RE.fullmatch(secret):
            raise ValueError("this secret has the wrong length or characters")
        return secret

    def token(self) -> str:
        """The bot token, or ConfigError when it is missing."""
        if self.telegram_bot_token is None:
            raise MissingToken(
                "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in .env "
                "(see .env.example) or in the environment"
            )
        return self.telegram_bot_token.get_secret_value()

    def webhook(self) -> Webhook | None:
        """Webhook mode's settings, or None for long polling."""
        if self.webhook_url is None or self.webhook_secret is None:
            return None
        return Webhook(
            url=self.webhook_url,
            path=urlsplit(self.webhook_url).path.rstrip("/"),
            listen=self.webhook_listen,
            port=self.webhook_port,
            secret=self.webhook_secret,
        )

    def secret_values(self) -> list[str]:
        """Every configured secret, for the logs to blank out."""
        found = (self.telegram_bot_token, self.webhook_secret)
        return [secret.get_secret_value() for secret in found if secret is not None]

    @property
    def log_level_number(self) -> int:
        """The log level as the logging module's number."""
        return logging.getLevelNamesMapping()[self.log_level]


# Read from the environment (or .env) by the program itself, not a Settings field.
_OTHER_NAMES = frozenset({"porchlight_config_dir"})


def unknown_settings(env_file: Path = Path(".env"), toml_file: Path | None = None) -> list[str]:
    """A warning for each name in .env or settings.toml that is no setting (a typo would
    otherwise be ignored in silence), naming the closest known one."""
    known = sorted(Settings.model_fields)
    found: list[tuple[Path, str, str]] = []
    if env_file.is_file():
        for name in dotenv_values(env_file):
            found.append((env_file, name, name.lower()))
    toml_file = toml_file or CONFIG_DIR / "settings.toml"
    if toml_file.is_file():
        try:
            names = tomllib.loads(toml_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            names = {}  # loading the settings says what is wrong with it
        found += [(toml_file, name, name.lower()) for name in names]
    warnings = []
    for source, written, name in found:
        if name in known or name in _OTHER_NAMES:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        shown = written if source.suffix == ".toml" else written.upper()
        hint = ""
        if close:
            nearest = close[0] if source.suffix == ".toml" else close[0].upper()
            hint = f"; did you mean {nearest}?"
        warnings.append(f"Warning: {source} sets {shown}, which is not a setting{hint}")
    return warnings


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
    except OSError as error:  # an .env or settings file this user may not read
        raise ConfigError(
            f"could not read the settings ({error.strerror}: {error.filename});"
            " run the command from the project folder, as a user who may read it"
        ) from None
