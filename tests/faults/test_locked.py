"""A database locked by another process (a backup, a stray sqlite3 shell) while the bot runs:
the bot waits and goes on, or stops with one line, never sits alive doing nothing."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.fakes.bot_api import FakeBotApi
from tests.faults.process import (
    CLIENT,
    arrived,
    copies,
    exit_code,
    locked,
    output,
    prepare,
    start_bot,
    start_with_people,
    stopped_cleanly,
    wait_for_log,
)

SHORT_BUSY = {"DATABASE_BUSY_TIMEOUT_SECONDS": "0.1"}


async def _running(
    fake_api: FakeBotApi, tmp_path: Path, **settings: str
) -> tuple[Path, Path, asyncio.subprocess.Process]:
    """The database (with Sam and Alex), the log, and a bot started on them."""
    database, log = tmp_path / "porchlight.sqlite3", tmp_path / "bot.log"
    return database, log, await start_with_people(fake_api, database, log, **settings)


def _stopped_with(code: int, log: Path, line: str) -> None:
    """The bot exited 1, and its last line is `line`."""
    assert code == 1, output(log)
    assert output(log).strip().splitlines()[-1] == line, output(log)


async def test_a_lock_longer_than_the_busy_timeout_delays_a_message_and_loses_nothing(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    database, log, bot = await _running(fake_api, tmp_path, **SHORT_BUSY)
    async with stopped_cleanly(bot, log):
        with locked(database):
            sent = fake_api.send_text(CLIENT, "are you there?")
            await wait_for_log(log, "database is locked")  # the message was fetched
            assert copies(fake_api) == []
        # Released: polling goes on, and the message that waited arrives.
        await arrived(fake_api, sent)
        later = fake_api.send_text(CLIENT, "and now?")
        await fake_api.wait_until(
            lambda: (CLIENT, later.message_id) in copies(fake_api), timeout=15, what="polling"
        )


async def test_a_lock_held_past_the_limit_stops_the_bot_with_one_line(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    database, log, bot = await _running(
        fake_api, tmp_path, STORAGE_FAILURE_EXIT_MINUTES="0.03", **SHORT_BUSY
    )
    with locked(database):
        sent = fake_api.send_text(CLIENT, "are you there?")
        code = await exit_code(bot, within=15)
    _stopped_with(
        code,
        log,
        f"Stopped: the database {database} has failed for 0.03 minutes (database is locked).",
    )
    assert "Traceback" not in output(log)
    # Nothing was lost: the message was never confirmed, and the next start relays it.
    again = await start_bot(fake_api, database, log, **SHORT_BUSY)
    async with stopped_cleanly(again, log):
        await arrived(fake_api, sent)


async def test_sigterm_during_a_storage_fault_stops_within_seconds(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    database, log, bot = await _running(fake_api, tmp_path, **SHORT_BUSY)
    with locked(database):
        fake_api.send_text(CLIENT, "are you there?")
        await wait_for_log(log, "database is locked")  # the message was fetched
        bot.send_signal(signal.SIGTERM)
        code = await exit_code(bot, within=5)
    assert code == 0, output(log)


LONG_BUSY = {"DATABASE_BUSY_TIMEOUT_SECONDS": "120"}


async def test_a_database_call_that_hangs_past_the_limit_stops_the_bot(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    # A write waiting on a lock for longer than STORAGE_FAILURE_EXIT_MINUTES (a long busy
    # timeout, or a hung file system) fails nothing: the watch must see the wait itself.
    database, log, bot = await _running(
        fake_api, tmp_path, STORAGE_FAILURE_EXIT_MINUTES="0.05", **LONG_BUSY
    )
    with locked(database):
        fake_api.send_text(CLIENT, "are you there?")
        code = await exit_code(bot, within=20)
    _stopped_with(
        code,
        log,
        f"Stopped: the database {database} has not answered for 0.05 minutes"
        " (a call to it hangs).",
    )


async def test_sigterm_while_a_database_call_hangs_stops_within_seconds(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    database, log, bot = await _running(fake_api, tmp_path, **LONG_BUSY)
    with locked(database):
        fake_api.send_text(CLIENT, "are you there?")
        await asyncio.sleep(2)  # fetched: the bot waits for the lock (nothing to log yet)
        bot.send_signal(signal.SIGTERM)
        code = await exit_code(bot, within=10)
    assert code == 0, output(log)


async def test_sigterm_while_starting_on_a_locked_database_stops_within_seconds(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    database, log = tmp_path / "porchlight.sqlite3", tmp_path / "bot.log"
    await prepare(database)
    with locked(database):
        bot = await start_bot(fake_api, database, log, **LONG_BUSY)
        await asyncio.sleep(3)  # started, and waiting for the lock (nothing to log yet)
        bot.send_signal(signal.SIGTERM)
        code = await exit_code(bot, within=12)
    assert code == 0, output(log)
