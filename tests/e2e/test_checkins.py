"""Check-ins the client controls, end to end, on a controllable clock."""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import scheduling
from bot.config import CONFIG_DIR
from bot.domain.models import Client, Schedule
from bot.domain.texts import Texts
from bot.handlers.context import Context
from bot.services import checkins as checkins_service
from tests.e2e.harness import Harness, current, harness, say, tap
from tests.fakes.bot_api import FakeBotApi, FakeMessage

SAM, RIA = 1001, 1002
ALEX, BO, CY = 2001, 2002, 2003
MONDAY_6_UTC = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
TEXTS = Texts.load(CONFIG_DIR / "messages")
PROMPTS = {
    TEXTS.get(k, "en", specialist="Sam Rivera") for k in TEXTS.names() if k.startswith("prompts.")
}


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC) as running_bot:
        await running_bot.add_specialist(SAM, "Sam Rivera")
        await running_bot.add_specialist(RIA, "Ria Okafor")
        await running_bot.join(ALEX, "Alexandra", SAM, "Alex")
        await running_bot.join(BO, "Bo", SAM, "Bo")
        await running_bot.join(CY, "Cyrus", RIA, "Cy")
        await running_bot.settle()
        yield running_bot


async def daily_at_nine_in_berlin(bot: Harness, user: int) -> None:
    await say(bot, user, "/schedule daily 09:00")
    summary = await say(bot, user, "/timezone Europe/Berlin")
    assert "every day, at 09:00" in (summary.text or "")


def checkins(bot: Harness, user: int) -> list[FakeMessage]:
    return [m for m in bot.api.sent_to(user) if any(m.text and p in m.text for p in PROMPTS)]


async def test_the_client_picks_a_rhythm_with_buttons_and_the_checkin_arrives(
    bot: Harness,
) -> None:
    question = bot.api.sent_to(ALEX)[-1]
    assert "How often would you like a gentle check-in?" in (question.text or "")
    await tap(bot, ALEX, question, "Every day")
    await tap(bot, ALEX, current(bot, ALEX, question), "A set time")
    assert "Which time?" in (current(bot, ALEX, question).text or "")
    await tap(bot, ALEX, current(bot, ALEX, question), "09:00")
    assert "Which time zone" in (current(bot, ALEX, question).text or "")
    await tap(bot, ALEX, current(bot, ALEX, question), "Europe/Berlin")
    summary = current(bot, ALEX, question).text or ""
    assert "Your check-ins: every day, at 09:00." in summary
    assert "Time zone: Europe/Berlin." in summary
    assert "Next check-in: today at 09:00." in summary
    row = await bot.client_row(ALEX)
    assert (row["cadence"], row["at"], row["timezone"]) == ("daily", "09:00", "Europe/Berlin")
    assert await bot.next_due(ALEX) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    bot.clock.set(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))
    await bot.tick()
    assert checkins(bot, ALEX) == []
    bot.clock.set(datetime(2026, 11, 30, 8, 0, 15, tzinfo=UTC))
    await bot.tick()
    sent = checkins(bot, ALEX)
    assert len(sent) == 1
    labels = [label for row in sent[0].buttons() for label, _ in row]
    assert labels == [
        "Doing okay",
        "Could be better",
        "Not today",
        "I'd like to talk",
        "Fewer check-ins",
        "Pause",
    ]
    assert await bot.next_due(ALEX) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    # Nobody else got one: Bo and Cy have not chosen a rhythm.
    assert checkins(bot, BO) == [] and checkins(bot, CY) == []


async def test_weekdays_and_a_window_with_buttons(bot: Harness) -> None:
    question = bot.api.sent_to(BO)[-1]
    await tap(bot, BO, question, "Chosen weekdays")
    await tap(bot, BO, current(bot, BO, question), "Mon")
    await tap(bot, BO, current(bot, BO, question), "Thu")
    labels = [label for row in current(bot, BO, question).buttons() for label, _ in row]
    assert "✓ Mon" in labels and "✓ Thu" in labels and "Tue" in labels
    await tap(bot, BO, current(bot, BO, question), "Done")
    await tap(bot, BO, current(bot, BO, question), TEXTS.get("setup.evening", "en"))
    await tap(bot, BO, current(bot, BO, question), "UTC")
    summary = current(bot, BO, question).text or ""
    assert "on Monday and Thursday, in the evening" in summary
    assert "Next check-in: later today, in the evening." in summary
    due = await bot.next_due(BO)
    assert due is not None and due.weekday() == 0 and 18 <= due.hour < 21


