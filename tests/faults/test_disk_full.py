"""A full disk under the running bot: the message waits, and goes once there is room."""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotApi
from tests.faults.process import (
    CLIENT,
    arrived,
    copies,
    output,
    start_with_people,
    stopped_cleanly,
    wait_for_log,
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own (mounting needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; return it."""
    filler = disk / "filler"
    # Unbuffered: a write the disk cut short leaves nothing for close() to flush (the bot
    # writes to the same disk meanwhile, so where it fills up is a race).
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


async def test_a_full_disk_delays_a_message_until_there_is_room(
    fake_api: FakeBotApi, tmp_path: Path, small_disk: Path
) -> None:
    database, log = small_disk / "porchlight.sqlite3", tmp_path / "bot.log"
    bot = await start_with_people(fake_api, database, log, DATABASE_BUSY_TIMEOUT_SECONDS="0.1")
    async with stopped_cleanly(bot, log):
        filler = fill(small_disk)
        sent = fake_api.send_text(CLIENT, "are you there?")
        await wait_for_log(log, "database or disk is full")
        assert copies(fake_api) == []
        filler.unlink()
        await arrived(fake_api, sent)


async def test_a_full_disk_does_not_flood_the_log_while_a_message_waits_to_be_sent(
    fake_api: FakeBotApi, tmp_path: Path, small_disk: Path
) -> None:
    database, log = small_disk / "porchlight.sqlite3", tmp_path / "bot.log"
    bot = await start_with_people(fake_api, database, log, DATABASE_BUSY_TIMEOUT_SECONDS="0.1")
    async with stopped_cleanly(bot, log):
        # Telegram asks the copy to wait 2 s; meanwhile the disk fills up.
        fake_api.fail_next("copyMessage", status=429, retry_after=2)
        sent = fake_api.send_text(CLIENT, "are you there?")
        await wait_for_log(log, "event=outbox.rate_limited")
        filler = fill(small_disk)
        await asyncio.sleep(5)  # the copy comes due, and cannot be marked as being sent
        lines = len(output(log).splitlines())
        await asyncio.sleep(3)
        per_second = (len(output(log).splitlines()) - lines) / 3
        assert per_second <= 3, output(log)[-3000:]
        filler.unlink()
        await arrived(fake_api, sent)
