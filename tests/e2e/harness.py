"""Drive the real Porchlight Application over HTTP against the fake Bot API server."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.config import CONFIG_DIR, Settings
from bot.domain.clock import ManualClock
from bot.domain.safety import SafetyScreen
from bot.domain.texts import Texts
from bot.handlers.context import PorchlightApp
from bot.scheduling import tick
from bot.services.container import Services
from bot.storage.outbox import OutboxRepository
from tests.conftest import make_settings
from tests.fakes.bot_api import FakeBotApi, FakeMessage

SETTLE_SECONDS = 5.0
BARRIER_WATCHER = 4998  # a stranger who only ever writes to mark a barrier
LINK_RE = re.compile(r"https://t\.me/porchlight_test_bot\?start=([A-Za-z0-9_-]{22})")


def stranger_answer(language: str = "en") -> str:
    """What someone without an invite is told: the bot works by invitation, and the
    programme's crisis lines, in case they need someone now."""
    resources = SafetyScreen.load(CONFIG_DIR / "safety").resources(language)
    texts = Texts.load(CONFIG_DIR / "messages")
    return texts.get("stranger.invitation_only", language, resources=resources)


class Harness:
    """One running bot, its clock and its fake Telegram; restartable."""

    def __init__(self, api: FakeBotApi, database: Path, **overrides: object) -> None:
        self.api = api
        # The tick runs once at start; tests call tick() after moving the clock.
        values: dict[str, object] = {"checkin_tick_seconds": 3600, **overrides}
        self.settings: Settings = make_settings(
            database, telegram_api_base_url=api.base_url, **values
        )
        self.clock = ManualClock(datetime.now(UTC))
        self.app: PorchlightApp | None = None
        self._stack: AsyncExitStack | None = None

    @property
    def services(self) -> Services:
        """The running bot's services."""
        assert self.app is not None
        return self.app.bot_data.services

    async def start(self) -> None:
        """Build and start the same Application that `run` serves."""
        self._stack = AsyncExitStack()
        self.app = build_application(self.settings, self.clock)
        webhook = self.settings.webhook()  # None: long polling, as without WEBHOOK_URL
        await self._stack.enter_async_context(running(self.app, timedelta(seconds=1), webhook))
        # The retention job would purge in the background whenever a test's clock jumps a
        # day; as with the tick, tests that want the purge call it (services.relay.tidy).
        assert self.app.job_queue is not None
        for job in self.app.job_queue.get_jobs_by_name("retention"):
            job.schedule_removal()

    async def stop(self) -> None:
        """Stop the bot the way SIGTERM does."""
        assert self._stack is not None
        await self._stack.aclose()
        self._stack = None
        self.app = None

    async def restart(self) -> None:
        """Stop, then start a new Application on the same database."""
        await self.stop()
        await self.start()

    async def add_specialist(self, user_id: int, name: str) -> None:
        """Register a specialist as the command line does, and open their chat."""
        self.api.add_user(user_id, name.split()[0])
        await self.services.people.add_specialist(user_id, name)

    async def said(self, chat_id: int, count: int) -> list[FakeMessage]:
        """Wait until the bot has sent `count` messages to the chat; return them all."""
        return await self.api.wait_for_messages(chat_id, count)

    async def next_text(self, chat_id: int, since: int) -> FakeMessage:
        """Wait for the bot's next message to the chat after `since` earlier ones."""
        return (await self.said(chat_id, since + 1))[since]

    async def invite(self, specialist_id: int, alias: str) -> str:
        """Ask for an invite in Telegram; return the code from the link."""
        before = len(self.api.sent_to(specialist_id))
        self.api.send_text(specialist_id, f"/invite {alias}")
        reply = await self.next_text(specialist_id, before)
        found = LINK_RE.search(reply.text or "")
        assert found, reply.text
        return found.group(1)

    async def join(
        self,
        client_id: int,
        first_name: str,
        specialist_id: int,
        alias: str,
        language_code: str = "en",
    ) -> None:
        """Invite, open the link, consent: the client is then connected (in the language of
        their Telegram app, when there is a file for it)."""
        code = await self.invite(specialist_id, alias)
        self.api.add_user(client_id, first_name, language_code=language_code)
        before = len(self.api.sent_to(client_id))
        self.api.send_text(client_id, f"/start {code}")
        consent = await self.next_text(client_id, before)
        yes = consent.buttons()[0][0]
        joined_before = len(self.api.sent_to(specialist_id))
        self.api.press_button(client_id, consent.message_id, yes[1])
        await self.api.wait_until(
            lambda: any(
                m.text == f"{alias} has joined."
                for m in self.api.sent_to(specialist_id)[joined_before:]
            ),
            what=f"{alias} has joined",
        )
        await self.api.wait_until(
            lambda: "r:c:daily" in button_data(self.api.sent_to(client_id)[-1]),
            what="the rhythm question",
        )

    async def add_people(self) -> None:
        """The usual cast: Sam Rivera (1001) and Ria Okafor (1002) are specialists; Alex (2001)
        and Bo (2002) join Sam, Cy (2003) joins Ria; the admin (900) has opened the bot."""
        self.api.add_user(900, "Ada")
        await self.add_specialist(1001, "Sam Rivera")
        await self.add_specialist(1002, "Ria Okafor")
        await self.join(2001, "Alexandra", 1001, "Alex")
        await self.join(2002, "Bo", 1001, "Bo")
        await self.join(2003, "Cyrus", 1002, "Cy")
        await self.settle()

    async def expect_answers(self, user: int, expected: Iterable[tuple[str, str]]) -> None:
        """The user sends each command in turn; the answer must begin with the text given."""
        for command, beginning in expected:
            answer = (await say(self, user, command)).text or ""
            assert answer.startswith(beginning), (command, answer)

    def advance(self, delta: timedelta) -> None:
        """Move the clock on and let the sender look at what became due."""
        self.clock.advance(delta)
        assert self.services.sender is not None
        self.services.sender.wake()

    async def tick(self) -> None:
        """Run the check-in tick at the clock's time, and let what it queued go out."""
        await self.services.checkins.tick()
        await self.settle()

    async def run_tick(self) -> None:
        """Run the whole tick as the job does (check-ins, away times, daily summaries)."""
        await tick(self.services)
        await self.settle()

    async def client_row(self, user_id: int) -> dict[str, object]:
        """The client's row as stored, with their tick row (m024)."""
        async with (
            self.services.db.transaction() as conn,
            conn.execute(
                "SELECT * FROM clients c JOIN client_ticks t ON t.client_id = c.id"
                " WHERE c.telegram_user_id = ?",
                (user_id,),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        assert row is not None, f"no client {user_id}"
        return dict(row)

    async def next_due(self, user_id: int) -> datetime | None:
        """When the client's next check-in is due."""
        value = (await self.client_row(user_id))["next_due_at"]
        return None if value is None else datetime.fromisoformat(str(value))

    async def barrier(self, user_id: int) -> None:
        """The user sends /help; everything sent so far is handled, then drained.

        Updates go one at a time, so once a stranger who writes nothing else (the
        watcher) is answered, every earlier update has been handled. Waiting for an
        answer to the user was not enough: a message for the user still on its way
        from an earlier update passed for the answer to their /help.
        """
        self.api.send_text(user_id, "/help")
        self.api.add_user(BARRIER_WATCHER, "Watcher")
        before = len(self.api.sent_to(BARRIER_WATCHER))
        self.api.send_text(BARRIER_WATCHER, "/help")
        await self.next_text(BARRIER_WATCHER, before)
        await self.settle()

    async def settle(self) -> None:
        """Poll, with a deadline, until the outbox holds nothing pending or in flight."""
        repo = OutboxRepository(self.services.db)
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while True:
            async with self.services.db.transaction():
                counts = await repo.counts()
            if counts.get("pending", 0) + counts.get("sending", 0) == 0:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"outbox did not drain: {counts}")
            await asyncio.sleep(0.01)

    async def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Read the database as it is now."""
        async with self.services.db.transaction() as conn, conn.execute(sql, params) as cursor:
            return [tuple(row) async for row in cursor]


@asynccontextmanager
async def harness(
    api: FakeBotApi, tmp_path: Path, start: datetime | None = None, **overrides: object
) -> AsyncIterator[Harness]:
    """A started harness, stopped afterwards (its clock at `start` if given)."""
    bot = Harness(api, tmp_path / "porchlight.sqlite3", **overrides)
    if start is not None:
        bot.clock.set(start)
    await bot.start()
    try:
        yield bot
    finally:
        if bot.app is not None:
            await bot.stop()


async def say(bot: Harness, user: int, text: str) -> FakeMessage:
    """The user writes; return the bot's first answer."""
    before = len(bot.api.sent_to(user))
    bot.api.send_text(user, text)
    return await bot.next_text(user, before)


async def tap(bot: Harness, user: int, message: FakeMessage, label: str) -> None:
    """Tap the button with this label and wait until the tap is answered and handled."""
    data = next(d for row in message.buttons() for text, d in row if text == label)
    assert data is not None
    query = bot.api.press_button(user, message.message_id, data)
    await bot.api.wait_until(lambda: query in bot.api.answered_callbacks, what=f"tap {label}")
    await bot.settle()


def button_data(message: FakeMessage) -> list[str | None]:
    """The callback data of every button under a message."""
    return [data for row in message.buttons() for _, data in row]


def current(bot: Harness, user: int, message: FakeMessage) -> FakeMessage:
    """The message as it is now (after edits)."""
    return next(m for m in bot.api.sent_to(user) if m.message_id == message.message_id)


def fail_next(
    monkeypatch: pytest.MonkeyPatch,
    owner: object,
    method: str,
    times: int = 1,
    error: Exception | None = None,
) -> list[bool]:
    """The next call(s) of owner.method fail, as on a locked database (or as often, and with
    what error, as given); the list returned holds one entry per failure so far."""
    original = getattr(owner, method)
    failed: list[bool] = []

    async def failing(*args: Any, **kwargs: Any) -> Any:
        if len(failed) < times:
            failed.append(True)
            raise error or sqlite3.OperationalError("database is locked")
        return await original(*args, **kwargs)

    monkeypatch.setattr(owner, method, failing)
    return failed
