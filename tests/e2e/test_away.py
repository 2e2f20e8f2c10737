"""Away mode, end to end: silent relays, one note a day per client, urgent still rings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.harness import Harness, say
from tests.fakes.bot_api import FakeMessage

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

SAM, RIA = 1001, 1002
ALEX, BO, CY = 2001, 2002, 2003
AWAY_NOTE = "Sam Rivera is away until Friday 4 December."


def notes(bot: Harness, user: int) -> list[FakeMessage]:
    return [m for m in bot.api.sent_to(user) if "is away" in (m.text or "")]


async def relayed(bot: Harness, user: int, text: str) -> list[FakeMessage]:
    """The client writes; return what reached their specialist (header and copy, or copy)."""
    await bot.settle()
    before = len(bot.api.sent_to(SAM))
    said = bot.api.send_text(user, text)
    await bot.api.wait_until(
        lambda: any(m.copied_from == (user, said.message_id) for m in bot.api.sent_to(SAM)),
        what="the copy",
    )
    await bot.barrier(user)
    return bot.api.sent_to(SAM)[before:]


async def test_while_away_messages_arrive_silently_and_the_note_comes_once_a_day(
    bot: Harness,
) -> None:
    answer = await say(bot, SAM, "/away until friday Back on Friday, take care")
    assert (answer.text or "").startswith("You're away until Friday 4 December.")

    got = await relayed(bot, ALEX, "hello, are you there?")
    assert [m.text for m in got[:2]] == ["From Alex:", "hello, are you there?"]
    assert all(m.silent for m in got[:2])
    [note] = notes(bot, ALEX)
    assert note.text is not None
    assert note.text.startswith(
        f"{AWAY_NOTE} Your message is waiting for them, and they'll read it when they're back."
    )
    assert "A note from Sam Rivera: Back on Friday, take care" in note.text
    # Added to an everyday message: one soft line, not the emergency paragraph.
    soft = "If something can't wait, /crisis shows who you can reach right now."
    assert note.text.endswith(soft)
    assert "emergency" not in note.text
    assert all("pass this on" not in (m.text or "") for m in bot.api.sent_to(ALEX))

    # Later the same day: still silent, no second note.
    bot.clock.advance(timedelta(hours=8))
    got = await relayed(bot, ALEX, "me again")
    assert all(m.silent for m in got if m.copied_from is not None)
    assert len(notes(bot, ALEX)) == 1
    # Another client gets their own note.
    await relayed(bot, BO, "hi Sam")
    assert len(notes(bot, BO)) == 1
    # Ria is not away: Cy's messages ring as usual.
    ria_before = len(bot.api.sent_to(RIA))
    bot.api.send_text(CY, "hello Ria")
    got = (await bot.said(RIA, ria_before + 2))[ria_before:]
    assert not any(m.silent for m in got)
    await bot.barrier(CY)
    assert notes(bot, CY) == []

    # The next day (Alex's own calendar), one more note.
    bot.clock.advance(timedelta(hours=12))
    await relayed(bot, ALEX, "good morning")
    assert len(notes(bot, ALEX)) == 2


async def test_the_day_is_the_clients_own(bot: Harness) -> None:
    await say(bot, ALEX, "/timezone America/Los_Angeles")  # Sunday 22:00 there
    await say(bot, SAM, "/away")
    await relayed(bot, ALEX, "late on Sunday")
    [note] = notes(bot, ALEX)
    assert (note.text or "").startswith("Sam Rivera is away for a little while.")
    assert "A note from" not in (note.text or "")
    bot.clock.advance(timedelta(hours=1))  # 23:00 in Los Angeles: the same day
    await relayed(bot, ALEX, "still Sunday")
    assert len(notes(bot, ALEX)) == 1
    bot.clock.advance(timedelta(hours=1, minutes=5))  # past midnight there, not in UTC
    await relayed(bot, ALEX, "Monday now")
    assert len(notes(bot, ALEX)) == 2


async def test_urgent_words_still_notify_while_away(bot: Harness) -> None:
    await say(bot, SAM, "/away until friday")
    got = await relayed(bot, ALEX, "i want to die")
    assert got[0].text == "⚠️ Possibly urgent. From Alex:"
    assert not any(m.silent for m in got[:2])
    resources = [
        m for m in bot.api.sent_to(ALEX) if "What you wrote has gone to" in (m.text or "")
    ]
    assert len(resources) == 1
    # The away note still says Sam is away, without the resources a second time.
    [note] = notes(bot, ALEX)
    assert (note.text or "").startswith(AWAY_NOTE)
    assert "/crisis" not in (note.text or "")


async def test_back_and_the_automatic_end(bot: Harness) -> None:
    await say(bot, SAM, "/away")
    assert (await say(bot, SAM, "/back")).text == (
        "Welcome back. Your clients' messages notify you again."
    )
    assert (await say(bot, SAM, "/back")).text == (
        "You weren't away. Your clients' messages notify you as usual."
    )
    got = await relayed(bot, ALEX, "hello")
    assert not any(m.silent for m in got)
    assert notes(bot, ALEX) == []

    answer = await say(bot, SAM, "/away until 2026-12-01")
    assert (answer.text or "").startswith("You're away until Tuesday 1 December.")
    bot.clock.set(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))
    await bot.run_tick()
    assert (await bot.rows("SELECT away FROM specialists WHERE telegram_user_id = ?", SAM)) == [
        (1,)
    ]
    bot.clock.set(datetime(2026, 12, 2, 0, 1, tzinfo=UTC))
    await bot.run_tick()
    assert bot.api.sent_to(SAM)[-1].text == (
        "Your away time has ended, so your clients' messages notify you again. Welcome back."
    )
    got = await relayed(bot, ALEX, "hello again")
    assert not any(m.silent for m in got)
    assert await bot.rows(
        "SELECT actor_role, action FROM audit_log WHERE action IN ('away', 'back') ORDER BY id"
    ) == [
        ("specialist", "away"),
        ("specialist", "back"),
        ("specialist", "away"),
        ("system", "back"),
    ]


async def test_malformed_dates_are_refused_and_change_nothing(bot: Harness) -> None:
    await bot.expect_answers(
        SAM,
        [
            (
                "/away until 2026-13-45",
                "I didn't catch the date. For example: /away until 2026-12-03",
            ),
            ("/away until blursday", "I didn't catch the date."),
            ("/away until", "I didn't catch the date."),
            ("/away until 3/12", "I didn't catch the date."),
            ("/away until 2026-11-01", "That date has already passed."),
            ("/away until 2030-01-01", "That's more than a year ahead."),
            (f"/away until friday {'x' * 301}", "That note is a bit long."),
        ],
    )
    assert await bot.rows(
        "SELECT away, away_until, away_note FROM specialists WHERE telegram_user_id = ?", SAM
    ) == [(0, None, None)]
    refused = await say(bot, ALEX, "/away until friday")
    assert refused.text == "Sorry, that's only available to peer support specialists."
    got = await relayed(bot, ALEX, "hello")
    assert not any(m.silent for m in got)


async def test_notes_about_clients_are_silent_while_away(bot: Harness) -> None:
    await say(bot, SAM, "/away")
    before = len(bot.api.sent_to(SAM))
    await say(bot, ALEX, "/pause 1w")
    [note] = (await bot.said(SAM, before + 1))[before:]
    assert (note.text or "").startswith("Alex paused check-ins") and note.silent
    await say(bot, SAM, "/back")
    before = len(bot.api.sent_to(SAM))
    await say(bot, ALEX, "/pause 2w")
    [note] = (await bot.said(SAM, before + 1))[before:]
    assert (note.text or "").startswith("Alex paused check-ins") and not note.silent
