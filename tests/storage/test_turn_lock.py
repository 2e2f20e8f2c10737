"""The database's lock: a person's work goes before background work, in order, no barging."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bot.storage.db import Database, TurnLock


async def _queue(lock: TurnLock, order: list[str], name: str, background: bool) -> None:
    await lock.acquire(background=background)
    order.append(name)
    lock.release()


async def _started(*coroutines: Coroutine[Any, Any, None]) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(c) for c in coroutines]
    for _ in range(3):
        await asyncio.sleep(0)  # each reaches its wait, in the order given
    return tasks


async def test_a_person_waiting_goes_before_background_work_that_came_first() -> None:
    lock = TurnLock()
    order: list[str] = []
    await lock.acquire()
    tasks = await _started(
        _queue(lock, order, "check-in 1", background=True),
        _queue(lock, order, "check-in 2", background=True),
        _queue(lock, order, "relay 1", background=False),
        _queue(lock, order, "relay 2", background=False),
    )
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["relay 1", "relay 2", "check-in 1", "check-in 2"]


async def test_a_newcomer_does_not_slip_in_ahead_of_those_waiting() -> None:
    lock = TurnLock()
    order: list[str] = []
    await lock.acquire()
    [waiting] = await _started(_queue(lock, order, "waiting", background=True))
    lock.release()  # handed to "waiting", which has not run yet
    await _queue(lock, order, "newcomer", background=False)
    await waiting
    assert order == ["waiting", "newcomer"]


async def test_a_cancelled_waiter_neither_takes_nor_keeps_the_lock() -> None:
    lock = TurnLock()
    order: list[str] = []
    await lock.acquire()
    gone, handed, last = await _started(
        _queue(lock, order, "gone", background=False),
        _queue(lock, order, "handed", background=False),
        _queue(lock, order, "last", background=False),
    )
    gone.cancel()
    await asyncio.sleep(0)
    lock.release()  # skips "gone", hands the lock to "handed"...
    handed.cancel()  # ...which is cancelled before it runs: it passes the lock on
    await asyncio.gather(gone, handed, return_exceptions=True)
    await last
    assert order == ["last"]
    await asyncio.wait_for(lock.acquire(), timeout=1)  # and the lock is free again


async def test_the_database_serves_a_persons_work_before_queued_background_work(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "porchlight.sqlite3")
    order: list[str] = []

    async def work(name: str, background: bool) -> None:
        async with db.transaction(background=background):
            order.append(name)

    try:
        async with db.autocommit():  # someone holds the connection...
            tasks = await _started(work("the tick", True), work("a relay", False))
        await asyncio.gather(*tasks)  # ...and when it is free, the relay goes first
    finally:
        await db.close()
    assert order == ["a relay", "the tick"]