async def test_typed_commands_and_their_mistakes(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    before = await bot.client_row(ALEX)
    for wrong in ("/schedule sometimes", "/schedule daily 25:00", "/schedule weekly blursday"):
        answer = await say(bot, ALEX, wrong)
        # The buttons first, and one example to type.
        assert answer.text == (
            "I didn't catch that. Send /schedule on its own to choose with buttons, or write"
            " it like this: /schedule daily 09:30"
        )
    assert "/timezone Berlin" in ((await say(bot, ALEX, "/timezone Mars/Olympus")).text or "")
    assert "/quiet 22:00-08:00" in ((await say(bot, ALEX, "/quiet 22:00")).text or "")
    assert "/pause 1w" in ((await say(bot, ALEX, "/pause forever")).text or "")
    assert await bot.client_row(ALEX) == before

    summary = await say(bot, ALEX, "/schedule weekdays mon,wed,fri 18:15")
    assert "on Monday, Wednesday and Friday, at 18:15" in (summary.text or "")
    summary = await say(bot, ALEX, "/timezone UTC+02:00")
    assert "Time zone: UTC+02:00." in (summary.text or "")
    summary = await say(bot, ALEX, "/quiet 22:00-08:00")
    assert "Quiet hours: 22:00 to 08:00." in (summary.text or "")
    row = await bot.client_row(ALEX)
    assert (row["cadence"], row["weekdays"], row["at"], row["timezone"], row["quiet"]) == (
        "weekdays",
        "0,2,4",
        "18:15",
        "UTC+02:00",
        "22:00-08:00",
    )
    assert await bot.next_due(ALEX) == datetime(2026, 11, 30, 16, 15, tzinfo=UTC)
    summary = await say(bot, ALEX, "/schedule every 3 days morning")
    assert "every 3 days, in the morning" in (summary.text or "")
    summary = await say(bot, ALEX, "/schedule off")
    assert "only when you write" in (summary.text or "")
    assert await bot.next_due(ALEX) is None


async def test_a_typed_time_is_taken_and_anything_else_is_relayed(bot: Harness) -> None:
    question = bot.api.sent_to(ALEX)[-1]
    await tap(bot, ALEX, question, "Every 2 days")
    await tap(bot, ALEX, current(bot, ALEX, question), "A set time")
    timezone_question = await say(bot, ALEX, "07:45")
    assert "Which time zone" in (timezone_question.text or "")
    summary = await say(bot, ALEX, "America/New_York")
    assert "every 2 days, at 07:45" in (summary.text or "")
    assert "Time zone: America/New_York." in (summary.text or "")
    assert all(m.text not in {"07:45", "America/New_York"} for m in bot.api.sent_to(SAM))

    # Something else instead of the asked-for time is relayed, and the question lapses:
    # a later "08:00" in conversation is a message, not a setting.
    question = await say(bot, ALEX, "/schedule")
    await tap(bot, ALEX, question, "Every day")
    await tap(bot, ALEX, current(bot, ALEX, question), "A set time")
    sam_before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "not sure yet, honestly")
    bot.api.send_text(ALEX, "08:00")
    relayed = (await bot.said(SAM, sam_before + 3))[sam_before:]
    assert [m.text for m in relayed] == ["From Alex:", "not sure yet, honestly", "08:00"]
    assert (await bot.client_row(ALEX))["cadence"] == "every_2_days"


