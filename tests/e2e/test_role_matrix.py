"""Who may do what: every command and every kind of button, for each of six people.

The people: the client (Alex), another client (Bo) of the same specialist, their
specialist (Sam), another specialist (Ria, whose client is Cy), an admin, and a stranger.
Each row of the table names a command or a button and who gets the feature, with the
beginning of what they are answered; everyone else gets a kind refusal (a stranger the
invitation-only note), nobody else hears anything, and nothing stored changes. A button
is pressed by its owner on the message that carries it, and by everyone else, forged,
on the latest message in their own chat (a press Telegram would let a modified app send).

One bot serves the whole module. A row readies what it needs (the question whose button
is pressed, a check-in, an invite) and puts back what its allowed actions changed, so no
row depends on another.
"""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum, StrEnum
from pathlib import Path

import pytest
import pytest_asyncio
from telegram.ext import CommandHandler

from tests.e2e import cells
from tests.e2e.cells import Bot, Press, Seen
from tests.e2e.harness import current, say, stranger_answer, tap
from tests.fakes.bot_api import FakeMessage

pytestmark = pytest.mark.asyncio(loop_scope="module")


class Role(StrEnum):
    """The six people of every row."""

    CLIENT = "client"
    OTHER_CLIENT = "other client"
    SPECIALIST = "their specialist"
    OTHER_SPECIALIST = "other specialist"
    ADMIN = "admin"
    STRANGER = "stranger"


CLIENT, OTHER_CLIENT, SPECIALIST, OTHER_SPECIALIST, ADMIN, STRANGER = Role
CLIENTS = (CLIENT, OTHER_CLIENT)  # each of them uses the clients' commands on their own account
USER = {
    CLIENT: 2001,
    OTHER_CLIENT: 2002,
    SPECIALIST: 1001,
    OTHER_SPECIALIST: 1002,
    ADMIN: 900,
    STRANGER: 4242,
}
SPARE_SPECIALIST = 1006
CLIENTS_ONLY = "That command is for clients. /help lists yours."
SPECIALISTS_ONLY = "Sorry, that's only available to peer support specialists."
ADMINS_ONLY = "Sorry, that's only available to the programme's admins."
INVITATION_ONLY = stranger_answer()
CLIENT_HELP = "Write here whenever you like: text, a voice message, a photo. Sam Rivera"
STAFF_HELP = "Your commands:\n/clients"
ADMIN_HELP = "Hello. You're an admin of this Porchlight."
UNKNOWN = "I don't know that command. /help lists yours."
SUMMARY = "Your check-ins:"


class Gate(Enum):
    """Who a command lets through; the others hear why not."""

    EVERYONE = "everyone"
    CLIENTS = "clients"
    SPECIALISTS = "specialists"  # /transfer lets admins through as well
    ADMINS = "admins"
    BUTTON = "button"


def refusal(gate: Gate, role: Role) -> str:
    """What someone the gate stops is told."""
    if gate is Gate.BUTTON:
        return cells.button_gone(USER[role])
    if gate is Gate.ADMINS:
        return ADMINS_ONLY
    if role is STRANGER:
        return INVITATION_ONLY
    return CLIENTS_ONLY if gate is Gate.CLIENTS else SPECIALISTS_ONLY


Ready = Callable[[Bot], Awaitable[dict[str, str]]]
Carrier = Callable[[Bot], Awaitable[FakeMessage]]
Restore = Callable[[Bot], Awaitable[None]]
ALIASES = (f"Newcomer{n}" for n in itertools.count())


@dataclass(frozen=True)
class Row:
    """One command (formatted with what `ready` returns) or one button (a data pattern)."""

    action: str
    gate: Gate
    answers: Mapping[Role, str]  # who gets past the gate, and how their answer begins
    changes: frozenset[Role] = frozenset()  # whose (allowed) action may change stored data
    ready: Ready | None = None
    carrier: Carrier | None = None  # a button row: the message that carries the button
    restore: Restore | None = None
    by: Mapping[Role, str] = field(default_factory=dict)  # a role's own command text
    heard: Mapping[Role, tuple[Role, str]] = field(default_factory=dict)  # and who hears what

    @property
    def owner(self) -> Role:
        """The one who may press a button row's button."""
        [owner] = self.answers
        return owner


def every(answer: str, *roles: Role) -> dict[Role, str]:
    return dict.fromkeys(roles, answer)


