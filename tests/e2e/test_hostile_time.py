"""Time against the bot: the machine's clock set back while it runs, and other turns of time
that must never leave a client pressured or a check-in (or an urgent message) forgotten."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import pytest
from apscheduler.schedulers import base as apscheduler_base

from bot import scheduling
from bot.config import CONFIG_DIR
from bot.domain.texts import Texts
from tests.e2e.conftest import MONDAY_6_UTC  # 07:00 in Berlin
from tests.e2e.harness import BARRIER_WATCHER, Harness, harness, say, tap
from tests.e2e.test_staff_languages import ADMIN, ALEX, RIA, SAM, sam_and_alex
from tests.fakes.bot_api import FakeBotApi, FakeMessage

pytestmark = pytest.mark.thread_checks

TEXTS = Texts.load(CONFIG_DIR / "messages")
PROMPTS = {
    TEXTS.get(k, "en", specialist="Sam Rivera") for k in TEXTS.names() if k.startswith("prompts.")
}


def checkins(bot: Harness, user: int) -> list[FakeMessage]:
    return [m for m in bot.api.sent_to(user) if any(m.text and p in m.text for p in PROMPTS)]


class _WallClock:
    """The machine's wall clock as the JobQueue's scheduler and the bot's scheduling read it,
    which a test sets back (the services' clock is the harness's own)."""

    shift = timedelta(0)


class _ShiftedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _ShiftedDatetime:
        return super().now(tz) + _WallClock.shift


@pytest.fixture
def wall_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_WallClock]]:
    """The scheduler behind PTB's JobQueue (APScheduler) and bot.scheduling read this clock."""
    monkeypatch.setattr(apscheduler_base, "datetime", _ShiftedDatetime)
    monkeypatch.setattr(scheduling, "datetime", _ShiftedDatetime)
    _WallClock.shift = timedelta(0)
    yield _WallClock
    _WallClock.shift = timedelta(0)


async def test_the_tick_goes_on_when_the_machine_clock_is_set_back(
    fake_api: FakeBotApi, tmp_path: Path, wall_clock: type[_WallClock]
) -> None:
    """NTP steps the clock back an hour (a machine that booted with its hardware clock in
    local time): the repeating tick must keep running, not wait for the hour to come round
    again while the process looks alive (the heartbeat it wrote is in the future, so
    `health` stays green), with check-ins, escalations and reminders all waiting on it."""
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC, checkin_tick_seconds=0.1) as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        await bot.join(ALEX, "Alex", SAM, "Alex")
        await say(bot, ALEX, "/schedule daily 09:00")
        await say(bot, ALEX, "/timezone Europe/Berlin")
        wall_clock.shift = -timedelta(hours=1)
        # The scheduler has handed out at least one tick since: the next one is planned
        # from the wall clock as it was.
        bot.clock.set(datetime(2026, 11, 30, 8, 0, 1, tzinfo=UTC))  # 09:00:01 in Berlin
        await bot.api.wait_until(
            lambda: len(checkins(bot, ALEX)) == 1, timeout=5.0, what="the 09:00 check-in"
        )


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with sam_and_alex(fake_api, tmp_path) as running_bot:
        yield running_bot


async def answer_held_up(bot: Harness) -> None:
    """Alex writes; Sam's answer meets a 502 and waits a second or two to be tried again."""
    bot.api.send_text(ALEX, "are you there?")
    copy = (await bot.said(SAM, len(bot.api.sent_to(SAM)) + 1))[-1]
    while copy.copied_from is None:  # the header, then the copy
        copy = (await bot.said(SAM, len(bot.api.sent_to(SAM)) + 1))[-1]
    await bot.settle()
    bot.api.fail_next("copyMessage", chat_id=ALEX, status=502)
    bot.api.send_text(SAM, "Yes, I'm here.", reply_to=copy.message_id)
    await bot.api.wait_until(
        lambda: any(c.error_code == 502 for c in bot.api.calls_to("copyMessage")), what="the 502"
    )


async def not_before(bot: Harness, moment: datetime) -> None:
    """Alex has no check-in yet, and has one at the tick at `moment`."""
    assert checkins(bot, ALEX) == []
    bot.clock.set(moment)
    await bot.run_tick()
    assert len(checkins(bot, ALEX)) == 1


async def held_up(bot: Harness, due: datetime) -> None:
    """Alex's check-in falls due at `due` and Telegram refuses it (a 502): it waits in the
    outbox to be tried again."""
    bot.api.fail_next("sendMessage", chat_id=ALEX, status=502)
    bot.clock.set(due)
    await bot.services.checkins.tick()
    await bot.api.wait_until(
        lambda: any(c.error_code == 502 for c in bot.api.calls_to("sendMessage")), what="the 502"
    )


