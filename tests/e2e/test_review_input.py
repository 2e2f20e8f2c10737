"""Second reading of the fourth hostile round: what its fixes left open."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.harness import Harness
from tests.e2e.test_escalation import ADMIN, ALEX, SAM, TESS, bot, copy_in, reply, texts, urgent

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

__all__ = ["bot"]

BLOCKED = (
    "Alex has blocked the bot, so messages can't reach them. If they write again, you can"
    " answer."
)


async def test_a_supervisors_answer_to_a_client_who_blocked_the_bot_is_said_not_to_go(
    bot: Harness,
) -> None:
    """Alex's urgent words went on to the admin and Tess; then Alex blocked the bot (Sam
    was told, nobody else). The admin answers: Telegram refused the copy, nobody said a
    word to the admin, and Sam and Tess read 'An admin has answered Alex's possibly
    urgent message', so everyone believed Alex had been reached."""
    original = await urgent(bot)
    bot.advance(timedelta(minutes=20))
    await bot.run_tick()
    bot.api.block_bot(ALEX)
    await bot.barrier(SAM)
    assert (await bot.client_row(ALEX))["status"] == "blocked"
    alex_before = len(bot.api.sent_to(ALEX))
    await reply(bot, ADMIN, copy_in(bot, ADMIN, original), "Alex, I'm here with you.")
    await bot.api.wait_until(lambda: len(texts(bot, ADMIN, BLOCKED)) == 1, what="admin told")
    await bot.settle()
    assert len(bot.api.sent_to(ALEX)) == alex_before
    for told in (SAM, TESS):
        assert texts(bot, told, "An admin has answered Alex") == []
    # Tess, on call, answering by reply hears the same.
    await reply(bot, TESS, copy_in(bot, TESS, original), "Thinking of you")
    await bot.api.wait_until(lambda: len(texts(bot, TESS, BLOCKED)) == 1, what="Tess told")
    assert await bot.rows("SELECT count(*) FROM outbox WHERE status = 'dead'") == [(0,)]
