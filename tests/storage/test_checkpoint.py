"""What is deleted leaves the database's files: read byte by byte, as a copy of them would be."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.storage.checkpoint import LogCopier, checkpoint
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.outbox import OutboxRepository, Priority
from bot.storage.specialists import SpecialistRepository

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
WORDS = "the words of a sent message, unusual enough to find: quixotic-zephyr"
ALIAS = "Quillon"


@pytest.fixture(autouse=True)
def sqlite_built_without_secure_delete(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Connections start with secure_delete off, as where SQLite was built without
    SQLITE_SECURE_DELETE (Debian's is built with it, so its default hides the problem)."""
    connect = aiosqlite.connect

    async def connect_plain(*args: Any, **kwargs: Any) -> aiosqlite.Connection:
        connection = await connect(*args, **kwargs)
        await connection.execute("PRAGMA secure_delete=OFF")
        return connection

    monkeypatch.setattr(aiosqlite, "connect", connect_plain)
    yield


def on_disk(path: Path, text: str) -> list[str]:
    """The database's files (main, log, index) that hold `text` anywhere in their bytes."""
    needle = text.encode("utf-8")
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return [file.name for file in files if file.exists() and needle in file.read_bytes()]


async def send_and_clear(db: Database, text: str) -> None:
    """Queue a text, then mark it sent: its payload is cleared."""
    outbox = OutboxRepository(db)
    async with db.transaction():
        item = await outbox.add(
            chat_id=2001,
            method="send_message",
            payload={"chat_id": 2001, "text": text},
            priority=Priority.PERSON,
            now=NOW,
        )
    assert item is not None
    async with db.transaction():
        await outbox.mark_sent(item, 77, NOW)


async def test_a_sent_messages_text_is_gone_from_every_file_after_a_checkpoint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path)
    try:
        await send_and_clear(db, WORDS)
        # Cleared in the table, but the log still holds the page as it was when queued.
        assert on_disk(path, WORDS) == ["porchlight.sqlite3-wal"]
        assert await checkpoint(db)
        assert on_disk(path, WORDS) == []
        assert path.with_name(path.name + "-wal").stat().st_size == 0
    finally:
        await db.close()
    assert on_disk(path, WORDS) == []


async def test_freed_space_is_zeroed_so_the_checkpointed_file_does_not_hold_it(
    tmp_path: Path,
) -> None:
    # Queued and checkpointed while waiting (the text reaches the database file), then sent:
    # without secure_delete the cleared payload stays in the page's free space.
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path)
    outbox = OutboxRepository(db)
    try:
        async with db.transaction():
            item = await outbox.add(
                chat_id=2001,
                method="send_document",
                payload={"chat_id": 2001, "content": WORDS * 200, "caption": "", "filename": ""},
                priority=Priority.PERSON,
                now=NOW,
            )
        assert item is not None and await checkpoint(db)
        assert on_disk(path, WORDS) == ["porchlight.sqlite3"]
        async with db.transaction():
            await outbox.mark_sent(item, 77, NOW)
        assert await checkpoint(db)
        assert on_disk(path, WORDS) == []
    finally:
        await db.close()


async def test_an_erased_clients_alias_is_gone_from_every_file(tmp_path: Path) -> None:
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path)
    clients = ClientRepository(db)
    try:
        async with db.transaction():
            specialist = await SpecialistRepository(db).add(1001, "Sam", NOW)
            client = await clients.add(
                telegram_user_id=2001,
                alias=ALIAS,
                specialist_id=specialist.id,
                language="en",
                timezone="UTC",
                consent_version=1,
                now=NOW,
            )
        assert await checkpoint(db)
        assert on_disk(path, ALIAS) == ["porchlight.sqlite3"]
        async with db.transaction():
            await clients.erase(client)
        assert await checkpoint(db)
        assert on_disk(path, ALIAS) == []
    finally:
        await db.close()


async def test_a_reader_in_another_process_makes_it_try_later_without_waiting(
    tmp_path: Path,
) -> None:
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM outbox").fetchall()  # holds a snapshot
        await send_and_clear(db, WORDS)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert not await checkpoint(db)
        assert loop.time() - started < 1.0  # the busy timeout is 5 s: it did not wait
        reader.execute("COMMIT")
        assert await checkpoint(db)
        assert on_disk(path, WORDS) == []
        async with db.autocommit():  # the busy timeout is back for everything else
            assert tuple(await db.fetch_one("PRAGMA busy_timeout") or ()) == (5000,)
    finally:
        reader.close()
        await db.close()


async def queue_kept(db: Database, text: str) -> None:
    """Queue a text that waits to be sent (its payload stays)."""
    async with db.transaction():
        await OutboxRepository(db).add(
            chat_id=2001,
            method="send_message",
            payload={"chat_id": 2001, "text": text},
            priority=Priority.PERSON,
            now=NOW,
        )


async def test_the_copier_moves_the_log_into_the_file_while_the_bot_holds_its_connection(
    tmp_path: Path,
) -> None:
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path)
    copier = LogCopier(path)
    try:
        await copier.start(db)
        await queue_kept(db, WORDS)
        for n in range(1_200):  # past the 1,000 pages where a commit would copy the log
            await queue_kept(db, f"{n:04d} " + "x" * 3_000)
        assert on_disk(path, WORDS) == ["porchlight.sqlite3-wal"]  # no commit copied it
        async with db.autocommit():  # a relay holds the connection: the copier goes on
            await asyncio.wait_for(copier.copy(), 5)
            assert "porchlight.sqlite3" in on_disk(path, WORDS)
        # The tick's checkpoint still empties the log, the copying done beforehand.
        assert await checkpoint(db, copier)
        assert path.with_name(path.name + "-wal").stat().st_size == 0
    finally:
        await copier.close()
        await db.close()


async def test_the_copier_never_makes_a_deleted_database_again(tmp_path: Path) -> None:
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path)
    await db.close()
    path.unlink()
    copier = LogCopier(path)
    await copier.copy()  # nothing to copy into, and nothing raised
    await copier.close()
    assert not path.exists()