async def test_a_checkin_held_up_by_telegram_never_arrives_in_quiet_hours(bot: Harness) -> None:
    """Alex wants a check-in at 21:30 and quiet from 22:00. Telegram fails the 21:30 one and
    is back at 22:15: the check-in must not then wake Alex at night (the tick never sends one
    in quiet hours; a check-in that waited in the outbox must not either)."""
    await say(bot, ALEX, "/schedule daily 21:30")
    await say(bot, ALEX, "/timezone Europe/Berlin")
    await say(bot, ALEX, "/quiet 22:00-07:00")
    await held_up(bot, datetime(2026, 11, 30, 20, 30, 5, tzinfo=UTC))  # 21:30 in Berlin
    bot.advance(timedelta(minutes=45))  # 22:15 in Berlin: Telegram answers again
    await bot.settle()
    assert checkins(bot, ALEX) == []
    # The next evening's check-in comes as chosen.
    bot.clock.set(datetime(2026, 12, 1, 20, 30, 5, tzinfo=UTC))
    await bot.tick()
    assert len(checkins(bot, ALEX)) == 1


async def test_a_checkin_the_specialist_asked_for_never_arrives_in_quiet_hours_after_downtime(
    bot: Harness,
) -> None:
    """Sam asks for a check-in during Alex's quiet hours and is told it goes when they end
    (08:00). The bot is down from before 08:00 until 23:30 that evening, quiet hours again:
    the check-in must wait for the morning, not wake Alex the moment the bot is back."""
    await say(bot, ALEX, "/schedule off")
    await say(bot, ALEX, "/timezone Europe/Berlin")
    await say(bot, ALEX, "/quiet 22:00-08:00")
    bot.clock.set(datetime(2026, 11, 30, 22, 30, tzinfo=UTC))  # 23:30 in Berlin
    answer = await say(bot, SAM, "/checkin Alex")
    assert "when they end (08:00 their time)" in (answer.text or "")
    await bot.stop()
    bot.clock.set(datetime(2026, 12, 1, 22, 30, tzinfo=UTC))  # 23:30 the next evening
    await bot.start()
    await bot.run_tick()
    await not_before(bot, datetime(2026, 12, 2, 7, 0, 5, tzinfo=UTC))  # 08:00 in Berlin


async def test_a_checkin_held_up_by_telegram_never_arrives_in_the_quiet_hours_of_a_new_zone(
    bot: Harness,
) -> None:
    """Alex's 09:00 (Berlin) check-in waits out a Telegram outage; meanwhile Alex, now in New
    York, sets that zone and quiet hours 22:00-07:00 there. When Telegram is back at 04:30 in
    New York, the check-in chosen for a Berlin morning must not arrive in the New York night."""
    await say(bot, ALEX, "/schedule daily 09:00")
    await say(bot, ALEX, "/timezone Europe/Berlin")
    await held_up(bot, datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC))  # 09:00 in Berlin
    # While the check-in waits to be tried again, Alex changes their settings (the answers
    # wait behind it in Alex's chat); Telegram is back at 04:30 in New York.
    bot.api.send_text(ALEX, "/timezone America/New_York")
    bot.api.send_text(ALEX, "/quiet 22:00-07:00")
    await handled(bot)
    row = await bot.client_row(ALEX)
    assert (row["timezone"], row["quiet"]) == ("America/New_York", "22:00-07:00")
    bot.advance(timedelta(hours=1, minutes=30))  # 04:30 in New York
    await bot.settle()
    assert checkins(bot, ALEX) == []


async def handled(bot: Harness) -> None:
    """Every update sent so far is handled (a stranger's /help, answered, comes after them)."""
    bot.api.add_user(BARRIER_WATCHER, "Watcher")
    before = len(bot.api.sent_to(BARRIER_WATCHER))
    bot.api.send_text(BARRIER_WATCHER, "/help")
    await bot.next_text(BARRIER_WATCHER, before)


