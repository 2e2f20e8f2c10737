"""A relay that failed mid-handler (the database locked for a moment) is retried by the
tick, seconds later, not at the next start; later messages never overtake it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import Harness, fail_next
from tests.fakes.bot_api import FakeMessage

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

SAM, ALEX = 1001, 2001


def fail_once(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, times: int = 1, error: Exception | None = None
) -> None:
    """The next relay from a client fails inside its transaction, as on a locked database
    (or as often, and with what error, as given)."""
    fail_next(monkeypatch, bot.services.checkins, "answered_by_message", times, error)


async def first_fails(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, times: int = 1, error: Exception | None = None
) -> FakeMessage:
    """Alex's first message, whose relay fails (see fail_once), handled."""
    fail_once(bot, monkeypatch, times, error)
    first = bot.api.send_text(ALEX, "the first thing")
    await bot.barrier(ALEX)
    return first


def copies_to_sam(bot: Harness) -> list[int]:
    """Which of Alex's messages reached Sam, in order."""
    return [m.copied_from[1] for m in bot.api.sent_to(SAM) if m.copied_from]


async def test_the_tick_relays_a_message_whose_handling_failed(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await first_fails(bot, monkeypatch)
    assert first.message_id not in copies_to_sam(bot)
    await bot.run_tick()
    await bot.api.wait_until(
        lambda: first.message_id in copies_to_sam(bot), what="the retried copy"
    )
    assert await bot.rows("SELECT update_id FROM inbox") == []


async def test_a_later_message_waits_behind_the_one_that_failed(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await first_fails(bot, monkeypatch)
    second = bot.api.send_text(ALEX, "and then this")
    await bot.api.wait_until(
        lambda: second.message_id in copies_to_sam(bot), what="the second copy"
    )
    assert copies_to_sam(bot)[-2:] == [first.message_id, second.message_id]


async def test_a_message_that_fails_for_another_reason_holds_nobody_up(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fault of ours that repeats: the first message fails, and fails again when retried.
    first = await first_fails(bot, monkeypatch, times=2, error=RuntimeError("a bug"))
    second = bot.api.send_text(ALEX, "and then this")
    await bot.api.wait_until(
        lambda: second.message_id in copies_to_sam(bot), what="the second copy"
    )
    assert first.message_id not in copies_to_sam(bot)
    # It stays in the inbox, for the next start.
    assert await bot.rows("SELECT user_id FROM inbox") == [(ALEX,)]


async def test_a_message_that_fails_for_another_reason_does_not_stop_the_next_start(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same fault of ours at the next start: one message must not keep the bot down.
    checkins = type(bot.services.checkins)

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(checkins, "answered_by_message", failing)
    first = bot.api.send_text(ALEX, "the first thing")
    await bot.barrier(ALEX)
    await bot.restart()
    assert first.message_id not in copies_to_sam(bot)
    assert await bot.rows("SELECT user_id FROM inbox") == [(ALEX,)]
    monkeypatch.undo()
    second = bot.api.send_text(ALEX, "and then this")
    await bot.api.wait_until(
        lambda: second.message_id in copies_to_sam(bot), what="the second copy"
    )


async def test_a_forwarded_message_whose_handling_failed_is_still_marked_forwarded(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Someone else's words, retried by the tick: Sam must not read them as Alex's own.
    fail_once(bot, monkeypatch)
    before = len(bot.api.sent_to(SAM))
    forwarded = bot.api.send_forwarded(ALEX, "a message from my landlord")
    await bot.barrier(ALEX)
    await bot.run_tick()
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "Alex forwarded:"
    assert got[1].copied_from == (ALEX, forwarded.message_id)


async def test_a_relay_that_fails_after_queueing_its_copy_leaves_nothing_behind(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay's transaction runs whole in one trip to the database thread: a fault at
    its last statements (the copy queued, its routing written) undoes all of it. The copy
    does not go, and the tick relays the message once."""
    failed = fail_next(monkeypatch, bot.services.escalations, "waiting")
    links = "SELECT count(*) FROM relay_links WHERE source_message_id = ?"
    first = bot.api.send_text(ALEX, "the first thing")
    await bot.barrier(ALEX)
    assert failed
    assert first.message_id not in copies_to_sam(bot)
    assert await bot.rows(links, first.message_id) == [(0,)]
    assert await bot.rows("SELECT user_id FROM inbox") == [(ALEX,)]
    await bot.run_tick()
    await bot.api.wait_until(
        lambda: first.message_id in copies_to_sam(bot), what="the retried copy"
    )
    assert copies_to_sam(bot).count(first.message_id) == 1
    assert await bot.rows(links, first.message_id) == [(1,)]
