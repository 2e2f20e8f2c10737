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
import re
import signal
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path

from bot.restore import signals_held
from bot.storage.db import connect_existing

BUSY_TIMEOUT_SECONDS = 10


class BackupError(Exception):
    """A backup that cannot be made; the message is one line a person can act on."""


# A dated backup in a folder: porchlight-20260102-030405.sqlite3 (sorted by name, by age).
DATED_PREFIX, DATED_SUFFIX = "porchlight-", ".sqlite3"
_DATED = re.compile(r"porchlight-\d{8}-\d{6}\.sqlite3")


def backup(database: Path, target: str | Path, *, now: datetime, force: bool = False) -> Path:
    """Copy the database to target; return the file written.

    A target that is a folder, or ends in "/" (the folder made, 0700, if missing), gets a
    dated file inside.
    """
    if not database.is_file():
        raise BackupError(
            f"There is no database at {database} (DATABASE_PATH): nothing to back up."
        )
    written_as_folder = str(target).endswith(("/", os.sep))
    target = Path(target)
    if written_as_folder or target.is_dir():
        try:
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise BackupError(
                f"Cannot make the backup folder {target}: {error.strerror}."
            ) from None
        target = target / f"{DATED_PREFIX}{now:%Y%m%d-%H%M%S}{DATED_SUFFIX}"
    if target.exists() and target.resolve() == database.resolve():
        raise BackupError(f"{target} is the database itself; choose another path for the backup.")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; add --force to replace it.")
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(f"Cannot write the backup: the folder {folder} does not exist.")
    with signals_held() as came:  # until there is a name to delete the copy by
        try:
            handle, name = tempfile.mkstemp(
                dir=folder, prefix=f".{target.name}.", suffix=".partial"
            )
        except OSError as error:
            raise BackupError(f"Cannot write the backup in {folder}: {error.strerror}.") from None
        os.close(handle)  # mkstemp made it 0600: the copy is private from its first byte
        partial = Path(name)
    try:
        for number in came:
            signal.raise_signal(number)  # as it would have been, now that it can be undone
        _copy(database, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _copy(database: Path, partial: Path) -> None:
    """Copy in one step (one snapshot), make the copy a single self-contained file, check it."""
    try:
        # Never creates a database where there was none.
        source = connect_existing(database, BUSY_TIMEOUT_SECONDS)
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


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` dated backups in folder; return those deleted."""
    dated = sorted(path for path in folder.iterdir() if _DATED.fullmatch(path.name))
    old = dated[: max(0, len(dated) - keep)]
    for path in old:
        path.unlink(missing_ok=True)
    return old
