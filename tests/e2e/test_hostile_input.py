"""Hostile and odd input: each gets a clear answer, leaves the data as it was, and no
handler fails.

Forged and replayed button presses, invite codes used twice or too late, names with
quotes, SQL, right-to-left and invisible characters, messages at Telegram's length
limits, commands with missing or extra arguments, groups and channels, edits, and kinds
of message that cannot be relayed. One bot serves the whole module (see cells.py); the
tests that move its clock come last.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from fnmatch import fnmatch

import pytest
import pytest_asyncio

from bot.domain.invites import new_code
from tests.e2e.cells import (
    Bot,
    Edit,
    Media,
    Press,
    Seen,
    assert_answered,
    assert_refused,
    barrier,
    button_gone,
    cell,
    latest,
    module_bot,
    says,
)
from tests.e2e.harness import LINK_RE, say, tap
from tests.fakes.bot_api import CAPTION_LIMIT, TEXT_LIMIT, FakeMessage

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADMIN, SAM, RIA, ALEX, BO, CY, STRANGER = 900, 1001, 1002, 2001, 2002, 2003, 4242
GROUP, CHANNEL = -100200300, -1001002003004
NEW_PEOPLE = itertools.count(3100)
BUTTON_GONE = button_gone(ALEX)
INVITATION_ONLY = "Hello, and thank you for writing. This bot works by invitation from a"
SQL = "Robert'); DROP TABLE clients;--"
# Right-to-left letters, emoji (one with a zero-width joiner), a zero-width space, an
# override that reverses the rest of its line, quotes and SQL: words a person may send.
ODD_TEXTS = (
    "שלום, מה שלומך? مرحبا",
    "🌻 feeling 👨‍👩‍👧 better today",
    "zero\u200bwidth\u200cjoiners\u200d here",
    "\u202eright-to-left override",
    f"\"{SQL}\" and 'quotes' and \\backslashes\\",
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bot]:
    async with module_bot(tmp_path_factory.mktemp("hostile"), strangers=[STRANGER]) as running:
        yield running


@pytest.fixture(autouse=True)
def no_troubles(bot: Bot) -> object:
    """No handler fails and nothing the bot sends is refused, in any test here."""
    bot.troubles.take()
    yield
    assert bot.troubles.take() == []


async def answered(bot: Bot, user: int, text: str, beginning: str) -> Seen:
    """The user sends text: the answer begins so, and nothing stored or anyone else's changes."""
    seen = await cell(bot, user, text)
    assert_answered(seen, beginning)
    return seen


# ------------------------------------------------------------------ buttons


FORGED = (
    "",
    "x",
    "ci:",
    "ci:abc:ok",
    "ci:99999999999999999999999999:talk",
    "ci:1764489600:talk",
    "cl:1:0",
    "cl:2:0",
    f"consent:yes:{new_code()}",
    "f:yes",
    "x:yes",
    "p:open",
    "z:Europe/Berlin",
    "q:0000-0000",
    "r:h:daily:0:2599",
    "s:tz",
    SQL,
    "\u202e🌻\u200b",
    "A" * 4096,
)


@pytest.mark.parametrize("data", FORGED, ids=range(len(FORGED)))
async def test_forged_presses_change_nothing(bot: Bot, data: str) -> None:
    # On a plain message of every kind of person, and on a question that has other buttons.
    menu = await says(bot, BO, "/settings")
    targets = [(user, latest(bot, user)) for user in bot.people]
    if data not in [d for row in menu.buttons() for _, d in row]:
        targets.append((BO, menu.message_id))
    for user, message in targets:
        seen = await cell(bot, user, Press(data, message))
        assert_refused(seen, button_gone(user))


async def test_another_clients_checkin_pressed_from_ones_own(bot: Bot) -> None:
    # Bo presses Alex's check-in button data on his own check-in, with a slot of its own.
    await says(bot, SAM, "/checkin Alex")
    bot.harness.advance(timedelta(minutes=1))
    await says(bot, SAM, "/checkin Bo")
    alex_data = next(d for d in buttons_of(bot, ALEX) if d.endswith(":talk"))
    bo_checkin = bot.harness.api.sent_to(BO)[-1]
    assert alex_data not in [d for row in bo_checkin.buttons() for _, d in row]
    seen = await cell(bot, BO, Press(alex_data, bo_checkin.message_id))
    assert_refused(seen, BUTTON_GONE)


def buttons_of(bot: Bot, user: int) -> list[str]:
    """The data of every button on the user's latest message that has any."""
    message = next(m for m in reversed(bot.harness.api.sent_to(user)) if m.buttons())
    return [data for row in message.buttons() for _, data in row if data]


