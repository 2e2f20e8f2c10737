"""Urgent words reach the specialist marked, and the client gets the resources, at once."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest

from bot.config import CONFIG_DIR
from bot.domain.safety import SafetyConfigError, SafetyScreen
from tests.e2e.harness import Harness, harness, say
from tests.fakes.bot_api import FakeBotApi

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

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


async def header_of(bot: Harness, words: str) -> str | None:
    """Alex writes; Sam gets a header, then the copy. The header's text."""
    before = len(bot.api.sent_to(SAM))
    original = bot.api.send_text(ALEX, words)
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[1].copied_from == (ALEX, original.message_id)
    await bot.barrier(ALEX)
    return got[0].text


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


def passed_on(bot: Harness) -> int:
    return sum(1 for m in bot.api.sent_to(ALEX) if "I'll pass this on" in (m.text or ""))


async def test_a_warning_sign_tells_the_specialist_loudly_and_the_client_nothing_unusual(
    bot: Harness,
) -> None:
    """Concern: a loud header naming the category, no crisis reply, a mark in /clients."""
    before = len(bot.api.sent_to(SAM))
    original = bot.api.send_text(ALEX, "honestly everyone would be better off without me")
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "❗ May need attention (burden). From Alex:"
    assert not got[0].silent
    assert got[1].copied_from == (ALEX, original.message_id)
    await bot.api.wait_until(lambda: passed_on(bot) == 1, what="the usual line")
    await bot.barrier(ALEX)
    assert resources_sent(bot) == 0
    assert await bot.rows(
        "SELECT last_flagged_at IS NULL, last_concern_at IS NOT NULL FROM clients"
    ) == [(1, 1)]
    overview = await say(bot, SAM, "/clients")
    assert "❗ Alex · " in (overview.text or "")

    # An urgent message afterwards still gets the crisis reply and the urgent header.
    before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "i'm going to take all my pills tonight")
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "⚠️ Possibly urgent. From Alex:"
    await bot.api.wait_until(lambda: resources_sent(bot) == 1, what="the resources")


async def test_talk_about_the_subject_is_not_flagged_but_a_statement_beside_it_is(
    bot: Harness,
) -> None:
    before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "my friend works in suicide prevention, she loves it")
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "From Alex:"
    before = len(bot.api.sent_to(SAM))
    bot.api.send_text(ALEX, "I watched a documentary about suicide and now I want to kill myself")
    got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "⚠️ Possibly urgent. From Alex:"


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("voice", "voice message"),
        ("video_note", "video message"),
        ("video", "video"),
        ("audio", "audio"),
    ],
)
async def test_sound_and_video_say_they_were_not_screened(
    bot: Harness, kind: str, named: str
) -> None:
    for _ in range(2):  # every one says so, not only the first of a run
        before = len(bot.api.sent_to(SAM))
        original = bot.api.send_media(ALEX, kind)
        got = (await bot.said(SAM, before + 2))[before:]
        assert got[0].text == f"From Alex ({named}: not screened for urgent words):"
        assert got[1].copied_from == (ALEX, original.message_id)
    before = len(bot.api.sent_to(SAM))
    bot.api.send_media(ALEX, "photo")
    got = (await bot.said(SAM, before + 1))[before:]
    assert got[0].copied_from is not None  # a photo continues the run, no header


