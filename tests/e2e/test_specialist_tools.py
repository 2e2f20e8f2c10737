"""The specialist's tools, end to end: /clients, /to and /transfer, with their refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.harness import Harness, current, say, tap
from tests.fakes.bot_api import FakeMessage

SAM, RIA = 1001, 1002
ALEX, BO, CY, DEE, EVE = 2001, 2002, 2003, 2004, 2005
STRANGER = 4242
NOT_FOR_CLIENTS = "Sorry, that's only available to peer support specialists."


async def refused_to_clients_and_strangers(bot: Harness, command: str) -> None:
    """A client and a stranger try a specialist's command: a kind no, and nothing else."""
    assert (await say(bot, ALEX, command)).text == NOT_FOR_CLIENTS
    bot.api.add_user(STRANGER, "Someone")
    assert "works by invitation" in ((await say(bot, STRANGER, command)).text or "")
    await bot.barrier(SAM)


def lines_of(message: FakeMessage) -> list[str]:
    return (message.text or "").split("\n\n")[1].split("\n")


async def test_clients_puts_who_needs_attention_first(bot: Harness) -> None:
    await bot.join(DEE, "Dee", SAM, "Dee")
    bot.clock.advance(timedelta(days=15))
    await bot.join(EVE, "Eve", SAM, "Eve")
    # Bo taps "I'd like to talk" on a check-in; Alex writes words that may be urgent.
    await say(bot, BO, "/schedule daily 07:00")
    await say(bot, BO, "/timezone UTC")
    bot.clock.set(datetime(2026, 12, 15, 7, 0, 5, tzinfo=UTC))
    await bot.tick()
    checkin = bot.api.sent_to(BO)[-1]
    await tap(bot, BO, checkin, "I'd like to talk")
    bot.clock.advance(timedelta(hours=2))
    flagged = bot.api.send_text(ALEX, "i want to die")
    await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    bot.clock.advance(timedelta(hours=1))

    overview = await say(bot, SAM, "/clients")
    assert (overview.text or "").startswith("Your clients (4), those who may need you first:")
    assert lines_of(overview) == [
        "⚠️ Alex · not chosen yet · active · last wrote 1 h ago",
        "🔔 Bo · every day, at 07:00 · active · hasn't written yet · taps ◆",
        "💤 Dee · not chosen yet · active · hasn't written yet",
        "Eve · not chosen yet · active · hasn't written yet",
    ]
    assert overview.buttons() == []  # one page
    assert "Cy" not in (overview.text or "")  # Ria's client

    # Once Sam has answered Alex, Alex no longer comes first.
    copy = next(m for m in bot.api.sent_to(SAM) if m.copied_from == (ALEX, flagged.message_id))
    bot.api.send_text(SAM, "I'm here. Can we talk now?", reply_to=copy.message_id)
    await bot.said(ALEX, len(bot.api.sent_to(ALEX)) + 2)
    overview = await say(bot, SAM, "/clients")
    assert [line.split(" · ")[0] for line in lines_of(overview)] == [
        "🔔 Bo",
        "💤 Dee",
        "Alex",
        "Eve",
    ]


async def test_clients_shows_pauses_and_silences(bot: Harness) -> None:
    await say(bot, ALEX, "/schedule daily 09:00")
    await say(bot, ALEX, "/timezone UTC")
    await say(bot, ALEX, "/pause 1w")
    await bot.settle()
    bot.api.send_text(BO, "a message")
    await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    bot.clock.advance(timedelta(days=3))
    overview = await say(bot, SAM, "/clients")
    # Bo's message has waited more than a day for Sam: first, marked as waiting.
    assert lines_of(overview) == [
        "⏳ Bo · not chosen yet · active · last wrote 3 days ago · waiting for you (3 days ago)",
        "Alex · every day, at 09:00 · paused until Monday 7 December · hasn't written yet",
    ]


