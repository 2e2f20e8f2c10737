"""Hostile search, fourth round: what arrives from Telegram and who sees what."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.conftest import MONDAY_6_UTC
from tests.e2e.harness import Harness, current, harness, say, tap
from tests.e2e.test_checkins import checkins, daily_at_nine_in_berlin
from tests.e2e.test_team import (
    ALEX,
    BO,
    RIA,
    SAM,
    STAFF,
    TEAM,
    team_bot,
    team_settings,
    texts,
    topic_named,
)
from tests.fakes.bot_api import FakeBotApi, FakeMessage, JSONDict


async def test_a_yes_under_terms_without_the_team_does_not_let_the_team_read_along(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """Alex read terms that say only Sam reads their messages; the team inbox is turned on
    before they tap Yes. Their words must not reach the team's group until they have been
    told that the team reads along, and said Okay."""
    api = fake_api
    api.add_forum_group(TEAM, "Porch team", members=dict(STAFF))
    async with harness(api, tmp_path, start=MONDAY_6_UTC) as bot:
        await bot.add_specialist(SAM, "Sam Rivera")
        code = await bot.invite(SAM, "Alex")
        api.add_user(ALEX, "Alexandra")
        before = len(api.sent_to(ALEX))
        api.send_text(ALEX, f"/start {code}")
        consent = await bot.next_text(ALEX, before)
        assert "group" not in (consent.text or "")  # only Sam reads, these terms say
        bot.settings = bot.settings.model_copy(update=team_settings())
        await bot.restart()
        shown = len(api.sent_to(ALEX))
        await tap(bot, ALEX, consent, "Yes, let's begin")
        # Nobody joined on terms no longer in force: the terms in force are shown instead.
        assert await bot.rows("SELECT count(*) FROM clients") == [(0,)]
        again = await bot.next_text(ALEX, shown)
        assert "private group" in (again.text or "")
        assert current(bot, ALEX, consent).buttons() == []
        api.send_text(ALEX, "Rough week, honestly")
        await bot.barrier(ALEX)
        assert "Rough week, honestly" not in texts(api.messages(TEAM))
        # A yes to those is a yes to the team reading along.
        await tap(bot, ALEX, again, "Yes, let's begin")
        row = await bot.client_row(ALEX)
        assert (row["consent_team"], row["status"]) == (1, "active")


def edited(message: FakeMessage, text: str) -> JSONDict:
    """The edited_message update Telegram sends when its author changes a message's text."""
    raw = copy.deepcopy(message.raw)
    raw["text"] = text
    raw["edit_date"] = int(time.time())
    return {"edited_message": raw}


async def test_an_answer_edited_in_a_topic_is_said_not_to_reach_the_client(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """In their private chat a specialist is told that edits are not passed on; an answer
    corrected in the client's topic (a wrong number, a wrong day) changed nothing for the
    client, and nobody said so: the one who wrote it believed the client read the fix."""
    api = fake_api
    async with team_bot(api, tmp_path) as bot:
        alex = topic_named(api, "Alex · Sam Rivera")
        answer = api.send_topic_text(TEAM, RIA, "Call the line on 0800 111", thread_id=alex)
        note = api.send_topic_text(TEAM, RIA, "# she sounded low", thread_id=alex)
        await bot.barrier(RIA)
        assert texts(api.sent_to(ALEX))[-1] == "Call the line on 0800 111"
        alex_before, ria_before = len(api.sent_to(ALEX)), len(api.sent_to(RIA))
        api.push_update(edited(answer, "Call the line on 0800 222"))
        api.push_update(edited(note, "# she sounded low, call Monday"))  # stays in the team
        await bot.barrier(RIA)
        assert len(api.sent_to(ALEX)) == alex_before  # an edit is never passed on ...
        told = texts(api.sent_to(RIA)[ria_before:])
        # ... and whoever made it hears so, once, where the bot's answers to them go.
        assert [t for t in told if t.startswith("Edits aren't")] == [
            "Edits aren't passed on. If you'd like to change something, send a new message."
        ]


def service(answer: FakeMessage, message_id: int, **what: object) -> JSONDict:
    """A service message Telegram posts in a topic when a member acts on it (pins a
    message, closes the topic): it holds nothing anyone wrote."""
    raw = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": answer.raw["chat"],
        "from": answer.raw["from"],
        "message_thread_id": answer.raw["message_thread_id"],
        "is_topic_message": True,
        **what,
    }
    return {"message": raw}