def every_specialist(
    command: str, answer: str, *, changes: bool = True, restore: Restore | None = None
) -> Row:
    """A row for a specialist's command about themselves: each specialist gets it."""
    staff = (SPECIALIST, OTHER_SPECIALIST)
    changed = frozenset(staff) if changes else frozenset()
    return Row(command, Gate.SPECIALISTS, every(answer, *staff), changed, restore=restore)


def button(
    data: str,
    carrier: Carrier,
    answer: str,
    *,
    owner: Role = CLIENT,
    changes: bool = True,
    restore: Restore | None = None,
    heard: str | None = None,
) -> Row:
    """A row for a button its owner presses (after everyone else, forged)."""
    return Row(
        data,
        Gate.BUTTON,
        {owner: answer},
        frozenset({owner}) if changes else frozenset(),
        carrier=carrier,
        restore=restore,
        heard={owner: (SPECIALIST, heard)} if heard else {},
    )


# ------------------------------------------------------------------ readying and restoring


def question(*commands: str, taps: tuple[str, ...] = ()) -> Carrier:
    """The client's commands, the last asking a question; then these buttons tapped on it."""

    async def carrier(bot: Bot) -> FakeMessage:
        asked = await cells.says(bot, USER[CLIENT], *commands)
        for data in taps:
            query = bot.harness.api.press_button(USER[CLIENT], asked.message_id, data)
            await bot.harness.api.wait_until(
                lambda q=query: q in bot.harness.api.answered_callbacks, what=data
            )
            await cells.barrier(bot.harness)
        return current(bot.harness, USER[CLIENT], asked)

    return carrier


def client_says(*commands: str) -> Restore:
    async def restore(bot: Bot) -> None:
        await cells.says(bot, USER[CLIENT], *commands)

    return restore


async def both_are_back(bot: Bot) -> None:
    await cells.says(bot, USER[SPECIALIST], "/back")
    await cells.says(bot, USER[OTHER_SPECIALIST], "/back")


async def new_invite(bot: Bot) -> dict[str, str]:
    code = await bot.harness.invite(USER[SPECIALIST], next(ALIASES))
    await bot.harness.settle()  # the link's outbox row is final before the first cell looks
    return {"code": code}


async def consent_offer(bot: Bot) -> FakeMessage:
    """The stranger opens a fresh invite link of Sam's: the consent question."""
    code = (await new_invite(bot))["code"]
    return await cells.says(bot, USER[STRANGER], f"/start {code}")


async def stranger_leaves(bot: Bot) -> None:
    """The stranger who just joined erases everything again."""
    asked = await say(bot.harness, USER[STRANGER], "/forget")
    await tap(bot.harness, USER[STRANGER], asked, "Erase everything")
    await cells.barrier(bot.harness)


async def client_rejoins(bot: Bot) -> None:
    await bot.harness.join(USER[CLIENT], "Alexandra", USER[SPECIALIST], "Alex")
    await cells.barrier(bot.harness, USER[CLIENT])


async def spare_specialist(bot: Bot) -> dict[str, str]:
    await bot.harness.add_specialist(SPARE_SPECIALIST, "Dee Park")
    return {}


async def advanced(bot: Bot) -> dict[str, str]:
    """A minute on: a new check-in moment."""
    bot.harness.advance(timedelta(minutes=1))
    return {}


async def checkin(bot: Bot) -> FakeMessage:
    """A check-in Sam asks for (a minute on, so it is a new one)."""
    await advanced(bot)
    await cells.says(bot, USER[SPECIALIST], "/checkin Alex")
    return with_buttons(bot, CLIENT, "ci:*")


async def scheduled_checkin(bot: Bot) -> FakeMessage:
    await cells.says(bot, USER[CLIENT], "/schedule daily 09:00", "/timezone UTC")
    return await checkin(bot)


async def patience_offer(bot: Bot) -> FakeMessage:
    """Daily check-ins left unanswered until the bot offers to ease off."""
    await cells.says(bot, USER[CLIENT], "/schedule daily 09:00", "/timezone UTC")
    for _ in range(8):
        due = await bot.harness.next_due(USER[CLIENT])
        assert due is not None
        bot.harness.clock.set(due + timedelta(minutes=1))
        await bot.harness.tick()
        if "ease off" in (bot.harness.api.sent_to(USER[CLIENT])[-1].text or ""):
            return with_buttons(bot, CLIENT, "ci:*:less")
    raise AssertionError("no offer to ease off")


