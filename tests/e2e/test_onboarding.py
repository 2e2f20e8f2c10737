"""Invites and consent, end to end: the real bot over HTTP against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.invites import new_code
from bot.domain.models import Terms
from bot.services.onboarding import parse_terms_data
from tests.e2e.harness import Harness, current, harness, say, tap
from tests.fakes.bot_api import FakeBotApi

SAM, RIA = 1001, 1002
ALEX, BO = 2001, 2002
STRANGER = 3001
INVITATION_ONLY = "This bot works by invitation from a peer support specialist"


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(fake_api, tmp_path) as running_bot:
        await running_bot.add_specialist(SAM, "Sam Rivera")
        await running_bot.add_specialist(RIA, "Ria Okafor")
        yield running_bot


async def clients_of(bot: Harness) -> list[tuple[object, ...]]:
    return await bot.rows(
        "SELECT c.telegram_user_id, c.alias, s.telegram_user_id, c.status"
        " FROM clients c JOIN specialists s ON s.id = c.specialist_id ORDER BY c.id"
    )


async def test_specialist_start_lists_their_commands(bot: Harness) -> None:
    bot.api.send_text(SAM, "/start")
    greeting = (await bot.said(SAM, 1))[0]
    assert "Hello Sam Rivera" in (greeting.text or "")
    assert "/invite" in (greeting.text or "")


async def test_invite_consent_and_join(bot: Harness) -> None:
    code = await bot.invite(SAM, "Alex")
    bot.api.add_user(ALEX, "Alexandra")
    bot.api.send_text(ALEX, f"/start {code}")
    consent = (await bot.said(ALEX, 1))[0]
    text = consent.text or ""
    assert "Sam Rivera" in text
    assert "not watched around the clock" in text
    assert "/pause" in text and "/stop" in text and "/forget" in text
    assert [label for label, _ in consent.buttons()[0]] == ["Yes, let's begin", "Not now"]

    bot.api.press_button(ALEX, consent.message_id, consent.buttons()[0][0][1])
    welcome = await bot.next_text(ALEX, 1)
    assert "connected with Sam Rivera" in (welcome.text or "")
    joined = await bot.api.wait_for_messages(SAM, 2)
    assert joined[-1].text == "Alex has joined."
    await bot.settle()
    assert bot.api.sent_to(ALEX)[0].buttons() == []  # the consent buttons are gone
    assert await clients_of(bot) == [(ALEX, "Alex", SAM, "active")]
    assert await bot.rows("SELECT count(*) FROM invites") == [(0,)]  # used up: gone
    assert bot.api.sent_to(RIA) == []


async def test_not_now_keeps_nothing_and_the_link_still_works(bot: Harness) -> None:
    code = await bot.invite(SAM, "Alex")
    bot.api.add_user(ALEX, "Alex")
    bot.api.send_text(ALEX, f"/start {code}")
    consent = (await bot.said(ALEX, 1))[0]
    bot.api.press_button(ALEX, consent.message_id, consent.buttons()[0][1][1])
    declined = await bot.next_text(ALEX, 1)
    assert "Nothing has been saved" in (declined.text or "")
    await bot.settle()
    assert await clients_of(bot) == []
    assert await bot.rows("SELECT count(*) FROM outbox WHERE chat_id = ?", ALEX) == [(0,)]
    assert await bot.rows("SELECT used_at FROM invites") == [(None,)]

    bot.api.send_text(ALEX, f"/start {code}")
    again = await bot.next_text(ALEX, 2)
    bot.api.press_button(ALEX, again.message_id, again.buttons()[0][0][1])
    await bot.next_text(ALEX, 3)
    assert await clients_of(bot) == [(ALEX, "Alex", SAM, "active")]


async def test_used_expired_and_unknown_codes_get_one_kind_sentence(bot: Harness) -> None:
    await bot.join(ALEX, "Alex", SAM, "Alex")
    assert await bot.rows("SELECT count(*) FROM invites") == [(0,)]  # Alex's, used up
    # Someone else opening a fresh code after it expired, a used one, and nonsense.
    expired = await bot.invite(SAM, "Bo")
    bot.clock.advance(timedelta(days=7, minutes=1))
    bot.api.add_user(BO, "Bo")
    bot.api.add_user(STRANGER, "Who")
    bot.api.send_text(BO, f"/start {expired}")
    bot.api.send_text(STRANGER, f"/start {new_code()}")
    bot.api.send_text(STRANGER, "/start not-a-code")
    bot.api.send_text(STRANGER, "hello?")
    for chat, count in ((BO, 1), (STRANGER, 3)):
        answers = await bot.said(chat, count)
        assert all(INVITATION_ONLY in (m.text or "") for m in answers)
    await bot.settle()
    assert await clients_of(bot) == [(ALEX, "Alex", SAM, "active")]
    # Nothing about a stranger is kept, not even the reply we sent them.
    assert await bot.rows("SELECT count(*) FROM outbox WHERE chat_id IN (?, ?)", BO, STRANGER) == [
        (0,)
    ]


async def test_a_used_link_cannot_be_used_by_a_second_person(bot: Harness) -> None:
    code = await bot.invite(SAM, "Alex")
    bot.api.add_user(ALEX, "Alex")
    bot.api.add_user(STRANGER, "Eve")
    bot.api.send_text(ALEX, f"/start {code}")
    bot.api.send_text(STRANGER, f"/start {code}")
    alex_consent = (await bot.said(ALEX, 1))[0]
    eve_consent = (await bot.said(STRANGER, 1))[0]
    bot.api.press_button(ALEX, alex_consent.message_id, alex_consent.buttons()[0][0][1])
    await bot.next_text(ALEX, 1)
    bot.api.press_button(STRANGER, eve_consent.message_id, eve_consent.buttons()[0][0][1])
    refused = await bot.next_text(STRANGER, 1)
    assert "no longer works" in (refused.text or "")
    await bot.settle()
    assert await clients_of(bot) == [(ALEX, "Alex", SAM, "active")]


async def test_forged_buttons_change_nothing(bot: Harness) -> None:
    bot.api.add_user(STRANGER, "Eve")
    bot.api.send_text(STRANGER, "hi")
    first = (await bot.said(STRANGER, 1))[0]
    forged = [f"consent:yes:{new_code()}", "consent:yes:x", "consent:maybe:abc", "admin:drop", ""]
    ids = [bot.api.press_button(STRANGER, first.message_id, d, force=True) for d in forged]
    await bot.api.wait_until(
        lambda: all(i in bot.api.answered_callbacks for i in ids), what="callbacks answered"
    )
    await bot.settle()
    assert await clients_of(bot) == []
    assert await bot.rows("SELECT count(*) FROM invites") == [(0,)]


async def test_invite_refusals(bot: Harness) -> None:
    await bot.join(ALEX, "Alex", SAM, "Alex")
    bot.api.add_user(STRANGER, "Eve")
    bot.api.send_text(SAM, "/invite")
    bot.api.send_text(SAM, "/invite alex")
    bot.api.send_text(SAM, "/invite Ev\u202eil")
    bot.api.send_text(SAM, "/invite " + "x" * 40)
    bot.api.send_text(ALEX, "/invite Friend")
    bot.api.send_text(STRANGER, "/invite Friend")
    before = 2  # the first invite link and "Alex has joined."
    answers = [m.text or "" for m in (await bot.said(SAM, before + 4))[before:]]
    assert "For example: /invite Alex" in answers[0]
    assert "already have a client or an open invite called alex" in answers[1]
    assert "characters I can't use" in answers[2]
    assert "32 characters" in answers[3]
    alex_answer = await bot.next_text(ALEX, 3)  # after consent, welcome, rhythm question
    assert "only available to peer support specialists" in (alex_answer.text or "")
    assert INVITATION_ONLY in ((await bot.said(STRANGER, 1))[0].text or "")
    await bot.settle()
    assert await bot.rows("SELECT count(*) FROM invites") == [(0,)]  # none made; Alex's used


async def test_specialists_and_clients_cannot_take_another_invite(bot: Harness) -> None:
    await bot.join(ALEX, "Alex", SAM, "Alex")
    code = await bot.invite(RIA, "Alex again")
    bot.api.send_text(ALEX, f"/start {code}")
    bot.api.send_text(SAM, f"/start {code}")
    already = await bot.next_text(ALEX, 3)
    assert "already in touch with Sam Rivera" in (already.text or "")
    refused = await bot.next_text(SAM, 2)
    assert "registered as a specialist" in (refused.text or "")
    await bot.settle()
    assert await clients_of(bot) == [(ALEX, "Alex", SAM, "active")]
    assert await bot.rows("SELECT used_at FROM invites WHERE alias = 'Alex again'") == [(None,)]


async def test_changed_terms_are_shown_once_and_accepted_with_a_tap(bot: Harness) -> None:
    await bot.join(ALEX, "Alexandra", SAM, "Alex")
    await bot.join(BO, "Bo", SAM, "Bo")
    # Alex consented under earlier terms (version 1); Bo under the current ones.
    await bot.rows(
        "UPDATE clients SET consent_version = 1, terms_shown_version = 1"
        " WHERE telegram_user_id = ?",
        ALEX,
    )
    joined_at = (await bot.client_row(ALEX))["consented_at"]
    bot.clock.advance(timedelta(days=3))
    to_sam, to_alex = len(bot.api.sent_to(SAM)), len(bot.api.sent_to(ALEX))

    bot.api.send_text(ALEX, "hello again")
    note = await bot.next_text(ALEX, to_alex)
    text = note.text or ""
    # What changed, in a line or two; /privacy for the rest; an Okay to tap.
    assert text.startswith("A short note before anything else: something about how")
    assert "a supervisor on the team may see it too" in text
    assert "/privacy has the details" in text
    assert "Your messages reach Sam Rivera as always." in text
    assert len(text) <= 400
    assert [label for row in note.buttons() for label, _ in row] == ["Okay"]
    await bot.said(SAM, to_sam + 1)  # the message itself is relayed all the same
    await bot.settle()

    # Shown is not accepted: nothing changes until Alex taps Okay.
    row = await bot.client_row(ALEX)
    assert (row["consent_version"], row["terms_shown_version"]) == (1, 2)
    assert row["consented_at"] == joined_at
    shown = await bot.rows("SELECT action, detail FROM audit_log WHERE client_id = ?", row["id"])
    assert ("terms_shown", "consent version 2") in shown
    assert ("terms_accepted", "consent version 2") not in shown
    # Shown once: neither Alex's next message nor Bo's brings it again.
    for user, words in ((ALEX, "and once more"), (BO, "hi")):
        bot.api.send_text(user, words)
    await bot.barrier(ALEX)
    await bot.barrier(BO)
    notes = [
        m
        for user in (ALEX, BO)
        for m in bot.api.sent_to(user)
        if "something about how Porchlight works" in (m.text or "")
    ]
    assert notes == [note]

    # /privacy has the details, and the Okay again while it is not tapped.
    privacy = await say(bot, ALEX, "/privacy")
    assert "and a supervisor on the team, if a message sounds like" in (privacy.text or "")
    assert [label for row in privacy.buttons() for label, _ in row] == ["Okay"]
    assert (await say(bot, BO, "/privacy")).buttons() == []

    before = len(bot.api.sent_to(ALEX))
    await tap(bot, ALEX, privacy, "Okay")
    thanks = (await bot.said(ALEX, before + 1))[-1]
    assert thanks.text == "Thank you. If you ever want to read it again, /privacy has it."
    assert current(bot, ALEX, privacy).buttons() == []
    assert (await say(bot, ALEX, "/privacy")).buttons() == []
    row = await bot.client_row(ALEX)
    assert row["consent_version"] == 2
    assert row["consented_at"] == bot.clock.now().isoformat(timespec="microseconds")
    accepted = await bot.rows(
        "SELECT action, detail FROM audit_log WHERE client_id = ?", row["id"]
    )
    assert ("terms_accepted", "consent version 2") in accepted


async def test_an_okay_for_terms_not_in_force_changes_nothing(bot: Harness) -> None:
    await bot.join(ALEX, "Alexandra", SAM, "Alex")
    await bot.rows("UPDATE clients SET consent_version = 1 WHERE telegram_user_id = ?", ALEX)
    person = await bot.services.people.identify(ALEX)
    assert person.client is not None and person.their_specialist is not None
    assert not person.client.has_accepted(Terms(2)) and person.client.has_accepted(Terms(1))
    message = bot.api.sent_to(ALEX)[-1]
    for version in (Terms(1), Terms(3), Terms(2, team=True)):
        assert not await bot.services.onboarding.accept_terms(
            person.client, person.their_specialist, version, message.message_id
        )
    assert (parse_terms_data("terms:ok:2"), parse_terms_data("terms:ok:x")) == (Terms(2), None)
    await bot.settle()
    assert (await bot.client_row(ALEX))["consent_version"] == 1
    assert bot.api.sent_to(ALEX)[-1] == message
