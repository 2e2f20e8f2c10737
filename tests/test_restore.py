"""restore() when the copy fails half-way: the database stays where the bot looks for it."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.restore import RestoreError, restore
from bot.storage.migrations import MIGRATIONS

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def _database(path: Path, marker: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        conn.execute("INSERT INTO schema_migrations VALUES (?, '')", [MIGRATIONS[0].__name__])
        conn.execute("CREATE TABLE marker (what TEXT)")
        conn.execute("INSERT INTO marker VALUES (?)", [marker])
    conn.close()


def test_a_full_disk_leaves_the_database_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database, backup = tmp_path / "p.sqlite3", tmp_path / "b.sqlite3"
    _database(database, "current")
    _database(backup, "backup")

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full)
    with pytest.raises(RestoreError, match="No space left on device"):
        restore(database, backup, now=NOW)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT what FROM marker").fetchall() == [("current",)]
    conn.close()
    assert list(tmp_path.glob("*before-restore*")) == []
    assert list(tmp_path.glob("*.restoring")) == []


def test_a_database_reached_through_a_link_is_restored_where_the_link_leads(
    tmp_path: Path,
) -> None:
    """DATABASE_PATH a link to the file on a volume: the backup goes onto the volume, the
    link stays a link, and the replaced database is kept beside it there. (Replacing the
    link itself put the restored database beside the link, off the volume, while the next
    start through a remade link found the old one again.)"""
    volume, app = tmp_path / "volume", tmp_path / "app"
    volume.mkdir()
    app.mkdir()
    real, link, backup = volume / "p.sqlite3", app / "p.sqlite3", tmp_path / "b.sqlite3"
    _database(real, "current")
    _database(backup, "backup")
    link.symlink_to(real)
    kept = restore(link, backup, now=NOW)
    assert link.is_symlink() and link.resolve() == real
    with sqlite3.connect(real) as conn:
        assert conn.execute("SELECT what FROM marker").fetchall() == [("backup",)]
    conn.close()
    assert kept is not None and kept.parent == volume and not kept.is_symlink()
    with sqlite3.connect(kept) as conn:
        assert conn.execute("SELECT what FROM marker").fetchall() == [("current",)]
    conn.close()
    assert sorted(path.name for path in app.iterdir()) == ["p.sqlite3"]


def test_a_sigterm_as_the_database_is_moved_aside_leaves_the_backup_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM (a `timeout` around the command) is Ctrl-C for restore. Arriving between
    moving the database aside and renaming the backup into place, it deleted the copy and
    left no database at all where the bot looks: the next start made an empty one, and the
    person was told to run the restore again. Past that point the restore finishes."""
    database, backup = tmp_path / "p.sqlite3", tmp_path / "b.sqlite3"
    _database(database, "current")
    _database(backup, "backup")
    replace = os.replace

    def moved_then_stopped(source: object, target: object) -> None:
        replace(source, target)  # type: ignore[arg-type]
        if source == database:
            os.kill(os.getpid(), signal.SIGTERM)

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", moved_then_stopped)
    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        kept = restore(database, backup, now=NOW)
    except KeyboardInterrupt:  # `restore` then says: interrupted, run it again
        kept = None
    finally:
        signal.signal(signal.SIGTERM, before)
    assert database.exists(), sorted(path.name for path in tmp_path.iterdir())
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT what FROM marker").fetchall() == [("backup",)]
    conn.close()
    assert kept is not None
    with sqlite3.connect(kept) as conn:
        assert conn.execute("SELECT what FROM marker").fetchall() == [("current",)]
    conn.close()
