"""The database file, its migrations and transactions, on a real SQLite file."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import pytest

from bot.domain.models import Direction
from bot.storage.clients import ClientRepository
from bot.storage.db import Database, StorageError
from bot.storage.migrations import MIGRATIONS, m012_held_messages
from bot.storage.outbox import OutboxItem, OutboxRepository, Priority
from bot.storage.people import Found, PeopleRepository
from bot.storage.relay import RelayRepository
from bot.storage.specialists import SpecialistRepository

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
T = TypeVar("T")
Run = Callable[[Database, Callable[[], Awaitable[T]]], Awaitable[T]]


async def in_steps(db: Database, block: Callable[[], Awaitable[T]]) -> T:
    """A block in `transaction()`: each statement a trip to the database thread."""
    async with db.transaction():
        return await block()


async def in_one_trip(db: Database, block: Callable[[], Awaitable[T]]) -> T:
    """The same block run whole on the database thread."""

    async def whole() -> T:
        return await block()

    return await db.in_one_trip(whole)


# Every guarantee of a transaction, whichever way it runs.
both_ways = pytest.mark.parametrize("run", [in_steps, in_one_trip], ids=["steps", "one_trip"])


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "nested" / "porchlight.sqlite3")
    try:
        yield database
    finally:
        await database.close()


async def scalar(db: Database, sql: str, *params: object) -> object:
    async with db.transaction() as conn, conn.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


async def queue(
    outbox: OutboxRepository, chat_id: int, method: str, priority: Priority, **extra: Any
) -> OutboxItem | None:
    """Queue an item at NOW, with an empty payload unless one is given."""
    values: dict[str, Any] = {"payload": {}, **extra}
    return await outbox.add(chat_id=chat_id, method=method, priority=priority, now=NOW, **values)


async def test_file_is_private_wal_and_migrated_once(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "porchlight.sqlite3"
    first = await Database.open(path)
    await first.close()
    again = await Database.open(path)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert await scalar(again, "PRAGMA journal_mode") == "wal"
        assert await scalar(again, "PRAGMA foreign_keys") == 1
        assert await scalar(again, "SELECT count(*) FROM schema_migrations") == len(MIGRATIONS)
    finally:
        await again.close()


@both_ways
async def test_a_failed_transaction_leaves_nothing(db: Database, run: Run[None]) -> None:
    specialists = SpecialistRepository(db)

    async def block() -> None:
        await specialists.add(1001, "Sam", NOW)
        await RelayRepository(db).set_last_source(1001, "to_specialist:1:1", NOW)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await run(db, block)
    assert await scalar(db, "SELECT count(*) FROM specialists") == 0
    assert await scalar(db, "SELECT count(*) FROM relay_threads") == 0


async def test_a_transaction_in_one_trip_writes_and_reads_through_the_repositories(
    db: Database,
) -> None:
    relay = RelayRepository(db)

    async def block() -> tuple[bool, bool, str | None]:
        specialist = await SpecialistRepository(db).add(1001, "Sam", NOW)
        await relay.set_last_source(specialist.chat_id, "to_specialist:1:1", NOW)
        last = await relay.last_source(specialist.chat_id)
        return (
            await relay.first_time(42, NOW),
            await relay.first_time(42, NOW),
            None if last is None else last[0],
        )

    assert await db.in_one_trip(block) == (True, False, "to_specialist:1:1")
    async with db.autocommit():
        assert await SpecialistRepository(db).by_user(1001) is not None
        assert await relay.last_source(1001) == ("to_specialist:1:1", NOW)


async def test_a_transaction_in_one_trip_waits_for_nothing_but_the_database(
    db: Database,
) -> None:
    """A block that would wait for the event loop (which does not run on the database
    thread) is refused and rolled back, as is one that reaches for the aiosqlite
    connection: its statement would run after the transaction, outside it."""

    async def sleeps() -> None:
        await SpecialistRepository(db).add(1001, "Sam", NOW)
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="waited for something other than the database"):
        await db.in_one_trip(sleeps)

    async def reaches_for_the_connection() -> None:
        await SpecialistRepository(db).add(1002, "Kim", NOW)
        await db.conn.execute("DELETE FROM specialists")

    with pytest.raises(RuntimeError, match="run in one trip"):
        await db.in_one_trip(reaches_for_the_connection)
    assert await scalar(db, "SELECT count(*) FROM specialists") == 0


async def test_a_transaction_in_one_trip_holds_the_connection_until_it_ends(
    db: Database,
) -> None:
    """Another task's transaction waits for it (the write lock), and then sees all of it."""
    inside, go_on = threading.Event(), threading.Event()

    async def block() -> None:
        await SpecialistRepository(db).add(1001, "Sam", NOW)
        inside.set()
        go_on.wait(10)  # on the database thread: the event loop goes on meanwhile
        await SpecialistRepository(db).add(1002, "Kim", NOW)

    trip = asyncio.create_task(db.in_one_trip(block))
    await asyncio.to_thread(inside.wait, 10)
    seen: list[object] = []

    async def other() -> None:
        async with db.transaction():
            seen.append(await db.fetch_one("SELECT count(*) FROM specialists"))

    waiting = asyncio.create_task(other())
    for _ in range(20):  # the other task has every chance to get in
        await asyncio.sleep(0)
    assert seen == [] and db.held_for() is not None
    go_on.set()
    await trip
    await waiting
    assert [row[0] for row in seen] == [2]  # type: ignore[index]


