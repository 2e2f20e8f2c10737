"""Second reading of the fourth hostile round: what its fixes left open."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import MONDAY_6_UTC
from tests.e2e.harness import Harness, current, fail_next, harness, tap
from tests.e2e.test_escalation import ADMIN, ALEX, SAM, TESS, bot, copy_in, reply, texts, urgent
from tests.e2e.test_team import RIA, TEAM, team_bot, topic_named
from tests.fakes.bot_api import FakeBotApi, FakeMessage, JSONDict

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

__all__ = ["bot"]

BLOCKED = (
    "Alex has blocked the bot, so messages can't reach them. If they write again, you can answer."
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


async def test_urgent_words_written_into_an_edit_survive_a_locked_database(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alex edits 'hi' to say they want to die, just as the database is locked for a
    moment. A message would wait in the inbox and go at the next tick; the edit was not
    kept at all: its handling failed, it was confirmed to Telegram, and Sam never saw the
    words, nor did the escalation clock start."""
    api = bot.api
    first = api.send_text(ALEX, "hi")
    await bot.barrier(ALEX)
    sam_before = len(api.sent_to(SAM))
    fail_next(monkeypatch, bot.services.checkins, "answered_by_message", 1, None)
    api.edit_text(ALEX, first.message_id, "i want to die")
    await bot.barrier(ALEX)
    await bot.run_tick()
    to_sam = (await bot.said(SAM, sam_before + 2))[sam_before:]
    assert texts_of(to_sam)[:2] == ["⚠️ Possibly urgent. From Alex:", "i want to die"]
    assert await bot.rows("SELECT count(*) FROM escalations") == [(1,)]
    assert await bot.rows("SELECT count(*) FROM inbox") == [(0,)]
    # An ordinary edit is only explained: nothing of it is kept.
    api.edit_text(ALEX, first.message_id, "all fine now")
    await bot.barrier(ALEX)
    assert await bot.rows("SELECT count(*) FROM inbox") == [(0,)]


def texts_of(messages: list[FakeMessage]) -> list[str]:
    return [m.text or "" for m in messages]