async def test_taps_reach_the_specialist_and_buttons_go(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    await bot.tick()
    checkin = checkins(bot, ALEX)[-1]
    sam_before = len(bot.api.sent_to(SAM))
    await tap(bot, ALEX, checkin, "Could be better")
    assert current(bot, ALEX, checkin).buttons() == []
    assert "Thank you for telling me" in (bot.api.sent_to(ALEX)[-1].text or "")
    note = (await bot.said(SAM, sam_before + 1))[-1]
    assert note.text == "Alex: could be better (check-in of Mon 08:00)"
    row = await bot.rows("SELECT answer FROM checkins")
    assert row == [("meh",)]
    # The same button again (a replayed tap) changes nothing.
    bot.api.press_button(ALEX, checkin.message_id, "ci:1764489600:talk", force=True)
    await bot.barrier(SAM)
    assert await bot.rows("SELECT answer FROM checkins") == [("meh",)]
    assert not any("would like to talk" in (m.text or "") for m in bot.api.sent_to(SAM))


async def test_wanting_to_talk_is_marked_for_the_specialist(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    await bot.tick()
    sam_before = len(bot.api.sent_to(SAM))
    await tap(bot, ALEX, checkins(bot, ALEX)[-1], "I'd like to talk")
    note = (await bot.said(SAM, sam_before + 1))[-1]
    assert note.text == "🔔 Alex would like to talk (check-in of Mon 08:00)."
    assert "I've let Sam Rivera know" in (bot.api.sent_to(ALEX)[-1].text or "")

    # Sam answers the note itself: the reply reaches Alex, like a reply to a relayed message.
    before = len(bot.api.sent_to(ALEX))
    sam_says = bot.api.send_text(SAM, "Of course. Tonight at 7?", reply_to=note.message_id)
    got = (await bot.said(ALEX, before + 2))[before:]
    assert got[0].text == "From Sam Rivera, your peer support specialist:"
    assert got[1].copied_from == (SAM, sam_says.message_id)
    await bot.settle()
    assert not any("reply to their message" in (m.text or "") for m in bot.api.sent_to(SAM))


async def test_a_message_after_a_checkin_answers_it(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    await bot.tick()
    sam_before = len(bot.api.sent_to(SAM))
    bot.clock.advance(timedelta(minutes=20))
    bot.api.send_text(ALEX, "honestly, not great")
    got = (await bot.said(SAM, sam_before + 2))[sam_before:]
    assert [m.text for m in got] == [
        "From Alex, answering the check-in of Mon 08:00:",
        "honestly, not great",
    ]
    assert await bot.rows("SELECT answer FROM checkins") == [("message",)]
    assert (await bot.client_row(ALEX))["unanswered"] == 0


async def test_a_message_more_than_a_day_after_a_checkin_is_just_a_message(
    bot: Harness,
) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    await bot.tick()
    # Within the day (and before the next check-in): it answers the check-in.
    bot.clock.set(datetime(2026, 12, 1, 7, 59, tzinfo=UTC))
    sam_before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "hi, just seeing this now")
    got = (await bot.said(SAM, sam_before + 2))[sam_before:]
    assert got[0].text == "From Alex, answering the check-in of Mon 08:00:"
    assert await bot.rows("SELECT answer FROM checkins") == [("message",)]

    # Tuesday's check-in goes out; Alex writes two days later: not an answer to it.
    bot.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await bot.tick()
    bot.clock.set(datetime(2026, 12, 3, 8, 1, tzinfo=UTC))  # the tick has not run since
    sam_before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "been a rough couple of days")
    got = (await bot.said(SAM, sam_before + 2))[sam_before:]
    assert [m.text for m in got] == ["From Alex:", "been a rough couple of days"]
    assert await bot.rows("SELECT answer FROM checkins ORDER BY id") == [("message",), (None,)]
    assert (await bot.client_row(ALEX))["unanswered"] == 0  # it was contact all the same


async def test_someone_elses_checkin_button_does_nothing(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    await bot.tick()
    alex_checkin = checkins(bot, ALEX)[-1]
    data = alex_checkin.buttons()[1][1][1]
    assert data is not None
    bo_message = bot.api.sent_to(BO)[-1]
    query = bot.api.press_button(BO, bo_message.message_id, data, force=True)
    await bot.api.wait_until(lambda: query in bot.api.answered_callbacks, what="answered")
    assert "no longer works" in str(bot.api.answered_callbacks[query].get("text"))
    await bot.barrier(SAM)
    assert await bot.rows("SELECT answer FROM checkins") == [(None,)]
    assert not any("would like to talk" in (m.text or "") for m in bot.api.sent_to(SAM))


async def test_fewer_checkins_steps_down_one_notch(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    await bot.tick()
    sam_before = len(bot.api.sent_to(SAM))
    await tap(bot, ALEX, checkins(bot, ALEX)[-1], "Fewer check-ins")
    assert bot.api.sent_to(ALEX)[-1].text == "Done. From now on: every 2 days, at 09:00."
    note = (await bot.said(SAM, sam_before + 1))[-1]
    assert note.text == "Alex asked for fewer check-ins: now every 2 days, at 09:00."
    assert (await bot.client_row(ALEX))["cadence"] == "every_2_days"
    assert await bot.next_due(ALEX) == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


async def test_pause_suppresses_and_the_return_is_welcomed(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    sam_before = len(bot.api.sent_to(SAM))
    answer = await say(bot, ALEX, "/pause 1w")
    assert "paused until Monday 7 December at 07:00" in (answer.text or "")
    note = (await bot.said(SAM, sam_before + 1))[-1]
    assert note.text == "Alex paused check-ins until Monday 7 December."
    for day in range(1, 7):
        bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC) + timedelta(days=day))
        await bot.tick()
    assert checkins(bot, ALEX) == []
    assert (await bot.client_row(ALEX))["status"] == "paused"
    bot.clock.set(datetime(2026, 12, 7, 6, 0, 10, tzinfo=UTC))
    await bot.tick()
    assert (await bot.client_row(ALEX))["status"] == "active"
    bot.clock.set(datetime(2026, 12, 7, 8, 0, 10, tzinfo=UTC))
    await bot.tick()
    sent = checkins(bot, ALEX)
    assert len(sent) == 1
    assert (sent[0].text or "").startswith("Welcome back.")
    bot.clock.set(datetime(2026, 12, 8, 8, 0, 10, tzinfo=UTC))
    await bot.tick()
    assert not (checkins(bot, ALEX)[-1].text or "").startswith("Welcome back.")


async def test_pause_buttons_and_resume(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    choices = await say(bot, ALEX, "/pause")
    assert [label for row in choices.buttons() for label, _ in row] == [
        "1 day",
        "1 week",
        "2 weeks",
        "Until I say",
    ]
    await tap(bot, ALEX, choices, "Until I say")
    assert "paused until you say" in (current(bot, ALEX, choices).text or "")
    assert await bot.next_due(ALEX) is None
    bot.clock.advance(timedelta(days=30))
    await bot.tick()
    assert checkins(bot, ALEX) == []
    sam_before = len(bot.api.sent_to(SAM))
    answer = await say(bot, ALEX, "/resume")
    assert "every day, at 09:00" in (answer.text or "")
    note = (await bot.said(SAM, sam_before + 1))[-1]
    assert note.text == "Alex started check-ins again: every day, at 09:00."
    assert (await bot.client_row(ALEX))["status"] == "active"


def labels(message: FakeMessage) -> list[list[str]]:
    return [[label for label, _ in row] for row in message.buttons()]


async def test_settings_stop_and_resume_by_buttons(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    menu = await say(bot, ALEX, "/settings")
    assert labels(menu) == [
        ["How often", "Time zone"],
        ["Quiet hours", "Pause"],
        ["Stop check-ins"],
    ]
    # Stop: asked first, in place; then stopped, and Sam told.
    sam_before = len(bot.api.sent_to(SAM))
    await tap(bot, ALEX, menu, "Stop check-ins")
    assert (current(bot, ALEX, menu).text or "").startswith("Stop scheduled check-ins?")
    await tap(bot, ALEX, current(bot, ALEX, menu), "Yes, stop them")
    assert (current(bot, ALEX, menu).text or "").startswith("Scheduled check-ins are stopped.")
    assert (await bot.client_row(ALEX))["status"] == "stopped"
    assert await bot.next_due(ALEX) is None
    note = (await bot.said(SAM, sam_before + 1))[-1]
    assert note.text == "Alex stopped scheduled check-ins. They can still write to you here."

    # Stopped: /settings offers Resume, and no Stop.
    menu = await say(bot, ALEX, "/settings")
    assert "Scheduled check-ins are stopped." in (menu.text or "")
    assert labels(menu) == [["How often", "Time zone"], ["Quiet hours", "Resume check-ins"]]
    sam_before = len(bot.api.sent_to(SAM))
    await tap(bot, ALEX, menu, "Resume check-ins")
    summary = current(bot, ALEX, menu).text or ""
    assert "Your check-ins: every day, at 09:00." in summary
    assert "Next check-in: today at 09:00." in summary
    assert (await bot.client_row(ALEX))["status"] == "active"
    assert await bot.next_due(ALEX) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    note = (await bot.said(SAM, sam_before + 1))[-1]
    assert note.text == "Alex started check-ins again: every day, at 09:00."

    # Paused: Resume in place of Pause, and Stop still there.
    await say(bot, ALEX, "/pause 1w")
    menu, older = await say(bot, ALEX, "/settings"), await say(bot, ALEX, "/settings")
    assert labels(menu) == [
        ["How often", "Time zone"],
        ["Quiet hours", "Resume check-ins"],
        ["Stop check-ins"],
    ]
    await tap(bot, ALEX, menu, "Resume check-ins")
    assert (await bot.client_row(ALEX))["status"] == "active"
    # A Resume left on another message, once check-ins are on again, changes nothing.
    await tap(bot, ALEX, older, "Resume check-ins")
    assert current(bot, ALEX, older).text == "Check-ins are already on. /settings shows them."
    assert (await bot.client_row(ALEX))["status"] == "active"


async def test_the_specialist_hears_of_a_pause_or_a_stop_once(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    for command in ("/pause 1w", "/pause 1w", "/pause 2w"):
        await say(bot, ALEX, command)
    question = await say(bot, ALEX, "/stop")
    yes = question.buttons()[0][0][1]
    assert yes == "x:yes"
    for _ in range(2):  # a double tap: both presses arrive before either is handled
        bot.api.press_button(ALEX, question.message_id, yes)
    await bot.barrier(BO)  # not Sam: the first press's note could pass for the /help answer
    assert [m.text for m in bot.api.sent_to(SAM) if "check-ins" in (m.text or "")] == [
        "Alex paused check-ins until Monday 7 December.",
        "Alex paused check-ins until Monday 14 December.",
        "Alex stopped scheduled check-ins. They can still write to you here.",
    ]


async def test_stop_asks_first_then_only_the_relay_remains(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    question = await say(bot, ALEX, "/stop")
    await tap(bot, ALEX, question, "Keep them")
    assert (await bot.client_row(ALEX))["status"] == "active"
    question = await say(bot, ALEX, "/stop")
    sam_before = len(bot.api.sent_to(SAM))
    await tap(bot, ALEX, question, "Yes, stop them")
    assert (await bot.client_row(ALEX))["status"] == "stopped"
    note = (await bot.said(SAM, sam_before + 1))[-1]
    assert note.text == "Alex stopped scheduled check-ins. They can still write to you here."
    for day in range(3):
        bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC) + timedelta(days=day))
        await bot.tick()
    assert checkins(bot, ALEX) == []
    sam_before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "still here though")
    assert (await bot.said(SAM, sam_before + 2))[-1].text == "still here though"
    await bot.settle()  # "I'll pass this on" may still be on its way to Alex
    summary = await say(bot, ALEX, "/schedule daily 10:00")
    assert "Next check-in" in (summary.text or "")
    assert (await bot.client_row(ALEX))["status"] == "active"


async def test_patience_offer_after_three_unanswered_and_not_twice(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    sam_before = len(bot.api.sent_to(SAM))
    for day in range(3):
        bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC) + timedelta(days=day))
        await bot.tick()
    assert len(checkins(bot, ALEX)) == 3
    bot.clock.set(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    await bot.tick()
    offer = bot.api.sent_to(ALEX)[-1]
    assert "Would you like me to ease off?" in (offer.text or "")
    assert [label for row in offer.buttons() for label, _ in row] == [
        "Less often",
        "Keep as is",
        "Pause for a while",
    ]
    notes = [m.text for m in bot.api.sent_to(SAM)[sam_before:]]
    assert notes == [
        "Alex hasn't answered the last 3 check-ins, which is okay. I've offered to ease off;"
        " nothing for you to do."
    ]
    bot.clock.set(datetime(2026, 12, 4, 8, 0, tzinfo=UTC))
    await bot.tick()
    assert len(checkins(bot, ALEX)) == 4  # a plain check-in, not a second offer
    offers = [m for m in bot.api.sent_to(ALEX) if "ease off" in (m.text or "")]
    assert len(offers) == 1
    # The offer can still be taken up: less often.
    await tap(bot, ALEX, offer, "Less often")
    assert (await bot.client_row(ALEX))["cadence"] == "every_2_days"


async def test_any_message_resets_the_unanswered_count(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    for day in range(3):
        bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC) + timedelta(days=day))
        await bot.tick()
    bot.api.send_text(ALEX, "hi")
    await bot.barrier(ALEX)
    assert (await bot.client_row(ALEX))["unanswered"] == 0
    bot.clock.set(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    await bot.tick()
    assert not any("ease off" in (m.text or "") for m in bot.api.sent_to(ALEX))


async def test_downtime_gives_at_most_one_makeup(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    await daily_at_nine_in_berlin(bot, BO)
    await say(bot, BO, "/schedule daily morning")
    await bot.stop()
    # Down for three days: every slot is long past, so none is made up.
    bot.clock.set(datetime(2026, 12, 3, 10, 30, tzinfo=UTC))
    await bot.start()
    await bot.tick()
    assert checkins(bot, ALEX) == []
    due = await bot.next_due(ALEX)
    assert due == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    await bot.stop()
    # Down across today's 09:00 (Berlin), back an hour late: exactly one check-in.
    bot.clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    await bot.start()
    await bot.tick()
    await bot.tick()
    assert len(checkins(bot, ALEX)) == 1
    assert await bot.next_due(ALEX) == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


async def test_specialist_sends_a_checkin_now_or_after_quiet_hours(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    bot.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))  # 11:00 in Berlin
    await say(bot, ALEX, "/quiet 22:00-08:00")
    answer = await say(bot, SAM, "/checkin alex")
    assert answer.text == "A check-in is on its way to Alex."
    await bot.settle()
    assert len(checkins(bot, ALEX)) == 1
    assert await bot.rows("SELECT kind FROM checkins") == [("manual",)]
    # The regular schedule is untouched.
    assert await bot.next_due(ALEX) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    bot.clock.set(datetime(2026, 11, 30, 22, 30, tzinfo=UTC))  # 23:30 in Berlin
    answer = await say(bot, SAM, "/checkin Alex")
    assert answer.text == (
        "It's quiet hours for Alex, so the check-in will go when they end (08:00 their time)."
    )
    await bot.settle()
    assert len(checkins(bot, ALEX)) == 1
    bot.clock.set(datetime(2026, 12, 1, 7, 0, 5, tzinfo=UTC))
    await bot.tick()
    assert len(checkins(bot, ALEX)) == 2


async def test_checkin_refusals(bot: Harness) -> None:
    answer = await say(bot, SAM, "/checkin Cy")
    assert answer.text == "You have no client called Cy. Your clients: Alex, Bo."
    assert (await say(bot, SAM, "/checkin")).text == "Which client? For example: /checkin Alex"
    refused = await say(bot, ALEX, "/checkin Bo")
    assert "only available to peer support specialists" in (refused.text or "")
    await say(bot, ALEX, "/pause 1d")
    await bot.settle()  # Sam's "Alex paused" note is out
    answer = await say(bot, SAM, "/checkin Alex")
    assert "Alex has paused check-ins, so I won't send a check-in" in (answer.text or "")
    await bot.settle()
    assert checkins(bot, ALEX) == [] and checkins(bot, BO) == []
    assert (
        await say(bot, SAM, "/pause")
    ).text == "That command is for clients. /help lists yours."


async def test_prompts_rotate_without_repeating(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    for day in range(10):
        bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC) + timedelta(days=day))
        bot.api.send_text(ALEX, "hello")  # answering keeps the patience offer away
        await bot.barrier(ALEX)
        await bot.tick()
    keys = [row[0] for row in await bot.rows("SELECT prompt_key FROM checkins ORDER BY id")]
    assert len(keys) == 10
    assert all(a != b for a, b in itertools.pairwise(keys))
    assert len(PROMPTS) >= 12


async def test_the_tick_runs_by_itself(fake_api: FakeBotApi, tmp_path: Path) -> None:
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC, checkin_tick_seconds=0.05) as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        await bot.join(ALEX, "Alex", SAM, "Alex")
        await daily_at_nine_in_berlin(bot, ALEX)
        bot.clock.set(datetime(2026, 11, 30, 8, 0, 1, tzinfo=UTC))
        await bot.api.wait_until(lambda: len(checkins(bot, ALEX)) == 1, what="a check-in")


async def test_settings_shows_a_summary_and_a_menu(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    menu = await say(bot, ALEX, "/settings")
    text = menu.text or ""
    assert "Your check-ins: every day, at 09:00." in text
    assert "Quiet hours: none." in text
    assert "Next check-in: today at 09:00." in text
    await tap(bot, ALEX, menu, "Quiet hours")
    await tap(bot, ALEX, current(bot, ALEX, menu), "22:00 to 07:00")
    assert "Quiet hours: 22:00 to 07:00." in (current(bot, ALEX, menu).text or "")
    assert (await bot.client_row(ALEX))["quiet"] == "22:00-07:00"
    menu = await say(bot, ALEX, "/settings")
    await tap(bot, ALEX, menu, "Time zone")
    await tap(bot, ALEX, current(bot, ALEX, menu), "America/Chicago")
    assert (await bot.client_row(ALEX))["timezone"] == "America/Chicago"
    # 09:00 in Chicago is 15:00 UTC.
    assert await bot.next_due(ALEX) == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


async def test_a_zone_typed_long_after_the_question_is_a_message(bot: Harness) -> None:
    question = bot.api.sent_to(ALEX)[-1]
    await tap(bot, ALEX, question, "Every day")
    await tap(bot, ALEX, current(bot, ALEX, question), "Morning (9–12)")  # noqa: RUF001
    assert "Which time zone" in (current(bot, ALEX, question).text or "")
    bot.clock.advance(timedelta(days=3))
    sam_before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "Japan")
    relayed = (await bot.said(SAM, sam_before + 2))[sam_before:]
    assert relayed[-1].text == "Japan"
    assert (await bot.client_row(ALEX))["timezone"] == "UTC"


async def test_one_offer_per_silence_however_long(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    for day in range(12):
        bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC) + timedelta(days=day))
        await bot.tick()
    offers = [m for m in bot.api.sent_to(ALEX) if "ease off" in (m.text or "")]
    assert len(offers) == 1
    assert len(checkins(bot, ALEX)) == 11
    notes = [m for m in bot.api.sent_to(SAM) if "offered to ease off" in (m.text or "")]
    assert len(notes) == 1