async def a_checkin(bot: Bot) -> FakeMessage:
    """A check-in to Alex that Sam asks for (a minute on, so it is a new one)."""
    bot.harness.advance(timedelta(minutes=1))
    await says(bot, SAM, "/checkin Alex")
    return bot.harness.api.sent_to(ALEX)[-1]


# The button, what readies it (a check-in, or Alex's command), and what Sam hears.
TWICE = {
    "ci:*:ok": (None, ["Alex: doing okay"]),
    "ci:*:talk": (None, ["🔔 Alex would like to talk"]),
    "p:1w": ("/pause", ["Alex paused check-ins until Monday 7 December."]),
    "p:open": ("/pause", ["Alex paused check-ins until they say."]),
    "x:yes": ("/stop", ["Alex stopped scheduled check-ins. They can still write to you here."]),
    "x:no": ("/stop", []),
    "f:no": ("/forget", []),
    "s:rhythm": ("/settings", []),
    "z:UTC": ("/timezone", []),
}


@pytest.mark.parametrize("pattern", TWICE)
async def test_a_button_pressed_twice_counts_once(bot: Bot, pattern: str) -> None:
    command, heard = TWICE[pattern]
    message = await (says(bot, ALEX, command) if command else a_checkin(bot))
    data = next(d for row in message.buttons() for _, d in row if fnmatch(d or "", pattern))
    seen = await cell(bot, ALEX, Press(data, message.message_id, times=2))
    assert len(seen.heard(SAM)) == len(heard)
    assert all(said.startswith(words) for said, words in zip(seen.heard(SAM), heard, strict=True))
    await says(bot, ALEX, "/resume")  # back to check-ins for the next row


async def test_a_button_of_someone_who_erased_everything(bot: Bot) -> None:
    checkin = await a_checkin(bot)
    data = next(d for row in checkin.buttons() for _, d in row if d and d.endswith(":ok"))
    await tap(bot.harness, ALEX, await says(bot, ALEX, "/forget"), "Erase everything")
    await barrier(bot.harness)
    # The old check-in still shows its buttons; Alex is nobody to the bot now.
    seen = await cell(bot, ALEX, Press(data, checkin.message_id))
    assert_refused(seen, button_gone(3201))  # as anyone without an invite: ask for a new one
    assert await bot.harness.rows("SELECT count(*) FROM outbox WHERE chat_id = ?", ALEX) == [(0,)]
    await bot.harness.join(ALEX, "Alexandra", SAM, "Alex")
    await barrier(bot.harness, ALEX)


# ------------------------------------------------------------------ invites


async def test_an_invite_works_once(bot: Bot) -> None:
    code = await bot.harness.invite(SAM, "Once")
    bot.harness.api.add_user(3002, "Second")
    consent = await say(bot.harness, 3002, f"/start {code}")
    consent_data = consent.buttons()[0][0][1]
    assert consent_data is not None
    await tap(bot.harness, 3002, consent, "Yes, let's begin")
    await barrier(bot.harness, 3002)
    # The same link again: from someone else, and from the one who used it.
    bot.harness.api.add_user(3003, "Third")
    for user, beginning in (
        (3003, INVITATION_ONLY),
        (3002, "You're already in touch with Sam Rivera."),
    ):
        seen = await answered(bot, user, f"/start {code}", beginning)
        assert seen.new[0].buttons() == []
    # Its consent button, pressed by someone who never had it: nothing.
    seen = await cell(bot, 3003, Press(consent_data, latest(bot, 3003)))
    assert_refused(seen, button_gone(3003))


GARBAGE_STARTS = (
    "/start garbage",
    f"/start {new_code()}",
    "/start ../../etc/passwd",
    f"/start {SQL}",
    "/start \u202e🌻",
    f"/start {'A' * 500}",
    f"/start {new_code()} {new_code()}",
)


@pytest.mark.parametrize("command", GARBAGE_STARTS, ids=range(len(GARBAGE_STARTS)))
async def test_start_with_garbage(bot: Bot, command: str) -> None:
    await answered(bot, STRANGER, command, INVITATION_ONLY)
    await answered(bot, ALEX, command, "You're already in touch with Sam Rivera.")
    await answered(bot, SAM, command, "This link is for a client.")


# ------------------------------------------------------------------ names and words