async def test_pinning_or_closing_in_a_topic_sends_nobody_anything(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """Ria pins her answer in Alex's topic and closes it. Telegram posts a service message
    for each, from her, in the topic; the bot took them for answers: the copies failed,
    and Sam's chat showed 'Ria Okafor answered Alex:' over nothing at all."""
    api = fake_api
    async with team_bot(api, tmp_path) as bot:
        alex = topic_named(api, "Alex · Sam Rivera")
        answer = api.send_topic_text(TEAM, RIA, "Call the line on 0800 111", thread_id=alex)
        await bot.barrier(RIA)
        sam_before = len(api.sent_to(SAM))
        api.push_update(service(answer, 990_001, pinned_message=answer.raw))
        api.push_update(service(answer, 990_002, forum_topic_closed={}))
        alex_before = len(api.sent_to(ALEX))
        await bot.barrier(RIA)
        assert len(api.sent_to(ALEX)) == alex_before
        assert not [t for t in texts(api.sent_to(SAM)[sam_before:]) if "answered" in t]
        assert await bot.rows("SELECT count(*) FROM outbox WHERE status = 'dead'") == [(0,)]


async def test_a_client_who_pins_a_message_is_not_told_it_cannot_be_passed_on(
    bot: Harness,
) -> None:
    """Alex pins the bot's welcome to keep it at hand: Telegram posts a note of it in the
    chat, from Alex. That is nothing Alex wrote, yet the bot answered 'I can't pass on that
    kind of message' (and kept its ids, to relay after a crash: a copy that cannot be made,
    under a header over nothing)."""
    api = bot.api
    welcome = api.sent_to(ALEX)[0]
    alex_before, sam_before = len(api.sent_to(ALEX)), len(api.sent_to(SAM))
    api.push_update(
        {
            "message": {
                "message_id": 990_000,
                "date": int(time.time()),
                "chat": welcome.raw["chat"],
                "from": {"id": ALEX, "is_bot": False, "first_name": "Alexandra"},
                "pinned_message": welcome.raw,
            }
        }
    )
    await bot.barrier(ALEX)
    told = texts(api.sent_to(ALEX)[alex_before:])
    assert not [t for t in told if t.startswith("I can't pass on")]
    assert len(api.sent_to(SAM)) == sam_before
    # A gift, sent on purpose, is still answered as what cannot be passed on.
    sticker = {"file_id": "s", "file_unique_id": "su", "width": 512, "height": 512}
    sticker |= {"is_animated": False, "is_video": False, "type": "regular"}
    gift = {"gift": {"id": "g1", "star_count": 15, "sticker": sticker}}
    alex_before = len(api.sent_to(ALEX))
    api.push_update(
        {
            "message": {
                "message_id": 990_001,
                "date": int(time.time()),
                "chat": welcome.raw["chat"],
                "from": {"id": ALEX, "is_bot": False, "first_name": "Alexandra"},
                "gift": gift,
            }
        }
    )
    answer = await bot.next_text(ALEX, alex_before)
    assert (answer.text or "").startswith("I can't pass on that kind of message.")


async def test_urgent_words_written_into_an_edit_reach_the_specialist_marked(
    bot: Harness,
) -> None:
    """Alex writes 'hi', then edits it to say they want to die. Edits are not passed on,
    and the screen never read the new words: Sam saw 'hi', the escalation clock never
    started, and Alex was told only 'Edits aren't passed on'. Urgent words must not go
    unseen because they came as an edit: the message as it now reads goes to Sam, marked,
    and Alex gets the crisis lines."""
    api = bot.api
    first = api.send_text(ALEX, "hi")
    await bot.barrier(ALEX)
    alex_before, sam_before = len(api.sent_to(ALEX)), len(api.sent_to(SAM))
    api.edit_text(ALEX, first.message_id, "i want to die")
    await bot.barrier(ALEX)
    to_sam = api.sent_to(SAM)[sam_before:]
    assert texts(to_sam)[:2] == ["⚠️ Possibly urgent. From Alex:", "i want to die"]
    assert to_sam[1].copied_from == (ALEX, first.message_id)
    told = texts(api.sent_to(ALEX)[alex_before:])
    assert any("What you wrote has gone to Sam Rivera" in t for t in told)
    assert await bot.rows("SELECT count(*) FROM escalations") == [(1,)]
    # An ordinary edit is still only explained.
    sam_before = len(api.sent_to(SAM))
    api.edit_text(ALEX, first.message_id, "all fine now")
    await bot.barrier(ALEX)
    assert texts(api.sent_to(SAM)[sam_before:]) == []


async def test_a_reply_to_a_message_too_old_to_trace_says_it_did_not_go(bot: Harness) -> None:
    """Months on, Sam replies to Alex's old message (its routing is past retention, and
    gone). He was answered 'To answer someone, reply to their message ... Your reply then
    reaches only that person', which is what he had just done: read in a hurry, it says
    the reply went. It must say plainly that it did not, and how to reach Alex now."""
    api = bot.api
    old = api.send_text(ALEX, "old news")
    old_copy = (await bot.said(SAM, len(api.sent_to(SAM)) + 2))[-1]
    assert old_copy.copied_from == (ALEX, old.message_id)
    await bot.settle()
    bot.clock.advance(timedelta(days=181))
    await bot.services.relay.tidy(bot.services.retention)
    answer = await say(bot, SAM, "Are you still there?")  # not a reply: the usual hint
    assert (answer.text or "").startswith("To answer someone, reply to their message")
    before, sam_before = len(api.sent_to(ALEX)), len(api.sent_to(SAM))
    api.send_text(SAM, "Thinking of you", reply_to=old_copy.message_id)
    answer = await bot.next_text(SAM, sam_before)
    assert "was not passed on" in (answer.text or ""), answer.text
    assert "/to Alex" not in (answer.text or "")  # whose it was is not known any more
    assert "/to" in (answer.text or "")
    await bot.barrier(SAM)
    assert len(api.sent_to(ALEX)) == before


async def test_a_reply_to_a_client_who_blocked_the_bot_long_ago_is_said_not_to_go(
    bot: Harness,
) -> None:
    """Alex blocked the bot; Sam was told once, when it happened. Days later Sam answers
    one of Alex's messages: Telegram refuses it, and as 'told already' nobody said a
    word, so Sam believed Alex had his answer. /to already refuses this kindly; a reply
    must too."""
    api = bot.api
    api.send_text(ALEX, "one more thing")
    copy_of_it = (await bot.said(SAM, len(api.sent_to(SAM)) + 2))[-1]
    await bot.settle()
    api.block_bot(ALEX)
    await bot.barrier(BO)
    assert (await bot.client_row(ALEX))["status"] == "blocked"
    told = [m for m in api.sent_to(SAM) if "has blocked the bot" in (m.text or "")]
    bot.clock.advance(timedelta(days=3))
    before = len(api.sent_to(SAM))
    api.send_text(SAM, "Thinking of you this week", reply_to=copy_of_it.message_id)
    answer = await bot.next_text(SAM, before)
    assert answer.text == (
        "Alex has blocked the bot, so messages can't reach them. If they write again, you"
        " can answer."
    )
    await bot.barrier(BO)
    assert len([m for m in api.sent_to(SAM) if "has blocked the bot" in (m.text or "")]) == (
        len(told) + 1
    )


async def test_an_answer_in_the_topic_of_a_client_who_blocked_the_bot_is_said_not_to_go(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """As in a private chat: Ria answers in Alex's topic days after Alex blocked the bot.
    Telegram refuses the copy, the block was 'told already', and the topic showed nothing
    to say her words never reached Alex."""
    api = fake_api
    async with team_bot(api, tmp_path) as bot:
        alex = topic_named(api, "Alex · Sam Rivera")
        api.block_bot(ALEX)
        await bot.barrier(BO)
        assert (await bot.client_row(ALEX))["status"] == "blocked"
        bot.clock.advance(timedelta(days=3))
        in_topic = len(api.in_topic(TEAM, alex))
        api.send_topic_text(TEAM, RIA, "Thinking of you, Alex", thread_id=alex)
        await bot.barrier(RIA)
        assert texts(api.in_topic(TEAM, alex)[in_topic:]) == [
            "Alex has blocked the bot, so messages can't reach them. If they write again, you"
            " can answer."
        ]
        assert await bot.rows("SELECT count(*) FROM outbox WHERE status = 'dead'") == [(0,)]


async def test_urgent_words_in_a_message_ptb_cannot_read_are_still_screened(
    bot: Harness,
) -> None:
    """A message PTB cannot parse (here its date; after a Bot API change, it could be every
    message) is reduced to its ids and relayed by Telegram's copy. Its words were never
    screened, and the header did not say so: Sam got 'From Alex:' over 'i want to die', no
    escalation clock started, and Alex got no crisis lines."""
    api = bot.api
    update = api.text_update(ALEX, "i want to die")
    update["message"]["date"] = "yesterday"  # not a Message PTB can build
    sam_before, alex_before = len(api.sent_to(SAM)), len(api.sent_to(ALEX))
    api.push_update(update)
    header, relayed = (await bot.said(SAM, sam_before + 2))[sam_before:]
    assert relayed.copied_from == (ALEX, update["message"]["message_id"])
    assert header.text == "⚠️ Possibly urgent. From Alex:"
    await bot.barrier(ALEX)
    told = texts(api.sent_to(ALEX)[alex_before:])
    assert any("What you wrote has gone to Sam Rivera" in t for t in told)
    assert await bot.rows("SELECT count(*) FROM escalations") == [(1,)]


async def test_urgent_words_for_a_specialist_who_blocked_the_bot_reach_whoever_is_on_call_at_once(
    bot: Harness,
) -> None:
    """Sam has blocked the bot: what Alex writes is kept for him, and he cannot read it.
    Urgent words then went at once to the admins only (a copy they cannot answer), while
    the specialist on call got them like any unanswered message, after 15 minutes nobody
    could have answered in. As while Sam is away, they must go on at once."""
    api = bot.api
    tess = 1003
    await bot.add_specialist(tess, "Tess Lee")
    assert ((await say(bot, tess, "/oncall on")).text or "").startswith("You're on call.")
    api.block_bot(SAM)
    await bot.barrier(BO)
    said = api.send_text(ALEX, "i want to die")
    await bot.barrier(ALEX)
    await bot.run_tick()  # no time has passed
    assert any(m.copied_from == (ALEX, said.message_id) for m in api.sent_to(tess))
    # The admins get it once, as a copy they can answer (not also as one they cannot).
    assert [m.copied_from for m in api.sent_to(900) if m.copied_from] == [(ALEX, said.message_id)]
    assert texts(api.sent_to(900))[-2].startswith("⚠️ Possibly urgent, not answered yet.")


async def test_an_answer_in_a_topic_that_ptb_cannot_read_still_reaches_the_client(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """A private message PTB cannot parse is reduced to its ids and relayed; one written in
    a client's topic lost the topic on the way (its thread was not among the ids kept), so
    Ria's answer to Alex went nowhere, and nobody was told."""
    api = fake_api
    async with team_bot(api, tmp_path) as bot:
        alex = topic_named(api, "Alex · Sam Rivera")
        template = api.send_topic_text(TEAM, RIA, "first words", thread_id=alex)
        await bot.barrier(RIA)
        alex_before = len(api.sent_to(ALEX))
        raw = copy.deepcopy(template.raw)
        raw.update(message_id=template.message_id + 100, text="I'm here, Alex", date="yesterday")
        api.push_update({"message": raw})
        await bot.barrier(RIA)
        got = api.sent_to(ALEX)[alex_before:]
        assert [m.copied_from for m in got if m.copied_from] == [(TEAM, raw["message_id"])]


async def test_a_voice_note_ptb_cannot_read_still_says_it_was_not_screened(
    bot: Harness,
) -> None:
    """A voice note's header says it was not screened for urgent words; one PTB could not
    parse came under a plain 'From Alex:', as if it had been."""
    api = bot.api
    voice = api.send_media(ALEX, "voice")
    await bot.barrier(ALEX)
    raw = copy.deepcopy(voice.raw)
    raw.update(message_id=voice.message_id + 100, date="yesterday")
    sam_before = len(api.sent_to(SAM))
    api.push_update({"message": raw})
    await bot.barrier(ALEX)
    got = api.sent_to(SAM)[sam_before:]
    assert [m.copied_from for m in got if m.copied_from] == [(ALEX, raw["message_id"])]
    assert texts(got)[0] == "From Alex (voice message: not screened for urgent words):"


async def test_wanting_to_talk_to_a_specialist_who_blocked_the_bot_is_not_said_to_be_passed_on(
    bot: Harness,
) -> None:
    """Sam has blocked the bot. Alex taps 'I'd like to talk' under a check-in and reads
    'I've let Sam Rivera know you'd like to talk, and they'll write to you here': Sam had
    not been told and could not be; a message in Alex's words would have said it is kept
    for Sam, and that the team knows."""
    api = bot.api
    await daily_at_nine_in_berlin(bot, ALEX)
    api.block_bot(SAM)
    await bot.barrier(BO)
    bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    await bot.tick()
    before = len(api.sent_to(ALEX))
    await tap(bot, ALEX, checkins(bot, ALEX)[-1], "I'd like to talk")
    await bot.barrier(ALEX)
    told = " ".join(texts(api.sent_to(ALEX)[before:]))
    assert "I've let Sam Rivera know" not in told
    assert "Sam Rivera can't receive messages here right now" in told
    assert "/crisis" in told  # who can be reached now, as the usual answer says


async def test_wanting_to_talk_while_the_specialist_is_away_brings_the_away_note(
    bot: Harness,
) -> None:
    """Sam is away for two weeks. Alex taps 'I'd like to talk' and reads that Sam knows
    and will write; a message would have brought the away note (until when, and where to
    turn meanwhile). A tap is how many clients say it: it must bring the note too."""
    api = bot.api
    await daily_at_nine_in_berlin(bot, ALEX)
    assert ((await say(bot, SAM, "/away until 2026-12-14")).text or "").startswith("You're away")
    bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    await bot.tick()
    before = len(api.sent_to(ALEX))
    await tap(bot, ALEX, checkins(bot, ALEX)[-1], "I'd like to talk")
    await bot.barrier(ALEX)
    told = texts(api.sent_to(ALEX)[before:])
    assert any("Sam Rivera is away" in t for t in told), told


async def test_a_supervisors_answer_to_a_client_who_blocked_the_bot_is_said_not_to_go(
    bot: Harness,
) -> None:
    """Alex's urgent words went on to the admin; Alex then blocked the bot. The admin's
    answer was copied, refused by Telegram and dropped as 'told already' (and told to
    Sam only), while the admin believed Alex had read it."""
    api = bot.api
    said = api.send_text(ALEX, "i want to die")
    await bot.barrier(ALEX)
    bot.advance(timedelta(minutes=16))
    await bot.run_tick()
    admin_copy = next(m for m in api.sent_to(900) if m.copied_from == (ALEX, said.message_id))
    api.block_bot(ALEX)
    await bot.barrier(BO)
    before = len(api.sent_to(900))
    api.send_text(900, "We're here for you", reply_to=admin_copy.message_id)
    answer = await bot.next_text(900, before)
    assert answer.text == (
        "Alex has blocked the bot, so messages can't reach them. If they write again, you"
        " can answer."
    )
