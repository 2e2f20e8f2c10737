"""`porchlight backup` or `restore` stopped by SIGTERM halfway (a cron job's `timeout`, a
systemd timer's service stopped at shutdown): the half-written copy does not stay behind.

Each writes its copy under a hidden name and renames it when done. SIGTERM ended the
process at once, and the partial copy, every client's data to that point, stayed for good:
`--keep` prunes only finished backups, so what clients had erased since lived on in it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.backup import backup as run_backup
from bot.restore import restore as run_restore
from tests.fakes.bot_api import FakeBotApi
from tests.faults.process import exit_code, output, prepare, said, start_bot

# Enough that the copy and its check take a moment (a second or so here).
PADDING_MB = 150


def _pad(database: Path) -> None:
    """Make the database large; a single file, as `porchlight backup` leaves one."""
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE padding (data BLOB)")
        conn.executemany("INSERT INTO padding VALUES (randomblob(1048576))", [()] * PADDING_MB)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


def _names(*folders: Path, pattern: str = "*") -> list[str]:
    """The names in the folders (hidden ones too) that match the pattern."""
    return sorted(path.name for folder in folders for path in folder.glob(pattern))


@pytest.mark.parametrize("command", ["backup", "restore"])
async def test_a_backup_or_restore_stopped_halfway_leaves_no_partial_copy(
    fake_api: FakeBotApi, tmp_path: Path, command: str
) -> None:
    database, log = tmp_path / "porchlight.sqlite3", tmp_path / "command.log"
    folder = tmp_path / "backups"
    folder.mkdir()
    await prepare(database)
    if command == "backup":
        _pad(database)
        argument, partial = f"{folder}/", ".*.partial"
    else:
        large = folder / "large.sqlite3"
        await prepare(large)
        _pad(large)
        argument, partial = str(large), ".*.restoring"
    before = _names(tmp_path, folder)
    process = await start_bot(fake_api, database, log, command, argument)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not _names(tmp_path, folder, pattern=partial):
        assert process.returncode is None, output(log)
        assert loop.time() < deadline, "no partial copy seen"
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    code = await exit_code(process, within=30)
    # (restore's lock file stays, as after any restore: it is empty)
    lock = [f"{database.name}.lock"] if command == "restore" else []
    assert _names(tmp_path, folder) == sorted([*before, log.name, *lock]), output(log)
    assert code == 1, output(log)
    assert said(log) == [f"The {command} was interrupted before it finished: run it again."]


@pytest.mark.parametrize("command", ["backup", "restore"])
async def test_a_sigterm_just_as_the_partial_copy_is_made_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The moment between making the hidden copy's file and knowing its name (what the test
    above hits now and then): stopped there, the file stayed, with no name to delete it by."""
    database, backup = tmp_path / "porchlight.sqlite3", tmp_path / "backup.sqlite3"
    await prepare(database)
    await prepare(backup)
    make = tempfile.mkstemp

    def made_then_stopped(**where: str) -> tuple[int, str]:
        made = make(**where)
        os.kill(os.getpid(), signal.SIGTERM)
        return made

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tempfile, "mkstemp", made_then_stopped)
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            if command == "backup":
                run_backup(database, tmp_path / "copy.sqlite3", now=datetime.now(UTC))
            else:
                run_restore(database, backup, now=datetime.now(UTC))
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert _names(tmp_path, pattern=".*") == []  # no hidden copy left
