"""`python -m bot backup <path>`: a consistent copy of the database, while the bot runs.

SQLite's online backup API copies every page inside one read transaction, so the copy is
the database as it was at one moment, whatever the bot writes meanwhile (in WAL mode a
reader and a writer do not wait for each other). The copy is written next to its final
name, checked, and only then renamed into place: a half-written backup never carries the
name of a good one. It is readable by its owner only, like the database.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 10


class BackupError(Exception):
    """A backup that cannot be made; the message is one line a person can act on."""


def backup(database: Path, target: Path, *, now: datetime, force: bool = False) -> Path:
    """Copy the database to target (a file, or a folder to put a dated file in); return it."""
    if not database.is_file():
        raise BackupError(
            f"There is no database at {database} (DATABASE_PATH): nothing to back up."
        )
    if target.is_dir():
        target = target / f"porchlight-{now:%Y%m%d-%H%M%S}.sqlite3"
    if target.exists() and target.resolve() == database.resolve():
        raise BackupError(f"{target} is the database itself; choose another path for the backup.")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; add --force to replace it.")
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(f"Cannot write the backup: the folder {folder} does not exist.")
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".partial")
    except OSError as error:
        raise BackupError(f"Cannot write the backup in {folder}: {error.strerror}.") from None
    os.close(handle)  # mkstemp made it 0600: the copy is private from its first byte
    partial = Path(name)
    try:
        _copy(database, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _copy(database: Path, partial: Path) -> None:
    """Copy in one step (one snapshot), make the copy a single self-contained file, check it."""
    try:
        # mode=rw: never create a database where there was none.
        source = sqlite3.connect(
            f"{database.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_SECONDS
        )
    except sqlite3.Error as error:
        raise BackupError(f"Cannot open the database {database}: {error}.") from None
    try:
        with contextlib.closing(sqlite3.connect(partial)) as copy:
            source.backup(copy)
            # The copy needs no -wal or -shm file beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
            (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"The copy failed its check ({verdict}); nothing was written.")
        with partial.open("rb") as written:
            os.fsync(written.fileno())
    except sqlite3.DatabaseError as error:
        raise BackupError(f"Cannot back up {database}: {error}.") from None
    finally:
        source.close()
