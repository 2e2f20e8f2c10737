"""An answer written in a client's topic is kept (its ids, never its words) before Telegram
is told it arrived, as a client's message is: a handling that fails is retried by the tick,
and one a crash left unhandled is relayed at the next start."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.storage.inbox import Received
from tests.e2e.harness import Harness
from tests.e2e.test_team import ALEX, RIA, SAM, TEAM, team_bot, texts
from tests.fakes.bot_api import FakeBotApi, FakeMessage

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    """The usual cast, with the team group on from the start."""
    async with team_bot(fake_api, tmp_path) as running:
        yield running


def alex_topic(bot: Harness) -> int:
    [thread] = [t for t, v in bot.api.topics(TEAM).items() if v.name.startswith("Alex ·")]
    return thread


def failing(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, times: int, error: Exception
) -> list[bool]:
    """The next answers from a topic fail inside their transaction."""
    team = bot.services.team
    original = team._to_client
    failed: list[bool] = []

    async def fails(*args: Any, **kwargs: Any) -> Any:
        if len(failed) < times:
            failed.append(True)
            raise error
        return await original(*args, **kwargs)

    monkeypatch.setattr(team, "_to_client", fails)
    return failed


def reached_alex(bot: Harness, words: FakeMessage) -> bool:
    return (TEAM, words.message_id) in [m.copied_from for m in bot.api.sent_to(ALEX)]


async def test_an_answer_whose_handling_failed_is_retried_by_the_tick(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = failing(bot, monkeypatch, 1, sqlite3.OperationalError("database is locked"))
    words = bot.api.send_topic_text(TEAM, RIA, "I'm here, Alex", thread_id=alex_topic(bot))
    await bot.barrier(RIA)
    assert failed and not reached_alex(bot, words)
    # Kept by its ids only: no words, no note of what it said.
    assert await bot.rows("SELECT user_id, chat_id, message_id, thread_id FROM inbox") == [
        (RIA, TEAM, words.message_id, alex_topic(bot))
    ]
    await bot.run_tick()
    await bot.api.wait_until(lambda: reached_alex(bot, words), what="the retried answer")
    assert await bot.rows("SELECT count(*) FROM inbox") == [(0,)]
    # Once: a second tick, or the update again, sends nothing more.
    await bot.run_tick()
    assert [m.copied_from for m in bot.api.sent_to(ALEX)].count((TEAM, words.message_id)) == 1


async def test_an_answer_left_unhandled_is_relayed_at_the_next_start(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As after a kill -9 between Telegram's confirmation and the handler: it fails (a bug,
    # so the tick leaves it), the row stays, and the bot starts again.
    failing(bot, monkeypatch, 5, RuntimeError("a bug"))
    words = bot.api.send_topic_text(TEAM, SAM, "Back now, Alex", thread_id=alex_topic(bot))
    await bot.barrier(SAM)
    assert not reached_alex(bot, words)
    monkeypatch.undo()
    await bot.restart()
    await bot.api.wait_until(lambda: reached_alex(bot, words), what="the replayed answer")
    assert texts(bot.api.sent_to(ALEX))[-2:] == [
        "From Sam Rivera, your peer support specialist:",
        "Back now, Alex",
    ]
    assert await bot.rows("SELECT count(*) FROM inbox") == [(0,)]


async def test_only_answers_in_topics_are_kept(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = bot.services.relay._inbox
    original = inbox.keep
    kept: list[Received] = []

    async def keep(received: Received, now: Any) -> None:
        kept.append(received)
        await original(received, now)

    monkeypatch.setattr(inbox, "keep", keep)
    thread = alex_topic(bot)
    bot.api.send_topic_text(TEAM, RIA, "# a note for the team", thread_id=thread)
    bot.api.send_topic_text(TEAM, RIA, "/checkin", thread_id=thread)
    bot.api.send_topic_text(TEAM, RIA, "in General")
    answer = bot.api.send_topic_text(TEAM, RIA, "an answer", thread_id=thread)
    await bot.barrier(RIA)
    assert [(k.chat_id, k.message_id, k.thread_id) for k in kept if k.user_id == RIA] == [
        (TEAM, answer.message_id, thread)
    ]
    assert await bot.rows("SELECT count(*) FROM inbox") == [(0,)]
    assert "# a note for the team" not in texts(bot.api.sent_to(ALEX))