async def test_a_checkin_still_waiting_to_go_is_withdrawn_when_the_client_pauses(
    bot: Harness,
) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    # Telegram holds Alex's chat back for a second: the check-in waits in the outbox.
    bot.api.fail_next("sendMessage", chat_id=ALEX, status=429, retry_after=1)
    bot.clock.set(datetime(2026, 11, 30, 8, 0, 10, tzinfo=UTC))
    await bot.services.checkins.tick()
    await bot.api.wait_until(
        lambda: any(c.error_code == 429 for c in bot.api.calls_to("sendMessage")), what="the 429"
    )
    before, sam_before = len(bot.api.sent_to(ALEX)), len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "/pause 1w")
    note = (await bot.said(SAM, sam_before + 1))[-1]  # the pause is handled
    assert (note.text or "").startswith("Alex paused check-ins")
    bot.advance(timedelta(seconds=2))  # Telegram's retry_after has passed
    answer = await bot.next_text(ALEX, before)
    assert "paused" in (answer.text or "")
    await bot.settle()
    assert checkins(bot, ALEX) == []
    withdrawn = await bot.rows(
        "SELECT status, last_error, payload FROM outbox WHERE chat_id = ? AND priority = 1", ALEX
    )
    assert withdrawn == [("dead", "withdrawn", "{}")]