async def test_the_connection_refuses_use_outside_a_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError, match="outside a transaction"):
        await SpecialistRepository(db).by_user(1)


async def test_outbox_order_idempotency_and_chat_pause(db: Database) -> None:
    outbox = OutboxRepository(db)
    async with db.transaction():
        checkin, twice = [
            await queue(
                outbox,
                1,
                "send_message",
                Priority.SCHEDULED,
                payload={"text": "c"},
                idempotency_key="checkin:1:2026-11-28",
            )
            for _ in range(2)
        ]
        relay = await queue(outbox, 2, "copy_message", Priority.PERSON)
    assert twice is None and relay is not None and checkin is not None
    async with db.transaction():
        due = await outbox.due(NOW, 10)
    assert [item.id for item in due] == [relay.id, checkin.id]  # a person waiting goes first

    async with db.transaction():
        await outbox.pause_chat(2, NOW + timedelta(seconds=30))
        later = await queue(outbox, 2, "send_message", Priority.PERSON)
        due = await outbox.due(NOW + timedelta(seconds=10), 10)
        next_due = await outbox.next_not_before(after=NOW + timedelta(seconds=10))
    # Queued after the pause, still behind it: one chat's messages never overtake.
    assert [item.id for item in due] == [checkin.id]
    assert next_due == NOW + timedelta(seconds=30)
    assert later is not None and later.not_before == NOW + timedelta(seconds=30)
    async with db.transaction():
        due = await outbox.due(NOW + timedelta(seconds=30), 10)
    assert [item.id for item in due] == [relay.id, later.id, checkin.id]


async def test_after_a_crash_relays_are_resent_and_checkins_dropped(db: Database) -> None:
    outbox = OutboxRepository(db)
    async with db.transaction():
        relay = await queue(outbox, 1, "copy_message", Priority.PERSON)
        checkin = await queue(outbox, 1, "send_message", Priority.SCHEDULED, at_most_once=True)
        assert relay is not None and checkin is not None
        await outbox.mark_sending(relay.id)
        await outbox.mark_sending(checkin.id)
        assert await outbox.recover_interrupted() == (1, 1)
        counts = await outbox.counts()
        due = await outbox.due(NOW, 10)
    assert counts == {"pending": 1, "dead": 1}
    assert [item.id for item in due] == [relay.id]


async def test_ephemeral_items_vanish_once_sent(db: Database) -> None:
    outbox = OutboxRepository(db)
    async with db.transaction():
        item = await queue(
            outbox, 5, "send_message", Priority.PERSON, payload={"text": "hi"}, ephemeral=True
        )
        assert item is not None and item.ephemeral
        await outbox.mark_sent(item, 9, NOW)
    assert await scalar(db, "SELECT count(*) FROM outbox") == 0