async def test_a_checkin_asked_for_at_the_moment_of_a_scheduled_one_counts_once(
    bot: Harness,
) -> None:
    """Alex's 07:30 check-ins come at 08:00, when quiet hours end; Sam's /checkin in the night
    is also put at 08:00. Alex gets one check-in then, and it counts as one: the offer to ease
    off comes after three unanswered check-ins, not two (nor does Sam read of three)."""
    await say(bot, ALEX, "/schedule daily 07:30")
    await say(bot, ALEX, "/timezone Europe/Berlin")
    await say(bot, ALEX, "/quiet 22:00-08:00")
    sam_before = len(bot.api.sent_to(SAM))
    bot.clock.set(datetime(2026, 11, 30, 7, 0, 5, tzinfo=UTC))  # 08:00 in Berlin
    await bot.run_tick()
    bot.clock.set(datetime(2026, 11, 30, 22, 30, tzinfo=UTC))  # 23:30 in Berlin
    answer = await say(bot, SAM, "/checkin Alex")
    assert "when they end (08:00 their time)" in (answer.text or "")
    for day in (1, 2):
        bot.clock.set(datetime(2026, 11, 30, 7, 0, 5, tzinfo=UTC) + timedelta(days=day))
        await bot.run_tick()
    assert len(checkins(bot, ALEX)) == 3
    assert not any("ease off" in (m.text or "") for m in bot.api.sent_to(ALEX))
    assert not any(
        "offered to ease off" in (m.text or "") for m in bot.api.sent_to(SAM)[sam_before:]
    )


@pytest.mark.parametrize(
    ("first_tick", "expected"),
    [
        # Spring forward (29 March): 02:30 does not exist that night; it comes at 03:30.
        (
            datetime(2026, 3, 28, 22, 0, tzinfo=UTC),
            ["2026-03-29T01:30:00.000000+00:00", "2026-03-30T00:30:00.000000+00:00"],
        ),
        # Fall back (25 October): 02:30 comes twice that night; one check-in, at the first.
        (
            datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
            ["2026-10-25T00:30:00.000000+00:00", "2026-10-26T01:30:00.000000+00:00"],
        ),
    ],
)
async def test_a_checkin_at_a_time_daylight_saving_skips_or_repeats_comes_once_a_night(
    fake_api: FakeBotApi, tmp_path: Path, first_tick: datetime, expected: list[str]
) -> None:
    """Daily at 02:30 in Berlin, the tick every five minutes through two nights, one of them
    a change of clocks, and a restart inside the hour that is skipped or repeated."""
    async with harness(fake_api, tmp_path, start=first_tick - timedelta(hours=1)) as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        await bot.join(ALEX, "Alexandra", SAM, "Alex")
        await say(bot, ALEX, "/schedule daily 02:30")
        await say(bot, ALEX, "/timezone Europe/Berlin")
        moment = first_tick
        while moment < first_tick + timedelta(hours=30):
            bot.clock.set(moment)
            if moment == first_tick + timedelta(hours=3, minutes=5):  # 01:05 UTC
                await bot.restart()
            await bot.run_tick()
            moment += timedelta(minutes=5)
        client_id = (await bot.client_row(ALEX))["id"]
        sent = await bot.rows("SELECT due_at FROM checkins WHERE client_id = ?", client_id)
        assert [row[0] for row in sent] == expected
        assert len(checkins(bot, ALEX)) == 2


async def test_asking_to_talk_while_the_specialist_is_away_says_they_are_away(
    bot: Harness,
) -> None:
    """Sam is away until Friday. Alex taps "I'd like to talk" on Monday's check-in: Alex must
    learn that Sam is away until Friday (as a message would tell them), not only that Sam
    will write "when they can"."""
    answer = await say(bot, SAM, "/away until friday")
    assert (answer.text or "").startswith("You're away until Friday 4 December.")
    await say(bot, ALEX, "/schedule daily 09:00")
    await say(bot, ALEX, "/timezone Europe/Berlin")
    bot.clock.set(datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC))
    await bot.tick()
    (checkin,) = checkins(bot, ALEX)
    before = len(bot.api.sent_to(ALEX))
    await tap(bot, ALEX, checkin, "I'd like to talk")
    said = [m.text or "" for m in bot.api.sent_to(ALEX)[before:]]
    assert any("Sam Rivera is away until Friday 4 December." in text for text in said), said


async def test_asking_to_talk_when_the_specialist_blocked_the_bot_says_it_is_kept(
    bot: Harness,
) -> None:
    """Sam has blocked the bot: Alex's "I'd like to talk" is held for Sam, and Alex must hear
    that it is kept until Sam can receive it (as a message would tell them), not only that
    Sam has been told."""
    await say(bot, ALEX, "/schedule daily 09:00")
    await say(bot, ALEX, "/timezone Europe/Berlin")
    bot.clock.set(datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC))
    await bot.tick()
    (checkin,) = checkins(bot, ALEX)
    bot.api.block_bot(SAM)
    await handled(bot)
    before = len(bot.api.sent_to(ALEX))
    await tap(bot, ALEX, checkin, "I'd like to talk")
    said = [m.text or "" for m in bot.api.sent_to(ALEX)[before:]]
    assert any("Sam Rivera can't receive messages here right now" in text for text in said), said
    assert not any("I've let Sam Rivera know" in text for text in said), said


