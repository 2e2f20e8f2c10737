"""The team inbox when its group cannot take a message: a topic deleted in Telegram, the bot
removed from the group or its rights taken away. In TEAM_MODE=group what was for the
specialist then reaches their private chat after all; a topic that is gone is made again
for the next message; in TEAM_MODE=copy the team's lost copy is logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, say, tap
from tests.e2e.test_team import (
    ADMIN,
    ALEX,
    BO,
    CY,
    RIA,
    SAM,
    STAFF,
    TEAM,
    team_bot,
    texts,
)
from tests.fakes.bot_api import FakeBotApi, FakeMessage

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

URGENT = "honestly I want to k1ll myself tonight"
GONE = "The team group could not be reached (Alex's topic there was deleted; the next message"
REMOVED = "The team group could not be reached (the bot is no longer in the group)"


@pytest.fixture
async def group_bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    """The usual cast, every client with a topic; then TEAM_MODE=group."""
    async with team_bot(fake_api, tmp_path) as bot:
        bot.settings = bot.settings.model_copy(update={"team_mode": "group"})
        await bot.restart()
        yield bot


def alex_topic(api: FakeBotApi) -> int:
    [thread] = [t.thread_id for t in api.topics(TEAM).values() if t.name.startswith("Alex ·")]
    return thread


def copied(messages: list[FakeMessage]) -> list[tuple[int, int]]:
    return [m.copied_from for m in messages if m.copied_from]


async def nothing_lost(bot: Harness, words: list[FakeMessage]) -> None:
    """Every message reached Sam's chat or the group, nothing outside the group died,
    and Alex was never told a message of theirs failed."""
    reached = set(copied(bot.api.sent_to(SAM))) | set(copied(bot.api.sent_to(TEAM)))
    assert {(ALEX, m.message_id) for m in words} <= reached
    assert await bot.rows(
        "SELECT count(*) FROM outbox WHERE status = 'dead' AND chat_id != ?", TEAM
    ) == [(0,)]
    assert not [t for t in texts(bot.api.sent_to(ALEX)) if "could not" in t or "couldn't" in t]


async def test_a_deleted_topic_falls_back_to_the_specialist_and_is_made_again(
    group_bot: Harness,
) -> None:
    bot, api = group_bot, group_bot.api
    old = alex_topic(api)
    api.delete_topic_by_hand(TEAM, old)
    sam_before = len(api.sent_to(SAM))
    words = api.send_text(ALEX, "are you there?")
    await bot.barrier(ALEX)

    # Sam gets it privately, under one line saying why; the client is told nothing else.
    line, copy = api.sent_to(SAM)[sam_before:]
    assert (line.text or "").startswith(GONE)
    assert (line.text or "").endswith("so Alex's message comes here:")
    assert copy.copied_from == (ALEX, words.message_id)
    assert await bot.rows("SELECT count(*) FROM team_topics WHERE client_id = 1") == [(0,)]
    # Sam answers by replying, as to any copy.
    alex_before = len(api.sent_to(ALEX))
    api.send_text(SAM, "Yes, I'm here", reply_to=copy.message_id)
    await bot.barrier(SAM)
    assert "Yes, I'm here" in texts(api.sent_to(ALEX)[alex_before:])

    # The next message makes a new topic (one), and goes there, not to Sam's chat.
    sam_before = len(api.sent_to(SAM))
    again = api.send_text(ALEX, "thanks")
    await bot.barrier(ALEX)
    [new] = [t.thread_id for t in api.topics(TEAM).values() if t.name == "Alex · Sam Rivera"]
    assert new != old
    assert api.in_topic(TEAM, new)[-1].copied_from == (ALEX, again.message_id)
    assert copied(api.sent_to(SAM)[sam_before:]) == []
    assert await bot.rows("SELECT thread_id FROM team_topics WHERE client_id = 1") == [(new,)]
    await nothing_lost(bot, [words, again])


async def test_bot_removed_every_message_still_reaches_the_specialist(group_bot: Harness) -> None:
    bot, api = group_bot, group_bot.api
    api.remove_bot_from_group(TEAM, by_user_id=ADMIN)
    sam_before = len(api.sent_to(SAM))
    words = [api.send_text(ALEX, "one"), api.send_text(ALEX, "two")]
    await bot.barrier(ALEX)
    got = api.sent_to(SAM)[sam_before:]
    assert copied(got) == [(ALEX, m.message_id) for m in words]
    assert [t for t in texts(got) if not t.startswith(REMOVED)] == ["one", "two"]
    # Ria's clients too; the bot stays out of the group (it was removed: it does not leave).
    ria_before = len(api.sent_to(RIA))
    cy = api.send_text(CY, "hello Ria")
    await bot.barrier(CY)
    assert copied(api.sent_to(RIA)[ria_before:]) == [(CY, cy.message_id)]
    await nothing_lost(bot, words)


async def test_an_urgent_message_mentions_the_specialist_and_falls_back_the_same_way(
    group_bot: Harness,
) -> None:
    bot, api = group_bot, group_bot.api
    # While the group takes it: the specialist is mentioned in the topic.
    alex = alex_topic(api)
    words = api.send_text(ALEX, URGENT)
    await bot.barrier(ALEX)
    [mention] = [m for m in api.in_topic(TEAM, alex) if (m.text or "").startswith("Sam Rivera ⚠️")]
    assert mention.raw["entities"][0]["url"] == f"tg://user?id={SAM}"
    assert not mention.silent
    assert api.in_topic(TEAM, alex)[-1].copied_from == (ALEX, words.message_id)

    # Once the bot is out of the group: the same reaches Sam's private chat, loudly.
    api.remove_bot_from_group(TEAM, by_user_id=ADMIN)
    sam_before = len(api.sent_to(SAM))
    again = api.send_text(ALEX, URGENT)
    await bot.barrier(ALEX)
    got = api.sent_to(SAM)[sam_before:]
    assert texts(got)[0] == f"{REMOVED}, so this comes here:\n⚠️ Possibly urgent. From Alex:"
    assert texts(got)[1].startswith(REMOVED)
    assert got[2].copied_from == (ALEX, again.message_id)
    assert not any(m.silent for m in got)
    await nothing_lost(bot, [words, again])


async def test_rights_taken_away_no_topic_is_lost_and_one_is_made_when_they_return(
    group_bot: Harness,
) -> None:
    bot, api = group_bot, group_bot.api
    bo_topic = next(t for t, v in api.topics(TEAM).items() if v.name.startswith("Bo ·"))
    api.take_bot_rights(TEAM)
    api.delete_topic_by_hand(TEAM, bo_topic)
    sam_before = len(api.sent_to(SAM))
    first = api.send_text(BO, "hi Sam")
    await bot.barrier(BO)
    second = api.send_text(BO, "hello?")
    await bot.barrier(BO)
    got = api.sent_to(SAM)[sam_before:]
    assert copied(got) == [(BO, first.message_id), (BO, second.message_id)]
    lines = [t for t in texts(got) if t.startswith("The team group")]
    assert "Bo's topic there was deleted" in lines[0]
    # The new topic could not be made: the line says why, and no claim is left behind.
    assert "(the bot is no longer allowed to post or manage topics there)" in lines[1]
    assert await bot.rows("SELECT count(*) FROM team_topics WHERE client_id = 2") == [(0,)]

    # Alex stops: the topic is closed, and the bot may no longer write in a closed one.
    api.add_forum_group(TEAM, "Porch team")  # rights back, for the close
    question = await say(bot, ALEX, "/stop")
    await tap(bot, ALEX, question, "Yes, stop them")
    assert api.topics(TEAM)[alex_topic(api)].closed
    api.take_bot_rights(TEAM)
    sam_before = len(api.sent_to(SAM))
    words = api.send_text(ALEX, "still here")
    await bot.barrier(ALEX)
    got = api.sent_to(SAM)[sam_before:]
    assert copied(got) == [(ALEX, words.message_id)]
    assert "(Alex's topic there is closed to the bot)" in texts(got)[0]

    # Rights back: Bo's next message makes his topic, once.
    api.add_forum_group(TEAM, "Porch team")
    made = len(api.calls_to("createForumTopic"))
    api.send_text(BO, "and again")
    api.send_text(BO, "and once more")
    await bot.barrier(BO)
    assert len(api.calls_to("createForumTopic")) == made + 1
    assert sorted(t.name for t in api.topics(TEAM).values()).count("Bo · Sam Rivera") == 1
    await nothing_lost(bot, [words])
    assert await bot.rows(
        "SELECT count(*) FROM outbox WHERE status = 'dead' AND chat_id != ?", TEAM
    ) == [(0,)]


async def test_in_copy_mode_a_lost_team_copy_is_logged_and_the_topic_made_again(
    fake_api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = fake_api
    async with team_bot(api, tmp_path, members=STAFF) as bot:
        old = alex_topic(api)
        api.delete_topic_by_hand(TEAM, old)
        caplog.set_level(logging.WARNING)
        words = api.send_text(ALEX, "a quiet note")
        await bot.barrier(ALEX)
        assert (ALEX, words.message_id) in copied(api.sent_to(SAM))
        lost = [r.getMessage() for r in caplog.records if "team.copy_lost" in r.getMessage()]
        assert lost and all("a quiet note" not in line for line in lost)
        assert "why=topic_gone" in lost[0]
        again = api.send_text(ALEX, "another")
        await bot.barrier(ALEX)
        new = alex_topic(api)
        assert new != old
        assert api.in_topic(TEAM, new)[-1].copied_from == (ALEX, again.message_id)


async def test_urgent_words_go_ahead_of_the_group_s_other_copies(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    # One group message a second: nine ordinary copies make a line of about nine seconds.
    api = fake_api
    async with team_bot(api, tmp_path, members=STAFF) as bot:
        bot.settings = bot.settings.model_copy(update={"team_send_per_minute": 60})
        await bot.restart()
        ordinary = [api.send_text(who, f"day {n}") for n in range(3) for who in (ALEX, BO, CY)]

        def private() -> set[tuple[int, int]]:
            return set(copied(api.sent_to(SAM))) | set(copied(api.sent_to(RIA)))

        await api.wait_until(
            lambda: {(m.chat_id, m.message_id) for m in ordinary} <= private(),
            what="the private copies",
        )
        urgent = api.send_text(ALEX, URGENT)
        # People's private chats first: Sam has it while the group still waits.
        await api.wait_until(lambda: (ALEX, urgent.message_id) in private(), what="Sam's copy")
        await api.wait_until(lambda: len(copied(api.sent_to(TEAM))) == 10, timeout=30)
        group = copied(api.sent_to(TEAM))
        later = group[group.index((ALEX, urgent.message_id)) + 1 :]
        # Ordinary copies queued before it went after it (all but the few already on
        # their way: the group's worker holds up to three).
        assert len(later) >= 5, group


async def test_what_falls_back_after_a_transfer_reaches_the_new_specialist(
    group_bot: Harness,
) -> None:
    bot, api = group_bot, group_bot.api
    api.fail_next("copyMessage", chat_id=TEAM, status=500)
    words = api.send_text(ALEX, "before the move")
    await api.wait_until(
        lambda: any(c.error_code == 500 for c in api.calls_to("copyMessage")), what="the 500"
    )
    # The team's copy waits for its retry; meanwhile Alex moves to Ria and the bot is out.
    await say(bot, SAM, "/transfer Alex Ria Okafor")
    api.remove_bot_from_group(TEAM, by_user_id=ADMIN)
    ria_before = len(api.sent_to(RIA))
    bot.advance(timedelta(minutes=1))
    await api.wait_until(
        lambda: (ALEX, words.message_id) in copied(api.sent_to(RIA)[ria_before:]),
        what="Ria's copy",
    )
    copy = next(m for m in api.sent_to(RIA) if m.copied_from == (ALEX, words.message_id))
    alex_before = len(api.sent_to(ALEX))
    api.send_text(RIA, "Hello Alex, it's Ria", reply_to=copy.message_id)
    await bot.barrier(RIA)
    assert "Hello Alex, it's Ria" in texts(api.sent_to(ALEX)[alex_before:])


async def test_a_group_that_keeps_failing_falls_back_within_minutes_not_a_day(
    group_bot: Harness,
) -> None:
    bot, api = group_bot, group_bot.api
    api.fail_next("copyMessage", chat_id=TEAM, status=502, times=50)
    sam_before = len(api.sent_to(SAM))
    words = api.send_text(ALEX, "is the group down?")
    await api.wait_until(
        lambda: any(c.error_code == 502 for c in api.calls_to("copyMessage")), what="a 502"
    )
    bot.advance(timedelta(minutes=10))
    await api.wait_until(
        lambda: sum(c.error_code == 502 for c in api.calls_to("copyMessage")) >= 2,
        what="the retry",
    )
    assert copied(api.sent_to(SAM)[sam_before:]) == []  # still retrying the group
    bot.advance(timedelta(minutes=10))
    await api.wait_until(
        lambda: (ALEX, words.message_id) in copied(api.sent_to(SAM)[sam_before:]),
        what="Sam's copy",
    )
    line = texts(api.sent_to(SAM)[sam_before:])[0]
    assert line.startswith("The team group could not be reached (Telegram did not accept it")


async def test_once_the_bot_is_out_what_waits_for_the_group_falls_back_at_once(
    group_bot: Harness,
) -> None:
    bot, api = group_bot, group_bot.api
    # Telegram's own pace for the group: one message in three seconds.
    bot.settings = bot.settings.model_copy(update={"team_send_per_minute": 20})
    await bot.restart()
    api.remove_bot_from_group(TEAM, by_user_id=ADMIN)
    words = [api.send_text(who, f"now {who}") for who in (ALEX, BO, ALEX, BO)]
    started = asyncio.get_running_loop().time()
    await api.wait_until(
        lambda: {(m.chat_id, m.message_id) for m in words} <= set(copied(api.sent_to(SAM))),
        timeout=15,
        what="all four with Sam",
    )
    # Not one every three seconds: the first refusal gave up the rest too.
    assert asyncio.get_running_loop().time() - started < 6
    refused = [c for c in api.calls_to("copyMessage") if c.error_code == 403]
    assert 1 <= len(refused) <= 2
