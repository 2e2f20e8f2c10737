"""/forget, /privacy and retention: what is kept about a client, and for how long."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, button_data, harness, say, tap
from tests.fakes.bot_api import FakeBotApi, FakeMessage
from tests.storage.test_checkpoint import on_disk

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

SAM, RIA = 1001, 1002
ALEX, BO = 2001, 2002


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    start = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    async with harness(fake_api, tmp_path, start=start) as running_bot:
        await running_bot.add_specialist(SAM, "Sam Rivera")
        await running_bot.join(ALEX, "Alexandra", SAM, "Alex")
        await running_bot.join(BO, "Bo", SAM, "Bo")
        yield running_bot


async def rows_about_alex(bot: Harness) -> dict[str, int]:
    counts = {}
    for table, where in {
        "clients": "telegram_user_id = 2001",
        "checkins": "1",
        "relay_links": "client_id = 1",
        "outbox": "chat_id = 2001 OR payload LIKE '%Alex%'",
        "invites": "alias = 'Alex'",
        "inbox": "user_id = 2001",
    }.items():
        found = await bot.rows(f"SELECT count(*) FROM {table} WHERE {where}")
        counts[table] = int(str(found[0][0]))
    return counts


async def a_checkin_then_a_message(bot: Harness, text: str) -> FakeMessage:
    """Alex gets a daily 07:00 check-in, then writes `text`; return Sam's copy of it."""
    await say(bot, ALEX, "/schedule daily 07:00")
    await say(bot, ALEX, "/timezone UTC")
    bot.clock.set(datetime(2026, 11, 30, 7, 0, 5, tzinfo=UTC))
    await bot.tick()
    bot.api.send_text(ALEX, text)
    copy = (await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2))[-1]
    await bot.settle()
    return copy


async def test_cancel_keeps_everything_and_erase_leaves_nothing(bot: Harness) -> None:
    copy = await a_checkin_then_a_message(bot, "something personal")
    before = await rows_about_alex(bot)
    assert before["clients"] == 1 and before["checkins"] == 1 and before["relay_links"] == 3

    question = await say(bot, ALEX, "/forget")
    assert "Messages Sam Rivera already has stay in their chat" in (question.text or "")
    await tap(bot, ALEX, question, "Cancel")
    after_cancel = await rows_about_alex(bot)
    del after_cancel["outbox"], before["outbox"]  # the question and its answer were sent
    assert after_cancel == before

    question = await say(bot, ALEX, "/forget")
    await tap(bot, ALEX, question, "Erase everything")
    goodbye = bot.api.sent_to(ALEX)[-1]
    assert "Everything about you has been erased" in (goodbye.text or "")
    note = await bot.api.wait_until(
        lambda: (
            bot.api.sent_to(SAM)[-1].text
            == "Alex has left and erased their data. Messages already in this chat stay here."
        ),
        what="the note",
    )
    await bot.settle()
    assert await rows_about_alex(bot) == dict.fromkeys([*before, "outbox"], 0)
    assert (await bot.client_row(BO))["alias"] == "Bo"  # nobody else touched
    del note

    # Afterwards Alex is a stranger, and Sam's replies to old copies go nowhere.
    answer = await say(bot, ALEX, "hello again")
    assert "works by invitation" in (answer.text or "")
    hint = await say(bot, SAM, "are you still there?")
    assert "reply to their message" in (hint.text or "")
    bot.api.send_text(SAM, "Alex?", reply_to=copy.message_id)
    await bot.barrier(SAM)
    assert all(m.text != "Alex?" for m in bot.api.sent_to(ALEX))