@pytest.mark.parametrize(
    "alias",
    [SQL, 'O\'Brien "Bo"', "🌻 Sunny", "דנה", "Мария-Луиза", "<b>Bold</b> & co"],
    ids=["sql", "quotes", "emoji", "hebrew", "cyrillic", "markup"],
)
async def test_odd_aliases_work_everywhere(bot: Bot, alias: str) -> None:
    client = next(NEW_PEOPLE)
    await bot.harness.join(client, "Someone", SAM, alias)
    await barrier(bot.harness, client)
    sam_before = len(bot.harness.api.sent_to(SAM))
    said = bot.harness.api.send_text(client, "hello")
    got = (await bot.harness.said(SAM, sam_before + 2))[sam_before:]
    assert [m.text for m in got] == [f"From {alias}:", "hello"]
    assert got[1].copied_from == (client, said.message_id)
    seen = await cell(bot, SAM, f"/to {alias} Hi there")  # Sam hears nothing back
    assert seen.new == [] and bot.harness.api.sent_to(client)[-1].text == "Hi there"
    answer = await says(bot, SAM, "/clients")
    assert alias in (answer.text or "")
    assert (alias,) in await bot.harness.rows("SELECT alias FROM clients")


@pytest.mark.parametrize(
    ("alias", "answer"),
    [
        ("Al\u202eex", "That alias has characters I can't use."),
        ("Al\u200bex", "That alias has characters I can't use."),
        ("Al\u0000ex", "That alias has characters I can't use."),
        ("A" * 33, "That alias is a bit long."),
        ("/start", "That alias has characters I can't use."),
    ],
    ids=["override", "zero-width", "nul", "long", "command"],
)
async def test_aliases_that_could_mislead_are_refused(bot: Bot, alias: str, answer: str) -> None:
    await answered(bot, SAM, f"/invite {alias}", answer)


@pytest.mark.parametrize(
    "name",
    ["Sam\u202eRivera", "Sam\u200bRivera", "Sam\u0007Rivera"],
    ids=["override", "zero-width", "bell"],
)
async def test_display_names_that_could_mislead_are_refused(bot: Bot, name: str) -> None:
    await answered(
        bot,
        ADMIN,
        f"/addspecialist 1007 {name}",
        "Could not add the specialist: the display name has characters that can't be used.",
    )


async def relayed_intact(bot: Bot, sender: int, receiver: int, sent: FakeMessage) -> None:
    await barrier(bot.harness)
    copy = next(
        m for m in bot.harness.api.sent_to(receiver) if m.copied_from == (sender, sent.message_id)
    )
    assert (copy.text, copy.caption, copy.kind) == (sent.text, sent.caption, sent.kind)


LONGEST = ("Ä" * (TEXT_LIMIT - 16)) + " is what I mean."


@pytest.mark.parametrize("text", [*ODD_TEXTS, LONGEST], ids=range(len(ODD_TEXTS) + 1))
async def test_odd_words_travel_intact_both_ways(bot: Bot, text: str) -> None:
    sent = bot.harness.api.send_text(ALEX, text)
    await relayed_intact(bot, ALEX, SAM, sent)
    copy = bot.harness.api.sent_to(SAM)[-1]
    answer = bot.harness.api.send_text(SAM, text, reply_to=copy.message_id)
    await relayed_intact(bot, SAM, ALEX, answer)


async def test_a_caption_at_its_limit_travels_intact(bot: Bot) -> None:
    caption = ("ü" * (CAPTION_LIMIT - 1)) + "."
    sent = bot.harness.api.send_media(ALEX, "photo", caption=caption)
    await relayed_intact(bot, ALEX, SAM, sent)


async def test_the_longest_to_is_sent_whole(bot: Bot) -> None:
    words = "é" * (TEXT_LIMIT - len("/to Alex "))
    seen = await cell(bot, SAM, f"/to Alex {words}")
    assert seen.heard(ALEX)[-1] == words


# ------------------------------------------------------------------ commands and arguments

