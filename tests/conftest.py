"""Shared fixtures: settings pointing at a temporary database, an open database, and the
fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.storage.db import Database
from tests.fakes.bot_api import FakeBotApi

TOKEN = "123456:TEST-TOKEN-not-a-real-one-0123"


def make_settings(database: Path, **overrides: object) -> Settings:
    """Settings for a test: no .env, a private database, limits that keep tests quick."""
    values: dict[str, object] = {
        "_env_file": None,
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": "http://127.0.0.1:9",
        "database_path": database,
        "admin_ids": "900",
        "send_per_second": 1000,
        "send_per_chat_interval": 0,
        "stranger_reply_minutes": 0,  # answered every time (test_floods_and_blocks sets it)
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a database in a temporary folder (nothing listens at the API URL)."""
    return make_settings(tmp_path / "data" / "porchlight.sqlite3")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database in a temporary folder, closed afterwards."""
    database = await Database.open(tmp_path / "porchlight.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    """A fake Telegram Bot API server on 127.0.0.1."""
    api = FakeBotApi(token=TOKEN, bot_id=123456, bot_username="porchlight_test_bot")
    await api.start()
    try:
        yield api
    finally:
        await api.stop()
