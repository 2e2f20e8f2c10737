"""The files beside the database while the bot runs: its write-ahead log and shared-memory
index (-wal, -shm), and the lock that keeps a second bot off it.

A -wal or -shm deleted under the running bot (a clean-up script, a backup done by hand)
goes unnoticed by SQLite: the bot writes on into the deleted file, and the next other
process on the database (`porchlight specialist add`) makes a new one beside it. With the
-wal gone that left the database file malformed (nothing could open it again); with the
-shm gone the other command's write was lost, after it said it was done. The bot stops
instead, with one line, within a second; its last checkpoint puts what it wrote into the
database file, and a restarted bot finds everything there.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotApi
from tests.faults.process import (
    CLIENT,
    arrived,
    exit_code,
    output,
    said,
    start_bot,
    start_with_people,
    started,
    stopped_cleanly,
)


@pytest.mark.parametrize(
    ("suffix", "what"), [("-wal", "write-ahead log"), ("-shm", "shared-memory index")]
)
async def test_a_log_or_index_deleted_under_the_running_bot_stops_it_and_loses_nothing(
    fake_api: FakeBotApi, tmp_path: Path, suffix: str, what: str
) -> None:
    database, log = tmp_path / "porchlight.sqlite3", tmp_path / "bot.log"
    bot = await start_with_people(fake_api, database, log)
    first = fake_api.send_text(CLIENT, "hello")
    await arrived(fake_api, first)
    beside = f"{database.name}{suffix}"
    os.unlink(tmp_path / beside)  # as `rm porchlight.sqlite3-wal` would
    code = await exit_code(bot, within=10)
    assert code == 1, output(log)
    assert said(log) == [
        f"Stopped: the database {database} is gone from under the running bot: its {what}"
        f" {beside} was deleted."
    ]
    with sqlite3.connect(database) as check:
        assert check.execute("PRAGMA quick_check").fetchone() == ("ok",)
        assert check.execute("SELECT count(*) FROM relay_links").fetchone()[0] >= 1
    check.close()

    # Started again, it goes on where it was: the first message is not sent again.
    bot = await start_bot(fake_api, database, log)
    async with stopped_cleanly(bot, log):
        await started(log, times=2)
        second = fake_api.send_text(CLIENT, "are you there?")
        await arrived(fake_api, first, second)


async def test_a_second_bot_on_the_same_database_through_a_link_is_refused(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """The lock beside the database is the same whatever name the database is reached by:
    two bots on one database would both send what the outbox holds."""
    database, log = tmp_path / "porchlight.sqlite3", tmp_path / "bot.log"
    bot = await start_with_people(fake_api, database, log)
    async with stopped_cleanly(bot, log):
        link = tmp_path / "link.sqlite3"
        link.symlink_to(database)
        second_log = tmp_path / "second.log"
        second = await start_bot(fake_api, link, second_log)
        assert await exit_code(second, within=15) == 1, output(second_log)
        assert said(second_log) == [f"A Porchlight bot is running on {link}: stop it first."]
