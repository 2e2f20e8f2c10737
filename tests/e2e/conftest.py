"""The running bot most end-to-end tests start from (a module may define its own `bot`)."""

from __future__ import annotations

import asyncio
import faulthandler
import os
import sys
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, harness
from tests.fakes.bot_api import FakeBotApi

# The helpers' own asserts explain themselves as a test's do (imported later, by tests).
pytest.register_assert_rewrite("tests.e2e.cells")

MONDAY_6_UTC = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
# A test of a module marked thread_checks that takes longer has hung (see thread_checks).
THREAD_CHECKS_SECONDS = 120


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    """Monday 30 November 2026, 06:00 UTC, with the usual cast (Harness.add_people)."""
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC) as running_bot:
        await running_bot.add_people()
        yield running_bot


@pytest.fixture(autouse=True)
async def thread_checks(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """In a module marked `thread_checks`, the event loop refuses to be touched from another
    thread, as under `python -X dev`. A relay runs whole on the database's thread
    (Database.in_one_trip): code there that wakes an asyncio object (the sender's Event)
    would otherwise pass here and lose the wake-up in production.

    What such a fault leaves behind is a task that never wakes, so the test would hang:
    past THREAD_CHECKS_SECONDS the run stops with one line and every thread's traceback."""
    if request.node.get_closest_marker("thread_checks") is None:
        yield
        return
    asyncio.get_running_loop().set_debug(True)
    watchdog = threading.Timer(THREAD_CHECKS_SECONDS, _hung, (request,))
    watchdog.daemon = True
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()


def _hung(request: pytest.FixtureRequest) -> None:
    """The watchdog's end of a hung test: say which, show where, stop the run."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)  # the real stderr again, to say so
    print(
        f"{request.node.nodeid} hung for {THREAD_CHECKS_SECONDS} s (often: an asyncio object"
        " touched from another thread lost its wake-up; see thread_checks): stopping the run",
        file=sys.stderr,
        flush=True,
    )
    faulthandler.dump_traceback(sys.stderr)
    os._exit(1)