async def test_long_lists_come_in_pages(bot: Harness) -> None:
    names = [f"C{number:02d}" for number in range(9)]
    for offset, name in enumerate(names):
        await bot.join(3000 + offset, name, SAM, name)
    overview = await say(bot, SAM, "/clients")
    assert len(lines_of(overview)) == 10
    assert "Page 1 of 2." in (overview.text or "")
    assert [label for row in overview.buttons() for label, _ in row] == ["More ▶"]
    await tap(bot, SAM, overview, "More ▶")
    second = current(bot, SAM, overview)
    assert lines_of(second) == ["C08 · not chosen yet · active · hasn't written yet"]
    assert "Page 2 of 2." in (second.text or "")
    assert [label for row in second.buttons() for label, _ in row] == ["◀ Back"]
    await tap(bot, SAM, second, "◀ Back")
    assert current(bot, SAM, overview).text == overview.text

    # A forged page, and Sam's list pressed from anyone else's chat: a kind answer, nothing
    # changes (a button that is not on the message it comes with does nothing).
    sam_data = overview.buttons()[0][0][1]
    assert sam_data is not None
    for user, data in (
        (SAM, sam_data.rsplit(":", 1)[0] + ":7"),
        (SAM, "cl:1:x"),
        (RIA, sam_data),
        (ALEX, sam_data),
    ):
        await press_refused(bot, user, data, "This button no longer works.")

    # The page is gone by the time its button is pressed: C08 has left.
    question = await say(bot, 3008, "/forget")
    await tap(bot, 3008, question, "Erase everything")
    before = [(m.text, m.reply_markup) for m in bot.api.sent_to(SAM)]
    query = bot.api.press_button(SAM, overview.message_id, sam_data)
    await bot.api.wait_until(lambda: query in bot.api.answered_callbacks, what="answer")
    assert bot.api.answered_callbacks[query].get("text") == (
        "That page isn't there any more. /clients shows a fresh list."
    )
    await bot.settle()
    assert [(m.text, m.reply_markup) for m in bot.api.sent_to(SAM)] == before


async def press_refused(bot: Harness, user: int, data: str, answer: str) -> None:
    """The user presses data on their latest message: the answer, and nothing changes."""
    target = bot.api.sent_to(user)[-1]
    before = [(m.text, m.reply_markup) for m in bot.api.sent_to(user)]
    query = bot.api.press_button(user, target.message_id, data, force=True)
    await bot.api.wait_until(lambda: query in bot.api.answered_callbacks, what="answer")
    assert answer in str(bot.api.answered_callbacks[query].get("text")), data
    await bot.settle()
    assert [(m.text, m.reply_markup) for m in bot.api.sent_to(user)] == before


async def test_to_reaches_the_client_and_their_reply_threads_back(bot: Harness) -> None:
    alex_before = len(bot.api.sent_to(ALEX))
    command = bot.api.send_text(SAM, "/to alex See you on Thursday.\nTake care.")
    got = (await bot.said(ALEX, alex_before + 2))[alex_before:]
    assert [m.text for m in got] == [
        "From Sam Rivera, your peer support specialist:",
        "See you on Thursday.\nTake care.",
    ]
    await bot.settle()  # the words' id is noted, so Alex's reply to them threads
    sam_before = len(bot.api.sent_to(SAM))
    answer = bot.api.send_text(ALEX, "See you then", reply_to=got[1].message_id)
    back = (await bot.said(SAM, sam_before + 2))[sam_before:]
    assert back[0].text == "From Alex:"
    assert back[1].copied_from == (ALEX, answer.message_id)
    assert back[1].reply_to_message_id == command.message_id
    # Sam can answer by replying, as to any message from Alex.
    await bot.settle()
    alex_before = len(bot.api.sent_to(ALEX))
    bot.api.send_text(SAM, "Great.", reply_to=back[1].message_id)
    assert (await bot.said(ALEX, alex_before + 2))[-1].text == "Great."
    assert all("Thursday" not in (m.text or "") for m in bot.api.sent_to(BO) + bot.api.sent_to(CY))


async def test_to_refuses_kindly_and_sends_nothing(bot: Harness) -> None:
    before = {user: len(bot.api.sent_to(user)) for user in (ALEX, BO, CY)}
    await bot.expect_answers(
        SAM,
        [
            ("/to", "Write to a client like this: /to Alex See you on Thursday."),
            ("/to Alex", "What would you like to say to Alex? For example: /to Alex See you"),
            ("/to Alx are you there?", "You have no client called Alx. Did you mean Alex?"),
            ("/to Cy hello", "You have no client called Cy. /clients lists them."),
        ],
    )
    await refused_to_clients_and_strangers(bot, "/to Bo hi")
    assert len(bot.api.sent_to(BO)) == before[BO]
    assert len(bot.api.sent_to(CY)) == before[CY]
    assert len(bot.api.sent_to(ALEX)) == before[ALEX] + 1  # the refusal to Alex's own /to


