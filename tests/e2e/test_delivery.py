"""Delivery under Telegram's limits and failures: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery.sender import IDLE_WAIT_SECONDS
from bot.storage.outbox import Priority
from tests.e2e.harness import Harness, harness
from tests.fakes.bot_api import FakeBotApi, FakeMessage

SAM, RIA = 1001, 1002
ALEX, BO, CY = 2001, 2002, 2003
ADMIN = 900
MONDAY_6_UTC = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


@asynccontextmanager
async def started(api: FakeBotApi, tmp_path: Path, **overrides: object) -> AsyncIterator[Harness]:
    async with harness(api, tmp_path, start=MONDAY_6_UTC, **overrides) as bot:
        api.add_user(ADMIN, "Ada")
        await bot.add_specialist(SAM, "Sam Rivera")
        await bot.add_specialist(RIA, "Ria Okafor")
        await bot.join(ALEX, "Alexandra", SAM, "Alex")
        await bot.join(BO, "Bo", SAM, "Bo")
        await bot.join(CY, "Cyrus", RIA, "Cy")
        await bot.settle()
        yield bot


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with started(fake_api, tmp_path, api_timeout_seconds=0.5) as running:
        yield running


async def wait_for_failures(bot: Harness, chat: int, count: int) -> None:
    """Wait until `count` copy attempts to the chat have failed."""

    def failed() -> int:
        return sum(
            1
            for c in bot.api.calls_to("copyMessage")
            if c.params.get("chat_id") == chat and not c.ok
        )

    await bot.api.wait_until(lambda: failed() >= count, what=f"{count} failed attempts")


async def wait_for_attempts(
    bot: Harness, chat: int, count: int, method: str = "copyMessage"
) -> None:
    """Wait until `count` attempts to the chat were made and the last one's retry planned."""

    def attempts() -> int:
        return sum(1 for c in bot.api.calls_to(method) if c.params.get("chat_id") == chat)

    await bot.api.wait_until(lambda: attempts() >= count, what=f"{count} attempts")
    deadline = asyncio.get_running_loop().time() + 5
    while await bot.rows("SELECT count(*) FROM outbox WHERE status = 'sending'") != [(0,)]:
        assert asyncio.get_running_loop().time() < deadline, "no retry was planned"
        await asyncio.sleep(0.01)


def copies_of(bot: Harness, chat: int) -> Counter[tuple[int, int]]:
    return Counter(m.copied_from for m in bot.api.sent_to(chat) if m.copied_from is not None)


