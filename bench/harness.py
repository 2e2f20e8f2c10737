"""What every benchmark shares: the Figure it reports, a stall monitor, memory readings.

A benchmark module (bench/bench_*.py) holds:

- ``TITLE``: one line for the table;
- ``prepare(workdir, quick)``: builds what the cases read (run in its own process);
- ``CASES``: name -> ``async def case(workdir, quick) -> list[Figure]``, each run in its own
  process, so that its peak memory is its own;
- ``combine(results)``: figures computed from several cases (ratios), in the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import resource
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

SLEEP_SECONDS = 0.001


@dataclass(frozen=True)
class Figure:
    """One measured figure, with its target (if any) and whether it was met."""

    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The figure as plain JSON values."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        """A figure written by to_json."""
        return cls(**data)


def at_most(name: str, value: float, unit: str, limit: float) -> Figure:
    """A figure whose target is an upper bound."""
    return Figure(name, value, unit, f"<= {limit:g}", value <= limit)


def at_least(name: str, value: float, unit: str, limit: float) -> Figure:
    """A figure whose target is a lower bound."""
    return Figure(name, value, unit, f">= {limit:g}", value >= limit)


def exactly(name: str, value: float, unit: str, expected: float) -> Figure:
    """A figure that must equal a count."""
    return Figure(name, value, unit, f"= {expected:g}", value == expected)


def info(name: str, value: float, unit: str) -> Figure:
    """A figure without a target."""
    return Figure(name, value, unit)


def spread(
    name: str, values: Sequence[float], unit: str, limit: float | None = None
) -> list[Figure]:
    """The min, median and max of several runs; with a limit, the median's upper bound."""
    middle = median(values)
    return [
        info(f"{name} min", min(values), unit),
        info(f"{name} median", middle, unit)
        if limit is None
        else at_most(f"{name} median", middle, unit, limit),
        info(f"{name} max", max(values), unit),
    ]


class StallMonitor:
    """Sleeps 1 ms in a loop beside the code under test and keeps the worst lateness.

    The lateness of a 1 ms sleep is how long something else held the event loop: what a
    Telegram update arriving at that moment would have waited.
    """

    def __init__(self) -> None:
        self.worst_seconds = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def worst_ms(self) -> float:
        """The worst stall seen, in milliseconds."""
        return self.worst_seconds * 1000

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(SLEEP_SECONDS)
            late = time.perf_counter() - before - SLEEP_SECONDS
            self.worst_seconds = max(self.worst_seconds, late)

    async def __aenter__(self) -> StallMonitor:
        self._task = asyncio.create_task(self._watch())
        # Let the watcher take its first step before the code under test starts.
        await asyncio.sleep(SLEEP_SECONDS)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._task is not None
        # One more turn, so a stall at the very end is seen too.
        await asyncio.sleep(SLEEP_SECONDS)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def peak_memory_mb() -> float:
    """The peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_memory_mb() -> float:
    """The resident memory of this process now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with `fraction` of them at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
