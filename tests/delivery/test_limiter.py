"""The rate limiter's arithmetic, on a virtual clock (nothing really sleeps)."""

from __future__ import annotations

import itertools

from bot.delivery.limiter import RateLimiter


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
    limiter = RateLimiter(29, 1.0, clock.monotonic, clock.sleep)
    await send_all(limiter, clock, list(range(200)))
    times = [at for at, _ in clock.sends]
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t < start + 1.0 - 1e-9]
        assert len(in_window) <= 29
    # Smooth: 200 messages at 29 a second take just under 7 seconds.
    assert 6.8 < times[-1] - times[0] < 7.0


async def test_one_chat_gets_one_message_a_second() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(29, 1.0, clock.monotonic, clock.sleep)
    await send_all(limiter, clock, [7, 7, 7])
    times = [at for at, _ in clock.sends]
    assert [round(b - a, 6) for a, b in itertools.pairwise(times)] == [1.0, 1.0]


async def test_a_busy_chat_does_not_hold_back_the_others() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(10, 1.0, clock.monotonic, clock.sleep)
    await send_all(limiter, clock, [7])
    await send_all(limiter, clock, [8, 9])
    times = dict((chat, at) for at, chat in clock.sends)
    assert round(times[8] - times[7], 6) == 0.1
    assert round(times[9] - times[8], 6) == 0.1
