"""The daily summary, end to end, at a controlled clock: what it says, and once a day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, harness, say, tap
from tests.fakes.bot_api import FakeBotApi, FakeMessage

SAM, RIA = 1001, 1002
ALEX, BO, CY, DEE, EVE, FAY = 2001, 2002, 2003, 2004, 2005, 2006
START = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)  # a Monday
DAY_16 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # Wednesday, 16 days later


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(fake_api, tmp_path, start=START) as running_bot:
        await running_bot.add_specialist(SAM, "Sam Rivera")
        await running_bot.add_specialist(RIA, "Ria Okafor")
        await running_bot.join(FAY, "Fay", SAM, "Fay")  # and then nothing for 16 days
        running_bot.clock.advance(timedelta(days=5))
        for user, alias in ((ALEX, "Alex"), (BO, "Bo"), (DEE, "Dee"), (EVE, "Eve")):
            await running_bot.join(user, alias, SAM, alias)
        await running_bot.join(CY, "Cyrus", RIA, "Cy")
        await say(running_bot, DEE, "/pause until I say")
        stop = await say(running_bot, EVE, "/stop")
        await tap(running_bot, EVE, stop, "Yes, stop them")
        running_bot.clock.set(DAY_16)
        await running_bot.settle()
        yield running_bot


def digests(bot: Harness) -> list[FakeMessage]:
    return [m for m in bot.api.sent_to(SAM) if "Your daily summary" in (m.text or "")]


async def test_the_summary_says_who_wrote_tapped_paused_stopped_and_went_quiet(
    bot: Harness,
) -> None:
    answer = await say(bot, SAM, "/digest 18:00")
    assert answer.text == (
        "A daily summary will come at 18:00 (UTC time), starting today. /digest off stops it."
    )
    # Alex writes twice; Bo taps a check-in button; Cy (Ria's) writes too.
    for words in ("a private thought", "and another one"):
        bot.api.send_text(ALEX, words)
    await say(bot, BO, "/schedule daily 07:00")
    await say(bot, BO, "/timezone UTC")
    bot.clock.set(DAY_16.replace(hour=7, second=5))
    await bot.tick()
    await tap(bot, BO, bot.api.sent_to(BO)[-1], "Could be better")
    bot.api.send_text(CY, "for Ria")
    await bot.barrier(ALEX)

    bot.clock.set(DAY_16.replace(hour=17, minute=59))
    await bot.run_tick()
    assert digests(bot) == []
    bot.clock.set(DAY_16.replace(hour=18, minute=0, second=30))
    await bot.run_tick()
    [digest] = digests(bot)
    assert digest.text == (
        "Your daily summary, Wednesday 2 December (the last 24 hours):\n"
        "Wrote: Alex (2).\n"
        "Tapped: Bo: could be better.\n"
        "Paused: Dee (until they say).\n"
        "Stopped check-ins: Eve.\n"
        "Quiet for more than 14 days: Fay (16 days)."
    )
    assert "private thought" not in (digest.text or "")
    assert all("Your daily summary" not in (m.text or "") for m in bot.api.sent_to(RIA))

    # Once a day only, however often the tick runs.
    bot.clock.set(DAY_16.replace(hour=23, minute=30))
    await bot.run_tick()
    assert len(digests(bot)) == 1

    # The next day: only what is still true.
    bot.clock.set(DAY_16 + timedelta(days=1, hours=12, minutes=1))
    await bot.run_tick()
    assert digests(bot)[-1].text == (
        "Your daily summary, Thursday 3 December (the last 24 hours):\n"
        "Paused: Dee (until they say).\n"
        "Stopped check-ins: Eve.\n"
        "Quiet for more than 14 days: Fay (17 days)."
    )


async def test_a_time_already_past_starts_tomorrow_and_off_stops(bot: Harness) -> None:
    bot.clock.set(DAY_16.replace(hour=9))
    answer = await say(bot, SAM, "/digest 08:30")
    assert (answer.text or "").endswith("starting tomorrow. /digest off stops it.")
    await bot.run_tick()
    assert digests(bot) == []
    bot.clock.set(DAY_16 + timedelta(days=1, hours=2, minutes=31))
    await bot.run_tick()
    assert len(digests(bot)) == 1
    assert (await say(bot, SAM, "/digest off")).text == "Daily summaries are off."
    bot.clock.advance(timedelta(days=1))
    await bot.run_tick()
    assert len(digests(bot)) == 1


async def test_a_quiet_day_and_bad_times(bot: Harness) -> None:
    await say(bot, RIA, "/digest 10:00")
    for command in ("/digest", "/digest 25:00", "/digest 9", "/digest sometimes"):
        answer = await say(bot, RIA, command)
        assert answer.text == "Please give a time like /digest 18:00, or /digest off.", command
    assert await bot.rows("SELECT digest_at FROM specialists WHERE telegram_user_id = ?", RIA) == [
        ("10:00",)
    ]
    refused = await say(bot, CY, "/digest 10:00")
    assert refused.text == "Sorry, that's only available to peer support specialists."
    bot.clock.set(DAY_16.replace(hour=10, minute=1))
    await bot.run_tick()
    ria = [m for m in bot.api.sent_to(RIA) if "Your daily summary" in (m.text or "")]
    assert [m.text for m in ria] == [
        "Your daily summary, Wednesday 2 December (the last 24 hours):\n"
        "A quiet day: nobody wrote or tapped a button, and nobody is paused, stopped or long"
        " quiet."
    ]


async def test_every_message_is_in_exactly_one_summary_across_a_clock_change(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """Summaries cover yesterday's HH:MM to today's, local time, whenever each is sent:
    on the night clocks go back (a 25-hour day) and when one goes out hours late."""
    saturday = datetime(2026, 10, 24, 6, 0, tzinfo=UTC)  # Berlin still on summer time
    async with harness(
        fake_api, tmp_path, start=saturday, default_timezone="Europe/Berlin"
    ) as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        await bot.join(ALEX, "Alexandra", SAM, "Alex")
        await say(bot, SAM, "/digest 20:00")
        bot.clock.set(datetime(2026, 10, 24, 18, 0, 5, tzinfo=UTC))  # 20:00 summer time
        await bot.run_tick()
        bot.clock.set(datetime(2026, 10, 24, 18, 30, tzinfo=UTC))  # 20:30, after it
        bot.api.send_text(ALEX, "hello")
        await bot.barrier(ALEX)
        bot.clock.set(datetime(2026, 10, 25, 19, 0, 5, tzinfo=UTC))  # Sunday 20:00 winter time
        await bot.run_tick()
        # Three hours late on Monday: a message at 21:00 belongs to Tuesday's summary.
        bot.clock.set(datetime(2026, 10, 26, 20, 0, tzinfo=UTC))
        bot.api.send_text(ALEX, "later")
        await bot.barrier(ALEX)
        bot.clock.set(datetime(2026, 10, 26, 22, 0, 5, tzinfo=UTC))
        await bot.run_tick()
        bot.clock.set(datetime(2026, 10, 27, 19, 0, 5, tzinfo=UTC))
        await bot.run_tick()
        texts = [m.text or "" for m in digests(bot)]
        assert len(texts) == 4
        assert ["Alex (1)" in text for text in texts] == [False, True, False, True]


async def test_the_summary_names_who_may_need_the_specialist_at_either_level(
    bot: Harness,
) -> None:
    await say(bot, SAM, "/digest 18:00")
    bot.api.send_text(BO, "i took too many pills")  # urgent
    bot.api.send_text(ALEX, "honestly i feel like such a burden to everyone")  # concern
    await bot.barrier(ALEX)
    bot.clock.set(DAY_16.replace(hour=18, minute=0, second=30))
    await bot.run_tick()
    [digest] = digests(bot)
    lines = (digest.text or "").splitlines()
    assert lines[1] == "May need you: Alex (may need attention); Bo (possibly urgent)."
    assert "burden" not in (digest.text or "") and "pills" not in (digest.text or "")
