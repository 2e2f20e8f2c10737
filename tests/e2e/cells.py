"""Many small actions against one long-lived bot, and what each of them did.

The role matrix and the hostile-input tests run dozens of actions (a command, a button
pressed by someone, an odd message) against one bot started once per module. Each
action is a "cell": it is sent, every update before the next one is handled (a barrier),
and then the cell is judged only by its own effects: what arrived in whose chat, which
earlier messages changed, what the button press was answered, and which stored rows
differ from just before.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import TOKEN
from tests.e2e.harness import Harness, harness, say
from tests.fakes.bot_api import FakeBotApi, FakeMessage, running_fake_api

MONDAY_6_UTC = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
# A stranger whose /help marks the end of a cell: updates are handled one at a time.
WATCHER = 4999
KNOWN = frozenset({900, 1001, 1002, 2001, 2002, 2003})  # the usual cast


def button_gone(user: int) -> str:
    """What a press of a button that does nothing is answered: only someone who is not yet
    a client is pointed to invite links."""
    if user in KNOWN:
        return "This button no longer works."
    return (
        "This button no longer works. You can tap your invite link again, or ask your"
        " specialist for a new one."
    )


# Every table a person's action could change.
TABLES = (
    "clients",
    "specialists",
    "invites",
    "checkins",
    "audit_log",
    "relay_links",
    "processed_updates",
    "inbox",
)
# What is sent, and whether the next copy into a chat needs a header: the actor's own rows
# change with the answer they get, so only everyone else's are compared.
TO_OTHERS = {
    "outbox": "SELECT id, chat_id, method, payload FROM outbox WHERE chat_id != ? ORDER BY id",
    "relay_threads": "SELECT * FROM relay_threads WHERE chat_id != ? ORDER BY chat_id",
}
# Log events that mean something went wrong while handling an update or sending.
TROUBLE = frozenset(
    {
        "handler.error",
        "outbox.dead",
        "outbox.send_error",
        "outbox.dispatch_error",
        "outbox.retry",
        "outbox.storage_failed",
        "outbox.dispatch_failed",
    }
)

Rows = list[tuple[object, ...]]
Shown = tuple[int, str | None, str, bool]


class Troubles(logging.Handler):
    """Collects log records that mean a handler failed or a message could not be sent."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        trouble = record.levelno >= logging.ERROR or getattr(record, "event", None) in TROUBLE
        if trouble:
            self.records.append(record)

    def take(self) -> list[str]:
        """The troubles since the last take, as lines."""
        found = [record.getMessage() for record in self.records]
        self.records.clear()
        return found


@dataclass
class Bot:
    """A running bot for a whole module, with the people it knows and a trouble log."""

    harness: Harness
    troubles: Troubles
    people: tuple[int, ...]


@asynccontextmanager
async def module_bot(folder: Path, strangers: Iterable[int]) -> AsyncIterator[Bot]:
    """The usual cast (Harness.add_people), these strangers, and a trouble log on the root."""
    troubles = Troubles()
    root = logging.getLogger()
    root.addHandler(troubles)
    try:
        async with (
            running_fake_api(
                token=TOKEN, bot_id=123456, bot_username="porchlight_test_bot"
            ) as api,
            harness(api, folder, start=MONDAY_6_UTC) as running,
        ):
            await running.add_people()
            people = (900, 1001, 1002, 2001, 2002, 2003, *strangers)
            for person in (900, *strangers, WATCHER):
                api.add_user(person, "Someone")
            # Everyone's latest message is a plain one: forged presses land on it.
            for person in people:
                await barrier(running, person)
            troubles.take()
            yield Bot(running, troubles, people)
    finally:
        root.removeHandler(troubles)


async def barrier(bot: Harness, user: int = WATCHER) -> None:
    """Wait until every update sent so far is handled and everything queued has gone."""
    await bot.barrier(user)


async def says(bot: Bot, user: int, *commands: str) -> FakeMessage:
    """The user sends each command in turn, and all is handled; the answer to the last."""
    answer = None
    for command in commands:
        answer = await say(bot.harness, user, command)
    assert answer is not None
    await barrier(bot.harness)
    return answer


@dataclass(frozen=True)
class View:
    """What everyone sees in Telegram, and what is stored, at one moment."""

    chats: dict[int, list[Shown]]
    data: dict[str, Rows]


def _shown(message: FakeMessage) -> Shown:
    body = message.text if message.text is not None else message.caption
    return (message.message_id, body, repr(message.buttons()), message.edited)