HUGE = "9" * 30
# Missing, wrong or too many arguments: the command's usage line, with an example.
USAGE = {
    "Please add an alias": (SAM, ["/invite"]),
    "Which client? For example: /checkin Alex": (SAM, ["/checkin"]),
    "Write to a client like this": (SAM, ["/to"]),
    "Please give a time like /digest 18:00": (
        SAM,
        ["/digest", "/digest 25:00", "/digest 18:00 and 19:00"],
    ),
    "I didn't catch the date.": (SAM, ["/away until", "/away until never"]),
    "Hand a client over like this": (SAM, ["/transfer", "/transfer Alex"]),
    "Add a specialist like this": (
        ADMIN,
        [
            "/addspecialist",
            "/addspecialist 1009",
            "/addspecialist abc Lee",
            "/addspecialist -5 Lee",
            f"/addspecialist {HUGE} Lee",
            "/addspecialist ² Lee",
        ],
    ),
    "Remove a specialist like this": (
        ADMIN,
        [
            "/removespecialist",
            f"/removespecialist {HUGE} to Ria Okafor",
            "/removespecialist ٣ to Ria Okafor",
            "/removespecialist 1001 to Ria Okafor and more",
            "/removespecialist 1001 Ria",
        ],
    ),
    "Please give how many entries you'd like": (
        ADMIN,
        ["/audit many", f"/audit {HUGE}", "/audit -1", "/audit ²"],
    ),
    "I didn't catch that. Send /schedule on its own": (
        ALEX,
        [
            "/schedule sometimes",
            "/schedule daily 25:00",
            "/schedule daily 09:30 and weekly",
            f"/schedule {SQL}",
        ],
    ),
    "I don't know that time zone.": (
        ALEX,
        [
            "/timezone Mars/Olympus",
            "/timezone Europe/Berlin and Paris",
            "/timezone UTC+99",
            "/timezone \u202eUTC",
        ],
    ),
    "I didn't catch that. Send /quiet on its own": (
        ALEX,
        ["/quiet always", "/quiet 22:00-08:00 weekends"],
    ),
    "I didn't catch how long. Send /pause on its own": (
        ALEX,
        ["/pause forever", f"/pause {HUGE}d", "/pause 0d"],
    ),
}
NO_CLIENT = "You have no client called"
NO_SPECIALIST = "I don't know a specialist called Nobody."
ARGUMENTS = [
    *((user, command, usage) for usage, (user, commands) in USAGE.items() for command in commands),
    # Someone who is not there, or not theirs.
    (SAM, "/to Alex", "What would you like to say to Alex?"),
    (SAM, "/checkin Alex please now", f"{NO_CLIENT} Alex please now."),
    (SAM, "/checkin Cy", f"{NO_CLIENT} Cy."),
    (SAM, "/to Nobody hello", f"{NO_CLIENT} Nobody."),
    (SAM, "/to Cy hello", f"{NO_CLIENT} Cy."),
    (SAM, "/transfer Alex Nobody", NO_SPECIALIST),
    (SAM, "/transfer Alex Sam Rivera", "Alex already talks with Sam Rivera."),
    (SAM, "/invite Bo", "You already have a client or an open invite called Bo."),
    (ADMIN, "/transfer", "Hand a client over like this"),
    (ADMIN, "/transfer Alex Nobody", NO_SPECIALIST),
    (ADMIN, "/transfer Nobody Ria Okafor", f"{NO_CLIENT} Nobody."),
    (ADMIN, f"/transfer Alex@{HUGE} Ria Okafor", f"{NO_CLIENT} Alex@"),
    (ADMIN, "/transfer Alex@² Ria Okafor", f"{NO_CLIENT} Alex@"),
    (ADMIN, "/removespecialist 1001 to", "Sam Rivera still has clients."),
    # Dates, notes and names out of bounds.
    (SAM, "/away until 2020-01-01", "That date has already passed."),
    (SAM, f"/away until 9999-12-31 {SQL}", "That's more than a year ahead."),
    (SAM, f"/away {'x' * 301}", "That note is a bit long."),
    (ADMIN, "/addspecialist 2001 Alex", "Could not add the specialist: that Telegram account"),
    (ADMIN, f"/addspecialist 1009 {'L' * 65}", "Could not add the specialist: the display name"),
    # Arguments a command does not take: it does what it does.
    (ALEX, "/settings please", "Your check-ins:"),
    (ALEX, "/privacy now", "What Porchlight keeps about you"),
    (ALEX, "/resume please", "Check-ins are already on."),
    (ALEX, "/stop it all", "Stop scheduled check-ins?"),
    (ALEX, "/forget me", "Erase everything about you?"),
    (ALEX, "/help me", "Write here whenever you like"),
    (SAM, "/back soon", "You weren't away."),
    (SAM, "/clients all", "Your clients ("),
    (ADMIN, "/specialists all", "Specialists:"),
]


@pytest.mark.parametrize(("user", "command", "beginning"), ARGUMENTS, ids=range(len(ARGUMENTS)))
async def test_missing_wrong_and_extra_arguments(
    bot: Bot, user: int, command: str, beginning: str
) -> None:
    seen = await cell(bot, user, command)
    assert seen.answer.startswith(beginning), seen.answer
    assert seen.others_touched() == []
    # Reading the specialists' list is an admin action, and is logged; nothing else is.
    assert seen.stored_changes() == (["audit_log"] if command.startswith("/specialists") else [])