async def long_client_list(bot: Bot) -> FakeMessage:
    """Sam has more clients than one page shows: /clients with a 'More' button."""
    for n in range(9):
        await bot.harness.join(3100 + n, f"P{n}", USER[SPECIALIST], f"P{n}")
    await cells.barrier(bot.harness)
    return await cells.says(bot, USER[SPECIALIST], "/clients")


def with_buttons(bot: Bot, role: Role, pattern: str) -> FakeMessage:
    """The role's latest message with a button whose data matches the pattern."""
    return next(
        m
        for m in reversed(bot.harness.api.sent_to(USER[role]))
        if any(fnmatch.fnmatch(data or "", pattern) for row in m.buttons() for _, data in row)
    )


# ------------------------------------------------------------------ the table

ROWS = [
    Row(
        "/start",
        Gate.EVERYONE,
        {
            **every(CLIENT_HELP, CLIENT, OTHER_CLIENT),
            SPECIALIST: "Hello Sam Rivera. You're registered as a peer support specialist.",
            OTHER_SPECIALIST: "Hello Ria Okafor. You're registered",
            ADMIN: ADMIN_HELP,
            STRANGER: INVITATION_ONLY,
        },
    ),
    Row(
        "/start {code}",
        Gate.EVERYONE,
        {
            **every("You're already in touch with Sam Rivera.", CLIENT, OTHER_CLIENT),
            **every("This link is for a client.", SPECIALIST, OTHER_SPECIALIST),
            # An admin who is no specialist may take an invite and become a client.
            **every("Hello, and welcome.\n\nSam Rivera invited you", ADMIN, STRANGER),
        },
        ready=new_invite,
    ),
    Row(
        "/help",
        Gate.EVERYONE,
        {
            **every(CLIENT_HELP, CLIENT, OTHER_CLIENT),
            **every(STAFF_HELP, SPECIALIST, OTHER_SPECIALIST),
            ADMIN: ADMIN_HELP,
            STRANGER: INVITATION_ONLY,
        },
    ),
    Row(
        "/nosuchcommand",
        Gate.EVERYONE,
        {
            **every("I don't know that command. /help shows", CLIENT, OTHER_CLIENT),
            **every(UNKNOWN, SPECIALIST, OTHER_SPECIALIST, ADMIN),
            STRANGER: INVITATION_ONLY,
        },
    ),
    # The crisis lines, to anyone at all (a stranger keeps nothing).
    Row(
        "/crisis",
        Gate.EVERYONE,
        every(
            "You can reach someone right now, at any hour:",
            CLIENT,
            OTHER_CLIENT,
            SPECIALIST,
            OTHER_SPECIALIST,
            ADMIN,
            STRANGER,
        ),
    ),
    Row("/settings", Gate.CLIENTS, every(SUMMARY, *CLIENTS)),
    Row(
        "/schedule",
        Gate.CLIENTS,
        every("How often would you like a gentle check-in?", *CLIENTS),
    ),
    Row(
        "/timezone",
        Gate.CLIENTS,
        every("Which time zone are you in?", *CLIENTS),
        frozenset(CLIENTS),  # the next text may be the zone's name
    ),
    Row("/quiet", Gate.CLIENTS, every("Are there hours when you'd rather not", *CLIENTS)),
    Row("/pause", Gate.CLIENTS, every("For how long would you like to pause", *CLIENTS)),
    Row("/resume", Gate.CLIENTS, every("Check-ins are already on.", *CLIENTS)),
    Row("/stop", Gate.CLIENTS, every("Stop scheduled check-ins?", *CLIENTS)),
    Row("/privacy", Gate.CLIENTS, every("What Porchlight keeps about you", *CLIENTS)),
    Row("/forget", Gate.CLIENTS, every("Erase everything about you?", *CLIENTS)),
    Row(
        "/mydata",
        Gate.CLIENTS,
        every("Here is everything Porchlight keeps about you", *CLIENTS),
        frozenset(CLIENTS),  # the export is audited
    ),
    # The staff choose their own language too (tests/e2e/test_staff_languages.py).
    Row(
        "/language",
        Gate.CLIENTS,
        every("Which language would you like me", *CLIENTS, SPECIALIST, OTHER_SPECIALIST, ADMIN),
    ),
    every_specialist("/invite Matrix", "Here is a single-use invite link for Matrix."),
    Row(
        "/checkin Alex",
        Gate.SPECIALISTS,
        {
            SPECIALIST: "A check-in is on its way to Alex.",
            OTHER_SPECIALIST: "You have no client called Alex. Your clients: Cy.",
        },
        frozenset({SPECIALIST}),
        ready=advanced,
    ),
    Row(
        "/clients",
        Gate.SPECIALISTS,
        {SPECIALIST: "Your clients (", OTHER_SPECIALIST: "Your clients (1)"},
    ),
    Row(
        "/to Alex See you Thursday",
        Gate.SPECIALISTS,
        {SPECIALIST: "", OTHER_SPECIALIST: "You have no client called Alex."},
        frozenset({SPECIALIST}),
        heard={SPECIALIST: (CLIENT, "See you Thursday")},
    ),
    every_specialist("/away", "You're away until you send /back.", restore=both_are_back),
    every_specialist("/back", "You weren't away.", changes=False),
    Row(
        "/oncall",
        Gate.SPECIALISTS,
        every("Nobody is on call right now.", SPECIALIST, OTHER_SPECIALIST, ADMIN),
    ),
    every_specialist("/digest 18:00", "A daily summary will come at 18:00"),
    Row(
        "/transfer Alex Ria Okafor",
        Gate.SPECIALISTS,
        {
            SPECIALIST: "Alex now talks with Ria Okafor, and has been told.",
            OTHER_SPECIALIST: "You have no client called Alex.",
            ADMIN: "Alex now talks with Sam Rivera, and has been told.",
        },
        frozenset({SPECIALIST, ADMIN}),
        by={ADMIN: "/transfer Alex Sam Rivera"},  # and back again
        heard={
            SPECIALIST: (CLIENT, "from now on, Ria Okafor will read your messages"),
            ADMIN: (CLIENT, "from now on, Sam Rivera will read your messages"),
        },
    ),
    Row(
        "/specialists", Gate.ADMINS, {ADMIN: "Specialists:\nSam Rivera (1001)"}, frozenset({ADMIN})
    ),
    Row(
        "/addspecialist 1005 Lee Park",
        Gate.ADMINS,
        {ADMIN: "Lee Park (1005) is registered as a specialist."},
        frozenset({ADMIN}),
    ),
    Row(
        f"/removespecialist {SPARE_SPECIALIST}",
        Gate.ADMINS,
        {ADMIN: "Dee Park is no longer a specialist."},
        frozenset({ADMIN}),
        ready=spare_specialist,
    ),
    Row("/audit 3", Gate.ADMINS, {ADMIN: "The newest 3 audit entries"}, frozenset({ADMIN})),
    Row("/report lots", Gate.ADMINS, {ADMIN: "Send /report for the last 12 weeks"}),
    # Buttons: the consent question, to whoever opened an invite link.
    button(
        "consent:no:*",
        consent_offer,
        "That's fine. Nothing has been saved.",
        owner=STRANGER,
        changes=False,
    ),
    button(
        "consent:yes:*",
        consent_offer,
        "Thank you. You're connected with Sam Rivera.",
        owner=STRANGER,
        restore=stranger_leaves,
        heard="has joined.",
    ),
    # The rhythm, step by step.
    button("r:c:daily", question("/schedule"), "When would suit you?", changes=False),
    button(
        "r:w:0",
        question("/schedule", taps=("r:c:weekly",)),
        "When would suit you?",
        changes=False,
    ),
    button(
        "r:t:1",
        question("/schedule", taps=("r:c:weekdays",)),
        "Which days suit you?",
        changes=False,
    ),
    button(
        "r:d:1",
        question("/schedule", taps=("r:c:weekdays", "r:t:1")),
        "When would suit you?",
        changes=False,
    ),
    button(
        "r:m:daily:0:morning",
        question("/timezone UTC", "/schedule", taps=("r:c:daily",)),
        "Your check-ins: every day, in the morning.",
    ),
    button(
        "r:s:daily:0", question("/schedule", taps=("r:c:daily",)), "Which time?"
    ),  # the next text may be the time
    button(
        "r:h:daily:0:0900",
        question("/timezone UTC", "/schedule", taps=("r:c:daily", "r:s:daily:0")),
        "Your check-ins: every day, at 09:00.",
    ),
    button("z:UTC", question("/timezone"), SUMMARY),
    button("q:none", question("/quiet"), SUMMARY),
    button("q:2200-0700", question("/quiet"), SUMMARY, restore=client_says("/quiet off")),
    # The menu under /settings.
    button("s:rhythm", question("/settings"), "How often would you like", changes=False),
    button("s:tz", question("/settings"), "Which time zone are you in?"),
    button("s:quiet", question("/settings"), "Are there hours", changes=False),
    button("s:pause", question("/settings"), "For how long would you like", changes=False),
    # Pause, stop, erase.
    *(
        button(
            f"p:{length}",
            question("/pause"),
            "Check-ins are paused until",
            restore=client_says("/resume"),
            heard="Alex paused check-ins",
        )
        for length in ("1d", "1w", "2w", "open")
    ),
    button(
        "x:yes",
        question("/stop"),
        "Scheduled check-ins are stopped.",
        restore=client_says("/resume"),
        heard="Alex stopped scheduled check-ins.",
    ),
    button("x:no", question("/stop"), "Okay, nothing changes.", changes=False),
    button("f:no", question("/forget"), "Okay, nothing was erased.", changes=False),
    button(
        "l:es*",
        question("/language"),
        "De acuerdo, a partir de ahora te escribo en español.",
        restore=client_says("/language en"),
    ),
    button(
        "f:yes",
        question("/forget"),
        "Everything about you has been erased.",
        restore=client_rejoins,
        heard="Alex has left and erased their data.",
    ),
    # Under a check-in, and under the offer to ease off.
    button("ci:*:ok", checkin, "Glad to hear it.", heard="Alex: doing okay"),
    button("ci:*:meh", checkin, "Thank you for telling me.", heard="Alex: could be better"),
    button("ci:*:not_today", checkin, "That's completely fine.", heard="Alex: not today"),
    button(
        "ci:*:talk", checkin, "Thank you. I've let Sam Rivera know", heard="would like to talk"
    ),
    button("ci:*:fewer", scheduled_checkin, "Done. From now on: every 2 days", heard="fewer"),
    button("ci:*:pause", checkin, "For how long would you like to pause"),
    button("ci:*:less", patience_offer, "Done. From now on: every 2 days", heard="fewer"),
    button("ci:*:keep", patience_offer, "Okay, I'll keep things as they are."),
    # A specialist's pages of /clients.
    button("cl:*:1", long_client_list, "Your clients (11)", owner=SPECIALIST, changes=False),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def matrix(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bot]:
    folder: Path = tmp_path_factory.mktemp("matrix")
    async with cells.module_bot(folder, strangers=[USER[STRANGER]]) as bot:
        yield bot


def in_order(row: Row) -> list[Role]:
    """Those whose action changes nothing go first, so the rest find things as they were."""
    return sorted(Role, key=lambda role: role in row.changes)


def check_allowed(row: Row, role: Role, seen: Seen) -> None:
    """The feature: the answer, and only what this role's action may change."""
    if role in row.changes:
        assert seen.answer.startswith(row.answers[role]), (role, seen.answer)
    else:
        cells.assert_answered(seen, row.answers[role])
    if role in row.heard:
        hearer, words = row.heard[role]
        heard = seen.heard(USER[hearer])
        assert any(words in text for text in heard), (role, hearer, heard)


@pytest.mark.parametrize("row", ROWS, ids=[row.action for row in ROWS])
async def test_only_who_may_gets_it(matrix: Bot, row: Row) -> None:
    matrix.troubles.take()  # a row that failed before may have left some
    values = await row.ready(matrix) if row.ready else {}
    carrier = await row.carrier(matrix) if row.carrier else None
    data = None
    if carrier is not None:
        data = next(
            d
            for line in carrier.buttons()
            for _, d in line
            if d is not None and fnmatch.fnmatch(d, row.action)
        )
    for role in in_order(row):
        user = USER[role]
        if data is None:
            seen = await cells.cell(matrix, user, row.by.get(role, row.action).format(**values))
        else:
            assert carrier is not None
            on = carrier.message_id if role is row.owner else cells.latest(matrix, user)
            seen = await cells.cell(matrix, user, Press(data, on))
        if role in row.answers:
            check_allowed(row, role, seen)
        else:
            cells.assert_refused(seen, refusal(row.gate, role))
    if row.restore is not None:
        await row.restore(matrix)
    assert matrix.troubles.take() == []


async def test_every_command_the_bot_knows_has_a_row(matrix: Bot) -> None:
    assert matrix.harness.app is not None
    registered = {
        command
        for handler in matrix.harness.app.handlers[0]
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }
    in_table = {row.action.split()[0][1:] for row in ROWS if row.gate is not Gate.BUTTON}
    assert in_table - {"nosuchcommand"} == registered
