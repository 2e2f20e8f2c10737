"""Strangers answered once in a while: what is remembered of them stays bounded."""

from __future__ import annotations

import time
from typing import Any, cast

import pytest

from bot.services import notices
from bot.services.notices import Notices


def test_a_flood_of_new_strangers_keeps_the_memory_bounded_and_cheap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Thousands of strangers within the hour: past the bound the oldest are forgotten
    # (at worst one of them is answered twice), not all kept, each new one rebuilding it.
    monkeypatch.setattr(notices, "STRANGERS_REMEMBERED", 100)
    now = [0.0]
    said = Notices(
        cast(Any, None),
        cast(Any, None),
        cast(Any, None),
        answer_strangers_every=3600,
        monotonic=lambda: now[0],
    )
    started = time.perf_counter()
    for stranger in range(20_000):
        now[0] += 0.01
        assert not said._answered_lately(stranger, "stranger.invitation_only")
        assert said._answered_lately(stranger, "stranger.invitation_only")
    assert len(said._strangers_answered) <= 100
    assert time.perf_counter() - started < 2.0
    # The most recent ones are still remembered.
    assert said._answered_lately(19_999, "stranger.invitation_only")
