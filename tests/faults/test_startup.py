"""A database the bot cannot use, at start or under the running bot: one line naming the
file and the problem, exit code 1, quickly; never a live process that does nothing."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import CONFIG_DIR
from tests.fakes.bot_api import FakeBotApi
from tests.faults.process import (
    CLIENT,
    SPECIALIST,
    add_people,
    arrived,
    exit_code,
    locked,
    output,
    prepare,
    said,
    start_bot,
    started,
    stopped_cleanly,
)

SHORT_BUSY = {"DATABASE_BUSY_TIMEOUT_SECONDS": "0.1"}


def garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(8192))
    return path


def folder(path: Path) -> Path:
    path.mkdir()
    return path


def under_a_file(path: Path) -> Path:
    path.write_text("not a folder")  # like DATABASE_PATH=/etc/hostname/x.sqlite3
    return path / "porchlight.sqlite3"


def someone_elses(path: Path) -> Path:
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    other.close()
    return path


def newer(path: Path) -> Path:
    """A database a newer Porchlight migrated (the bot was rolled back)."""
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        other.execute("INSERT INTO schema_migrations VALUES ('m999_from_the_future', '')")
    other.close()
    return path


def problem(case: str, database: Path) -> str:
    """What the one line says is wrong."""
    if case == "under a file":
        return f"{database.parent} is not a folder"
    return BROKEN[case][1]


def unreadable(path: Path) -> Path:
    # chmod 000 stops nobody here: the bot makes its own file 0600 again, and root ignores
    # modes. A link to itself cannot be opened by anyone, root included.
    path.symlink_to(path)
    return path


def dangling(path: Path) -> Path:
    path.symlink_to(path.parent / "unmounted" / "porchlight.sqlite3")
    return path


BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "garbage": (garbage, "file is not a database"),
    "a folder": (folder, "it is a folder, not a file"),
    "under a file": (under_a_file, ""),
    "unreadable (a link to itself)": (unreadable, "it is a symbolic link that leads nowhere"),
    "a link to nowhere": (dangling, "it is a symbolic link that leads nowhere"),
    "another program's": (someone_elses, "it is an SQLite database, but not Porchlight's"),
    "a newer Porchlight's": (
        newer,
        "a newer version of Porchlight made it (m999_from_the_future): upgrade the bot",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
@pytest.mark.parametrize("command", ["run", "check"])
async def test_a_database_that_cannot_be_used_is_one_line_and_exit_1(
    fake_api: FakeBotApi, tmp_path: Path, case: str, command: str
) -> None:
    database = BROKEN[case][0](tmp_path / "porchlight.sqlite3")
    log = tmp_path / "bot.log"
    bot = await start_bot(fake_api, database, log, command)
    code = await exit_code(bot, within=15)
    assert code == 1, output(log)
    line = f"Cannot use the database {database} (DATABASE_PATH): {problem(case, database)}."
    # check says first which database and configuration it looks at; run says only this.
    assert said(log)[-1] == line
    assert command == "check" or said(log) == [line]
    assert "Traceback" not in output(log)
    assert "fine" not in output(log)


@pytest.mark.parametrize("command", ["run", "check"])
async def test_a_locked_database_at_start_is_one_line_and_exit_1(
    fake_api: FakeBotApi, tmp_path: Path, command: str
) -> None:
    database, log = tmp_path / "porchlight.sqlite3", tmp_path / "bot.log"
    await prepare(database)
    with locked(database):
        bot = await start_bot(fake_api, database, log, command, **SHORT_BUSY)
        code = await exit_code(bot, within=15)
    assert code == 1, output(log)
    line = f"Cannot use the database {database} (DATABASE_PATH): database is locked."
    assert said(log)[-1] == line
    assert command == "check" or said(log) == [line]


async def test_check_says_which_database_and_config_and_creates_nothing(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    database, log = tmp_path / "new" / "porchlight.sqlite3", tmp_path / "check.log"
    bot = await start_bot(fake_api, database, log, "check")
    assert await exit_code(bot, within=15) == 0, output(log)
    told = output(log)
    assert f"Database: {database}\n" in told
    assert "Configuration folder: " in told
    assert "does not exist yet: `run` will create it" in told
    assert not database.exists()


async def test_a_new_database_is_announced_at_start(fake_api: FakeBotApi, tmp_path: Path) -> None:
    database, log = tmp_path / "new" / "porchlight.sqlite3", tmp_path / "bot.log"
    bot = await start_bot(fake_api, database, log)
    async with stopped_cleanly(bot, log):
        await started(log)
    assert f"WARNING bot.app event=storage.created_new database={database}" in output(log)
    assert f"event=bot.using database={database}" in output(log)


@pytest.mark.parametrize(
    ("replaced", "how"),
    [(False, "the file was deleted."), (True, "the file was replaced by another one.")],
)
async def test_a_database_gone_from_under_the_running_bot_stops_it(
    fake_api: FakeBotApi,
    tmp_path: Path,
    replaced: bool,
    how: str,
) -> None:
    database, log = tmp_path / "porchlight.sqlite3", tmp_path / "bot.log"
    await prepare(database)
    bot = await start_bot(fake_api, database, log)
    await started(log)
    if replaced:
        other = tmp_path / "other.sqlite3"
        await prepare(other)
        other.replace(database)  # a restore done with the bot still running
    else:
        database.unlink()
    code = await exit_code(bot, within=10)
    assert code == 1, output(log)
    last = output(log).strip().splitlines()[-1]
    assert last == f"Stopped: the database {database} is gone from under the running bot: {how}"


async def test_safety_files_that_cannot_be_read_stop_the_running_bot_in_one_line(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """The phrases and the model are read once the bot serves (they take half a second): a
    file that cannot be read still ends the bot, exit 2, with one line naming it. A client's
    message that came meanwhile reaches the specialist once, saying it was not screened."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    phrases = config / "safety" / "en.toml"
    shipped = phrases.read_text()
    phrases.write_text("surprise = 1\n" + shipped)
    database, log = tmp_path / "porchlight.sqlite3", tmp_path / "bot.log"
    await prepare(database)
    add_people(fake_api)
    bot = await start_bot(fake_api, database, log, PORCHLIGHT_CONFIG_DIR=str(config))
    sent = fake_api.send_text(CLIENT, "hello, just checking in after the weekend")
    code = await exit_code(bot, within=15)
    assert code == 2, output(log)
    line = (
        f"Error in the configuration in {config}: {phrases}: surprise: unknown key (expected"
        " resources, spellings, not_typos, near_window, near_not, groups, categories, about)"
    )
    assert said(log) == [line]

    phrases.write_text(shipped)  # mended; the message was relayed, or is kept for now
    bot = await start_bot(fake_api, database, log, PORCHLIGHT_CONFIG_DIR=str(config))
    async with stopped_cleanly(bot, log):
        await arrived(fake_api, sent)
        await started(log, times=2)
    # Once: screened by the mended bot, or relayed by the broken one saying it was not
    # (tests/e2e/test_safety_relay.py); which of the two depends on when it was polled.
    headers = [m.text for m in fake_api.sent_to(SPECIALIST) if m.text and "Alex" in m.text]
    assert headers in (["From Alex:"], ["From Alex (message: not screened for urgent words):"])