async def test_a_settings_change_does_not_undo_a_tick_that_ran_meanwhile(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    bot.clock.set(datetime(2026, 11, 30, 8, 0, 10, tzinfo=UTC))
    preferences = bot.services.preferences
    read = preferences._schedule

    async def read_then_tick(client: Client) -> Schedule:
        schedule = await read(client)
        await bot.services.checkins.tick()  # commits between the read and the write
        return schedule

    monkeypatch.setattr(preferences, "_schedule", read_then_tick)
    await say(bot, ALEX, "/quiet 22:00-07:00")
    await bot.settle()
    row = await bot.client_row(ALEX)
    assert (row["last_slot"], row["unanswered"], row["quiet"]) == ("2026-11-30", 1, "22:00-07:00")
    assert row["next_due_at"].startswith("2026-12-01T08:")
    assert len(checkins(bot, ALEX)) == 1


async def test_a_checkin_already_handed_to_the_sender_is_withdrawn_by_a_pause(
    bot: Harness,
) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)

    # Alex's chat is busy: the answer to /help takes a second to come back from Telegram,
    # and the check-in queues behind it in the sender, handed out but not yet sent.
    def calls_to_alex() -> int:
        return sum(c.params.get("chat_id") == ALEX for c in bot.api.calls_to("sendMessage"))

    before = calls_to_alex()
    bot.api.fail_next("sendMessage", chat_id=ALEX, status=200, delay=1.0)
    bot.api.send_text(ALEX, "/help")
    await bot.api.wait_until(lambda: calls_to_alex() > before, what="the slow /help answer")
    bot.clock.set(datetime(2026, 11, 30, 8, 0, 10, tzinfo=UTC))
    await bot.services.checkins.tick()
    sam_before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "/pause 1w")
    await bot.said(SAM, sam_before + 1)  # the pause is handled
    await bot.settle()
    assert checkins(bot, ALEX) == []
    assert "paused until" in (bot.api.sent_to(ALEX)[-1].text or "")
    withdrawn = await bot.rows("SELECT status, last_error FROM outbox WHERE priority = 1")
    assert withdrawn == [("dead", "withdrawn")]


