"""One long-lived aiosqlite connection, WAL, foreign keys, and explicit transactions.

All access goes through `transaction()`: an asyncio lock makes sure two coroutines
never interleave statements on the shared connection, and `conn` refuses to be used
outside it, so a forgotten transaction fails loudly in tests instead of racing.

`in_one_trip()` runs a whole transaction on aiosqlite's thread at once: the same
repositories, whose statements then run there directly instead of each being a trip from
the event loop to that thread and back (a relay's ~12 statements: ~60-90 us each).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.storage.migrations import MIGRATIONS, migrate

BUSY_TIMEOUT_MS = 5000
PAGE_CACHE_KIB = 16 * 1024

Params = Sequence[object]
# One statement and the parameters to run it with, once per set (Database.write_steps).
Step = tuple[str, Sequence[Params]]
T = TypeVar("T")


def to_db(moment: datetime) -> str:
    """Store a moment as fixed-width UTC ISO text, which sorts like time."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached storage")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def batch_to_db() -> Callable[[datetime | None], str | None]:
    """to_db (None for None) that writes each moment out once, for a batch whose moments
    repeat (a storm shares a few). Only UTC moments are remembered: two wall times of a
    DST fold in one zone are equal datetimes to Python, and hash alike, an hour apart."""
    known: dict[datetime, str] = {}

    def text(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        if moment.tzinfo is not UTC:
            return to_db(moment)
        found = known.get(moment)
        if found is None:
            found = known[moment] = to_db(moment)
        return found

    return text


def from_db(text: str) -> datetime:
    """Read a moment written by to_db."""
    return datetime.fromisoformat(text)


def maybe_from_db(text: str | None) -> datetime | None:
    """Read an optional moment."""
    return None if text is None else from_db(text)


def _casefold(text: str | None) -> str | None:
    """SQL `casefold(x)`: SQLite's NOCASE folds ASCII letters only, so "Ángel" and
    "ángel" would be two aliases; Python's casefold treats every script alike."""
    return None if text is None else text.casefold()


class StorageError(Exception):
    """A database that cannot be used; the message is one line naming the file and why."""


def is_storage_fault(error: BaseException) -> bool:
    """True for what SQLite raises when the database itself fails (locked, disk full, not a
    database, corrupt, gone), as opposed to a statement the code got wrong."""
    return isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError


def fault_text(error: BaseException) -> str:
    """SQLite's own words for a fault ("database is locked"): they never quote data."""
    return str(error) or type(error).__name__


def unusable(path: Path, problem: str) -> StorageError:
    """The one line for a database that cannot be used."""
    return StorageError(f"Cannot use the database {path} (DATABASE_PATH): {problem}.")


def _create_private(path: Path) -> bool:
    """Create the folder and an empty database file readable by its owner only; return True
    if the file did not exist before."""
    check_place(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists() or path.stat().st_size == 0
        if created:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
    except OSError as error:
        raise unusable(path, (error.strerror or type(error).__name__).lower()) from None
    return created


def check_place(path: Path) -> Path:
    """Refuse a path that is a folder, lies under a file, or is a symbolic link that leads
    nowhere (an unmounted volume: a new database there would be the wrong one); return its
    nearest folder."""
    if path.is_dir():
        raise unusable(path, "it is a folder, not a file")
    if os.path.lexists(path) and not path.exists():
        raise unusable(path, "it is a symbolic link that leads nowhere")
    folder = next(parent for parent in path.parents if parent.exists())
    if not folder.is_dir():
        raise unusable(path, f"{folder} is not a folder")
    return folder


def _refuse_foreign(path: Path, tables: set[str]) -> None:
    """Another program's database (a wrong DATABASE_PATH) is never migrated into."""
    if tables and "schema_migrations" not in tables:
        raise unusable(path, "it is an SQLite database, but not Porchlight's")


def _refuse_newer(path: Path, recorded: Iterable[str]) -> None:
    """A database a newer Porchlight migrated (the bot rolled back) is never used: this code
    does not know its tables, and migrations only go forward."""
    unknown = sorted(set(recorded) - {step.__name__ for step in MIGRATIONS})
    if unknown:
        names = ", ".join(unknown)
        raise unusable(path, f"a newer version of Porchlight made it ({names}): upgrade the bot")


def connect_existing(
    path: Path, busy_timeout_seconds: float = BUSY_TIMEOUT_MS / 1000
) -> sqlite3.Connection:
    """A plain connection from another command to the database at path, as it is: mode=rw
    never creates one, and opening runs no migration (`check` changes nothing)."""
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=busy_timeout_seconds
    )


def inspect_database(path: Path, busy_timeout_seconds: float = BUSY_TIMEOUT_MS / 1000) -> str:
    """What `check` says about the database at path, changing nothing (not even creating
    it); a StorageError naming the problem if the bot could not use it."""
    folder = check_place(path)
    if not path.exists():
        if not os.access(folder, os.W_OK | os.X_OK):
            raise unusable(path, f"it does not exist and {folder} is not writable")
        return f"{path} does not exist yet: `run` will create it (a new, empty database)."
    try:
        # BEGIN IMMEDIATE asks for the write lock the bot needs.
        connection = connect_existing(path, busy_timeout_seconds)
        try:
            connection.execute("BEGIN IMMEDIATE")
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            recorded = (
                [row[0] for row in connection.execute("SELECT name FROM schema_migrations")]
                if "schema_migrations" in tables
                else []
            )
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise unusable(path, fault_text(error)) from None
    _refuse_foreign(path, tables)
    _refuse_newer(path, recorded)
    return f"{path} is a Porchlight database, readable and writable."


def _identity(path: Path) -> tuple[int, int]:
    """Which file the path names (device and inode)."""
    found = os.stat(path)
    return found.st_dev, found.st_ino


# The files SQLite keeps beside a database in WAL mode while it is open. The bot writes on
# into one deleted under it, and the next other process on the database makes a new one:
# with the -wal, the database file ended malformed; with the -shm, that process's writes
# were lost (tests/faults/test_beside.py).
BESIDE = {"-wal": "write-ahead log", "-shm": "shared-memory index"}


def _beside(path: Path) -> dict[Path, tuple[int, int]]:
    """The -wal and -shm of the open database at path (where SQLite puts them: beside the
    file a link leads to), and which files they are."""
    found = {}
    for suffix in BESIDE:
        beside = path.resolve().with_name(path.resolve().name + suffix)
        with contextlib.suppress(FileNotFoundError):
            found[beside] = _identity(beside)
    return found


class TurnLock:
    """An asyncio lock where a person waiting goes before background work.

    Background work (check-ins being sent, the tick) waits behind every other waiter;
    within each kind, first come, first served. On release the lock passes straight
    to the next waiter, so a newcomer never slips in ahead of the queue. In a storm of
    check-ins, dozens of their short writes queue for the connection at any moment:
    a relay waited behind all of them (p99 5 ms per acquisition), now behind one.
    """

    def __init__(self) -> None:
        self._locked = False
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {False: deque(), True: deque()}

    async def acquire(self, *, background: bool = False) -> None:
        """Wait for the lock (behind every other waiter if `background`)."""
        if not self._locked:
            self._locked = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[background].append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the lock as this task was cancelled: pass it on
            raise

    def release(self) -> None:
        """Hand the lock to the next waiter, or leave it free."""
        for background in (False, True):
            waiting = self._waiting[background]
            while waiting:
                turn = waiting.popleft()
                if not turn.done():  # a cancelled waiter's turn is skipped
                    turn.set_result(None)
                    return
        self._locked = False


class Database:
    """The store: the only truth about specialists, clients, routing and the outbox."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._lock = TurnLock()
        self._holder: asyncio.Task[object] | None = None
        self._after_commit: list[Callable[[], None]] = []
        self.path: Path | None = None
        self.created = False  # a new, empty database was made where settings said
        self._identity: tuple[int, int] | None = None
        # The -wal and -shm beside the file, as they were once it was open (see moved()).
        self._beside: dict[Path, tuple[int, int]] = {}
        # Since when (monotonic seconds) the database has failed with no write since.
        self._failing_since: float | None = None
        self._fault = ""
        # Since when (monotonic seconds) the current holder has had the connection.
        self._held_since: float | None = None
        # What a write waits for another process's lock (DATABASE_BUSY_TIMEOUT_SECONDS).
        self.busy_timeout_ms = BUSY_TIMEOUT_MS
        # The thread running a whole transaction (in_one_trip), while it does.
        self._whole_on: int | None = None

    @classmethod
    async def open(
        cls, path: Path, *, busy_timeout_seconds: float = BUSY_TIMEOUT_MS / 1000
    ) -> Database:
        """Open (creating if needed) and migrate the database at path.

        A database that cannot be used (a folder, a locked, unreadable or corrupt file, not
        a database at all) is a StorageError naming the file and the problem.
        """
        created = _create_private(path)
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise unusable(path, fault_text(error)) from None
        try:
            database = await cls._set_up(connection)
            found = await connection.execute_fetchall("SELECT name FROM sqlite_master")
            tables = {row[0] for row in found}
            _refuse_foreign(path, tables)
            if "schema_migrations" in tables:
                recorded = await connection.execute_fetchall("SELECT name FROM schema_migrations")
                _refuse_newer(path, (row[0] for row in recorded))
            database.busy_timeout_ms = round(busy_timeout_seconds * 1000)
            await connection.execute(f"PRAGMA busy_timeout={database.busy_timeout_ms}")
            async with database.transaction() as conn:
                await migrate(conn)
            # SQLite's default page cache is 2 MB: with a year of history (5 GB at 100,000
            # clients) every statement read the index pages it needs from the file again;
            # with 16 MB an ordinary tick at 1,000,000 clients took 2.8 ms, not 6 (bench_aged).
            await connection.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            await database._check_one_trip()
            database.path, database.created = path, created
            database._identity = _identity(path)
            database._beside = _beside(path)
        except BaseException as error:
            await connection.close()
            if isinstance(error, StorageError):
                raise
            if is_storage_fault(error) or isinstance(error, OSError):
                raise unusable(path, fault_text(error)) from None
            raise
        return database

    @classmethod
    async def _set_up(cls, connection: aiosqlite.Connection) -> Database:
        """WAL, foreign keys, how long to wait for a lock, casefold: before migrations."""
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA foreign_keys=ON")
        await connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await connection.execute("PRAGMA synchronous=NORMAL")
        # What is deleted or overwritten is zeroed on the page, not left in free space for a
        # copy of the file to show (bot/storage/checkpoint.py empties the log).
        await connection.execute("PRAGMA secure_delete=ON")
        await connection.create_function("casefold", 1, _casefold, deterministic=True)
        return cls(connection)

    def failing(self) -> tuple[float, str] | None:
        """How many seconds the database has failed with no successful write since, and
        SQLite's words for the last fault; None while it works."""
        if self._failing_since is None:
            return None
        return time.monotonic() - self._failing_since, self._fault

    def held_for(self) -> float | None:
        """How many seconds the current holder has had the connection (a call waiting on a
        lock past a long busy timeout, or a hung file system, fails nothing); None if free."""
        if self._held_since is None:
            return None
        return time.monotonic() - self._held_since

    def moved(self) -> str | None:
        """What happened to the file at the path, if it is no longer the one open here (a
        deleted database would take every write with it); None while all is well."""
        if self.path is None or self._identity is None:
            return None
        try:
            found = _identity(self.path)
        except FileNotFoundError:
            return "the file was deleted"
        except OSError as error:
            return f"the file can no longer be found ({error.strerror})"
        if found != self._identity:
            return "the file was replaced by another one"
        for beside, identity in self._beside.items():
            what = f"its {BESIDE[beside.name[-4:]]} {beside.name}"
            try:
                if _identity(beside) != identity:
                    return f"{what} was replaced by another one"
            except FileNotFoundError:
                return f"{what} was deleted"
            except OSError as error:
                return f"{what} can no longer be found ({error.strerror})"
        return None

    async def close(self) -> None:
        """Close the connection."""
        await self._connection.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        """The connection, for the task that holds the current transaction only."""
        if self._whole() is not None:
            # Awaiting aiosqlite from its own thread would queue the statement behind the
            # transaction running there, to run after it, outside it.
            raise RuntimeError("the aiosqlite connection used in a transaction run in one trip")
        self._check_holder()
        return self._connection

    def _check_holder(self) -> None:
        if self._whole() is not None:
            return
        if self._holder is None or self._holder is not asyncio.current_task():
            raise RuntimeError("database used outside a transaction")

    def _whole(self) -> sqlite3.Connection | None:
        """The sqlite3 connection, when called from a transaction running whole on the
        database thread (in_one_trip); None anywhere else."""
        if self._whole_on is None or self._whole_on != threading.get_ident():
            return None
        return self._connection._conn

    async def fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """The first row of a query, in one trip to the database thread."""
        # Every row fetched, as aiosqlite does: the statement ends here, even one that
        # returns more (an UPDATE ... RETURNING), before anything else runs.
        if (whole := self._whole()) is not None:
            rows: Iterable[aiosqlite.Row] = whole.execute(sql, params).fetchall()
        else:
            rows = await self.conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """Every row of a query, in one trip to the database thread."""
        if (whole := self._whole()) is not None:
            return whole.execute(sql, params).fetchall()
        return list(await self.conn.execute_fetchall(sql, params))

    async def write(self, sql: str, params: Params = ()) -> int:
        """Run one statement; how many rows it changed."""
        if (whole := self._whole()) is not None:
            return whole.execute(sql, params).rowcount
        cursor = await self.conn.execute(sql, params)
        return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int | None:
        """Run one INSERT; the new row's id, or None if it inserted nothing (OR IGNORE)."""
        if (whole := self._whole()) is not None:
            done = whole.execute(sql, params)
            return done.lastrowid if done.rowcount == 1 else None
        cursor = await self.conn.execute(sql, params)
        return cursor.lastrowid if cursor.rowcount == 1 else None

    async def write_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for each set of parameters."""
        if (whole := self._whole()) is not None:
            whole.executemany(sql, rows)
            return
        await self.conn.executemany(sql, rows)

    async def bring_forward(
        self, table: str, column: str, step: timedelta, now: datetime, where: str = ""
    ) -> int:
        """The clock went back by `step`: each moment in `column` still ahead (rows also
        matching `where`) moves back by the step, not before now, so that it comes as long
        after it was written as it was meant to. One trip for the reading and one for the
        writing: after a storm the outbox holds tens of thousands (21,000 pending: 0.2 s in
        one transaction, where a statement each held the database for 3.2 s)."""
        rows = await self.fetch_all(
            f"SELECT id, {column} FROM {table} WHERE {column} > ?{where}", (to_db(now),)
        )
        await self.write_many(
            f"UPDATE {table} SET {column} = ? WHERE id = ?",
            [(to_db(max(now, from_db(moment) - step)), row_id) for row_id, moment in rows],
        )
        return len(rows)

    async def write_steps(self, steps: Iterable[Step]) -> None:
        """Run each statement once per set of its parameters (none for an empty list), in
        order, stopping at the first that fails.

        One after another, never handed over at once: a fault such as a full disk ends
        SQLite's transaction, and the statements already queued behind it would then each
        commit on their own (check-ins queued for clients whose schedule stays unadvanced)."""
        for sql, rows in steps:
            if rows:
                await self.write_many(sql, rows)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run action once what the current block wrote is committed (never on rollback)."""
        self._check_holder()
        self._after_commit.append(action)

    def _committed(self) -> None:
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            action()

    @asynccontextmanager
    async def _held(self, background: bool) -> AsyncIterator[None]:
        """The lock, held by this task for the block."""
        await self._lock.acquire(background=background)
        self._holder = asyncio.current_task()
        self._held_since = time.monotonic()
        changes = self._connection.total_changes
        try:
            yield
        except BaseException as error:
            if is_storage_fault(error):
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                self._fault = fault_text(error)
            raise
        else:
            # Only a write that went through shows the database works again: reads may
            # succeed while every write fails (a full disk).
            if self._connection.total_changes > changes:
                self._failing_since = None
        finally:
            self._holder = None
            self._held_since = None
            self._lock.release()

    @asynccontextmanager
    async def autocommit(self, *, background: bool = False) -> AsyncIterator[None]:
        """Hold the connection without a transaction: each statement commits on its own.

        For lookups and single-statement writes, which SQLite already runs atomically:
        BEGIN and COMMIT would be two more trips to the database thread for nothing.
        The lock still keeps this process's other tasks out in between. `background`
        work waits behind everyone else's (see TurnLock).
        """
        async with self._held(background):
            try:
                yield
            finally:
                # Whatever ran before an error is committed all the same.
                self._committed()

    @asynccontextmanager
    async def transaction(
        self, *, background: bool = False
    ) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block in one IMMEDIATE transaction; roll back on any error."""
        async with self._held(background):
            try:
                await self._connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self._connection
                    if not self._connection.in_transaction:
                        # SQLite ended it itself (a full disk, an I/O error) and the block
                        # went on: what ran after is not part of it. Say so, not commit.
                        raise sqlite3.OperationalError(
                            "the transaction was rolled back by SQLite before its end"
                        )
                    await self._connection.commit()
                except BaseException:
                    # A COMMIT SQLite refused (a deferred constraint) leaves its transaction
                    # open, and every later BEGIN would fail: it is rolled back like the rest.
                    await self._connection.rollback()
                    raise
            except BaseException:
                self._after_commit.clear()
                raise
        self._committed()

    async def in_one_trip(
        self, block: Callable[[], Coroutine[Any, Any, T]], *, background: bool = False
    ) -> T:
        """`transaction()` for a block whose every wait is for this database: the block runs
        whole on the database thread, its statements there directly, in one trip from the
        event loop instead of one per statement. Same lock, same IMMEDIATE transaction,
        rolled back whole on any error; what the block registers with `after_commit` runs on
        the event loop once it is committed.

        A block that waits for anything else (a sleep, another task) is a fault of the code:
        it is rolled back and a RuntimeError says so.
        """
        async with self._held(background):
            # aiosqlite has no public call for "run this function on your thread"; _execute
            # (and _conn, the sqlite3 connection) are what its own methods use (0.22).
            run: Coroutine[Any, Any, T] = self._connection._execute(  # type: ignore[no-untyped-call]
                self._run_whole, block
            )
            trip = asyncio.ensure_future(run)
            try:
                # The thread runs the block to its end whatever happens here: a cancelled
                # caller still waits for it, so that the lock is never free while it runs.
                result = await asyncio.shield(trip)
            except asyncio.CancelledError:
                while not trip.done():
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait([trip])
                if trip.exception() is None:
                    self._committed()  # committed as the caller was cancelled: it stands
                else:
                    self._after_commit.clear()
                raise
            except BaseException:
                self._after_commit.clear()
                raise
        self._committed()
        return result

    async def _check_one_trip(self) -> None:
        """At the start, not at the first relay: in_one_trip uses aiosqlite's private parts
        (checked against 0.20-0.22), which another version may have changed."""
        try:
            found = await self.in_one_trip(lambda: self.fetch_one("SELECT 42"))
            problem = None if found is not None and tuple(found) == (42,) else repr(found)
        except (AttributeError, TypeError, RuntimeError) as error:
            problem = f"{type(error).__name__}: {error}"
        if problem is not None:
            raise StorageError(
                f"aiosqlite {aiosqlite.__version__} lacks what Database.in_one_trip uses"
                f" (Connection._execute and _conn, as in 0.20-0.22): {problem}."
            )

    def _run_whole(self, block: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """On the database thread: BEGIN IMMEDIATE, the block, COMMIT (ROLLBACK on error)."""
        connection = self._connection._conn
        self._whole_on = threading.get_ident()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = _at_once(block())
                if not connection.in_transaction:
                    # As in transaction(): SQLite ended it itself and the block went on.
                    raise sqlite3.OperationalError(
                        "the transaction was rolled back by SQLite before its end"
                    )
                connection.commit()
            except BaseException:
                connection.rollback()  # a refused COMMIT too, as in transaction()
                raise
            return result
        finally:
            self._whole_on = None


def _at_once(block: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never waits for anything to its end, here and now."""
    try:
        waited = block.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    block.close()
    raise RuntimeError(
        f"a transaction run in one trip waited for something other than the database: {waited!r}"
    )
