"""Urgent words reach the specialist marked, and the client gets the resources, at once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, harness
from tests.fakes.bot_api import FakeBotApi

SAM = 1001
ALEX = 2001


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    start = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    async with harness(fake_api, tmp_path, start=start) as running_bot:
        await running_bot.add_specialist(SAM, "Sam Rivera")
        await running_bot.join(ALEX, "Alexandra", SAM, "Alex")
        await running_bot.settle()
        yield running_bot


def resources_sent(bot: Harness) -> int:
    return sum(1 for m in bot.api.sent_to(ALEX) if "What you wrote has gone to" in (m.text or ""))


async def test_flagged_words_are_marked_and_answered_with_resources(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    before = len(bot.api.sent_to(SAM))
    with caplog.at_level(logging.INFO):
        original = bot.api.send_text(ALEX, "honestly I want to k1ll myself tonight")
        got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "⚠️ Possibly urgent. From Alex:"
    assert got[1].copied_from == (ALEX, original.message_id)
    await bot.api.wait_until(lambda: resources_sent(bot) == 1, what="the resources")
    caring = next(m for m in bot.api.sent_to(ALEX) if "What you wrote" in (m.text or ""))
    assert "What you wrote has gone to Sam Rivera" in (caring.text or "")
    assert "contact your local emergency services now" in (caring.text or "")
    assert "[Programme: add your local crisis lines here]" in (caring.text or "")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "flagged=suicide" in logged
    assert "k1ll" not in logged and "tonight" not in logged

    # Within the hour: still marked for the specialist, no second resources message.
    before = len(bot.api.sent_to(SAM))
    bot.clock.advance(timedelta(minutes=30))
    bot.api.send_media(ALEX, "photo", caption="I don't want to be here anymore")
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "⚠️ Possibly urgent. From Alex:"
    await bot.barrier(ALEX)
    assert resources_sent(bot) == 1
    bot.clock.advance(timedelta(minutes=31))
    bot.api.send_text(ALEX, "i want to die")
    await bot.api.wait_until(lambda: resources_sent(bot) == 2, what="resources again")


async def test_everyday_words_are_not_flagged(bot: Harness) -> None:
    before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "I could kill for a coffee, work is killing it though")
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "From Alex:"
    await bot.barrier(ALEX)
    assert resources_sent(bot) == 0


# The second in Spanish from an English app: the client may have chosen Spanish.
@pytest.mark.parametrize("words", ["I want to end my life", "me quiero morir"])
async def test_a_message_relayed_after_a_failure_is_still_marked_urgent(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, words: str
) -> None:
    """The inbox keeps ids and the screen's category, never words: a message whose handler
    failed is relayed at the next start, still marked possibly urgent."""

    async def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(bot.services.relay, "from_client", failing)
    original = bot.api.send_text(ALEX, words)
    await bot.barrier(ALEX)
    kept = await bot.rows("SELECT message_id, safety_category FROM inbox")
    assert kept == [(original.message_id, "suicide")]
    assert not any(m.copied_from == (ALEX, original.message_id) for m in bot.api.sent_to(SAM))

    before = len(bot.api.sent_to(SAM))
    await bot.restart()
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "⚠️ Possibly urgent. From Alex:"
    assert got[1].copied_from == (ALEX, original.message_id)
    assert await bot.rows("SELECT count(*) FROM inbox") == [(0,)]
