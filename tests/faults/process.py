"""A real `python -m bot ...` process against the fake Bot API, and what it wrote."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.domain.clock import SystemClock
from bot.services.container import Services
from bot.storage.clients import ClientRepository
from tests.conftest import TOKEN, make_settings
from tests.fakes.bot_api import FakeBotApi, FakeMessage

ROOT = Path(__file__).resolve().parents[2]
SPECIALIST, CLIENT = 1001, 2001


async def start_bot(
    api: FakeBotApi,
    database: Path,
    log: Path,
    *command: str,
    output_to: int | None = None,
    **settings: str,
) -> asyncio.subprocess.Process:
    """`python -m bot run` (or another command) against the fake, with these settings on top;
    its output goes to the log, or to the file descriptor output_to."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE_", "ADMIN_", "SEND_", "CHECKIN_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        DATABASE_PATH=str(database),
        SEND_PER_SECOND="1000",
        SEND_PER_CHAT_INTERVAL="0.05",
        CHECKIN_TICK_SECONDS="0.2",
        PYTHONPATH=str(ROOT),
    )
    env.update(settings)
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *(command or ("run",)),
            cwd=log.parent,
            env=env,
            stdout=out if output_to is None else output_to,
            stderr=out if output_to is None else output_to,
        )


async def prepare(database: Path) -> None:
    """A specialist (1001, Sam Rivera) and their client Alex (2001)."""
    services = await Services.open(make_settings(database), SystemClock())
    try:
        await services.people.add_specialist(SPECIALIST, "Sam Rivera")
        specialist = await services.people.identify(SPECIALIST)
        assert specialist.specialist is not None
        async with services.db.transaction():
            await ClientRepository(services.db).add(
                telegram_user_id=CLIENT,
                alias="Alex",
                specialist_id=specialist.specialist.id,
                language="en",
                timezone="UTC",
                consent_version=1,
                now=datetime.now(UTC),
            )
    finally:
        await services.close()


def add_people(api: FakeBotApi) -> None:
    """Open the specialist's and the client's chats with the bot."""
    api.add_user(SPECIALIST, "Sam")
    api.add_user(CLIENT, "Alexandra")


def copies(api: FakeBotApi) -> list[tuple[int, int]]:
    """The client messages copied to the specialist, in order."""
    return [m.copied_from for m in api.sent_to(SPECIALIST) if m.copied_from]


def output(log: Path) -> str:
    """What the process has written so far."""
    return log.read_text(errors="replace")


def said(log: Path) -> list[str]:
    """The lines the process wrote that are not log events: what a person is told."""
    return [line for line in output(log).splitlines() if not line[:4].isdigit()]


async def wait_for_log(log: Path, text: str, times: int = 1, within: float = 15) -> None:
    """Poll the process's output until it holds the text (this many times)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while output(log).count(text) < times:
        assert loop.time() < deadline, f"no {text!r} in:\n{output(log)}"
        await asyncio.sleep(0.05)


async def started(log: Path, times: int = 1) -> None:
    """Wait until the bot has started (for the nth time in this log): it polls from then on,
    and an update sent before its first poll arrives is in that poll's answer."""
    await wait_for_log(log, "event=bot.started", times)


async def start_with_people(
    api: FakeBotApi, database: Path, log: Path, **settings: str
) -> asyncio.subprocess.Process:
    """Sam and Alex in the database and known to the fake, and a bot started on them (it
    polls from the return on)."""
    await prepare(database)
    add_people(api)
    bot = await start_bot(api, database, log, **settings)
    try:
        await started(log)
    except BaseException:
        bot.kill()
        await bot.wait()
        raise
    return bot


async def arrived(api: FakeBotApi, *sent: FakeMessage) -> None:
    """Wait until exactly these messages of Alex's have reached Sam, in this order."""
    expected = [(CLIENT, message.message_id) for message in sent]
    await api.wait_until(lambda: copies(api) == expected, timeout=15, what="the copy")


@asynccontextmanager
async def stopped_cleanly(bot: asyncio.subprocess.Process, log: Path) -> AsyncIterator[None]:
    """The block; then SIGTERM, and the bot must exit 0 within 10 s."""
    try:
        yield
    finally:
        bot.terminate()
        code = await exit_code(bot, within=10)
    assert code == 0, output(log)


async def exit_code(process: asyncio.subprocess.Process, within: float) -> int:
    """The process's exit code; it must end within that many seconds (else it is killed)."""
    try:
        return await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"still running after {within} s") from None


@contextmanager
def locked(database: Path) -> Iterator[None]:
    """Another process's exclusive lock on the database, for the block."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=10)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()