async def test_aliases_match_in_any_case_in_every_script(bot: Harness) -> None:
    angel = 2099
    await bot.join(angel, "Ángel", SAM, "Ángel")
    await bot.settle()  # "Ángel has joined" is Sam's, before any answer counted below
    before = len(bot.api.sent_to(angel))
    bot.api.send_text(SAM, "/to ángel ¿Qué tal la semana?")
    got = (await bot.said(angel, before + 2))[before:]
    assert got[1].text == "¿Qué tal la semana?"
    # Another "ángel" would be the same name to Sam: refused, as "ALEX" is.
    taken = "You already have a client or an open invite called {}. Please choose another alias."
    assert (await say(bot, SAM, "/invite ángel")).text == taken.format("ángel")
    assert (await say(bot, SAM, "/invite ALEX")).text == taken.format("ALEX")
    assert await bot.rows("SELECT count(*) FROM invites") == [(0,)]


async def test_two_aliases_differing_only_in_accented_case_are_told_apart_by_spelling(
    bot: Harness,
) -> None:
    # A database from before aliases were compared in every script may hold both.
    first, second = 2099, 2098
    await bot.join(first, "Ángel", SAM, "Ángel")
    bot.api.add_user(second, "ángel")
    await bot.rows(
        "INSERT INTO clients (telegram_user_id, chat_id, alias, specialist_id, status,"
        " language, timezone, consent_version, consented_at, created_at)"
        " SELECT ?, ?, 'ángel', specialist_id, status, language, timezone, consent_version,"
        " consented_at, created_at FROM clients WHERE telegram_user_id = ?",
        second,
        second,
        first,
    )
    await bot.settle()
    for user, typed in ((second, "ángel"), (first, "Ángel")):
        before = len(bot.api.sent_to(user))
        bot.api.send_text(SAM, f"/to {typed} hola")
        assert (await bot.said(user, before + 2))[-1].text == "hola"
    await bot.barrier(SAM)
    assert [m.text for m in bot.api.sent_to(first)].count("hola") == 1
    assert [m.text for m in bot.api.sent_to(second)].count("hola") == 1


async def test_to_a_client_who_blocked_the_bot_is_refused(bot: Harness) -> None:
    bot.api.block_bot(BO)
    bot.api.send_text(SAM, "/to Bo are you there?")
    await bot.api.wait_until(
        lambda: "Bo has blocked the bot" in (bot.api.sent_to(SAM)[-1].text or ""),
        what="the blocked note",
    )
    answer = await say(bot, SAM, "/to Bo hello again")
    assert answer.text == (
        "Bo has blocked the bot, so messages can't reach them."
        " If they write again, you can answer."
    )