# ------------------------------------------------------------------ groups, channels, edits


async def test_a_group_hears_nothing_and_is_left(bot: Bot) -> None:
    api = bot.harness.api
    for user, text in ((SAM, "/start"), (ALEX, "/help"), (STRANGER, "hello"), (ADMIN, "/audit")):
        api.send_group_text(GROUP, user, text)
    await barrier(bot.harness)
    before = await bot.harness.rows("SELECT count(*) FROM outbox")
    api.add_bot_to_group(GROUP, SAM)
    await api.wait_until(lambda: GROUP in api.left_chats, what="the bot to leave")
    await barrier(bot.harness)
    assert api.sent_to(GROUP) == []
    assert await bot.harness.rows("SELECT count(*) FROM outbox") == before
    assert await bot.harness.rows("SELECT count(*) FROM inbox") == [(0,)]


async def test_a_channel_post_is_ignored(bot: Bot) -> None:
    before = await bot.harness.rows("SELECT count(*) FROM outbox")
    bot.harness.api.post_to_channel(CHANNEL, "/start hello")
    await barrier(bot.harness)
    assert bot.harness.api.sent_to(CHANNEL) == []
    assert await bot.harness.rows("SELECT count(*) FROM outbox") == before


@pytest.mark.parametrize(
    ("user", "answer"),
    [
        (ALEX, "Edits aren't passed on to Sam Rivera."),
        (SAM, "Edits aren't passed on."),
        (ADMIN, None),
        (STRANGER, None),
    ],
    ids=["client", "specialist", "admin", "stranger"],
)
async def test_an_edit_is_explained(bot: Bot, user: int, answer: str | None) -> None:
    written = bot.harness.api.send_text(user, "first words")
    await barrier(bot.harness)
    seen = await cell(bot, user, Edit(written.message_id, "second words"))
    if answer is None:
        assert seen.new == []
    assert_answered(seen, answer or "")


@pytest.mark.parametrize("kind", ["poll", "dice", "game"])
@pytest.mark.parametrize(
    ("user", "answer"),
    [
        (ALEX, "I can't pass on that kind of message."),
        (SAM, "I can't pass on that kind of message."),
        (ADMIN, "Hello. You're an admin of this Porchlight."),
        (STRANGER, INVITATION_ONLY),
    ],
    ids=["client", "specialist", "admin", "stranger"],
)
async def test_what_cannot_be_relayed_is_explained(
    bot: Bot, kind: str, user: int, answer: str
) -> None:
    seen = await cell(bot, user, Media(kind))
    assert_answered(seen, answer)


@pytest.mark.parametrize(
    ("user", "answer"),
    [(ADMIN, "Hello. You're an admin of this Porchlight."), (STRANGER, INVITATION_ONLY)],
    ids=["admin", "stranger"],
)
async def test_words_from_someone_with_nobody_to_reach(bot: Bot, user: int, answer: str) -> None:
    await answered(bot, user, "hello, is anyone there?", answer)


# ------------------------------------------------------------------ time moves on


async def test_an_expired_invite(bot: Bot) -> None:
    code = await bot.harness.invite(SAM, "Late")
    bot.harness.api.add_user(3201, "Late")
    consent = await say(bot.harness, 3201, f"/start {code}")
    bot.harness.advance(timedelta(days=8))
    # The consent question still shows its buttons, the link has expired.
    yes = consent.buttons()[0][0][1]
    assert yes is not None
    seen = await cell(bot, 3201, Press(yes, consent.message_id))
    assert seen.toast is None
    assert [m.text for m in seen.new] == [button_gone(3201)]
    assert seen.new[0].text.endswith("or ask your specialist for a new one.")
    assert seen.stored_changes() == []
    await answered(bot, 3201, f"/start {code}", INVITATION_ONLY)
    link = LINK_RE.search((await say(bot.harness, SAM, "/invite Late")).text or "")
    assert link is not None  # the alias is free again


async def test_a_long_transfer_note_arrives_whole(bot: Bot) -> None:
    command = "/transfer Bo Ria Okafor"
    words = (TEXT_LIMIT - len(command)) // len(" word")
    seen = await cell(bot, SAM, command + " word" * words)
    assert seen.answer.startswith("Bo now talks with Ria Okafor")
    said = " ".join(seen.heard(RIA))
    assert said.startswith("Bo has been handed over to you by Sam Rivera.")
    assert said.count("word") == words