async def test_only_the_question_itself_erases(bot: Harness) -> None:
    # "Erase everything" pressed from a message that does not show it (a modified app, or
    # the question's buttons already gone) erases nothing and tells nobody.
    plain = await say(bot, ALEX, "/privacy")
    question = await say(bot, BO, "/forget")
    await tap(bot, BO, question, "Cancel")
    for user, message in ((ALEX, plain), (BO, question)):
        query = bot.api.press_button(user, message.message_id, "f:yes", force=True)
        await bot.api.wait_until(lambda q=query: q in bot.api.answered_callbacks, what="answer")
        assert "no longer works" in str(bot.api.answered_callbacks[query].get("text"))
    await bot.barrier(SAM)
    assert await bot.rows("SELECT telegram_user_id FROM clients ORDER BY id") == [(ALEX,), (BO,)]
    assert not any("erased" in (m.text or "") for m in bot.api.sent_to(SAM))


async def test_privacy_says_what_is_kept_and_for_how_long(bot: Harness) -> None:
    answer = await say(bot, ALEX, "/privacy")
    text = answer.text or ""
    assert "only Sam Rivera sees them" in text
    assert "deleted after 180 days" in text
    assert "/forget" in text
    refused = await say(bot, SAM, "/privacy")
    assert refused.text == "That command is for clients. /help lists yours."


async def test_routing_and_history_past_retention_are_purged(bot: Harness) -> None:
    old_copy = await a_checkin_then_a_message(bot, "old news")
    # Two "has joined" notes (a reply to one reaches that client), the header and the copy.
    assert await bot.rows("SELECT count(*) FROM relay_links") == [(4,)]
    bot.clock.advance(timedelta(days=181))
    await bot.services.relay.tidy(bot.services.retention)
    assert await bot.rows("SELECT count(*) FROM relay_links") == [(0,)]
    assert await bot.rows("SELECT count(*) FROM checkins") == [(0,)]
    assert await bot.rows("SELECT count(*) FROM outbox WHERE status = 'sent'") == [(0,)]
    assert (await bot.client_row(ALEX))["cadence"] == "daily"  # settings stay
    hint = await say(bot, SAM, "still there?")
    assert "reply to their message" in (hint.text or "")
    bot.api.send_text(SAM, "an old thread", reply_to=old_copy.message_id)
    await bot.barrier(SAM)
    assert all(m.text != "an old thread" for m in bot.api.sent_to(ALEX))


async def test_after_a_transfer_erasing_still_leaves_nothing_with_the_alias(bot: Harness) -> None:
    await bot.add_specialist(RIA, "Ria Okafor")
    await say(bot, SAM, "/transfer Alex Ria Okafor")
    await bot.settle()
    question = await say(bot, ALEX, "/forget")
    await tap(bot, ALEX, question, "Erase everything")
    await bot.settle()
    for table in ("invites", "clients", "audit_log", "outbox"):
        found = await bot.rows(f"SELECT * FROM {table}")
        assert not any("Alex" in str(value) for row in found for value in row), table


async def test_after_forget_nothing_about_them_is_left_in_the_database_files(
    bot: Harness,
) -> None:
    # Read as a copy of the files would be: the database, its write-ahead log, its index.
    path = bot.settings.database_path
    words = "the specialist's own words, to be found: marmalade-obelisk"
    before = len(bot.api.sent_to(ALEX))
    bot.api.send_text(SAM, f"/to Alex {words}")
    await bot.said(ALEX, before + 2)
    export = await say(bot, ALEX, "/mydata")
    assert export.raw.get("document") is not None
    code = await bot.invite(SAM, "Quillon")  # a link that would still let someone join
    bot.api.add_user(3001, "Quinn")
    consent = await say(bot, 3001, f"/start {code}")  # its buttons carry the code
    assert any(code in (data or "") for data in button_data(consent))

    question = await say(bot, ALEX, "/forget")
    await tap(bot, ALEX, question, "Erase everything")
    await bot.api.wait_until(
        lambda: "Alex has left" in (bot.api.sent_to(SAM)[-1].text or ""), what="the note"
    )
    await bot.settle()
    await bot.run_tick()
    for text in ("Alex", words, "porchlight-mydata/1", code):
        assert on_disk(path, text) == [], text
    # Bo is untouched, and the invite still works (it is stored by its hash).
    assert on_disk(path, "Bo") != []
    assert (await bot.client_row(BO))["alias"] == "Bo"
