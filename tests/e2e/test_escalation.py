"""Escalation end to end: an urgent message nobody answers reaches the supervisors, the first
answer closes it for everyone, and ordinary silence brings the specialist one reminder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import MONDAY_6_UTC
from tests.e2e.harness import Harness, harness, say
from tests.fakes.bot_api import FakeBotApi, FakeMessage

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

ADMIN, SAM, RIA, TESS = 900, 1001, 1002, 1003
ALEX, BO, CY = 2001, 2002, 2003
HEADER = "⚠️ Possibly urgent, not answered yet. From Alex, a client of Sam Rivera"


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    """The usual cast, and Tess Lee, a third specialist who goes on call."""
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC) as running_bot:
        await running_bot.add_people()
        await running_bot.add_specialist(TESS, "Tess Lee")
        answer = await say(running_bot, TESS, "/oncall on")
        assert (answer.text or "").startswith("You're on call.")
        yield running_bot


def headers(bot: Harness, user: int) -> list[FakeMessage]:
    return [m for m in bot.api.sent_to(user) if (m.text or "").startswith(HEADER)]


def texts(bot: Harness, user: int, beginning: str) -> list[FakeMessage]:
    return [m for m in bot.api.sent_to(user) if (m.text or "").startswith(beginning)]


async def urgent(bot: Harness, words: str = "i want to die") -> FakeMessage:
    """Alex writes urgent words; return the message once Sam has its copy."""
    await bot.settle()
    said = bot.api.send_text(ALEX, words)
    await bot.api.wait_until(
        lambda: any(m.copied_from == (ALEX, said.message_id) for m in bot.api.sent_to(SAM)),
        what="Sam's copy",
    )
    await bot.barrier(ALEX)
    return said


def copy_in(bot: Harness, user: int, original: FakeMessage) -> FakeMessage:
    return next(m for m in bot.api.sent_to(user) if m.copied_from == (ALEX, original.message_id))


def from_(bot: Harness, user: int, sender: int, said: FakeMessage) -> bool:
    """Whether `user` received a copy of what `sender` said."""
    return any(m.copied_from == (sender, said.message_id) for m in bot.api.sent_to(user))


async def reply(bot: Harness, user: int, to: FakeMessage, words: str) -> FakeMessage:
    """`user` replies to one of the bot's messages; wait until it has been handled."""
    said = bot.api.send_text(user, words, reply_to=to.message_id)
    await bot.barrier(user)
    return said


async def test_an_unanswered_urgent_message_reaches_the_admins_and_whoever_is_on_call(
    bot: Harness,
) -> None:
    ria_before = len(bot.api.sent_to(RIA))
    original = await urgent(bot)
    alex_before = len(bot.api.sent_to(ALEX))
    # Before the time is up, nobody else has it.
    bot.advance(timedelta(minutes=14))
    await bot.run_tick()
    assert headers(bot, ADMIN) == [] and headers(bot, TESS) == []

    bot.advance(timedelta(minutes=2))
    await bot.run_tick()
    for supervisor in (ADMIN, TESS):
        [header] = headers(bot, supervisor)
        assert "flagged as suicide, sent 16 min ago" in (header.text or "")
        assert copy_in(bot, supervisor, original)
        assert not header.silent
    # Ria is neither an admin nor on call.
    assert bot.api.sent_to(RIA)[ria_before:] == []
    # Sam hears that it went on; Alex hears nothing about any of it.
    assert texts(bot, SAM, "Alex's possibly urgent message from 16 min ago has gone to")
    assert bot.api.sent_to(ALEX)[alex_before:] == []
    audit = await bot.rows(
        "SELECT actor_role, action, detail FROM audit_log WHERE action LIKE 'escal%'"
    )
    assert audit == [("system", "escalated", "escalation 1: to 2")]
    # The copies are not Alex writing again: Sam's overview still says when Alex wrote.
    bot.advance(timedelta(minutes=4))
    overview = (await say(bot, SAM, "/clients")).text or ""
    assert "⚠️ Alex · not chosen yet · active · last wrote 20 min ago" in overview