async def look(bot: Bot, actor: int) -> View:
    """Every person's chat, every table, and what is addressed to anyone but `actor`."""
    chats = {person: [_shown(m) for m in bot.harness.api.sent_to(person)] for person in bot.people}
    data = {table: await bot.harness.rows(f"SELECT * FROM {table}") for table in TABLES}
    for name, sql in TO_OTHERS.items():
        data[name] = await bot.harness.rows(sql, actor)
    return View(chats, data)


@dataclass(frozen=True)
class Seen:
    """What one cell did: the actor's new messages and changed ones, and the press's answer."""

    actor: int
    new: list[FakeMessage]
    changed: list[FakeMessage]
    toast: str | None
    before: View
    after: View

    @property
    def answer(self) -> str:
        """The first thing the actor noticed: a new message, else a changed one, else ''."""
        for message in (*self.new, *self.changed):
            return (message.text if message.text is not None else message.caption) or ""
        return ""

    def others_touched(self) -> list[int]:
        """The chats other than the actor's that got or lost anything."""
        return [
            person
            for person in self.before.chats
            if person != self.actor and self.before.chats[person] != self.after.chats[person]
        ]

    def heard(self, person: int) -> list[str]:
        """The texts of the messages that arrived in someone's chat."""
        earlier = {shown[0] for shown in self.before.chats[person]}
        return [shown[1] or "" for shown in self.after.chats[person] if shown[0] not in earlier]

    def diff(self) -> dict[str, tuple[Rows, Rows]]:
        """The rows that went and came, per table that changed."""
        before, after = self.before.data, self.after.data
        return {
            table: (
                [row for row in before[table] if row not in after[table]],
                [row for row in after[table] if row not in before[table]],
            )
            for table in self.stored_changes()
        }

    def stored_changes(self) -> list[str]:
        """The tables (and outbox rows to others) that differ from before."""
        before, after = self.before.data, self.after.data
        return [table for table in before if before[table] != after[table]]


@dataclass(frozen=True)
class Press:
    """A button press: this callback data on this message of the presser's chat, `times`
    times in a row before any is handled (2: a double tap)."""

    data: str
    message_id: int
    times: int = 1


@dataclass(frozen=True)
class Edit:
    """The actor edits their earlier message to say this."""

    message_id: int
    text: str


@dataclass(frozen=True)
class Media:
    """The actor sends this kind of message (a photo, a poll, ...; see MEDIA_KINDS)."""

    kind: str


Act = str | Press | Edit | Media


def _do(api: FakeBotApi, actor: int, act: Act) -> list[str]:
    """Send the act to the bot; the ids of the button presses among it."""
    if isinstance(act, Press):
        return [
            api.press_button(actor, act.message_id, act.data, force=True) for _ in range(act.times)
        ]
    if isinstance(act, Edit):
        api.edit_text(actor, act.message_id, act.text)
    elif isinstance(act, Media):
        api.send_media(actor, act.kind)
    else:
        api.send_text(actor, act)
    return []


async def cell(bot: Bot, actor: int, act: Act) -> Seen:
    """The actor writes, presses or edits; wait until it is handled; what it did."""
    api = bot.harness.api
    before = await look(bot, actor)
    earlier = {m.message_id: _shown(m) for m in api.sent_to(actor)}
    queries = _do(api, actor, act)
    await barrier(bot.harness)
    after = await look(bot, actor)
    now = api.sent_to(actor)
    assert all(query in api.answered_callbacks for query in queries), f"{act} not answered"
    return Seen(
        actor=actor,
        new=[m for m in now if m.message_id not in earlier],
        changed=[m for m in now if m.message_id in earlier and _shown(m) != earlier[m.message_id]],
        toast=api.answered_callbacks[queries[-1]].get("text") if queries else None,
        before=before,
        after=after,
    )


def latest(bot: Bot, user: int) -> int:
    """The bot's latest message to the user without buttons (forged presses land there)."""
    return next(m for m in reversed(bot.harness.api.sent_to(user)) if not m.buttons()).message_id


def assert_refused(seen: Seen, refusal: str) -> None:
    """One kind answer to the actor (a message, or the press's answer), and nothing else."""
    if seen.toast is None:
        assert [m.text for m in seen.new] == [refusal]
    else:
        assert seen.toast == refusal
        assert seen.new == []
    assert seen.changed == [], seen.actor
    assert seen.others_touched() == [], seen.actor
    assert seen.stored_changes() == [], (seen.actor, seen.diff())


def assert_answered(seen: Seen, beginning: str) -> None:
    """The actor's answer begins so; nobody else heard anything and nothing stored changed."""
    assert seen.answer.startswith(beginning), (seen.actor, seen.answer)
    assert seen.others_touched() == [], seen.actor
    assert seen.stored_changes() == [], (seen.actor, seen.diff())
