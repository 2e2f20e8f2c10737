"""The team inbox turned off after being on: what was copied to the group is still listed
by /mydata and deleted by /forget (the topic remembers its group); where the bot can no
longer reach the group, /forget still erases everything here and says what is left."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Harness, say, tap
from tests.e2e.test_mydata import export_of
from tests.e2e.test_team import (
    ADMIN,
    ALEX,
    BO,
    TEAM,
    team_bot,
    texts,
)
from tests.fakes.bot_api import FakeBotApi


async def forget(bot: Harness, user: int) -> None:
    question = await say(bot, user, "/forget")
    await tap(bot, user, question, "Erase everything")
    await bot.settle()


async def nothing_left_about(bot: Harness, user: int, alias: str) -> None:
    assert await bot.rows("SELECT count(*) FROM clients WHERE telegram_user_id = ?", user) == [
        (0,)
    ]
    assert await bot.rows(
        "SELECT count(*) FROM team_topics WHERE title LIKE ?", f"{alias} ·%"
    ) == [(0,)]
    assert await bot.rows(
        "SELECT count(*) FROM outbox WHERE payload LIKE ? OR payload LIKE ?",
        f"%{alias}%",
        f'%"tell":{user}%',
    ) == [(0,)]


async def test_with_the_team_inbox_off_mydata_lists_the_group_and_forget_deletes_the_topic(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    api = fake_api
    async with team_bot(api, tmp_path) as bot:
        api.send_text(ALEX, "copied to the group")
        api.send_text(BO, "me too")
        await bot.barrier(ALEX)
        await bot.barrier(BO)
        alex, bo = (
            next(t for t, v in api.topics(TEAM).items() if v.name.startswith(name))
            for name in ("Alex ·", "Bo ·")
        )
        assert await bot.rows("SELECT DISTINCT chat_id FROM team_topics") == [(TEAM,)]

        bot.settings = bot.settings.model_copy(update={"team_chat_id": None})
        await bot.restart()
        data = await export_of(bot, ALEX)
        assert data["team_inbox"]["topic_title"] == "Alex · Sam Rivera"
        assert "private group of your specialist's team" in data["team_inbox"]["about"]

        before = len(api.sent_to(ALEX))
        await forget(bot, ALEX)
        assert alex not in api.topics(TEAM)
        assert not [t for t in texts(api.sent_to(ALEX)[before:]) if "could not be erased" in t]
        await nothing_left_about(bot, ALEX, "Alex")

        # The bot was removed from the group meanwhile: Bo's topic cannot be deleted there.
        api.remove_bot_from_group(TEAM, by_user_id=ADMIN)
        before = len(api.sent_to(BO))
        await forget(bot, BO)
        assert bo in api.topics(TEAM)
        told = texts(api.sent_to(BO)[before:])
        assert any(t.startswith("Everything about you has been erased.") for t in told)
        [left] = [t for t in told if t.startswith("One thing could not be erased")]
        assert "because the bot is no longer in that group" in left
        await nothing_left_about(bot, BO, "Bo")