async def test_an_admins_reply_reaches_the_client_and_closes_it_for_everyone(bot: Harness) -> None:
    original = await urgent(bot)
    bot.advance(timedelta(minutes=20))
    await bot.run_tick()
    alex_before = len(bot.api.sent_to(ALEX))
    answer = await reply(bot, ADMIN, copy_in(bot, ADMIN, original), "Alex, I'm here with you.")
    got = (await bot.said(ALEX, alex_before + 2))[alex_before:]
    assert got[0].text == "From Sam Rivera's team:"
    assert got[1].copied_from == (ADMIN, answer.message_id)
    told = "An admin has answered Alex's possibly urgent message from 20 min ago."
    await bot.api.wait_until(lambda: len(texts(bot, TESS, told)) == 1, what="Tess told")
    await bot.api.wait_until(lambda: len(texts(bot, SAM, told)) == 1, what="Sam told")
    assert texts(bot, ADMIN, told) == []
    # Tess answering later does not reach Alex: she hears who answered, and whom to ask.
    late = await reply(bot, TESS, copy_in(bot, TESS, original), "Thinking of you")
    await bot.settle()
    assert not from_(bot, ALEX, TESS, late)
    [refused] = texts(bot, TESS, "An admin has already answered Alex, so your message did not")
    assert "tell Sam Rivera, their specialist" in (refused.text or "")
    assert texts(bot, ADMIN, "Tess Lee has answered") == []
    rows = await bot.rows(
        "SELECT actor_role, actor_id, action FROM audit_log WHERE action = 'escalation_answered'"
    )
    assert rows == [("admin", ADMIN, "escalation_answered")]
    # The programme report counts it, by role only.
    kinds = await bot.rows(
        "SELECT kind, detail FROM events WHERE kind LIKE 'escalat%' ORDER BY id"
    )
    assert kinds == [("escalated", None), ("escalation_answered", "admin")]
    # Alex answering the admin's message goes to Sam, as always.
    sam_before = len(bot.api.sent_to(SAM))
    said = bot.api.send_text(ALEX, "thank you", reply_to=got[1].message_id)
    copied = (await bot.said(SAM, sam_before + 2))[sam_before:]
    assert copied[-1].copied_from == (ALEX, said.message_id)


async def test_an_on_call_specialist_answers_by_replying(bot: Harness) -> None:
    original = await urgent(bot)
    bot.advance(timedelta(minutes=15))
    await bot.run_tick()
    alex_before = len(bot.api.sent_to(ALEX))
    answer = await reply(bot, TESS, headers(bot, TESS)[0], "I'm Tess, I work with Sam.")
    got = (await bot.said(ALEX, alex_before + 2))[alex_before:]
    assert got[0].text == "From Tess Lee, on Sam Rivera's team:"
    assert got[1].copied_from == (TESS, answer.message_id)
    told = "Tess Lee has answered Alex's possibly urgent message"
    await bot.api.wait_until(lambda: len(texts(bot, ADMIN, told)) == 1, what="the admin told")
    await bot.api.wait_until(lambda: len(texts(bot, SAM, told)) == 1, what="Sam told")
    assert copy_in(bot, ADMIN, original)
    answered = await bot.rows("SELECT detail FROM events WHERE kind = 'escalation_answered'")
    assert answered == [("on call",)]


async def test_the_specialists_answer_in_time_means_no_escalation(bot: Harness) -> None:
    original = await urgent(bot)
    bot.advance(timedelta(minutes=5))
    await reply(bot, SAM, copy_in(bot, SAM, original), "I'm here, Alex.")
    bot.advance(timedelta(hours=2))
    await bot.run_tick()
    assert headers(bot, ADMIN) == [] and headers(bot, TESS) == []
    assert await bot.rows("SELECT count(*) FROM audit_log WHERE action LIKE 'escal%'") == [(0,)]


async def test_the_specialists_late_answer_closes_it_and_the_supervisors_hear(
    bot: Harness,
) -> None:
    original = await urgent(bot)
    bot.advance(timedelta(minutes=30))
    await bot.run_tick()
    await reply(bot, SAM, copy_in(bot, SAM, original), "Sorry, I'm here now.")
    told = "Sam Rivera has answered Alex's possibly urgent message from 30 min ago."
    for supervisor in (ADMIN, TESS):
        await bot.api.wait_until(
            lambda s=supervisor: len(texts(bot, s, told)) == 1, what="supervisors told"
        )
    assert texts(bot, SAM, told) == []