async def test_after_a_crash_a_concern_stays_a_concern_and_a_voice_note_says_unscreened(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(bot.services.relay, "from_client", failing)
    concern = bot.api.send_text(ALEX, "i can't see a future anymore")
    voice = bot.api.send_media(ALEX, "voice")
    await bot.barrier(ALEX)
    kept = await bot.rows("SELECT message_id, safety_category, unscreened FROM inbox")
    assert kept == [
        (concern.message_id, "hopelessness", None),
        (voice.message_id, None, "voice"),
    ]
    before = len(bot.api.sent_to(SAM))
    await bot.restart()
    got = (await bot.said(SAM, before + 4))[before:]
    assert got[0].text == "❗ May need attention (hopelessness). From Alex:"
    assert got[2].text == "From Alex (voice message: not screened for urgent words):"
    await bot.barrier(ALEX)
    assert resources_sent(bot) == 0


async def test_words_that_cannot_be_screened_still_go_and_say_so(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety files are read once the bot serves; if they cannot be (the bot stops to
    say so, see tests/faults/test_startup.py), a message that comes meanwhile is relayed at
    once with a header saying it was not screened, and kept that way for a crash."""

    def unreadable() -> NoReturn:
        raise SafetyConfigError("en.toml: surprise: unknown key")

    broken = SafetyScreen._deferred({"en": "Call someone.", "es": None}, unreadable)
    monkeypatch.setattr(bot.services.relay, "_safety", broken)
    header = await header_of(bot, "i want to die")
    assert header == "From Alex (message: not screened for urgent words):"
    assert resources_sent(bot) == 0
    assert await bot.rows("SELECT COUNT(*) FROM inbox") == [(0,)]


async def test_each_message_is_screened_once(bot: Harness) -> None:
    """The inbox reads a message as it arrives, in every language (for a replay after a
    crash), and the relay uses that reading: an English client's everyday words are not
    read again in English alone. Words it flagged are read again in the client's own
    languages, and marked as those find them."""
    relay = bot.services.relay
    screens = relay.screens
    assert await header_of(bot, "long day at work, can we talk tomorrow?") == "From Alex:"
    assert relay.screens == screens + 1
    header = await header_of(bot, "honestly I want to k1ll myself tonight")
    assert header == "⚠️ Possibly urgent. From Alex:"
    assert relay.screens == screens + 3


async def test_a_model_quieting_urgent_phrases_sooner_has_the_words_read_again(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a model whose urgent floor is above its concern floor, nothing found in every
    language need not be nothing in English alone (an urgent phrase quieted there may be a
    concern that stands): the relay reads the words again."""
    model = bot.services.safety.model
    assert model is not None
    monkeypatch.setattr(model, "urgent_floor", model.floor + 0.1)
    relay = bot.services.relay
    screens = relay.screens
    assert await header_of(bot, "long day at work, can we talk tomorrow?") == "From Alex:"
    assert relay.screens == screens + 2


async def test_the_crisis_lines_are_given_while_the_screen_cannot_be_read(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The phrases or the model cannot be read (a model file half written, say: the bot is
    stopping to say so): /crisis and a stranger's answer still give the crisis lines,
    which the file holds as plain text."""
    folder = tmp_path / "safety"
    shutil.copytree(CONFIG_DIR / "safety", folder)
    (folder / "model.json").write_text("{")
    broken = SafetyScreen.load(folder, lazy=True)
    services = bot.services
    monkeypatch.setattr(services.relay, "_safety", broken)
    monkeypatch.setattr(services.escalations, "_safety", broken)
    monkeypatch.setattr(services.notices, "_resources", broken.resources)
    lines = (await say(bot, ALEX, "/crisis")).text or ""
    assert lines.startswith("You can reach someone right now, at any hour:")
    assert "contact your local emergency services now" in lines
    bot.api.add_user(4242, "Stranger", language_code="en")
    stranger = (await say(bot, 4242, "hello?")).text or ""
    assert "contact your local emergency services now" in stranger


async def test_messages_that_come_while_the_screen_is_read_wait_for_it_and_are_marked(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after a start the phrases and the model are still being read (a worker
    thread): two messages that come meanwhile wait for that one reading, are marked as
    they would be at any other time, and go in the order written."""
    shipped = SafetyScreen.load(CONFIG_DIR / "safety")
    entered, gate = threading.Event(), threading.Event()
    reads: list[int] = []

    def slow_reading() -> Any:
        reads.append(1)
        entered.set()
        gate.wait(timeout=30)  # the test opens it; the timeout only ends a failed test
        return shipped._built()

    resources = {code: shipped.resources(code) for code in shipped.languages}
    warming = SafetyScreen._deferred(resources, slow_reading)
    monkeypatch.setattr(bot.services.relay, "_safety", warming)
    warm = asyncio.create_task(asyncio.to_thread(warming.warm))  # as bot.app does
    await bot.api.wait_until(entered.is_set, what="the reading to start")
    before = len(bot.api.sent_to(SAM))
    first = bot.api.send_text(ALEX, "i want to die")
    second = bot.api.send_text(ALEX, "see you thursday, thanks for today")
    assert not warming.ready
    gate.set()
    await warm
    got = (await bot.said(SAM, before + 3))[before:]
    assert got[0].text == "⚠️ Possibly urgent. From Alex:"
    assert [m.copied_from for m in got[1:]] == [
        (ALEX, first.message_id),
        (ALEX, second.message_id),
    ]
    await bot.barrier(ALEX)
    assert reads == [1] and resources_sent(bot) == 1


async def test_a_screen_that_fails_on_a_message_still_lets_it_through_saying_so(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A fault of the screen's own on some words: the message goes all the same, marked
    not screened, and the log names the kind of fault, never the words."""

    def failing(text: str, language: str) -> NoReturn:
        raise KeyError(text)

    monkeypatch.setattr(bot.services.safety, "screen", failing)
    monkeypatch.setattr(bot.services.safety, "screen_all", failing)
    before = len(bot.api.sent_to(SAM))
    with caplog.at_level(logging.INFO):
        original = bot.api.send_text(ALEX, "an odd little message")
        got = (await bot.said(SAM, before + 2))[before:]
    assert got[0].text == "From Alex (message: not screened for urgent words):"
    assert got[1].copied_from == (ALEX, original.message_id)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "safety.screen_failed" in logged and "KeyError" in logged
    assert "odd little" not in logged
