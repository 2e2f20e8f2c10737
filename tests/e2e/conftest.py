"""The running bot most end-to-end tests start from (a module may define its own `bot`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, harness
from tests.fakes.bot_api import FakeBotApi

# The helpers' own asserts explain themselves as a test's do (imported later, by tests).
pytest.register_assert_rewrite("tests.e2e.cells")

MONDAY_6_UTC = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    """Monday 30 November 2026, 06:00 UTC, with the usual cast (Harness.add_people)."""
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC) as running_bot:
        await running_bot.add_people()
        yield running_bot
