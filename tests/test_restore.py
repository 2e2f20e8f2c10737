"""restore() when the copy fails half-way: the database stays where the bot looks for it."""

from __future__ import annotations

import errno
import shutil
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
