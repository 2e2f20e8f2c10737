"""`python -m bot backup`: a consistent, private copy while the bot writes, and clear refusals."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.backup import BackupError, backup
from bot.domain.clock import SystemClock
from bot.services.container import Services
from tests.conftest import make_settings

NOW = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    """The bot's own database, open (WAL), with two specialists."""
    opened = await Services.open(
        make_settings(tmp_path / "db" / "porchlight.sqlite3"), SystemClock()
    )
    await opened.people.add_specialist(1001, "Sam Rivera")
    await opened.people.add_specialist(1002, "Ria Okafor")
    try:
        yield opened
    finally:
        await opened.close()


def size(path: Path) -> int:
    """The file's size, 0 when there is none."""
    return path.stat().st_size if path.exists() else 0


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def specialists_in(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [
            name for (name,) in conn.execute("SELECT display_name FROM specialists ORDER BY id")
        ]


async def test_a_backup_while_a_writer_holds_a_transaction(
    services: Services, tmp_path: Path
) -> None:
    database = tmp_path / "db" / "porchlight.sqlite3"
    # The rows so far live in the WAL: nothing has been checkpointed into the file yet.
    assert size(Path(f"{database}-wal")) > 0
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a write in progress, as the bot's would be
        writer.execute(
            "INSERT INTO specialists (telegram_user_id, chat_id, display_name, active, created_at)"
            " VALUES (1003, 1003, 'Not Yet Committed', 1, '2026-03-01T12:00:00.000000+00:00')"
        )
        copy = backup(database, tmp_path / "backup.sqlite3", now=NOW)
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert copy == tmp_path / "backup.sqlite3"
    assert specialists_in(copy) == ["Sam Rivera", "Ria Okafor"]  # committed rows, nothing else
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert size(Path(f"{copy}-wal")) == 0
    # The bot's connection still works after the backup.
    await services.people.add_specialist(1004, "Lee Chen")
    assert [name for name in specialists_in(database)][-1] == "Lee Chen"
    assert [name for name in names_in(tmp_path) if name.endswith(".partial")] == []


async def test_an_existing_file_is_kept_unless_forced(services: Services, tmp_path: Path) -> None:
    database = tmp_path / "db" / "porchlight.sqlite3"
    target = tmp_path / "backup.sqlite3"
    target.write_text("an older backup")
    target.chmod(0o644)
    with pytest.raises(BackupError, match=r"already exists; add --force to replace it\.$"):
        backup(database, target, now=NOW)
    assert target.read_text() == "an older backup"
    backup(database, target, now=NOW, force=True)
    assert specialists_in(target) == ["Sam Rivera", "Ria Okafor"]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


async def test_a_folder_gets_a_dated_file(services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    copy = backup(tmp_path / "db" / "porchlight.sqlite3", folder, now=NOW)
    assert copy == folder / "porchlight-20260301-123005.sqlite3"
    assert specialists_in(copy) == ["Sam Rivera", "Ria Okafor"]


def test_clear_refusals(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.sqlite3"
    with pytest.raises(BackupError, match=r"^There is no database at .*nothing-here"):
        backup(missing, tmp_path / "b.sqlite3", now=NOW)
    assert not missing.exists()  # and none was created

    not_a_database = tmp_path / "notes.sqlite3"
    not_a_database.write_text("just some text, long enough to be looked at by sqlite " * 20)
    with pytest.raises(BackupError, match=r"^Cannot back up .*notes\.sqlite3: file is not a"):
        backup(not_a_database, tmp_path / "b.sqlite3", now=NOW)

    database = tmp_path / "real.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(BackupError, match=r"the folder .*no-such-folder does not exist"):
        backup(database, tmp_path / "no-such-folder" / "b.sqlite3", now=NOW)
    with pytest.raises(BackupError, match=r"is the database itself"):
        backup(database, database, now=NOW, force=True)
    assert names_in(tmp_path) == ["notes.sqlite3", "real.sqlite3"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_named(tmp_path: Path) -> None:
    database = tmp_path / "real.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE t (x)")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(BackupError, match=r"^Cannot write the backup in .*locked: Permission"):
        backup(database, locked / "b.sqlite3", now=NOW)


def test_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "data" / "porchlight.sqlite3"))
    assert main(["backup", "copy.sqlite3"]) == 1
    assert "There is no database at" in capsys.readouterr().err
    assert main(["specialist", "add", "1001", "--name", "Sam Rivera"]) == 0
    capsys.readouterr()
    assert main(["backup", "copy.sqlite3"]) == 0
    out = capsys.readouterr().out
    assert "to copy.sqlite3" in out and "README.md" in out
    assert specialists_in(tmp_path / "copy.sqlite3") == ["Sam Rivera"]
    assert main(["backup", "copy.sqlite3"]) == 1
    assert "add --force" in capsys.readouterr().err
    assert main(["backup", "copy.sqlite3", "--force"]) == 0