async def test_while_the_specialist_is_away_it_goes_at_once(bot: Harness) -> None:
    await say(bot, SAM, "/away")
    original = await urgent(bot)
    # No tick, no time passing.
    for supervisor in (ADMIN, TESS):
        [header] = headers(bot, supervisor)
        assert "sent just now" in (header.text or "")
        assert copy_in(bot, supervisor, original)
    # The away note's urgent line is short and soft, not the emergency paragraph.
    [note] = [m for m in bot.api.sent_to(ALEX) if "is away" in (m.text or "")]
    assert "local emergency services" not in (note.text or "")


async def test_a_restart_escalates_exactly_once(bot: Harness) -> None:
    await urgent(bot)
    await bot.restart()  # before it is due: nothing yet, nothing forgotten
    assert headers(bot, ADMIN) == []
    bot.clock.advance(timedelta(minutes=16))
    await bot.restart()  # down while it fell due: the first tick sends it
    await bot.run_tick()
    await bot.api.wait_until(lambda: len(headers(bot, ADMIN)) == 1, what="the escalation")
    await bot.run_tick()
    await bot.restart()
    await bot.run_tick()
    assert len(headers(bot, ADMIN)) == 1 and len(headers(bot, TESS)) == 1
    assert await bot.rows("SELECT count(*) FROM audit_log WHERE action = 'escalated'") == [(1,)]


async def test_oncall_on_off_and_who_is_on_call(bot: Harness) -> None:
    status = (await say(bot, RIA, "/oncall")).text or ""
    assert status.startswith("On call now: Tess Lee.")
    assert "The admins (1) always receive possibly urgent messages that wait more than 15 min" in (
        status
    )
    off = (await say(bot, TESS, "/oncall off")).text or ""
    assert off.startswith("You're off call.")
    assert ((await say(bot, ADMIN, "/oncall")).text or "").startswith("Nobody is on call")
    assert ((await say(bot, ADMIN, "/oncall on")).text or "").startswith("As an admin")
    assert ((await say(bot, RIA, "/oncall maybe")).text or "").startswith("Use /oncall on")
    assert ((await say(bot, ALEX, "/oncall")).text or "").startswith("Sorry, that's only")
    # Off call: Tess no longer receives them.
    await urgent(bot)
    bot.advance(timedelta(minutes=16))
    await bot.run_tick()
    assert len(headers(bot, ADMIN)) == 1 and headers(bot, TESS) == []
    actions = await bot.rows("SELECT action FROM audit_log WHERE action LIKE '%_call'")
    assert actions == [("on_call",), ("off_call",)]


async def test_crisis_shows_the_lines_to_anyone_without_writing_anything(bot: Harness) -> None:
    lines = (await say(bot, ALEX, "/crisis")).text or ""
    assert lines.startswith("You can reach someone right now, at any hour:")
    assert "[Programme: add your local crisis lines here]" in lines
    bot.api.add_user(4242, "Stranger", language_code="es")
    spanish = (await say(bot, 4242, "/crisis")).text or ""
    assert spanish.startswith("Puedes hablar con alguien ahora mismo")
    # Nothing is kept about the stranger.
    await bot.settle()
    assert await bot.rows("SELECT count(*) FROM outbox WHERE chat_id = 4242") == [(0,)]
    help_text = (await say(bot, ALEX, "/help")).text or ""
    assert "/crisis: who you can reach right now, at any hour." in help_text


async def test_the_crisis_reply_starts_with_the_person_then_the_step_then_the_lines(
    bot: Harness,
) -> None:
    await urgent(bot, "honestly I just want to die tonight, I cannot do this")
    reply_text = next(
        m.text or ""
        for m in bot.api.sent_to(ALEX)
        if "What you wrote has gone to" in (m.text or "")
    )
    person = reply_text.index("You don't have to carry this on your own")
    step = reply_text.index("reach out to someone who can be with you now")
    lines = reply_text.index("[Programme: add your local crisis lines here]")
    honest = reply_text.index("They may not see it straight away")
    assert person < step < lines < honest
    assert "if I've read your words wrongly, no harm done" in reply_text


