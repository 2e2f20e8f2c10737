"""Long polling, end to end: an update the bot cannot read is skipped, never a wedge.

PTB parses a getUpdates batch as a whole: one update it cannot read used to fail every
poll, so no other client's message in the batch was ever handled (see bot.handlers.polling).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.handlers import polling
from tests.e2e.harness import Harness
from tests.fakes.bot_api import FakeMessage

SAM, RIA = 1001, 1002
ALEX, BO, CY = 2001, 2002, 2003
WORDS = "Bo's words that must never reach a log 9c41"


def offsets(bot: Harness) -> list[object]:
    """The offset of every getUpdates the bot has made, in order."""
    return [call.params.get("offset") for call in bot.api.calls_to("getUpdates")]


def skipped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return logged(caplog, "update_skipped")


def reduced(caplog: pytest.LogCaptureFixture) -> list[str]:
    return logged(caplog, "update_reduced")


def logged(caplog: pytest.LogCaptureFixture, event: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if event in r.getMessage()]


async def relayed(bot: Harness, specialist: int, before: int, said: FakeMessage) -> None:
    """The client's message reaches their specialist, under its header, as a copy."""
    header, copy = (await bot.said(specialist, before + 2))[before:]
    assert copy.copied_from == (said.chat_id, said.message_id), header.text


def unreadable(bot: Harness, user: int) -> tuple[int, int]:
    """The user writes, and Telegram sends a date PTB cannot read; the update's id and
    the message's."""
    update = bot.api.text_update(user, WORDS)
    update["message"]["date"] = "yesterday"
    return bot.api.push_update(update), update["message"]["message_id"]


async def assert_stops_cleanly(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Updater.stop confirms what was fetched with one more getUpdates: it raised, too."""
    await bot.stop()
    assert bot.api.pending_updates() == 0
    assert WORDS not in caplog.text and "yesterday" not in caplog.text
    assert [r for r in caplog.records if r.levelno == logging.CRITICAL] == []


async def test_an_update_that_cannot_be_read_is_skipped_and_its_batch_handled(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    api = bot.api
    sam_before, ria_before, bo_before = (len(api.sent_to(who)) for who in (SAM, RIA, BO))
    # One batch: nothing polls between these lines.
    alex_says = api.send_text(ALEX, "a hard week")
    between, bo_first = unreadable(bot, BO)
    cy_says = api.send_text(CY, "hello from Cy")
    last, bo_second = unreadable(bot, BO)  # nothing after it in the batch to confirm it

    await relayed(bot, RIA, ria_before, cy_says)
    await api.wait_for_update_consumed(last)
    await bot.barrier(SAM)
    # Bo's words still reach Sam: what PTB could not read, Telegram copies.
    copies = [m.copied_from for m in api.sent_to(SAM)[sam_before:] if m.copied_from]
    assert copies == [(ALEX, alex_says.message_id), (BO, bo_first), (BO, bo_second)]
    # And Bo hears what any client hears when they first write.
    assert [m.text for m in api.sent_to(BO)[bo_before:]] == [
        "I'll pass this on to Sam Rivera. They'll answer here when they can."
    ]
    # Fetched together and confirmed together, by one offset past the last.
    assert alex_says.update_id in offsets(bot) and last + 1 in offsets(bot)
    assert {between, cy_says.update_id, last} & set(offsets(bot)) == set()
    assert reduced(caplog) == [
        f"event=telegram.update_reduced update_id={between} error=TypeError",
        f"event=telegram.update_reduced update_id={last} error=TypeError",
    ]
    await assert_stops_cleanly(bot, caplog)


async def test_an_update_whose_id_cannot_be_read_goes_with_the_next_one(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    api = bot.api
    sam_before, ria_before = len(api.sent_to(SAM)), len(api.sent_to(RIA))
    alex_says = api.send_text(ALEX, "a hard week")
    no_id = api.push_raw({"update_id": "?", "message": {"text": WORDS}})
    await relayed(bot, SAM, sam_before, alex_says)
    # The newest update Telegram holds, with no id to confirm it by: the bot asks again
    # after a pause, not at once in a loop.
    await api.wait_until(lambda: offsets(bot).count(no_id) >= 2, what="two polls past Alex")
    first, second = (c.at for c in api.calls_to("getUpdates") if c.params.get("offset") == no_id)
    assert second - first >= 0.9
    assert api.pending_updates() == 1

    cy_says = api.send_text(CY, "hello from Cy")
    await relayed(bot, RIA, ria_before, cy_says)
    await api.wait_for_update_consumed(no_id)  # confirmed with Cy's
    assert skipped(caplog) == ["event=telegram.update_skipped update_id=- error=TypeError"]
    held = [r.getMessage() for r in caplog.records if "updates_held" in r.getMessage()]
    assert held == [f"event=telegram.updates_held offset={no_id} count=1"]
    await assert_stops_cleanly(bot, caplog)


async def test_a_message_whose_handling_hangs_does_not_stop_the_polls(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll waits for the last one's updates to be handled only so long: a relay that
    hangs leaves the bot still asking Telegram (and confirming what it fetched)."""
    api, relay = bot.api, bot.services.relay
    release = asyncio.Event()
    from_client = relay.from_client

    async def hangs(*args: Any, **kwargs: Any) -> None:
        await release.wait()
        await from_client(*args, **kwargs)

    monkeypatch.setattr(relay, "from_client", hangs)
    monkeypatch.setattr(polling, "HANDLED_WAIT_SECONDS", 0.2)
    before = len(api.sent_to(SAM))
    alex_says = api.send_text(ALEX, "a hard week")
    try:
        await api.wait_until(
            lambda: alex_says.update_id + 1 in offsets(bot), what="a poll past Alex's message"
        )
        assert len(api.sent_to(SAM)) == before  # still being handled
    finally:
        release.set()
    await relayed(bot, SAM, before, alex_says)