async def test_an_outbox_id_is_never_given_again(db: Database) -> None:
    # The sender knows queued items by id: a new item must never take the id of one deleted
    # while the sender still held it (/forget, a stranger's sent note), or the new one is
    # taken for the old, marked sent unsent, and the old one's words go out after all.
    outbox = OutboxRepository(db)
    async with db.transaction() as conn:
        first = await queue(outbox, 5, "send_message", Priority.PERSON)
        assert first is not None
        await conn.execute("DELETE FROM outbox WHERE id = ?", (first.id,))
        second = await queue(outbox, 6, "send_message", Priority.PERSON)
    assert second is not None and second.id > first.id


async def test_relay_links_route_both_ways_and_updates_count_once(db: Database) -> None:
    relay = RelayRepository(db)
    async with db.transaction() as conn:
        specialist = await SpecialistRepository(db).add(1001, "Sam", NOW)
        await conn.execute(
            "INSERT INTO clients (telegram_user_id, chat_id, alias, specialist_id, status,"
            " language, timezone, consent_version, consented_at, created_at)"
            " VALUES (2001, 2001, 'Alex', ?, 'active', 'en', 'UTC', 1, '', '')",
            (specialist.id,),
        )
        link = await relay.add_link(
            client_id=1,
            specialist_id=specialist.id,
            direction=Direction.TO_SPECIALIST,
            source=(2001, 5),
            dest_chat_id=1001,
            now=NOW,
        )
        outbox = OutboxRepository(db)
        copy = await queue(outbox, 1001, "copy_message", Priority.PERSON, relay_link_id=link)
        assert copy is not None
        assert await relay.by_dest(1001, 77) is None  # not sent yet: nothing to route by
        await outbox.mark_sent(copy, 77, NOW)  # where the copy landed, as Telegram said
        by_dest = await relay.by_dest(1001, 77)
        by_source = await relay.by_source(2001, 5)
        assert await relay.first_time(42, NOW)
        assert not await relay.first_time(42, NOW)
    assert by_dest is not None and by_dest.client_id == 1
    assert by_source == by_dest


async def test_a_transaction_in_one_trip_whose_caller_is_cancelled_still_ends_whole(
    db: Database,
) -> None:
    """The thread cannot be stopped half-way: a caller cancelled meanwhile waits for the
    block's end (nobody else gets the connection before it), and what was committed then
    stands, after-commit actions included."""
    inside, go_on = threading.Event(), threading.Event()
    ran: list[str] = []

    async def block() -> None:
        await SpecialistRepository(db).add(1001, "Sam", NOW)
        db.after_commit(lambda: ran.append("committed"))
        inside.set()
        go_on.wait(10)
        await SpecialistRepository(db).add(1002, "Kim", NOW)

    trip = asyncio.create_task(db.in_one_trip(block))
    await asyncio.to_thread(inside.wait, 10)
    trip.cancel()
    for _ in range(20):  # the cancellation has every chance to let go of the connection
        await asyncio.sleep(0)
    assert not trip.done() and db.held_for() is not None
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await trip
    assert ran == ["committed"]
    assert await scalar(db, "SELECT count(*) FROM specialists") == 2


@both_ways
async def test_after_commit_runs_only_for_what_was_committed(db: Database, run: Run[None]) -> None:
    ran: list[str] = []

    async def commits() -> None:
        db.after_commit(lambda: ran.append("committed"))
        assert ran == []  # not before the commit

    async def rolls_back() -> None:
        db.after_commit(lambda: ran.append("rolled back"))
        raise ValueError("rolled back")

    await run(db, commits)
    with pytest.raises(ValueError, match="rolled back"):
        await run(db, rolls_back)
    async with db.autocommit():
        db.after_commit(lambda: ran.append("autocommit"))
    assert ran == ["committed", "autocommit"]
    with pytest.raises(RuntimeError, match="outside a transaction"):
        db.after_commit(lambda: ran.append("outside"))