async def test_after_a_restart_the_first_tick_runs_at_once_with_one_make_up(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    await bot.stop()
    # Down over 09:00 in Berlin, back at 09:30; the tick's interval (an hour here) has
    # not come round once since the start.
    bot.clock.set(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    with caplog.at_level(logging.INFO, logger="bot.scheduling"):
        await bot.start()
        await bot.api.wait_until(lambda: len(checkins(bot, ALEX)) == 1, what="the make-up")
        await bot.api.wait_until(
            lambda: "event=tick.first_done" in caplog.text, what="the first tick's line"
        )
    await bot.run_tick()
    bot.clock.set(datetime(2026, 11, 30, 8, 45, tzinfo=UTC))
    await bot.restart()
    await bot.run_tick()
    assert len(checkins(bot, ALEX)) == 1  # one make-up, whatever runs or restarts after
    client_id = (await bot.client_row(ALEX))["id"]
    sent = await bot.rows("SELECT due_at FROM checkins WHERE client_id = ?", client_id)
    assert sent == [("2026-11-30T08:00:00.000000+00:00",)]


def first_done_line(caplog: pytest.LogCaptureFixture) -> str:
    return next(
        r.getMessage() for r in caplog.records if "event=tick.first_done" in r.getMessage()
    )


async def overdue_after_a_stop(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three clients due at 09:00 in Berlin, the bot down over it, back at 09:30; a batch
    of one client and slices of no time: each slice of the storm is one client."""
    for user in (ALEX, BO, CY):
        await daily_at_nine_in_berlin(bot, user)
    await bot.stop()
    bot.clock.set(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    monkeypatch.setattr(checkins_service, "BATCH", 1)
    monkeypatch.setattr(scheduling, "SLICE_SECONDS", 0.0)


async def test_a_storm_after_a_restart_goes_out_in_slices_each_client_once_across_a_kill(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await overdue_after_a_stop(bot, monkeypatch)
    drain_started = asyncio.Event()
    real_drain = scheduling.job_checkin_drain

    async def killed_before_it_runs(context: object) -> None:
        drain_started.set()

    monkeypatch.setattr(scheduling, "job_checkin_drain", killed_before_it_runs)
    with caplog.at_level(logging.INFO, logger="bot.scheduling"):
        await bot.start()
        await asyncio.wait_for(drain_started.wait(), 10)
        await bot.settle()
    # The first tick ended after its slice, the rest of the storm still due.
    assert "more=true" in first_done_line(caplog)
    assert sum(len(checkins(bot, user)) for user in (ALEX, BO, CY)) == 1

    monkeypatch.setattr(scheduling, "job_checkin_drain", real_drain)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.scheduling"):
        await bot.restart()
        await bot.api.wait_until(
            lambda: "event=checkins.drained" in caplog.text, what="the storm drained"
        )
        await bot.settle()
    await bot.run_tick()
    await bot.restart()
    await bot.run_tick()
    await bot.settle()
    for user in (ALEX, BO, CY):
        assert len(checkins(bot, user)) == 1, user
    per_client = await bot.rows("SELECT client_id, count(*) FROM checkins GROUP BY client_id")
    assert [count for _, count in per_client] == [1, 1, 1]


async def test_a_client_writing_during_a_storm_is_relayed_before_the_storm_goes_on(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await overdue_after_a_stop(bot, monkeypatch)
    gate, waiting = asyncio.Event(), asyncio.Event()
    real_drain = scheduling.job_checkin_drain

    async def drain_after_the_gate(context: Context) -> None:
        waiting.set()
        await gate.wait()
        await real_drain(context)

    monkeypatch.setattr(scheduling, "job_checkin_drain", drain_after_the_gate)
    with caplog.at_level(logging.INFO, logger="bot.scheduling"):
        await bot.start()
        await asyncio.wait_for(waiting.wait(), 10)  # the first tick is done, two still due
        bot.api.send_text(ALEX, "rough night, but I'm up")
        await bot.api.wait_until(
            lambda: any(c.params.get("chat_id") == SAM for c in bot.api.calls_to("copyMessage")),
            what="Alex's words at Sam's",
        )
        gate.set()
        await bot.api.wait_until(
            lambda: "event=checkins.drained" in caplog.text, what="the storm drained"
        )
        await bot.settle()
    order = [
        "relay" if c.method == "copyMessage" and c.params.get("chat_id") == SAM else "checkin"
        for c in bot.api.calls
        if c.method in ("copyMessage", "sendMessage")
        and (
            (c.params.get("chat_id") == SAM and c.method == "copyMessage")
            or any(p in str(c.params.get("text")) for p in PROMPTS)
        )
    ]
    assert order == ["checkin", "relay", "checkin", "checkin"]


async def test_a_stop_during_a_storm_waits_one_slice_and_the_next_start_sends_the_rest(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await overdue_after_a_stop(bot, monkeypatch)
    real_tick = checkins_service.CheckIns.tick
    slices: list[int] = []
    asked_to_stop = asyncio.Event()

    async def slice_then_stop(
        self: checkins_service.CheckIns, seconds: float | None = None
    ) -> checkins_service.TickReport:
        report = await real_tick(self, seconds)
        slices.append(report.checkins)
        if len(slices) == 2:  # the drain's first slice: SIGTERM comes now
            asked_to_stop.set()
            app = bot.app
            assert app is not None
            await bot.api.wait_until(lambda: not app.running, what="the stop under way")
        return report

    monkeypatch.setattr(checkins_service.CheckIns, "tick", slice_then_stop)
    with caplog.at_level(logging.INFO, logger="bot.scheduling"):
        await bot.start()
        await asyncio.wait_for(asked_to_stop.wait(), 10)
        await bot.stop()
    assert "event=checkins.drain_stopped" in caplog.text
    assert slices == [1, 1]  # the first tick's slice and one of the drain's: one left due
    with sqlite3.connect(bot.settings.database_path) as stopped:
        assert stopped.execute("SELECT count(*) FROM checkins").fetchone() == (2,)

    monkeypatch.setattr(checkins_service.CheckIns, "tick", real_tick)
    with caplog.at_level(logging.INFO, logger="bot.scheduling"):
        await bot.start()
        await bot.api.wait_until(
            lambda: sum(len(checkins(bot, user)) for user in (ALEX, BO, CY)) == 3,
            what="the one left",
        )
        await bot.run_tick()
        await bot.settle()
    for user in (ALEX, BO, CY):
        assert len(checkins(bot, user)) == 1, user