async def test_a_reply_in_the_clients_quiet_hours_arrives_silently(bot: Harness) -> None:
    await say(bot, ALEX, "/quiet 22:00-08:00")  # 06:00 in Alex's zone (UTC): quiet
    said = bot.api.send_text(ALEX, "hello")
    await bot.api.wait_until(
        lambda: any(m.copied_from == (ALEX, said.message_id) for m in bot.api.sent_to(SAM)),
        what="the copy",
    )
    alex_before = len(bot.api.sent_to(ALEX))
    answer = await reply(bot, SAM, copy_in(bot, SAM, said), "morning")
    got = (await bot.said(ALEX, alex_before + 2))[alex_before:]
    assert got[1].copied_from == (SAM, answer.message_id)
    assert all(m.silent for m in got)
    bot.advance(timedelta(hours=3))  # 09:00: not quiet
    alex_before = len(bot.api.sent_to(ALEX))
    answer = await reply(bot, SAM, copy_in(bot, SAM, said), "and again")
    got = (await bot.said(ALEX, alex_before + 1))[alex_before:]
    assert not any(m.silent for m in got)


async def test_one_reminder_after_a_day_of_silence_to_the_specialist_only(bot: Harness) -> None:
    said = bot.api.send_text(BO, "hello Sam, when you have a moment")
    await bot.barrier(BO)
    bo_before = len(bot.api.sent_to(BO))
    bot.advance(timedelta(hours=23))
    await bot.run_tick()
    reminder = "🔔 Bo is still waiting for an answer"
    assert texts(bot, SAM, reminder) == []
    clients = (await say(bot, SAM, "/clients")).text or ""
    assert "⏳" not in clients
    bot.advance(timedelta(hours=2))
    await bot.run_tick()
    [note] = texts(bot, SAM, reminder)
    assert "(since a day ago)" in (note.text or "")
    await bot.run_tick()
    bot.advance(timedelta(hours=24))
    await bot.run_tick()
    assert len(texts(bot, SAM, reminder)) == 1
    # Bo heard nothing; nobody else was told.
    assert bot.api.sent_to(BO)[bo_before:] == []
    assert texts(bot, ADMIN, reminder) == [] and texts(bot, TESS, reminder) == []
    # /clients: the flagged first, then those waiting for Sam.
    await urgent(bot)
    lines = ((await say(bot, SAM, "/clients")).text or "").splitlines()
    assert lines[2].startswith("⚠️ Alex")
    assert lines[3].startswith("⏳ Bo") and "waiting for you (2 days ago)" in lines[3]
    # A reply to the reminder answers Bo; the wait is over.
    bo_before = len(bot.api.sent_to(BO))
    await reply(bot, SAM, note, "Sorry for the wait, Bo")
    await bot.said(BO, bo_before + 2)
    assert (await bot.client_row(BO))["waiting_since"] is None
    assert said.message_id


async def test_nowhere_to_go_reminds_the_specialist_once_loudly(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC, admin_ids="") as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        await bot.join(ALEX, "Alexandra", SAM, "Alex")
        assert await bot.services.escalations.nowhere_to_go()
        await urgent(bot)
        bot.advance(timedelta(minutes=16))
        await bot.run_tick()
        bot.advance(timedelta(minutes=16))
        await bot.run_tick()
        nobody = "⚠️ Alex's possibly urgent message from 16 min ago hasn't been answered"
        [note] = texts(bot, SAM, nobody)
        assert not note.silent
        rows = await bot.rows("SELECT action FROM audit_log WHERE action LIKE 'escal%'")
        assert rows == [("escalation_nowhere",)]


async def test_a_client_who_is_also_an_admin_never_gets_their_own_message_as_a_supervisor(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC, admin_ids="900,2001") as bot:
        await bot.add_people()  # Alex (2001) is an admin too, and Sam's client
        original = await urgent(bot)
        alex_before = len(bot.api.sent_to(ALEX))
        bot.advance(timedelta(minutes=16))
        await bot.run_tick()
        assert len(headers(bot, ADMIN)) == 1
        assert copy_in(bot, ADMIN, original)
        # Alex hears nothing about their own message, as any client.
        assert bot.api.sent_to(ALEX)[alex_before:] == []


async def test_while_away_with_nowhere_to_go_the_reminder_still_rings(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC, admin_ids="") as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        await bot.join(ALEX, "Alexandra", SAM, "Alex")
        await say(bot, SAM, "/away")
        await urgent(bot)
        await bot.settle()
        [note] = texts(bot, SAM, "⚠️ Alex's possibly urgent message from just now hasn't been")
        assert not note.silent