async def test_transfer_moves_the_client_and_old_replies_stop(bot: Harness) -> None:
    before = bot.api.send_text(ALEX, "before the move")
    old_copy = (await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2))[-1]
    assert old_copy.copied_from == (ALEX, before.message_id)
    await bot.settle()  # "I'll pass this on" may still be on its way to Alex
    alex_before, ria_before = len(bot.api.sent_to(ALEX)), len(bot.api.sent_to(RIA))
    done = await say(bot, SAM, "/transfer Alex Ria Okafor Prefers evenings.")
    assert done.text == (
        "Alex now talks with Ria Okafor, and has been told. Your replies to their earlier"
        " messages won't reach them any more."
    )
    told = (await bot.said(ALEX, alex_before + 1))[alex_before]
    # A change of person is acknowledged, the new one introduced warmly, the way on the same.
    assert told.text == (
        "A change to tell you about: from now on, Ria Okafor will read your messages and"
        " answer them, in place of Sam Rivera. A new person can take some getting used to,"
        " and that's okay. Ria Okafor is part of the same programme and will be glad to hear"
        " from you. Write here whenever you like, as before."
    )
    introduced = (await bot.said(RIA, ria_before + 1))[ria_before]
    assert introduced.text == (
        "Alex has been handed over to you by Sam Rivera. They've been told that you'll read"
        " their messages from now on.\nNote: Prefers evenings.\n"
        "Alex · not chosen yet · active · last wrote just now"
    )
    assert (await bot.client_row(ALEX))["specialist_id"] == 2

    # Sam's reply to the old copy is refused; nothing reaches Alex.
    await bot.settle()
    alex_before, sam_before = len(bot.api.sent_to(ALEX)), len(bot.api.sent_to(SAM))
    bot.api.send_text(SAM, "still there?", reply_to=old_copy.message_id)
    answer = await bot.next_text(SAM, sam_before)
    assert answer.text == (
        "That client has moved to another specialist, so your reply was not passed on to them."
    )
    await bot.barrier(SAM)
    assert len(bot.api.sent_to(ALEX)) == alex_before

    # Alex's next message goes to Ria, with a header, even as a reply to Sam's old message.
    sam_before, ria_before = len(bot.api.sent_to(SAM)), len(bot.api.sent_to(RIA))
    after = bot.api.send_text(ALEX, "after the move", reply_to=told.message_id)
    got = (await bot.said(RIA, ria_before + 2))[ria_before:]
    assert got[0].text == "From Alex:"
    assert got[1].copied_from == (ALEX, after.message_id)
    # And Ria's reply reaches Alex under her own name.
    await bot.settle()  # the copy's id is noted, so Ria's reply to it is relayed
    bot.api.send_text(RIA, "Hello Alex, I'm Ria.", reply_to=got[1].message_id)
    back = (await bot.said(ALEX, alex_before + 3))[-2:]
    assert [m.text for m in back] == [
        "From Ria Okafor, your peer support specialist:",
        "Hello Alex, I'm Ria.",
    ]
    await bot.barrier(SAM)
    assert len(bot.api.sent_to(SAM)) == sam_before + 1  # only the /help answer
    assert await bot.rows(
        "SELECT actor_role, actor_id, action, specialist_id, detail FROM audit_log"
        " WHERE action = 'transfer'"
    ) == [("specialist", SAM, "transfer", 2, "from specialist 1001")]


async def test_transfer_by_telegram_id_renames_a_clash(bot: Harness) -> None:
    await bot.join(DEE, "Dee", SAM, "Cy")  # Sam's Cy; Ria has a Cy too
    done = await say(bot, SAM, "/transfer cy 1002")
    assert (done.text or "").startswith("Cy now talks with Ria Okafor")
    await bot.settle()  # Ria's chat is not Sam's: the introduction may still be on its way
    introduced = bot.api.sent_to(RIA)[-1]
    assert (introduced.text or "").startswith("Cy (2) has been handed over to you by Sam Rivera.")
    assert (await bot.client_row(DEE))["alias"] == "Cy (2)"
    assert (await bot.client_row(CY))["alias"] == "Cy"


async def test_transfer_refusals_change_nothing(bot: Harness) -> None:
    rows = {user: await bot.client_row(user) for user in (ALEX, BO, CY)}
    await bot.expect_answers(
        SAM,
        [
            ("/transfer", "Hand a client over like this: /transfer Alex Ria Okafor"),
            ("/transfer Alex", "Hand a client over like this"),
            ("/transfer Cy Sam Rivera", "You have no client called Cy. /clients lists them."),
            ("/transfer Alx Ria Okafor", "You have no client called Alx. Did you mean Alex?"),
            (
                "/transfer Alex Nobody Here",
                "I don't know a specialist called Nobody. Specialists:",
            ),
            ("/transfer Alex Sam Rivera", "Alex already talks with Sam Rivera."),
            ("/transfer Alex 9999", "I don't know a specialist called 9999."),
        ],
    )
    await refused_to_clients_and_strangers(bot, "/transfer Bo Ria Okafor")
    assert {user: await bot.client_row(user) for user in (ALEX, BO, CY)} == rows
    assert await bot.rows("SELECT count(*) FROM audit_log WHERE action = 'transfer'") == [(0,)]
