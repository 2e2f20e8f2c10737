"""A log destination that stops reading (a stalled journald, Docker's log driver in its
default blocking mode with its collector down): the bot goes on serving people.

Written from the event loop, a log line to a full pipe blocked the whole process: after a
few dozen messages nothing was fetched, relayed or sent, and nothing noticed, not even
the storage watch, in the same loop. Now the lines wait for the destination in a thread
of their own (bot.logs.BackgroundHandler).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.fakes.bot_api import FakeBotApi, FakeMessage
from tests.faults.process import (
    CLIENT,
    add_people,
    arrived,
    exit_code,
    prepare,
    start_bot,
)

F_SETPIPE_SZ = 1031  # Linux: the pipe's buffer, here its smallest (a page)


async def _read_until(reading: int, text: bytes) -> bytes:
    """What the pipe holds, read until the text is in it."""
    seen = b""
    while text not in seen:
        chunk = await asyncio.to_thread(os.read, reading, 65536)
        assert chunk, seen.decode(errors="replace")
        seen += chunk
    return seen


@asynccontextmanager
async def _logging_to_a_pipe(
    fake_api: FakeBotApi, tmp_path: Path, *, full: bool = False, **settings: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """`run` with its output into a 4 KB pipe (already full, with `full`), and the pipe's
    end to read from; the process is ended if a test leaves it running."""
    reading, writing = os.pipe()
    fcntl.fcntl(writing, F_SETPIPE_SZ, 4096)
    if full:
        os.write(writing, b"." * 4096)  # the next write waits for a reader
    database = tmp_path / "porchlight.sqlite3"
    bot = await start_bot(
        fake_api, database, tmp_path / "unused.log", output_to=writing, **settings
    )
    os.close(writing)
    try:
        yield bot, reading
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
        os.close(reading)


async def test_a_log_nobody_reads_does_not_stop_the_bot_serving(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    await prepare(tmp_path / "porchlight.sqlite3")
    add_people(fake_api)
    async with _logging_to_a_pipe(fake_api, tmp_path) as (bot, reading):
        await _read_until(reading, b"event=bot.started")
        # From now on nobody reads: a relay logs a line, 4 KB is about 40 of them.
        sent: list[FakeMessage] = []
        for number in range(80):  # twice what the pipe holds
            sent.append(fake_api.send_text(CLIENT, f"message {number}"))
            await arrived(fake_api, *sent)
        # The destination reads again: the lines that waited come, and the bot stops as
        # it should.
        drained = asyncio.create_task(_read_until(reading, b"event=bot.stopped"))
        bot.terminate()
        assert await exit_code(bot, within=10) == 0
        written = (await drained).decode()
        assert written.count("event=relay.to_specialist") == 80


async def test_a_database_gone_while_nobody_reads_the_log_still_ends_the_process(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """The storage watch stops the bot; its one line cannot be written (nobody reads), and
    the process must end all the same, exit 1, for its supervisor to start it again."""
    database = tmp_path / "porchlight.sqlite3"
    await prepare(database)
    add_people(fake_api)
    async with _logging_to_a_pipe(fake_api, tmp_path) as (bot, reading):
        await _read_until(reading, b"event=bot.started")
        sent: list[FakeMessage] = []
        while len(sent) < 60:  # the pipe is full by then
            sent.append(fake_api.send_text(CLIENT, f"message {len(sent)}"))
            await arrived(fake_api, *sent)
        os.unlink(database)
        assert await exit_code(bot, within=20) == 1


async def test_a_metrics_port_in_use_while_nobody_reads_the_log_still_ends_the_process(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """Its one line cannot be written (the log's pipe is full, nobody reads): the process
    ends all the same, exit 1, for its supervisor to act on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        async with _logging_to_a_pipe(fake_api, tmp_path, full=True, METRICS_PORT=port) as (
            bot,
            _,
        ):
            assert await exit_code(bot, within=20) == 1