async def test_a_specialists_edit_is_never_relayed_even_after_a_failure(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sam corrects his answer to Alex, with words the screen would flag, as the database
    is locked for a moment: an edit is explained, never passed on, so nothing of it may
    wait to be relayed at the next tick."""
    api = bot.api
    said = api.send_text(ALEX, "rough day")
    copy_of_it = (await bot.said(SAM, len(api.sent_to(SAM)) + 2))[-1]
    answer = api.send_text(SAM, "call me", reply_to=copy_of_it.message_id)
    await bot.barrier(SAM)
    assert any(m.copied_from == (SAM, answer.message_id) for m in api.sent_to(ALEX))
    assert said.message_id
    alex_before = len(api.sent_to(ALEX))
    fail_next(monkeypatch, bot.services.notices, "say", 1, None)
    api.edit_text(SAM, answer.message_id, "do you want to die")
    await bot.barrier(SAM)
    await bot.run_tick()
    await bot.settle()
    assert len(api.sent_to(ALEX)) == alex_before
    assert await bot.rows("SELECT count(*) FROM inbox") == [(0,)]


# A live location, shared for 15 minutes.
PLACE = {"latitude": 51.5, "longitude": -0.12, "live_period": 900}


def move(api: FakeBotApi, raw: JSONDict, *, steps: int) -> None:
    """Telegram reports each move of a live location as an edit of its message."""
    for step in range(1, steps + 1):
        moved = {**raw, "location": {**PLACE, "latitude": 51.5 + step / 1000}}
        api.push_update({"edited_message": {**moved, "edit_date": int(time.time())}})


async def test_a_live_location_moving_is_not_answered_as_an_edit(bot: Harness) -> None:
    """Alex shares their live location with Sam. Telegram reports each move as an edit of
    that message, and each was answered 'Edits aren't passed on to Sam Rivera': a message
    every few seconds, for as long as the sharing lasted, to someone who may be in
    trouble. A move is nobody's edit: no answer."""
    api = bot.api
    raw = {
        "message_id": 990_200,
        "date": int(time.time()),
        "chat": {"id": ALEX, "type": "private"},
        "from": {"id": ALEX, "is_bot": False, "first_name": "Alexandra"},
        "location": PLACE,
    }
    sam_before = len(api.sent_to(SAM))
    api.push_update({"message": raw})
    await bot.said(SAM, sam_before + 2)
    alex_before = len(api.sent_to(ALEX))
    move(api, raw, steps=3)
    await bot.barrier(ALEX)
    told = [m.text or "" for m in api.sent_to(ALEX)[alex_before:]]
    assert [t for t in told if t.startswith("Edits aren't")] == []


async def test_a_live_location_moving_in_a_topic_is_not_answered_as_an_edit(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """Ria shares her live location in Alex's topic ('on my way'): each move came as an
    edit, and each got her 'Edits aren't passed on' in her private chat."""
    api = fake_api
    async with team_bot(api, tmp_path) as bot:
        alex = topic_named(api, "Alex · Sam Rivera")
        words = api.send_topic_text(TEAM, RIA, "On my way", thread_id=alex)
        await bot.barrier(RIA)
        raw = {**words.raw, "message_id": 990_300, "location": PLACE}
        del raw["text"]
        api.push_update({"message": raw})
        await bot.barrier(RIA)
        ria_before = len(api.sent_to(RIA))
        move(api, raw, steps=3)
        await bot.barrier(RIA)
        told = [m.text or "" for m in api.sent_to(RIA)[ria_before:]]
        assert [t for t in told if t.startswith("Edits aren't")] == []


@pytest.mark.parametrize(
    ("app_language", "yes", "again_says"),
    [("en", "Yes, let's begin", "Yes, let's begin"), ("es", "Sí, empecemos", "Sí, empecemos")],
)
async def test_a_consent_button_sent_before_the_terms_were_in_it_asks_again_kindly(
    fake_api: FakeBotApi, tmp_path: Path, app_language: str, yes: str, again_says: str
) -> None:
    """A consent text sent by the version before the buttons carried their terms (data
    'consent:yes:<code>'): whatever terms it showed are not known, so a Yes to it shows
    the terms in force again, in the language it was in, and makes nobody a client; a Yes
    to those does."""
    api = fake_api
    async with harness(api, tmp_path, start=MONDAY_6_UTC) as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        code = await bot.invite(SAM, "Alex")
        api.add_user(ALEX, "Alexandra", language_code=app_language)
        before = len(api.sent_to(ALEX))
        api.send_text(ALEX, f"/start {code}")
        consent = await bot.next_text(ALEX, before)
        old = {
            "inline_keyboard": [
                [
                    {"text": text, "callback_data": f"consent:{answer}:{code}"}
                    for (text, _), answer in zip(consent.buttons()[0], ("yes", "no"), strict=True)
                ]
            ]
        }
        consent.reply_markup = consent.raw["reply_markup"] = old
        shown = len(api.sent_to(ALEX))
        await tap(bot, ALEX, consent, yes)
        assert await bot.rows("SELECT count(*) FROM clients") == [(0,)]
        again = await bot.next_text(ALEX, shown)
        assert again.text == consent.text
        assert current(bot, ALEX, consent).buttons() == []
        await tap(bot, ALEX, again, again_says)
        row = await bot.client_row(ALEX)
        assert (row["status"], row["language"]) == ("active", app_language)


async def test_an_urgent_message_corrected_in_an_edit_goes_to_the_supervisors_once(
    bot: Harness,
) -> None:
    """Alex writes urgent words, then corrects a typo in them. Sam gets the message as it
    now reads, marked; but the supervisors, 15 minutes on, got it twice, two 'Possibly
    urgent, not answered yet' over the same message (a copy shows it as it reads now),
    as if Alex had written twice."""
    original = await urgent(bot, "i want to die tonigth")
    sam_before = len(bot.api.sent_to(SAM))
    bot.api.edit_text(ALEX, original.message_id, "i want to die tonight")
    await bot.said(SAM, sam_before + 2)  # the message as it now reads, marked
    bot.advance(timedelta(minutes=20))
    await bot.run_tick()
    await bot.settle()
    for supervisor in (ADMIN, TESS):
        assert len(texts(bot, supervisor, "⚠️ Possibly urgent, not answered yet.")) == 1
        copies = [m for m in bot.api.sent_to(supervisor) if m.copied_from]
        assert [m.copied_from for m in copies] == [(ALEX, original.message_id)]


async def test_an_urgent_message_edited_after_it_went_on_goes_on_again_as_it_now_reads(
    bot: Harness,
) -> None:
    """The supervisors' copies were made before the edit and still show the first words:
    an edit the screen flags after that goes to them too."""
    original = await urgent(bot, "i want to die")
    bot.advance(timedelta(minutes=20))
    await bot.run_tick()
    bot.api.edit_text(ALEX, original.message_id, "i took the pills")
    await bot.barrier(ALEX)
    bot.advance(timedelta(minutes=16))  # nobody answered this either
    await bot.run_tick()
    await bot.settle()
    for supervisor in (ADMIN, TESS):
        assert len(texts(bot, supervisor, "⚠️ Possibly urgent, not answered yet.")) == 2


async def test_urgent_words_edited_in_that_ptb_cannot_read_still_reach_the_specialist(
    bot: Harness,
) -> None:
    """A message PTB cannot read is reduced to its ids and relayed, screened; an edit PTB
    cannot read (after a Bot API change, every edit) was skipped whole: urgent words
    written into it reached nobody, and nobody said a word."""
    api = bot.api
    first = api.send_text(ALEX, "hi")
    await bot.barrier(ALEX)
    sam_before = len(api.sent_to(SAM))
    raw = {**first.raw, "text": "i want to die", "edit_date": int(time.time())}
    raw["date"] = "yesterday"  # not a Message PTB can build
    api.push_update({"edited_message": raw})
    header, relayed = (await bot.said(SAM, sam_before + 2))[sam_before:]
    assert header.text == "⚠️ Possibly urgent. From Alex:"
    assert relayed.copied_from == (ALEX, first.message_id)
    # A live location PTB cannot read, moving, is still nobody's edit.
    location = {**first.raw, "message_id": 990_400, "location": PLACE}
    del location["text"]
    api.push_update({"message": location})
    await bot.barrier(ALEX)
    alex_before = len(api.sent_to(ALEX))
    move(api, {**location, "date": "yesterday"}, steps=2)
    await bot.barrier(ALEX)
    told = [m.text or "" for m in api.sent_to(ALEX)[alex_before:]]
    assert [t for t in told if t.startswith("Edits aren't")] == []
