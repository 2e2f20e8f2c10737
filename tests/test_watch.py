"""The storage watch keeps watching whatever one look raises: nobody watches the watch."""

from __future__ import annotations

import asyncio

import pytest

from bot import watch
from bot.watch import StorageWatch


class FlakyDatabase:
    """A database whose first look raises (a fault of ours), and whose file is then gone."""

    def __init__(self) -> None:
        self.looks = 0

    def moved(self) -> str | None:
        self.looks += 1
        if self.looks == 1:
            raise RuntimeError("a bug in one look")
        return "the file was deleted"

    def held_for(self) -> float | None:
        return None

    def failing(self) -> tuple[float, str] | None:
        return None


async def test_a_look_that_raises_does_not_end_the_watch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watch, "WATCH_SECONDS", 0.01)
    reasons: list[str] = []
    stopped = asyncio.Event()

    def stop(reason: str) -> None:
        reasons.append(reason)
        stopped.set()

    database = FlakyDatabase()
    task = asyncio.create_task(StorageWatch(database, 60, stop).run())  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(stopped.wait(), 5)
    finally:
        task.cancel()
    assert reasons[0] == "is gone from under the running bot: the file was deleted"
