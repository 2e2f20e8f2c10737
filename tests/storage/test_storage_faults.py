"""How the database tells the storage watch that it fails, or that its file is gone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.storage.db import Database, StorageError


async def test_a_failure_counts_until_a_write_goes_through(tmp_path: Path) -> None:
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path, busy_timeout_seconds=0.05)
    try:
        assert db.failing() is None
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError):
            async with db.autocommit():
                await db.write("DELETE FROM inbox")
        failing = db.failing()
        assert failing is not None and failing[1] == "database is locked"
        # A read goes through (WAL), but says nothing about writes: still failing.
        async with db.autocommit():
            await db.fetch_all("SELECT * FROM inbox")
        assert db.failing() is not None
        other.execute("ROLLBACK")
        other.close()
        async with db.autocommit():
            await db.write("INSERT INTO schema_migrations (name) VALUES ('probe')")
        assert db.failing() is None
    finally:
        await db.close()


async def test_a_transaction_in_one_trip_waits_for_a_lock_and_counts_as_a_failure(
    tmp_path: Path,
) -> None:
    """Run whole on the database thread, a transaction still meets another process's lock
    after the busy timeout, and the storage watch hears of it as of any other."""
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path, busy_timeout_seconds=0.05)

    async def probe() -> None:
        await db.write("INSERT INTO schema_migrations (name) VALUES ('probe')")

    try:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            await db.in_one_trip(probe)
        failing = db.failing()
        assert failing is not None and failing[1] == "database is locked"
        other.execute("ROLLBACK")
        other.close()
        await db.in_one_trip(probe)
        assert db.failing() is None
        async with db.autocommit():
            rows = await db.fetch_all("SELECT name FROM schema_migrations WHERE name = 'probe'")
        assert len(rows) == 1
    finally:
        await db.close()


async def test_the_file_deleted_or_replaced_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path)
    try:
        assert db.moved() is None
        path.rename(tmp_path / "aside.sqlite3")
        assert db.moved() == "the file was deleted"
        path.write_bytes(b"")
        assert db.moved() == "the file was replaced by another one"
    finally:
        await db.close()


async def test_a_database_of_a_newer_version_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "porchlight.sqlite3"
    db = await Database.open(path)
    async with db.autocommit():
        await db.write("INSERT INTO schema_migrations (name) VALUES ('m999_from_the_future')")
    await db.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="a newer version of Porchlight made it"):
        await Database.open(path)
    assert path.read_bytes() == before