async def test_lookups_and_single_writes_need_no_transaction(db: Database) -> None:
    async with db.autocommit():
        specialist = await SpecialistRepository(db).add(1001, "Sam", NOW)
    async with db.autocommit():
        found = await SpecialistRepository(db).by_user(1001)
    assert found == specialist


async def test_one_lookup_finds_a_specialist_a_client_and_their_specialist(db: Database) -> None:
    async with db.transaction():
        sam = await SpecialistRepository(db).add(1001, "Sam", NOW)
        alex = await ClientRepository(db).add(
            telegram_user_id=2002,
            alias="Alex",
            specialist_id=sam.id,
            language="en",
            timezone="UTC",
            consent_version=1,
            now=NOW,
        )
    async with db.autocommit():
        as_specialist = await PeopleRepository(db).lookup(1001)
        as_client = await PeopleRepository(db).lookup(2002)
        stranger = await PeopleRepository(db).lookup(3003)
    assert as_specialist == Found(sam, None, None)
    assert as_client == Found(None, alex, sam)
    assert stranger == Found(None, None, None)


async def test_m012_keeps_every_outbox_row_index_and_trigger(tmp_path: Path) -> None:
    # A database from before m012, with a relayed message waiting: the rebuilt outbox keeps
    # it, accepts 'held', and its sent copy still reaches the relay link (m008's trigger).
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as conn:
        for step in MIGRATIONS:
            if step is not m012_held_messages:
                await step(conn)
        await conn.execute(
            "INSERT INTO specialists (id, telegram_user_id, chat_id, display_name, created_at)"
            " VALUES (1, 1001, 1001, 'Sam', '2026-01-01')"
        )
        await conn.execute(
            "INSERT INTO relay_links (id, client_id, specialist_id, direction, dest_chat_id,"
            " created_at) VALUES (7, 1, 1, 'to_specialist', 1001, '2026-01-01')"
        )
        await conn.execute(
            "INSERT INTO outbox (id, chat_id, method, payload, priority, relay_link_id,"
            " not_before, created_at) VALUES (3, 1001, 'copy_message', '{}', 0, 7,"
            " '2026-01-01', '2026-01-01')"
        )
        before = await conn.execute_fetchall(
            "SELECT type, name FROM sqlite_master WHERE tbl_name = 'outbox' ORDER BY name"
        )
        await m012_held_messages(conn)
        after = await conn.execute_fetchall(
            "SELECT type, name FROM sqlite_master WHERE tbl_name = 'outbox' ORDER BY name"
        )
        assert set(before) | {("index", "outbox_held")} == set(after)
        await conn.execute("UPDATE outbox SET status = 'held' WHERE id = 3")
        await conn.execute("UPDATE outbox SET status = 'sent', sent_message_id = 55 WHERE id = 3")
        rows = await conn.execute_fetchall("SELECT dest_message_id FROM relay_links WHERE id = 7")
        assert [tuple(row) for row in rows] == [(55,)]


async def test_the_page_cache_holds_16_mb(db: Database) -> None:
    async with db.autocommit():
        row = await db.fetch_one("PRAGMA cache_size")
    assert row is not None and row[0] == -16 * 1024  # KiB; SQLite's default is 2 MB


async def test_write_steps_run_in_order_and_a_failure_undoes_the_batch(db: Database) -> None:
    insert = "INSERT INTO relay_threads (chat_id, source_key, last_at) VALUES (?, ?, ?)"
    async with db.transaction():
        await db.write_steps(
            [
                (insert, [(1, "a", "t"), (2, "b", "t")]),
                ("UPDATE relay_threads SET source_key = ? WHERE chat_id = ?", [("c", 2)]),
                ("DELETE FROM relay_threads WHERE chat_id = ?", []),  # nothing to run
                ("DELETE FROM relay_threads WHERE chat_id = ?", [(1,)]),
            ]
        )
    assert await scalar(db, "SELECT group_concat(chat_id || source_key) FROM relay_threads") == (
        "2c"
    )
    with pytest.raises(aiosqlite.IntegrityError):
        async with db.transaction():
            await db.write_steps([(insert, [(3, "d", "t")]), (insert, [(2, "again", "t")])])
    assert await scalar(db, "SELECT count(*) FROM relay_threads") == 1