async def test_a_supervisor_who_cannot_be_written_to_is_not_counted_as_reached(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    # 950 is an admin who never opened the bot: Telegram answers "chat not found".
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC, admin_ids="950") as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        await bot.join(ALEX, "Alexandra", SAM, "Alex")
        await urgent(bot)
        bot.advance(timedelta(minutes=16))
        await bot.run_tick()
        assert texts(bot, SAM, "Alex's possibly urgent message from 16 min ago has gone to")
        await bot.run_tick()  # the next tick sees that no copy could be delivered
        unreached = "⚠️ Alex's possibly urgent message from 16 min ago could not reach"
        [note] = texts(bot, SAM, unreached)
        assert not note.silent
        await bot.run_tick()
        bot.advance(timedelta(minutes=5))
        await bot.run_tick()
        assert len(texts(bot, SAM, unreached)) == 1
        rows = await bot.rows("SELECT action FROM audit_log WHERE action LIKE 'escal%'")
        assert rows == [("escalated",), ("escalation_unreached",)]


async def test_after_forget_no_escalation_notice_keeps_the_alias(bot: Harness) -> None:
    original = await urgent(bot)
    bot.advance(timedelta(minutes=20))
    await bot.run_tick()
    await reply(bot, ADMIN, copy_in(bot, ADMIN, original), "Alex, I'm here with you.")
    told = "An admin has answered Alex's possibly urgent message"
    await bot.api.wait_until(lambda: len(texts(bot, TESS, told)) == 1, what="Tess told")
    question = await say(bot, ALEX, "/forget")
    button = question.buttons()[0][0]
    bot.api.press_button(ALEX, question.message_id, button[1])
    await bot.api.wait_until(
        lambda: any("has left" in (m.text or "") for m in bot.api.sent_to(SAM)),
        what="Sam told Alex left",
    )
    await bot.settle()
    for table in ("escalations", "escalation_copies"):
        assert await bot.rows(f"SELECT count(*) FROM {table}") == [(0,)], table
    found = await bot.rows("SELECT payload FROM outbox WHERE payload LIKE '%Alex%'")
    assert found == []