async def test_a_burst_under_telegrams_limits_loses_and_doubles_nothing(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    # The real limits scaled down tenfold in time, the limiter set just inside them.
    async with started(
        fake_api, tmp_path, send_per_second=290, send_per_chat_interval=0.15
    ) as bot:
        fake_api.enforce_limits(per_second=300, per_chat_interval=0.1)
        for user in (ALEX, BO, CY):
            await bot.services.preferences.schedule_command(
                await _client(bot, user), ["daily", "07:00"]
            )
        await bot.settle()
        sent: list[FakeMessage] = []
        for round_ in range(8):
            for user in (ALEX, BO, CY):
                sent.append(bot.api.send_text(user, f"message {round_} from {user}"))
        bot.clock.set(datetime(2026, 11, 30, 7, 0, 5, tzinfo=UTC))
        await bot.services.checkins.tick()
        await bot.api.wait_until(
            lambda: sum(copies_of(bot, SAM).values()) + sum(copies_of(bot, RIA).values()) >= 24,
            timeout=20,
            what="every message relayed",
        )
        await bot.settle()
        relayed = copies_of(bot, SAM) + copies_of(bot, RIA)
        assert set(relayed) == {(m.chat_id, m.message_id) for m in sent}
        assert max(relayed.values()) == 1
        for user in (ALEX, BO, CY):
            checkins = [m for m in bot.api.sent_to(user) if "Doing okay" in str(m.reply_markup)]
            assert len(checkins) == 1
        assert fake_api.violations == []
        assert [c for c in fake_api.calls if c.error_code == 429] == []


async def test_checkins_beyond_those_allowed_in_flight_follow_one_another(bot: Harness) -> None:
    # One check-in in flight at a time: each one sent makes room for the next at once,
    # not at the sender's next idle look seconds later.
    sender = bot.services.sender
    assert sender is not None
    sender._allowances[Priority.SCHEDULED] = (1, 1)
    for user in (ALEX, BO, CY):
        await bot.services.preferences.schedule_command(
            await _client(bot, user), ["daily", "07:00"]
        )
    await bot.settle()
    bot.clock.set(datetime(2026, 11, 30, 7, 0, 5, tzinfo=UTC))
    await bot.services.checkins.tick()

    def checkins() -> int:
        return sum(
            1
            for user in (ALEX, BO, CY)
            for m in bot.api.sent_to(user)
            if "Doing okay" in str(m.reply_markup)
        )

    await bot.api.wait_until(
        lambda: checkins() == 3, timeout=IDLE_WAIT_SECONDS / 2, what="three check-ins in a row"
    )


async def _client(bot: Harness, user: int):  # type: ignore[no-untyped-def]
    person = await bot.services.people.identify(user)
    assert person.client is not None
    return person.client


async def test_a_429_delays_only_that_chat(bot: Harness) -> None:
    bot.api.fail_next("copyMessage", chat_id=SAM, status=429, retry_after=1)
    alex_says = bot.api.send_text(ALEX, "to Sam, held back")
    cy_says = bot.api.send_text(CY, "to Ria, straight through")
    await bot.api.wait_until(
        lambda: (CY, cy_says.message_id) in copies_of(bot, RIA), what="Ria's copy"
    )
    assert (ALEX, alex_says.message_id) not in copies_of(bot, SAM)
    await wait_for_attempts(bot, SAM, 1)  # the 429 is in and its retry planned
    bot.advance(timedelta(seconds=1))
    await bot.api.wait_until(
        lambda: (ALEX, alex_says.message_id) in copies_of(bot, SAM), what="Sam's copy"
    )
    assert copies_of(bot, SAM)[(ALEX, alex_says.message_id)] == 1


async def test_server_errors_and_timeouts_are_retried_until_delivered(bot: Harness) -> None:
    bot.api.fail_next("copyMessage", chat_id=SAM, status=500, times=2)
    bot.api.fail_next("copyMessage", chat_id=SAM, status=502, delay=1.0)  # times out first
    alex_says = bot.api.send_text(ALEX, "please arrive")
    for attempt in range(1, 4):
        await wait_for_attempts(bot, SAM, attempt)
        bot.advance(timedelta(minutes=10))
    await bot.api.wait_until(
        lambda: (ALEX, alex_says.message_id) in copies_of(bot, SAM), what="delivered"
    )
    assert len(bot.api.calls_to("copyMessage")) == 4
    assert copies_of(bot, SAM)[(ALEX, alex_says.message_id)] == 1
    assert not any("could not be delivered" in (m.text or "") for m in bot.api.sent_to(SAM))


async def test_a_reply_given_up_on_is_reported_to_the_specialist_once(bot: Harness) -> None:
    bot.api.send_text(ALEX, "hello")
    sam = await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    await bot.settle()  # the copy's id is noted, so Sam's reply to it is relayed
    bot.api.fail_next("copyMessage", chat_id=ALEX, status=500, times=1000)
    bot.api.send_text(SAM, "this will not get through", reply_to=sam[-1].message_id)
    # Retried with growing back-off for 24 hours, then given up and reported.
    for attempt in range(1, 6):
        await wait_for_attempts(bot, ALEX, attempt)
        bot.advance(timedelta(hours=7))
    await bot.api.wait_until(
        lambda: any("could not be delivered" in (m.text or "") for m in bot.api.sent_to(SAM)),
        what="the report",
    )
    await bot.settle()
    reports = [m for m in bot.api.sent_to(SAM) if "could not be delivered" in (m.text or "")]
    assert [m.text for m in reports] == [
        "Your message to Alex could not be delivered. Telegram would not accept it; you may"
        " want to send it again in another form."
    ]
    assert await bot.rows("SELECT count(*) FROM outbox WHERE status = 'dead'") == [(1,)]


async def test_a_client_who_blocks_the_bot_is_marked_and_the_specialist_told_once(
    bot: Harness,
) -> None:
    await bot.services.preferences.schedule_command(await _client(bot, ALEX), ["daily", "07:00"])
    bot.api.send_text(ALEX, "one more thing")
    sam = await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    await bot.settle()  # the copy's id is noted, so Sam's replies to it are relayed
    bot.api.block_bot(ALEX)
    await bot.api.wait_until(lambda: bot.api.pending_updates() == 0, what="update consumed")
    bot.api.send_text(SAM, "are you okay?", reply_to=sam[-1].message_id)
    bot.api.send_text(SAM, "just checking", reply_to=sam[-1].message_id)
    await bot.barrier(BO)  # not Sam: the note to him could pass for the /help answer
    assert (await bot.client_row(ALEX))["status"] == "blocked"
    told = [m for m in bot.api.sent_to(SAM) if "check-ins have stopped" in (m.text or "")]
    assert len(told) == 1
    # Each reply after the block is known is answered at once: it did not go.
    refused = [m for m in bot.api.sent_to(SAM) if "messages can't reach them" in (m.text or "")]
    assert len(refused) == 2
    bot.clock.set(datetime(2026, 12, 1, 6, 0, 5, tzinfo=UTC))
    await bot.tick()
    assert not any("Doing okay" in str(m.reply_markup) for m in bot.api.sent_to(ALEX)[-3:])

    bot.api.unblock_bot(ALEX)
    back = bot.api.send_text(ALEX, "sorry, I'm back")
    await bot.api.wait_until(
        lambda: (ALEX, back.message_id) in copies_of(bot, SAM), what="the copy"
    )
    await bot.barrier(SAM)  # its /help answer is now the only message Sam has to come
    row = await bot.client_row(ALEX)
    assert row["status"] == "active"
    assert row["next_due_at"] is not None
    assert bot.api.sent_to(SAM)[-2].text == "sorry, I'm back"


async def test_a_403_without_an_update_also_marks_blocked(bot: Harness) -> None:
    bot.api.send_text(BO, "hi")
    sam = await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    await bot.settle()  # the copy's id is noted, so Sam's reply to it is relayed
    bot.api.fail_next(
        "copyMessage", chat_id=BO, status=403, description="Forbidden: bot was blocked by the user"
    )
    bot.api.send_text(SAM, "hello Bo", reply_to=sam[-1].message_id)
    await bot.api.wait_until(
        lambda: any("Bo has blocked the bot" in (m.text or "") for m in bot.api.sent_to(SAM)),
        what="the note",
    )
    assert (await bot.client_row(BO))["status"] == "blocked"


async def test_a_stale_checkin_left_in_the_outbox_is_dropped_not_sent_late(bot: Harness) -> None:
    await bot.services.preferences.schedule_command(await _client(bot, ALEX), ["daily", "07:00"])
    await bot.settle()
    bot.api.fail_next("sendMessage", chat_id=ALEX, status=500)
    earlier = len([c for c in bot.api.calls_to("sendMessage") if c.params["chat_id"] == ALEX])
    bot.clock.set(datetime(2026, 11, 30, 7, 0, 10, tzinfo=UTC))
    await bot.services.checkins.tick()
    await wait_for_attempts(bot, ALEX, earlier + 1, method="sendMessage")
    bot.advance(timedelta(hours=4))
    await bot.settle()
    assert await bot.rows("SELECT last_error FROM outbox WHERE at_most_once = 1") == [("stale",)]
    assert not any("Doing okay" in str(m.reply_markup) for m in bot.api.sent_to(ALEX))


async def test_stop_then_block_then_unblock_stays_stopped(bot: Harness) -> None:
    await bot.services.preferences.schedule_command(await _client(bot, ALEX), ["daily", "07:00"])
    await bot.services.preferences.stop(
        await _client(bot, ALEX),
        (await bot.services.people.identify(SAM)).specialist,  # type: ignore[arg-type]
        bot.api.sent_to(ALEX)[-1].message_id,
    )
    # Bo is the barrier: the notes to Sam about Alex could pass for the answer to a /help.
    bot.api.block_bot(ALEX)
    await bot.barrier(BO)
    assert (await bot.client_row(ALEX))["status"] == "blocked"
    bot.api.unblock_bot(ALEX)
    await bot.barrier(BO)
    row = await bot.client_row(ALEX)
    assert (row["status"], row["next_due_at"]) == ("stopped", None)


async def test_admins_hear_once_that_a_specialist_blocked_the_bot(bot: Harness) -> None:
    bot.api.block_bot(SAM)
    for text in ("one", "two", "three"):
        bot.api.send_text(ALEX, text)
    await bot.barrier(ALEX)
    await bot.barrier(BO)
    notes = [
        m for m in bot.api.sent_to(ADMIN) if "Sam Rivera has blocked the bot" in (m.text or "")
    ]
    assert len(notes) == 1


async def test_a_checkin_whose_answer_timed_out_is_not_sent_again(bot: Harness) -> None:
    await bot.services.preferences.schedule_command(await _client(bot, ALEX), ["daily", "07:00"])
    await bot.settle()
    # Telegram takes the message but answers too late: it may well have been delivered.
    bot.api.fail_next("sendMessage", chat_id=ALEX, status=200, delay=1.0)
    bot.clock.set(datetime(2026, 11, 30, 7, 0, 10, tzinfo=UTC))
    await bot.services.checkins.tick()
    await bot.settle()
    bot.advance(timedelta(minutes=30))
    await bot.settle()
    checkins = [m for m in bot.api.sent_to(ALEX) if "Doing okay" in str(m.reply_markup)]
    assert len(checkins) == 1
    assert await bot.rows("SELECT status FROM outbox WHERE at_most_once = 1") == [("dead",)]


async def test_sending_survives_a_database_error(bot: Harness) -> None:
    repo = bot.services.sender._outbox  # type: ignore[union-attr]
    real = repo.next_not_before
    failures = {"left": 1}

    async def flaky(after: datetime) -> datetime | None:
        if failures["left"]:
            failures["left"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return await real(after)

    repo.next_not_before = flaky  # type: ignore[method-assign]
    bot.api.send_text(ALEX, "first")
    await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    # The sender looks at the outbox again once a chat's messages are out, not before.
    await bot.api.wait_until(lambda: failures["left"] == 0, what="the database error")
    before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "second")
    assert (await bot.said(SAM, before + 1))[-1].text == "second"


async def test_a_message_whose_handling_failed_is_relayed_after_a_restart(bot: Harness) -> None:
    relay = bot.services.relay
    real = relay.from_client

    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug")

    relay.from_client = broken  # type: ignore[method-assign]
    original = bot.api.send_text(ALEX, "please do not lose me")
    await bot.barrier(ALEX)
    assert await bot.rows("SELECT message_id FROM inbox") == [(original.message_id,)]
    relay.from_client = real  # type: ignore[method-assign]
    await bot.restart()
    await bot.api.wait_until(
        lambda: (ALEX, original.message_id) in copies_of(bot, SAM), what="relayed after restart"
    )


async def test_a_stop_while_a_message_waits_for_its_turn_keeps_it_for_the_next_start(
    bot: Harness,
) -> None:
    sender = bot.services.sender
    assert sender is not None
    sender._limiter.pause_chat(SAM, 3600)  # Telegram said: leave Sam's chat alone an hour
    [(last,)] = await bot.rows("SELECT max(id) FROM outbox")
    said = bot.api.send_text(ALEX, "wait for me")
    query = "SELECT status, last_error FROM outbox WHERE chat_id = ? AND id > ? ORDER BY id"
    deadline = asyncio.get_running_loop().time() + 5
    while await bot.rows(query, SAM, last) != [("sending", None), ("pending", None)]:
        assert asyncio.get_running_loop().time() < deadline, await bot.rows(query, SAM, last)
        await asyncio.sleep(0.01)  # polling, as settle() does
    # Stopping does not wait out the hour: the header goes back to the outbox, unsent,
    # in its place before the copy however late the stop.
    bot.clock.advance(timedelta(minutes=1))
    await asyncio.wait_for(bot.stop(), timeout=5)
    assert copies_of(bot, SAM).get((ALEX, said.message_id)) is None
    with closing(sqlite3.connect(bot.settings.database_path)) as stopped:
        assert stopped.execute(query, (SAM, last)).fetchall() == [
            ("pending", "stopped"),
            ("pending", None),
        ]
    await bot.start()  # a new limiter: the pause was this run's
    await bot.api.wait_until(
        lambda: (ALEX, said.message_id) in copies_of(bot, SAM), what="the copy after the start"
    )
    await bot.settle()
    assert await bot.rows(query, SAM, last) == [("sent", None), ("sent", None)]
    assert copies_of(bot, SAM)[(ALEX, said.message_id)] == 1
    # In their order still: the header that waited, then the copy.
    header, copy = bot.api.sent_to(SAM)[-2:]
    assert "Alex" in header.text and copy.text == "wait for me"