@both_ways
async def test_a_block_that_goes_on_after_sqlite_ended_its_transaction_fails(
    db: Database, run: Run[None]
) -> None:
    """A block that caught the error of a statement SQLite answered by rolling back (a full
    disk) and went on is not reported as one committed transaction."""

    async def goes_on() -> None:
        await db.write("ROLLBACK")  # as SQLite does itself on a full disk

    with pytest.raises(sqlite3.OperationalError, match="rolled back by SQLite"):
        await run(db, goes_on)
    async with db.transaction():  # the next one is whole again
        await db.write(
            "INSERT INTO relay_threads (chat_id, source_key, last_at) VALUES (1, 'a', 't')"
        )
    assert await scalar(db, "SELECT count(*) FROM relay_threads") == 1


@both_ways
async def test_a_commit_sqlite_refuses_is_rolled_back_and_the_next_transaction_works(
    db: Database, run: Run[None]
) -> None:
    """SQLite may refuse a COMMIT and keep its transaction open (here a deferred foreign key
    left broken). Left open, every later BEGIN fails ("cannot start a transaction within a
    transaction"): the bot would write nothing more, a client's message included."""
    async with db.autocommit():
        await db.write("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        await db.write(
            "CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parents(id))"
        )

    async def refused_at_commit() -> None:
        await db.write("PRAGMA defer_foreign_keys = ON")
        await db.write("INSERT INTO children (id, parent) VALUES (1, 99)")

    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await run(db, refused_at_commit)
    async with db.transaction():
        await db.write(
            "INSERT INTO relay_threads (chat_id, source_key, last_at) VALUES (1, 'a', 't')"
        )
    assert await scalar(db, "SELECT count(*) FROM relay_threads") == 1
    assert await scalar(db, "SELECT count(*) FROM children") == 0


@both_ways
async def test_write_steps_stop_at_a_fault_that_ends_the_transaction(
    db: Database, run: Run[None]
) -> None:
    """A full disk ends SQLite's transaction: the steps after it must not run on their own,
    each committed by itself, while the batch is reported as failed and rolled back."""
    async with db.transaction():
        await db.write(
            "INSERT INTO relay_threads (chat_id, source_key, last_at) VALUES (1, 'a', 't')"
        )
    pages = await scalar(db, "PRAGMA page_count")
    async with db.autocommit():
        await db.write(f"PRAGMA max_page_count = {pages}")  # the disk is full from here

    async def batch() -> None:
        await db.write_steps(
            [
                # Needs new pages: fails, and SQLite rolls the transaction back.
                (
                    "INSERT INTO relay_threads (chat_id, source_key, last_at) VALUES (?, ?, 't')",
                    [(chat, "x" * 2000) for chat in range(2, 50)],
                ),
                # Fits in the page it changes.
                ("UPDATE relay_threads SET source_key = ? WHERE chat_id = ?", [("b", 1)]),
            ]
        )

    try:
        with pytest.raises(sqlite3.OperationalError, match="full"):
            await run(db, batch)
    finally:
        async with db.autocommit():
            await db.write("PRAGMA max_page_count = 1073741823")
    assert await scalar(db, "SELECT source_key FROM relay_threads") == "a"


async def test_an_aiosqlite_whose_internals_in_one_trip_cannot_use_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a later aiosqlite might: its own calls work, a function of ours is refused.
    own = aiosqlite.Connection._execute

    async def changed(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(getattr(fn, "__self__", None), Database):
            raise TypeError("_execute() takes 2 positional arguments but 3 were given")
        return await own(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", changed)
    with pytest.raises(StorageError) as refused:
        await Database.open(tmp_path / "bot.sqlite3")
    # One line, naming the library, at the start (not a relay failing after it).
    assert str(refused.value).startswith(f"aiosqlite {aiosqlite.__version__} lacks")
    assert "\n" not in str(refused.value)