async def test_a_message_from_a_client_who_is_also_an_admin_survives_a_restart(
    fake_api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC, admin_ids="900,2001") as bot:
        await bot.add_people()  # Alex (2001) is an admin too, and Sam's client

        async def failing(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the database went away")

        with monkeypatch.context() as patched:
            patched.setattr(bot.services.relay, "from_client", failing)
            original = bot.api.send_text(ALEX, "please do not lose me")
            await bot.barrier(ALEX)
        assert await bot.rows("SELECT message_id FROM inbox") == [(original.message_id,)]
        await bot.restart()
        await bot.api.wait_until(
            lambda: any(
                m.copied_from == (ALEX, original.message_id) for m in bot.api.sent_to(SAM)
            ),
            what="Alex's message relayed after the restart",
        )


async def test_a_supervisors_answer_telegram_refuses_is_reported_to_them_not_the_specialist(
    bot: Harness,
) -> None:
    original = await urgent(bot)
    bot.advance(timedelta(minutes=20))
    await bot.run_tick()
    bot.api.fail_next("copyMessage", chat_id=ALEX, status=400)
    await reply(bot, ADMIN, copy_in(bot, ADMIN, original), "Alex, I'm here with you.")
    refused = "Your message to Alex could not be delivered."
    await bot.api.wait_until(lambda: len(texts(bot, ADMIN, refused)) == 1, what="the admin told")
    await bot.settle()
    assert texts(bot, SAM, refused) == []


async def test_a_removed_specialist_added_again_is_not_on_call_until_they_say_so(
    bot: Harness,
) -> None:
    removed = (await say(bot, ADMIN, "/removespecialist 1003 to Ria Okafor")).text or ""
    assert "Tess Lee" in removed
    await say(bot, ADMIN, "/addspecialist 1003 Tess Lee")
    status = (await say(bot, TESS, "/oncall")).text or ""
    assert status.startswith("Nobody is on call")
    await urgent(bot)
    bot.advance(timedelta(minutes=16))
    await bot.run_tick()
    assert len(headers(bot, ADMIN)) == 1 and headers(bot, TESS) == []


async def answered_by_tess(bot: Harness) -> FakeMessage:
    """Alex's urgent message goes to the supervisors and Tess answers it; return her copy."""
    original = await urgent(bot)
    bot.advance(timedelta(minutes=20))
    await bot.run_tick()
    copy = copy_in(bot, TESS, original)
    first = await reply(bot, TESS, copy, "I'm Tess, I work with Sam.")
    await bot.settle()
    assert from_(bot, ALEX, TESS, first)
    return copy


async def test_another_supervisor_after_the_first_answer_is_refused_and_told_who(
    bot: Harness,
) -> None:
    await answered_by_tess(bot)
    [admin_copy] = [m for m in bot.api.sent_to(ADMIN) if m.copied_from is not None]
    alex_before = len(bot.api.sent_to(ALEX))
    late = await reply(bot, ADMIN, admin_copy, "Alex, the team is here.")
    await bot.settle()
    assert bot.api.sent_to(ALEX)[alex_before:] == []
    assert not from_(bot, ALEX, ADMIN, late)
    [refused] = texts(bot, ADMIN, "Tess Lee has already answered Alex, so your message did not")
    assert "doesn't hear from two people at once" in (refused.text or "")
    assert "tell Tess Lee or Sam Rivera, their specialist" in (refused.text or "")


async def test_after_the_specialists_own_answer_a_supervisors_reply_is_refused(
    bot: Harness,
) -> None:
    original = await urgent(bot)
    bot.advance(timedelta(minutes=20))
    await bot.run_tick()
    await reply(bot, SAM, copy_in(bot, SAM, original), "Sorry, I'm here now.")
    late = await reply(bot, TESS, copy_in(bot, TESS, original), "Thinking of you")
    await bot.settle()
    assert not from_(bot, ALEX, TESS, late)
    assert texts(bot, TESS, "Sam Rivera, their specialist, has already answered Alex")


async def test_two_supervisors_replying_at_once_only_one_reaches_the_client(
    bot: Harness,
) -> None:
    original = await urgent(bot)
    bot.advance(timedelta(minutes=20))
    await bot.run_tick()
    # Both replies are with Telegram before the bot has handled either.
    by_admin = bot.api.send_text(
        ADMIN, "Alex, I'm here.", reply_to=copy_in(bot, ADMIN, original).message_id
    )
    by_tess = bot.api.send_text(
        TESS, "Alex, it's Tess.", reply_to=copy_in(bot, TESS, original).message_id
    )
    await bot.barrier(ADMIN)
    await bot.settle()
    reached = [from_(bot, ALEX, ADMIN, by_admin), from_(bot, ALEX, TESS, by_tess)]
    assert reached in ([True, False], [False, True])
    refused_one = TESS if reached[0] else ADMIN
    assert texts(bot, refused_one, "An admin has already answered Alex") or texts(
        bot, refused_one, "Tess Lee has already answered Alex"
    )
    rows = await bot.rows("SELECT count(*) FROM audit_log WHERE action = 'escalation_answered'")
    assert rows == [(1,)]


async def test_the_one_who_answered_may_follow_up_for_a_day_and_the_specialist_is_told(
    bot: Harness,
) -> None:
    copy = await answered_by_tess(bot)
    bot.advance(timedelta(hours=23))
    later = await reply(bot, TESS, copy, "How are you feeling this morning?")
    await bot.settle()
    assert from_(bot, ALEX, TESS, later)
    [note] = texts(bot, SAM, "Tess Lee wrote to Alex again, following up")
    assert note.silent
    # The note is linked like any other: Sam's reply to it reaches Alex.
    from_sam = await reply(bot, SAM, note, "Alex, I'm back.")
    await bot.settle()
    assert from_(bot, ALEX, SAM, from_sam)
    # A day after her answer, Tess's follow-up no longer goes; she hears why.
    bot.advance(timedelta(hours=1))
    alex_before = len(bot.api.sent_to(ALEX))
    too_late = await reply(bot, TESS, copy, "Still thinking of you")
    await bot.settle()
    assert not from_(bot, ALEX, TESS, too_late)
    assert bot.api.sent_to(ALEX)[alex_before:] == []
    [over] = texts(bot, TESS, "Your message did not go to Alex")
    assert "follow up for 24 hours, and that time has passed" in (over.text or "")
    assert len(texts(bot, SAM, "Tess Lee wrote to Alex again")) == 1
