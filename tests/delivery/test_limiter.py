"""The rate limiter's arithmetic, on a virtual clock (nothing really sleeps)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Coroutine
from typing import Any

import pytest

from bot.delivery.limiter import NAP, RateLimiter, Stopped


class VirtualTime:
    """A monotonic clock that sleeping moves forward."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sends: list[tuple[float, int]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def send_all(limiter: RateLimiter, clock: VirtualTime, chats: list[int]) -> None:
    for chat in chats:
        await limiter.acquire(chat)
        clock.sends.append((clock.now, chat))


async def test_overall_pace_never_exceeds_the_limit_in_any_second() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(29, 1.0, monotonic=clock.monotonic, sleep=clock.sleep)
    await send_all(limiter, clock, list(range(200)))
    times = [at for at, _ in clock.sends]
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t < start + 1.0 - 1e-9]
        assert len(in_window) <= 29
    # Smooth: 200 messages at 29 a second take just under 7 seconds.
    assert 6.8 < times[-1] - times[0] < 7.0


async def gaps(per_second: float, per_chat_interval: float, chats: list[int]) -> list[float]:
    """The seconds between one send and the next, each chat's message sent in turn."""
    clock = VirtualTime()
    limiter = RateLimiter(
        per_second, per_chat_interval, monotonic=clock.monotonic, sleep=clock.sleep
    )
    await send_all(limiter, clock, chats)
    times = [at for at, _ in clock.sends]
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


async def test_one_chat_gets_one_message_a_second() -> None:
    # One second apart, and a hair more, so that they also arrive a second apart.
    assert await gaps(29, 1.0, [7, 7, 7]) == [1.01, 1.01]


async def test_a_busy_chat_does_not_hold_back_the_others() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(10, 1.0, monotonic=clock.monotonic, sleep=clock.sleep)
    await send_all(limiter, clock, [7])
    await send_all(limiter, clock, [8, 9])
    times = dict((chat, at) for at, chat in clock.sends)
    # The overall pace alone: ten in any window of 1.01 s (the second and its margin).
    assert round(times[8] - times[7], 6) == 0.101
    assert round(times[9] - times[8], 6) == 0.101


async def test_a_pace_below_one_a_second_still_sends() -> None:
    assert await gaps(0.5, 0.0, [7, 8, 9]) == [2.0, 2.0]


class Simulation:
    """Many senders on one virtual clock: time jumps to the next wake-up once all wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self.sends: list[tuple[float, int, bool]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._waiting, (self.now + seconds, self._seq, future))
        await future

    async def run(self, senders: list[Coroutine[Any, Any, None]]) -> None:
        tasks = [asyncio.create_task(sender) for sender in senders]
        while not all(task.done() for task in tasks):
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if self._waiting:
                at, _, future = heapq.heappop(self._waiting)
                self.now = max(self.now, at)
                future.set_result(None)
        for task in tasks:
            task.result()

    async def send(
        self, limiter: RateLimiter, chat: int, urgent: bool, start: float = 0.0
    ) -> None:
        if start:
            await self.sleep(start)
        await limiter.acquire(chat, urgent=urgent)
        self.sends.append((self.now, chat, urgent))


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max(
        (sum(1 for t in times[i:] if t < start + 1.0 - 1e-9) for i, start in enumerate(times)),
        default=0,
    )


async def test_a_relay_does_not_wait_behind_a_storm_of_checkins() -> None:
    sim = Simulation()
    limiter = RateLimiter(29, 1.0, monotonic=sim.monotonic, sleep=sim.sleep)
    storm = [sim.send(limiter, chat, urgent=False) for chat in range(1, 150)]
    relays = [sim.send(limiter, 10_000 + i, urgent=True, start=2.0 + i * 0.37) for i in range(5)]
    await sim.run(storm + relays)
    relay_times = [t for t, _, urgent in sim.sends if urgent]
    assert [round(t - (2.0 + i * 0.37), 6) for i, t in enumerate(relay_times)] == [0.0] * 5
    all_times = [t for t, _, _ in sim.sends]
    assert most_in_one_second(all_times) <= 30
    checkin_times = [t for t, _, urgent in sim.sends if not urgent]
    # The storm still runs at about 29 a second overall.
    assert 149 / 29 - 0.1 < checkin_times[-1] < 149 / 29 + 0.5


async def test_relays_move_waiting_checkins_back_instead_of_piling_them_up() -> None:
    # Check-ins handed out five at a time as they go (as the sender does), a relay every
    # 0.1 s: each relay takes a slot from the check-ins already waiting, so they do not
    # pile up past their slots, each waking again for every message that goes.
    sim = Simulation()
    naps = 0

    async def counted(seconds: float) -> None:
        nonlocal naps
        naps += 1
        await sim.sleep(seconds)

    limiter = RateLimiter(29, 1.0, monotonic=sim.monotonic, sleep=counted)
    storm = [
        sim.send(limiter, chat, urgent=False, start=(chat // 5) * 5 / 29) for chat in range(200)
    ]
    relays = [sim.send(limiter, 10_000 + i, urgent=True, start=0.5 + i * 0.1) for i in range(60)]
    await sim.run(storm + relays)
    assert most_in_one_second([t for t, _, _ in sim.sends]) <= 30
    assert naps / len(sim.sends) < 8  # 11 when a relay took only slots not yet reserved


async def test_many_urgent_messages_never_exceed_the_cap() -> None:
    sim = Simulation()
    limiter = RateLimiter(29, 1.0, monotonic=sim.monotonic, sleep=sim.sleep)
    await sim.run([sim.send(limiter, chat, urgent=True) for chat in range(100)])
    times = [t for t, _, _ in sim.sends]
    assert most_in_one_second(times) == 30
    assert times[-1] >= 3.0


async def test_pauses_hold_one_chat_or_everyone() -> None:
    sim = Simulation()
    limiter = RateLimiter(29, 0.0, monotonic=sim.monotonic, sleep=sim.sleep)
    limiter.pause_chat(7, 5.0)
    await sim.run([sim.send(limiter, 7, urgent=True), sim.send(limiter, 8, urgent=True)])
    assert {chat: t for t, chat, _ in sim.sends} == {8: 0.0, 7: 5.0}
    limiter.pause_all(3.0)
    await sim.run([sim.send(limiter, 9, urgent=True)])
    assert sim.sends[-1][0] == 8.0


async def test_a_wait_ends_when_the_sender_stops_and_counts_nothing() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(29, 1.0, monotonic=clock.monotonic, sleep=clock.sleep)
    limiter.pause_chat(7, 3600)  # Telegram said: an hour
    start = clock.now
    stops_at = start + 1.0

    def stopping() -> bool:
        return clock.now >= stops_at

    with pytest.raises(Stopped):
        await limiter.acquire(7, stopping=stopping)
    # It looked a quarter second at a time, so it noticed within one nap of the stop.
    assert stops_at <= clock.now < stops_at + NAP + 1e-9
    # Nothing was counted: another chat goes at once, with the whole second free.
    moment = clock.now
    for chat in range(8, 8 + 29):
        await limiter.acquire(chat, urgent=True)
    assert clock.now == moment
    # A message that need not wait goes even while stopping (it is already in flight).
    await limiter.acquire(99, urgent=True, stopping=lambda: True)
