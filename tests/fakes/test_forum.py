"""The fake Bot API's forum supergroups: topics, sends into them, checks, the group limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, Update
from telegram.error import BadRequest, RetryAfter

from tests.fakes.bot_api import FakeBotApi, running_fake_api

ALEX = 1001
JO = 1002
TEAM = -1001234
PLAIN = -1005678

RETRY_AFTER_WARNING = "ignore:.*retry_after.*"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with running_fake_api() as server:
        server.add_user(ALEX, "Alex")
        server.add_user(JO, "Jo")
        server.add_forum_group(TEAM, "Team", members={JO: "member"})
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.bot_url, base_file_url=api.file_url) as client:
        yield client


async def test_topics_live_and_die(api: FakeBotApi, bot: Bot) -> None:
    topic = await bot.create_forum_topic(TEAM, "Alex · Sam")
    thread = topic.message_thread_id
    assert api.topics(TEAM)[thread].name == "Alex · Sam"

    sent = await bot.send_message(TEAM, "hello topic", message_thread_id=thread)
    assert sent.message_thread_id == thread and sent.is_topic_message
    alex = await bot.send_message(ALEX, "words")
    copied = await bot.copy_message(TEAM, ALEX, alex.message_id, message_thread_id=thread)
    assert [m.text for m in api.in_topic(TEAM, thread)] == ["hello topic", "words"]
    assert api.in_topic(TEAM, thread)[1].copied_from == (ALEX, alex.message_id)
    assert copied.message_id == api.in_topic(TEAM, thread)[1].message_id

    await bot.edit_forum_topic(TEAM, thread, name="Alex · Ria")
    assert api.topics(TEAM)[thread].name == "Alex · Ria"
    with pytest.raises(BadRequest, match=r"(?i)topic_not_modified"):
        await bot.edit_forum_topic(TEAM, thread, name="Alex · Ria")
    await bot.close_forum_topic(TEAM, thread)
    assert api.topics(TEAM)[thread].closed
    with pytest.raises(BadRequest, match=r"(?i)topic_not_modified"):
        await bot.close_forum_topic(TEAM, thread)
    await bot.reopen_forum_topic(TEAM, thread)
    assert not api.topics(TEAM)[thread].closed

    await bot.delete_forum_topic(TEAM, thread)
    assert api.topics(TEAM) == {}
    assert api.in_topic(TEAM, thread) == []
    with pytest.raises(BadRequest, match=r"(?i)thread not found"):
        await bot.send_message(TEAM, "gone", message_thread_id=thread)


async def test_members_write_in_topics_and_general(api: FakeBotApi, bot: Bot) -> None:
    thread = (await bot.create_forum_topic(TEAM, "Alex · Sam")).message_thread_id
    api.send_topic_text(TEAM, JO, "in the topic", thread_id=thread)
    api.send_topic_text(TEAM, JO, "/clients")
    updates = await bot.get_updates()
    in_topic, in_general = (u.message for u in updates if isinstance(u, Update))
    assert in_topic is not None and in_general is not None
    assert (in_topic.message_thread_id, in_topic.is_topic_message) == (thread, True)
    assert in_topic.from_user is not None and in_topic.from_user.id == JO
    assert in_general.message_thread_id is None and not in_general.is_topic_message
    assert in_general.text == "/clients"


async def test_checks_see_forum_and_rights(api: FakeBotApi, bot: Bot) -> None:
    chat = await bot.get_chat(TEAM)
    assert (chat.type, chat.is_forum) == ("supergroup", True)
    me = await bot.get_chat_member(TEAM, api.bot_id)
    assert me.status == "administrator" and getattr(me, "can_manage_topics", False)
    assert (await bot.get_chat_member(TEAM, JO)).status == "member"
    assert (await bot.get_chat_member(TEAM, ALEX)).status == "left"

    api.add_forum_group(PLAIN, "Plain", forum=False, bot_admin=False)
    chat = await bot.get_chat(PLAIN)
    assert not chat.is_forum
    assert (await bot.get_chat_member(PLAIN, api.bot_id)).status == "member"
    with pytest.raises(BadRequest, match=r"(?i)not a forum"):
        await bot.create_forum_topic(PLAIN, "Alex")


async def test_topics_need_the_right_to_manage_them(api: FakeBotApi, bot: Bot) -> None:
    api.add_forum_group(PLAIN, "No rights", can_manage_topics=False)
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.create_forum_topic(PLAIN, "Alex")


@pytest.mark.filterwarnings(RETRY_AFTER_WARNING)
async def test_the_group_limit_is_twenty_a_minute(api: FakeBotApi, bot: Bot) -> None:
    api.enforce_limits(per_second=1000, per_chat_interval=0.0)
    for n in range(20):
        await bot.send_message(TEAM, f"copy {n}")
    with pytest.raises(RetryAfter):
        await bot.send_message(TEAM, "one too many")
    await bot.send_message(ALEX, "a private chat is not held up")
    assert api.violations == [("group", TEAM)]
