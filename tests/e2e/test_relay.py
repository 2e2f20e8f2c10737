"""The two-way relay, end to end, with two specialists and three clients at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import TypeHandler

from tests.e2e.harness import Harness, harness
from tests.fakes.bot_api import MEDIA_KINDS, FakeBotApi, FakeMessage

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

SAM, RIA = 1001, 1002
ALEX, BO, CY = 2001, 2002, 2003
ADMIN = 900


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(fake_api, tmp_path) as running_bot:
        await running_bot.add_specialist(SAM, "Sam Rivera")
        await running_bot.add_specialist(RIA, "Ria Okafor")
        await running_bot.join(ALEX, "Alexandra", SAM, "Alex")
        await running_bot.join(BO, "Bo", SAM, "Bo")
        await running_bot.join(CY, "Cyrus", RIA, "Cy")
        await running_bot.settle()
        yield running_bot


def copies(messages: list[FakeMessage]) -> list[FakeMessage]:
    return [m for m in messages if m.copied_from is not None]


def texts(messages: list[FakeMessage]) -> list[str | None]:
    return [m.text for m in messages]


async def test_each_client_reaches_only_their_own_specialist(bot: Harness) -> None:
    sam_before, ria_before = len(bot.api.sent_to(SAM)), len(bot.api.sent_to(RIA))
    alex_says = bot.api.send_text(ALEX, "I had a rough week")
    bo_says = bot.api.send_text(BO, "hello from Bo")
    cy_says = bot.api.send_text(CY, "Cy checking in")
    sam_got = (await bot.said(SAM, sam_before + 4))[sam_before:]
    ria_got = (await bot.said(RIA, ria_before + 2))[ria_before:]
    await bot.settle()

    assert texts(sam_got) == ["From Alex:", "I had a rough week", "From Bo:", "hello from Bo"] or (
        texts(sam_got) == ["From Bo:", "hello from Bo", "From Alex:", "I had a rough week"]
    )
    assert texts(ria_got) == ["From Cy:", "Cy checking in"]
    assert {m.copied_from for m in copies(sam_got)} == {
        (ALEX, alex_says.message_id),
        (BO, bo_says.message_id),
    }
    assert copies(ria_got)[0].copied_from == (CY, cy_says.message_id)
    # Copies, not forwards: the specialist's chat never shows the client's account.
    assert bot.api.calls_to("forwardMessage") == []
    assert "Sam Rivera" in (bot.api.sent_to(ALEX)[-1].text or "")  # "I'll pass this on"


async def test_a_run_of_messages_gets_one_header(bot: Harness) -> None:
    before = len(bot.api.sent_to(SAM))
    for text in ("one", "two", "three"):
        bot.api.send_text(ALEX, text)
    got = (await bot.said(SAM, before + 4))[before:]
    assert texts(got) == ["From Alex:", "one", "two", "three"]
    await bot.barrier(SAM)
    # One "I'll pass this on" to the client for the whole run, not one per message.
    passed_on = [m for m in bot.api.sent_to(ALEX) if "pass this on" in (m.text or "")]
    assert len(passed_on) == 1


# Everything the fake can send but polls, dice and games (which cannot be relayed).
@pytest.mark.parametrize("kind", MEDIA_KINDS[: MEDIA_KINDS.index("poll")])
async def test_every_relayable_kind_is_copied_both_ways(bot: Harness, kind: str) -> None:
    before = len(bot.api.sent_to(SAM))
    caption = "my drawing" if kind in {"photo", "video", "document", "animation"} else None
    original = bot.api.send_media(ALEX, kind, caption=caption)
    got = (await bot.said(SAM, before + 2))[before:]
    # Sound and moving pictures cannot be screened, and their header says so.
    unscreened = {"voice": "voice message", "video_note": "video message"}
    named = unscreened.get(kind, kind) if kind in {*unscreened, "video", "audio"} else None
    assert got[0].text == (
        f"From Alex ({named}: not screened for urgent words):" if named else "From Alex:"
    )
    assert got[1].kind == kind
    assert got[1].copied_from == (ALEX, original.message_id)
    assert got[1].caption == caption

    await bot.settle()  # "I'll pass this on" may still be on its way to Alex
    client_before = len(bot.api.sent_to(ALEX))
    answer = bot.api.send_media(SAM, kind, reply_to=got[1].message_id)
    back = (await bot.said(ALEX, client_before + 2))[client_before:]
    assert back[0].text == "From Sam Rivera, your peer support specialist:"
    assert back[1].kind == kind
    assert back[1].copied_from == (SAM, answer.message_id)


async def test_specialist_reply_reaches_the_right_client_threaded(bot: Harness) -> None:
    alex_says = bot.api.send_text(ALEX, "are you there?")
    bo_says = bot.api.send_text(BO, "question from Bo")
    sam = await bot.said(SAM, len(bot.api.sent_to(SAM)) + 4)
    alex_copy = next(m for m in sam if m.copied_from == (ALEX, alex_says.message_id))
    bo_header = next(m for m in sam if m.text == "From Bo:")

    await bot.settle()  # the "I'll pass this on" notes are out, and the copies' ids noted
    alex_before, bo_before = len(bot.api.sent_to(ALEX)), len(bot.api.sent_to(BO))
    bot.api.send_text(SAM, "Yes, I'm here.", reply_to=alex_copy.message_id)
    bot.api.send_text(SAM, "Good question, Bo.", reply_to=bo_header.message_id)
    to_alex = (await bot.said(ALEX, alex_before + 2))[alex_before:]
    to_bo = (await bot.said(BO, bo_before + 2))[bo_before:]
    assert texts(to_alex) == ["From Sam Rivera, your peer support specialist:", "Yes, I'm here."]
    assert texts(to_bo) == ["From Sam Rivera, your peer support specialist:", "Good question, Bo."]
    # The answer sits under the client's own message.
    assert to_alex[1].reply_to_message_id == alex_says.message_id
    assert to_bo[1].reply_to_message_id is None  # a reply to the header answers no message
    await bot.barrier(SAM)
    assert all("Good question" not in (m.text or "") for m in bot.api.sent_to(ALEX))
    assert all("I'm here" not in (m.text or "") for m in bot.api.sent_to(BO))
    assert all(m.text not in {"Yes, I'm here.", "Good question, Bo."} for m in bot.api.sent_to(CY))
    _ = bo_says


async def test_client_reply_to_an_answer_is_threaded_for_the_specialist(bot: Harness) -> None:
    bot.api.send_text(ALEX, "first")
    sam = await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    await bot.settle()  # "I'll pass this on" is out, and the copy's id noted
    sam_answer = bot.api.send_text(SAM, "an answer", reply_to=sam[-1].message_id)
    alex = await bot.said(ALEX, len(bot.api.sent_to(ALEX)) + 2)
    await bot.settle()  # the answer's id is noted, so a reply to it threads
    before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "about your answer", reply_to=alex[-1].message_id)
    got = (await bot.said(SAM, before + 1))[before:]
    # Still the same conversation, so no second header; threaded under Sam's answer.
    assert texts(got) == ["about your answer"]
    assert got[0].reply_to_message_id == sam_answer.message_id


async def test_a_specialist_message_that_is_not_a_reply_gets_a_hint(bot: Harness) -> None:
    before = len(bot.api.sent_to(SAM))
    # A note about no client in particular (the invite link) leads nowhere either.
    notice = next(m for m in bot.api.sent_to(SAM) if (m.text or "").startswith("Here is"))
    bot.api.send_text(SAM, "hello everyone")
    bot.api.send_text(SAM, "answer to a notice", reply_to=notice.message_id)
    hint, untraced = (await bot.said(SAM, before + 2))[before:]
    assert "reply to their message" in (hint.text or "")
    # A reply to what is nobody's message says plainly that it did not go.
    assert "your reply was not passed on" in (untraced.text or "")
    await bot.barrier(SAM)
    for client in (ALEX, BO, CY):
        assert all(
            m.text not in {"hello everyone", "answer to a notice"} for m in bot.api.sent_to(client)
        )


async def test_a_specialist_cannot_reach_another_specialists_client(bot: Harness) -> None:
    cy_says = bot.api.send_text(CY, "for Ria only")
    ria = await bot.said(RIA, len(bot.api.sent_to(RIA)) + 2)
    # Sam replies in his own chat to a message id that, in Ria's chat, is Cy's copy.
    before = len(bot.api.sent_to(SAM))
    bot.api.send_text(SAM, "sneaky", reply_to=ria[-1].message_id)
    await bot.next_text(SAM, before)
    await bot.barrier(SAM)
    assert all(m.text != "sneaky" for m in bot.api.sent_to(CY))
    assert all(m.copied_from != (CY, cy_says.message_id) for m in bot.api.sent_to(SAM))


@pytest.mark.parametrize("kind", ["poll", "dice", "game"])
async def test_unsupported_kinds_get_a_kind_note(bot: Harness, kind: str) -> None:
    sam_before, alex_before = len(bot.api.sent_to(SAM)), len(bot.api.sent_to(ALEX))
    bot.api.send_media(ALEX, kind)
    note = await bot.next_text(ALEX, alex_before)
    assert "can't pass on that kind of message" in (note.text or "")
    assert "voice" in (note.text or "")
    await bot.barrier(SAM)
    assert len(bot.api.sent_to(SAM)) == sam_before + 1  # only the /help answer


async def test_restart_keeps_routing(bot: Harness) -> None:
    bot.api.send_text(ALEX, "before the restart")
    sam = await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    await bot.settle()  # "I'll pass this on" reaches Alex before, not after, the restart
    await bot.restart()
    before = len(bot.api.sent_to(ALEX))
    bot.api.send_text(SAM, "after the restart", reply_to=sam[-1].message_id)
    got = (await bot.said(ALEX, before + 2))[before:]
    assert got[1].text == "after the restart"


async def test_messages_sent_while_the_bot_was_down_are_relayed(bot: Harness) -> None:
    await bot.stop()
    before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "written while you were away")
    await bot.start()
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[1].text == "written while you were away"


async def test_a_redelivered_update_is_relayed_once(bot: Harness) -> None:
    before = len(bot.api.sent_to(SAM))
    original = bot.api.send_text(ALEX, "only once please")
    update_id = bot.api.last_update_id
    await bot.said(SAM, before + 2)
    # A crash after handling but before Telegram saw our offset: the update comes again.
    await bot.stop()
    bot.api.push_update({"update_id": update_id, "message": original.raw})
    await bot.start()
    await bot.api.wait_for_update_consumed(update_id)
    await bot.barrier(SAM)
    relayed = [m for m in bot.api.sent_to(SAM) if m.text == "only once please"]
    assert len(relayed) == 1


async def test_groups_are_left_and_ignored(bot: Harness) -> None:
    bot.api.add_bot_to_group(-500, by_user_id=ALEX)
    bot.api.send_group_text(-500, ALEX, "hello group")
    await bot.api.wait_until(lambda: -500 in bot.api.left_chats, what="left the group")
    await bot.barrier(SAM)
    assert bot.api.sent_to(-500) == []
    assert all(m.text != "hello group" for m in bot.api.sent_to(SAM))


async def test_edits_are_explained_not_relayed(bot: Harness) -> None:
    original = bot.api.send_text(ALEX, "typo")
    await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    await bot.settle()  # "I'll pass this on" may still be on its way to Alex
    before = len(bot.api.sent_to(ALEX))
    raw = dict(original.raw, text="typo fixed", edit_date=original.raw["date"] + 5)
    bot.api.push_update({"edited_message": raw})
    note = await bot.next_text(ALEX, before)
    assert "Edits aren't passed on to Sam Rivera" in (note.text or "")


async def test_admin_and_unknown_commands(bot: Harness) -> None:
    bot.api.add_user(ADMIN, "Ada")
    bot.api.send_text(ADMIN, "/start")
    assert "admin" in ((await bot.said(ADMIN, 1))[0].text or "")
    before = len(bot.api.sent_to(ALEX))
    bot.api.send_text(ALEX, "/frobnicate")
    note = await bot.next_text(ALEX, before)
    assert "don't know that command" in (note.text or "")


async def test_logs_never_carry_message_text(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "my very private words 7f3a"
    with caplog.at_level(logging.DEBUG):
        alex_says = bot.api.send_text(ALEX, secret)
        sam = await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
        await bot.settle()  # "I'll pass this on" is out, and the copy's id noted
        bot.api.send_text(SAM, f"reply to {secret}", reply_to=sam[-1].message_id)
        await bot.said(ALEX, len(bot.api.sent_to(ALEX)) + 2)
        await bot.barrier(SAM)
    assert sam[-1].copied_from == (ALEX, alex_says.message_id)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "relay.to_specialist" in logged  # the capture worked
    assert "7f3a" not in logged
    assert "private words" not in logged
    # Nor is it stored: the database holds ids only.
    dump = "\n".join(str(row) for row in await bot.rows("SELECT * FROM outbox"))
    assert "7f3a" not in dump


@pytest.mark.parametrize("words", ["/ not a command, just a slash", "/", "/¿qué tal?"])
async def test_a_message_starting_with_a_slash_is_stored_before_it_is_relayed(
    bot: Harness, words: str
) -> None:
    # Telegram marks only "/word" as a command; anything else with a slash is words to relay,
    # and is kept in the inbox (safe from a crash) until handled, as every message is.
    assert bot.app is not None
    handling = asyncio.Event()

    async def hold(update: object, context: object) -> None:
        await handling.wait()

    bot.app.add_handler(TypeHandler(Update, hold), group=-1000)
    before = len(bot.api.sent_to(SAM))
    stored = "SELECT chat_id, message_id FROM inbox"
    try:
        says = bot.api.send_text(ALEX, words)
        deadline = asyncio.get_running_loop().time() + 5
        while await bot.rows(stored) != [(ALEX, says.message_id)]:
            assert asyncio.get_running_loop().time() < deadline, await bot.rows(stored)
            await asyncio.sleep(0.01)
    finally:
        handling.set()  # else the held handler keeps the bot from stopping
    relayed = (await bot.said(SAM, before + 2))[-1]
    assert relayed.copied_from == (ALEX, says.message_id)
    await bot.barrier(SAM)
    assert await bot.rows(stored) == []


async def test_a_forwarded_message_is_marked_as_forwarded_for_the_specialist(
    bot: Harness,
) -> None:
    # Someone else's words, forwarded by Alex, must not read as Alex's own.
    before = len(bot.api.sent_to(SAM))
    own = bot.api.send_text(ALEX, "look what I got")
    forwards = [
        bot.api.send_forwarded(ALEX, f"a message from my landlord, part {n}") for n in (1, 2)
    ]
    after = bot.api.send_text(ALEX, "what should I do?")
    got = (await bot.said(SAM, before + 7))[before:]
    assert texts(got) == [
        "From Alex:",
        "look what I got",
        "Alex forwarded:",
        "a message from my landlord, part 1",
        "a message from my landlord, part 2",
        "From Alex:",
        "what should I do?",
    ]
    sources = [m.copied_from for m in copies(got)]
    assert sources == [(ALEX, m.message_id) for m in (own, *forwards, after)]
