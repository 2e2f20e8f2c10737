"""Configuration: precedence, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

GOOD_TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwx"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real .env and no inherited settings."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "ADMIN_IDS",
        "DEFAULT_TIMEZONE",
        "LOG_LEVEL",
        "DATABASE_PATH",
        "TELEGRAM_API_BASE_URL",
        "INVITE_TTL_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_come_from_settings_toml() -> None:
    settings = load_settings()
    assert settings.database_path == Path("data/porchlight.sqlite3")
    assert settings.telegram_api_base_url == "https://api.telegram.org"
    assert settings.default_timezone == "UTC"
    assert settings.invite_ttl_days == 7
    assert settings.admin_ids == frozenset()


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={GOOD_TOKEN}\nADMIN_IDS=1,2\nLOG_LEVEL=debug\n"
    )
    monkeypatch.setenv("ADMIN_IDS", "3")
    settings = load_settings()
    assert settings.token() == GOOD_TOKEN
    assert settings.admin_ids == frozenset({3})
    assert settings.log_level == "DEBUG"


def test_missing_token_is_explained() -> None:
    with pytest.raises(ConfigError, match=r"^TELEGRAM_BOT_TOKEN is not set: .*@BotFather"):
        load_settings().token()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "ADMIN_IDS",
            "12,abc",
            r"^ADMIN_IDS: 'abc' is not a Telegram user id; use comma-separated",
        ),
        ("DEFAULT_TIMEZONE", "Mars/Olympus", r"^DEFAULT_TIMEZONE: 'Mars/Olympus' is not a known"),
        (
            "TELEGRAM_BOT_TOKEN",
            "hello",
            r"^TELEGRAM_BOT_TOKEN: this does not look like a bot token",
        ),
        ("LOG_LEVEL", "chatty", r"^LOG_LEVEL: 'chatty' is not a log level"),
        ("TELEGRAM_API_BASE_URL", "ftp://x", r"^TELEGRAM_API_BASE_URL: 'ftp://x' is not an http"),
        ("INVITE_TTL_DAYS", "0", r"^INVITE_TTL_DAYS: "),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings()
    assert "\n" not in str(refused.value)


def test_the_token_never_shows_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    settings = load_settings()
    assert GOOD_TOKEN not in repr(settings)
    assert GOOD_TOKEN not in str(settings)
