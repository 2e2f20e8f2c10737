"""`python -m bot restore <file>`: put a backup in place of the database, the bot stopped.

A running bot holds an exclusive lock on `<database>.lock` for as long as it runs
(`hold_run_lock`); restore takes the same lock, so it refuses while the bot runs, and a
bot cannot start halfway through a restore. The backup must be a Porchlight database this
code can migrate (every migration it records is one this code knows). The current
database is kept aside under a dated name, its -wal and -shm folded into it first, and
the backup is first copied whole next to the database, then renamed into place: a copy
that fails leaves the database as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from bot.storage.db import check_place
from bot.storage.migrations import MIGRATIONS


class RestoreError(Exception):
    """A restore that cannot be done; the message is one line a person can act on."""


class BotRunning(RestoreError):
    """The bot holds the database."""


def lock_path(database: Path) -> Path:
    """The file a running bot keeps locked: beside the database file itself, so that a
    second bot reaching it through a link (or the link through the file) finds the lock."""
    resolved = database.resolve()
    return resolved.with_name(resolved.name + ".lock")


@contextlib.contextmanager
def hold_run_lock(database: Path) -> Iterator[None]:
    """Hold the database's lock while the bot runs; BotRunning if another process has it.

    A path that cannot hold a database is the same StorageError as at its opening."""
    check_place(database)
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise RestoreError(
            f"Cannot use the database {database} (DATABASE_PATH): {error.strerror}."
        ) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BotRunning(
                f"A Porchlight bot is running on {database}: stop it first."
            ) from None
        yield
    finally:
        os.close(descriptor)  # closing it releases the lock


def restore(database: Path, backup: Path, *, now: datetime) -> Path | None:
    """Put backup in place of the database; return where the old one was kept, if any."""
    if database.exists() and backup.exists() and backup.resolve() == database.resolve():
        raise RestoreError(f"{backup} is the database itself: give the backup to restore.")
    _check_backup(backup)
    # A link (DATABASE_PATH leading onto a volume) stays a link: what is replaced, and kept
    # aside, is the file it leads to, where the bot's next start finds it.
    with hold_run_lock(database):
        place = database.resolve()
        # The copy first: a copy that fails (a full disk) leaves the database in place.
        partial = _copied_beside(place, backup)
        try:
            if place.exists():
                _fold(place)
            # Between moving the database aside and renaming the copy into place there is
            # no database where the bot looks: a Ctrl-C or SIGTERM then waits, and once both
            # are done it is too late to stop the restore, which ends as restored.
            with signals_held():
                kept = _keep_aside(place, now) if place.exists() else None
                os.replace(partial, place)
        finally:
            partial.unlink(missing_ok=True)
        return kept


def _copied_beside(database: Path, backup: Path) -> Path:
    """A whole, synced copy of backup in the database's folder."""
    with signals_held() as came:  # until there is a name to delete the copy by
        try:
            handle, name = tempfile.mkstemp(
                dir=database.parent, prefix=f".{database.name}.", suffix=".restoring"
            )
        except OSError as error:
            raise RestoreError(f"Cannot write beside {database}: {error.strerror}.") from None
        os.close(handle)  # 0600 from the start, like the database
        partial = Path(name)
    try:
        for number in came:
            signal.raise_signal(number)  # as it would have been, now that it can be undone
        shutil.copyfile(backup, partial)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise RestoreError(
            f"Cannot copy {backup} beside {database}: {error.strerror}; nothing was changed."
        ) from None
    except BaseException:  # interrupted (SIGTERM): no copy of the backup left behind
        partial.unlink(missing_ok=True)
        raise
    return partial


def _check_backup(backup: Path) -> None:
    """A readable, sound Porchlight database whose migrations this code all knows."""
    if not backup.is_file():
        raise RestoreError(f"There is no file {backup} to restore.")
    known = {step.__name__ for step in MIGRATIONS}
    try:
        with contextlib.closing(
            sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
        ) as copy:
            (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
            recorded = {row[0] for row in copy.execute("SELECT name FROM schema_migrations")}
    except sqlite3.Error:
        raise RestoreError(f"{backup} is not a Porchlight database.") from None
    if verdict != "ok":
        raise RestoreError(f"{backup} is damaged ({verdict}); it was not restored.")
    if MIGRATIONS[0].__name__ not in recorded:
        raise RestoreError(f"{backup} is not a Porchlight database.")
    if newer := sorted(recorded - known):
        raise RestoreError(
            f"{backup} comes from a newer Porchlight (it has {newer[-1]}): upgrade first."
        )


def _fold(database: Path) -> None:
    """Fold the -wal into the database (a long log takes a while: Ctrl-C may stop it)."""
    # A damaged database is what a restore is for: then it is kept aside as it is.
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")


def _keep_aside(database: Path, now: datetime) -> Path:
    """Move the database (its -wal and -shm, if any are left) to a dated name beside it."""
    kept = database.with_name(f"{database.name}.before-restore-{now:%Y%m%d-%H%M%S}")
    os.replace(database, kept)
    for leftover in ("-wal", "-shm"):
        stale = database.with_name(database.name + leftover)
        if stale.exists():
            os.replace(stale, kept.with_name(kept.name + leftover))
    return kept


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM (the command line makes it Ctrl-C) wait until the block has ended:
    it gives the list of those that came, for the caller to act on once it can. (Their
    handlers run in the main thread only: elsewhere nothing needs holding.)"""
    came: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    # A handler set outside Python (getsignal None) could not be put back: left be.
    if threading.current_thread() is not threading.main_thread() or any(
        signal.getsignal(number) is None for number in held
    ):
        yield came
        return
    before = [signal.signal(number, lambda number, _: came.append(number)) for number in held]
    try:
        yield came
    finally:
        for number, handler in zip(held, before, strict=True):
            signal.signal(number, handler)