async def test_a_transfer_in_the_clients_quiet_hours_is_told_without_a_sound(
    bot: Harness,
) -> None:
    """Sam hands Alex over to Ria at 23:30 Alex's time, inside Alex's quiet hours: Alex must
    read of it in the morning without being woken, as a reply in quiet hours arrives."""
    await bot.add_specialist(RIA, "Ria Okafor")
    await say(bot, ALEX, "/timezone Europe/Berlin")
    await say(bot, ALEX, "/quiet 22:00-07:00")
    bot.clock.set(datetime(2026, 11, 30, 22, 30, tzinfo=UTC))  # 23:30 in Berlin
    before = len(bot.api.sent_to(ALEX))
    await say(bot, SAM, "/transfer Alex Ria Okafor")
    told = await bot.next_text(ALEX, before)
    assert "from now on, Ria Okafor will read your messages" in (told.text or "")
    assert told.silent


async def test_a_checkin_held_up_by_telegram_is_not_sent_after_the_client_chose_none(
    bot: Harness,
) -> None:
    """Alex's 09:00 check-in waits out a Telegram outage; meanwhile Alex chooses "only when
    I write" (/schedule off). When Telegram is back, no check-in may come: as after /pause or
    /stop, the one still waiting is withdrawn."""
    await say(bot, ALEX, "/schedule daily 09:00")
    await say(bot, ALEX, "/timezone Europe/Berlin")
    await held_up(bot, datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC))  # 09:00 in Berlin
    bot.api.send_text(ALEX, "/schedule off")
    await handled(bot)
    assert (await bot.client_row(ALEX))["cadence"] == "when_i_write"
    bot.advance(timedelta(minutes=10))
    await bot.settle()
    assert checkins(bot, ALEX) == []


async def test_a_reply_waiting_to_be_tried_again_goes_when_the_clock_is_set_back(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Sam's answer to Alex meets a 502 and waits a second or two to be tried again; then
    the machine's clock is set back an hour (NTP). The answer must still go in seconds, not
    wait an hour for the clock to come round to its retry time (nor hold up Alex's chat)."""
    await answer_held_up(bot)
    with caplog.at_level(logging.WARNING, logger="bot.delivery.sender"):
        bot.advance(-timedelta(hours=1))
        await bot.api.wait_until(
            lambda: "event=clock.went_back" in caplog.text, what="the step back noticed"
        )
    bot.advance(timedelta(seconds=5))  # the retry's back-off has passed
    await bot.api.wait_until(
        lambda: any(m.copied_from is not None for m in bot.api.sent_to(ALEX)),
        timeout=10.0,
        what="Sam's answer",
    )


async def test_an_urgent_message_goes_to_the_supervisors_on_time_when_the_clock_is_set_back(
    bot: Harness,
) -> None:
    """Alex writes urgent words and Sam does not answer; a minute later NTP sets the clock
    back an hour. The supervisors must have it when ESCALATE_AFTER_MINUTES have passed, not
    an hour later, while the clock makes up the hour it lost."""
    await bot.settle()
    said = bot.api.send_text(ALEX, "i want to die")
    await bot.api.wait_until(
        lambda: any(m.copied_from == (ALEX, said.message_id) for m in bot.api.sent_to(SAM)),
        what="Sam's copy",
    )
    await handled(bot)
    await bot.run_tick()
    bot.advance(timedelta(minutes=1) - timedelta(hours=1))
    await bot.run_tick()
    bot.advance(timedelta(minutes=15))  # 16 minutes since Alex wrote
    await bot.run_tick()
    assert any(m.copied_from == (ALEX, said.message_id) for m in bot.api.sent_to(ADMIN))


async def test_a_client_back_from_a_pause_is_not_asked_at_once_to_ease_off(bot: Harness) -> None:
    """Alex left two check-ins unanswered, then typed /pause 1w: a word about the pace, as a
    tap on the check-in's Pause button is. Back a week later, Alex must not be asked on the
    second day whether the bot should ease off, as if the silence had gone on all along."""
    await say(bot, ALEX, "/schedule daily 09:00")
    await say(bot, ALEX, "/timezone Europe/Berlin")
    for day in range(2):
        bot.clock.set(datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC) + timedelta(days=day))
        await bot.run_tick()
    assert len(checkins(bot, ALEX)) == 2
    bot.clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    await say(bot, ALEX, "/pause 1w")
    # The pause ends on 8 December at 11:00 in Berlin; check-ins again from the 10th.
    for day in range(7, 11):
        bot.clock.set(datetime(2026, 12, 1, 8, 0, 5, tzinfo=UTC) + timedelta(days=day))
        await bot.run_tick()
    assert not any("ease off" in (m.text or "") for m in bot.api.sent_to(ALEX))
    assert len(checkins(bot, ALEX)) == 4
