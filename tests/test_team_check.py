"""`python -m bot check` with TEAM_CHAT_ID: the group must be a supergroup with Topics on,
the bot an administrator allowed to manage topics; otherwise it says what to change."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.conftest import TOKEN
from tests.fakes.bot_api import FakeBotApi

TEAM = -1001234


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_api: FakeBotApi) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db.sqlite3"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ADMIN_IDS", "900")
    monkeypatch.setenv("TEAM_CHAT_ID", str(TEAM))


async def test_a_ready_team_group_passes(
    fake_api: FakeBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.add_forum_group(TEAM)
    assert await asyncio.to_thread(main, ["check"]) == 0
    assert f"Team inbox: the group {TEAM} is ready" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("group", "advice"),
    [
        ({"supergroup": False}, "is a group, not a supergroup: in the group's settings turn"),
        ({"forum": False}, "Topics are off in the team group"),
        ({"bot_admin": False}, "make it an administrator with the right to manage topics"),
        ({"can_manage_topics": False}, "give the bot the right Manage Topics"),
    ],
)
async def test_what_to_change_is_said(
    fake_api: FakeBotApi,
    capsys: pytest.CaptureFixture[str],
    group: dict[str, bool],
    advice: str,
) -> None:
    fake_api.add_forum_group(TEAM, **group)
    assert await asyncio.to_thread(main, ["check"]) == 1
    captured = capsys.readouterr()
    assert advice in captured.err
    assert "Configuration is fine" not in captured.out


async def test_a_group_the_bot_is_not_in(
    fake_api: FakeBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(main, ["check"]) == 1
    assert "add the bot to the team group" in capsys.readouterr().err


def test_a_team_chat_id_must_be_a_group(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAM_CHAT_ID", "12345")
    assert main(["check"]) == 2
    assert "TEAM_CHAT_ID" in capsys.readouterr().err
