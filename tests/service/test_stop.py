"""SIGTERM right as `porchlight run` starts (a service restarted twice in a row): it stops,
cleanly, every time. PTB's own signal handling left it hanging about half the time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.fakes.bot_api import FakeBotApi
from tests.service.helpers import free_port, start_run, until

TRIES = 3  # the old race hung one start in two: three catch it nearly always


@asynccontextmanager
async def _reaped(process: asyncio.subprocess.Process) -> AsyncIterator[None]:
    """The block; a process still running after it (a failed wait) is killed."""
    try:
        yield
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _clean_exit(code: int, log: Path) -> str:
    """The process exited 0 with no traceback; its log."""
    written = log.read_text()
    assert code == 0, written
    assert "Traceback" not in written
    return written


async def test_sigterm_while_starting_stops_the_bot(fake_api: FakeBotApi, tmp_path: Path) -> None:
    for attempt in range(TRIES):
        log = tmp_path / f"run{attempt}.log"
        calls = len(fake_api.calls_to("deleteWebhook"))
        process = await start_run(fake_api.base_url, tmp_path / "p.sqlite3", log)
        async with _reaped(process):
            # Polling starts with deleteWebhook: the bot is in the middle of starting.
            await fake_api.wait_until(
                lambda n=calls: len(fake_api.calls_to("deleteWebhook")) > n, timeout=30
            )
            process.terminate()
            code = await asyncio.wait_for(process.wait(), 20)
        assert "event=bot.stopped" in _clean_exit(code, log)


async def test_sigterm_while_waiting_for_the_network_stops_with_exit_0(tmp_path: Path) -> None:
    """A service stopped before the network came up: it stops at once, and cleanly."""
    log = tmp_path / "run.log"
    process = await start_run(f"http://127.0.0.1:{free_port()}", tmp_path / "p.sqlite3", log)
    async with _reaped(process):
        await until(lambda: "bot.waiting_for_telegram" in log.read_text(), "a first attempt")
        process.terminate()
        code = await asyncio.wait_for(process.wait(), 5)
    assert "Unclosed" not in _clean_exit(code, log)
