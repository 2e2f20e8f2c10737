"""Second reading of the hostile privacy fixes: the cases next to the ones they fixed."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Harness, say
from tests.e2e.test_hostile_privacy import (
    ALEX,
    BO,
    SAM,
    START,
    bot,
    erase,
    unblocked_after_alex_left,
)
from tests.storage.test_checkpoint import on_disk

pytestmark = pytest.mark.thread_checks

__all__ = ["bot"]  # the fixture, shared with the module it comes from


async def test_a_summary_queued_before_the_block_was_known_does_not_outlive_an_erasure(
    bot: Harness,
) -> None:
    # Alex wrote, and Sam read it; Sam then blocked the bot, and the bot learnt it only from
    # Telegram refusing the day's summary (Telegram's update came late, or the summary was
    # already queued). Alex then erased everything: the summary kept for Sam, "Wrote: Alex
    # (1).", must not arrive once Sam unblocks the bot, nor stay in the database's files.
    await say(bot, SAM, "/digest 18:00")
    bot.api.send_text(ALEX, "something only for Sam")
    await bot.barrier(BO)
    bot.api.block_bot(SAM, notify=False)
    bot.clock.set(START.replace(hour=18, minute=0, second=30))
    await bot.run_tick()
    await erase(bot, ALEX)

    arrived = await unblocked_after_alex_left(bot)
    assert [text for text in arrived if "Alex" in text and "has left" not in text] == []
    # The day's summary is made afresh, now that Sam can read it: without Alex.
    await bot.run_tick()  # and the tick's checkpoint
    summaries = [
        m.text or ""
        for m in bot.api.sent_to(SAM)
        if (m.text or "").startswith("Your daily summary")
    ]
    assert len(summaries) == 1 and "Alex" not in summaries[0], summaries
    assert on_disk(bot.settings.database_path, "Alex") == []


async def test_a_note_held_for_a_specialist_who_blocked_the_bot_does_not_outlive_an_erasure(
    bot: Harness,
) -> None:
    # Sam blocked the bot; Alex blocked it too, then came back and erased everything. The
    # note "Alex has blocked the bot" kept for Sam named Alex, who is gone, and came to Sam
    # on unblocking, with Alex's alias on disk until then.
    bot.api.block_bot(SAM)
    await bot.barrier(BO)
    bot.api.block_bot(ALEX)
    await bot.barrier(BO)
    bot.api.unblock_bot(ALEX)
    await erase(bot, ALEX)
    arrived = await unblocked_after_alex_left(bot)
    assert [text for text in arrived if "Alex" in text and "has left" not in text] == []
    await bot.run_tick()  # the tick's checkpoint
    assert on_disk(bot.settings.database_path, "Alex") == []
