"""Configuration: precedence, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

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
        "LOG_FORMAT",
        "WEBHOOK_URL",
        "WEBHOOK_LISTEN",
        "WEBHOOK_PORT",
        "WEBHOOK_SECRET",
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
        ("LOG_FORMAT", "xml", r"^LOG_FORMAT: .*; use text or json$"),
        ("WEBHOOK_PORT", "70000", r"^WEBHOOK_PORT: .*; use a port number between 1 and 65535$"),
        ("TEAM_MODE", "both", r"^TEAM_MODE: .*; use copy \(.*\) or group \(the team group"),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings()
    assert "\n" not in str(refused.value)


def test_team_mode_group_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the group cannot take goes to the specialist's private chat (tests/e2e/test_team).
    monkeypatch.setenv("TEAM_MODE", " Group ")
    assert load_settings().team_mode == "group"


def test_the_token_never_shows_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    settings = load_settings()
    assert GOOD_TOKEN not in repr(settings)
    assert GOOD_TOKEN not in str(settings)


WEBHOOK_SECRET = "s3cret-for-the-webhook-0123456789"


def test_polling_unless_a_webhook_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().webhook() is None
    monkeypatch.setenv("WEBHOOK_URL", "https://example.org/hook/")
    monkeypatch.setenv("WEBHOOK_SECRET", WEBHOOK_SECRET)
    webhook = load_settings().webhook()
    assert webhook is not None
    assert (webhook.url, webhook.path, webhook.listen, webhook.port) == (
        "https://example.org/hook/",
        "/hook",
        "127.0.0.1",
        8443,
    )
    assert webhook.secret.get_secret_value() == WEBHOOK_SECRET
    assert WEBHOOK_SECRET not in repr(load_settings())


@pytest.mark.parametrize(
    ("url", "secret", "message"),
    [
        ("https://example.org/hook", None, r"^WEBHOOK_SECRET: not set, and webhook mode"),
        ("https://example.org/hook", "short", r"^WEBHOOK_SECRET: this secret has the wrong"),
        ("https://example.org/hook", "x" * 20 + "!", r"^WEBHOOK_SECRET: this secret has"),
        ("https://example.org/hook", "x" * 20 + "\n", r"^WEBHOOK_SECRET: this secret has"),
        ("http://example.org/hook", WEBHOOK_SECRET, r"^WEBHOOK_URL: Telegram only calls https"),
        ("example.org/hook", WEBHOOK_SECRET, r"^WEBHOOK_URL: 'example.org/hook' is not an http"),
        ("https://example.org/a?b=c", WEBHOOK_SECRET, r"^WEBHOOK_URL: .* the path cannot use"),
    ],
)
def test_webhook_mistakes_are_named(
    monkeypatch: pytest.MonkeyPatch, url: str, secret: str | None, message: str
) -> None:
    monkeypatch.setenv("WEBHOOK_URL", url)
    if secret is not None:
        monkeypatch.setenv("WEBHOOK_SECRET", secret)
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings()
    assert "\n" not in str(refused.value)
    if secret is not None and secret != WEBHOOK_SECRET:
        assert secret not in str(refused.value)


def test_plain_http_webhooks_only_with_a_self_hosted_bot_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081")
    monkeypatch.setenv("WEBHOOK_URL", "http://127.0.0.1:8443/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", WEBHOOK_SECRET)
    assert load_settings().webhook() is not None


def test_secrets_are_refused_in_settings_toml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    toml = tmp_path / "settings.toml"
    toml.write_text(f'webhook_secret = "{WEBHOOK_SECRET}"\n')
    monkeypatch.setitem(Settings.model_config, "toml_file", toml)
    with pytest.raises(ConfigError, match=r"^WEBHOOK_SECRET is a secret: remove it from") as no:
        load_settings()
    assert WEBHOOK_SECRET not in str(no.value)


def test_an_unreadable_settings_file_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As when a service user runs the command line from a folder it may not enter.
    def unreadable(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", ".env")

    monkeypatch.setattr(Settings, "__init__", unreadable)
    with pytest.raises(ConfigError, match=r"could not read the settings \(Permission denied"):
        load_settings()
