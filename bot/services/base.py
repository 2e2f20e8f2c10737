"""What the check-in engine and the client's settings share."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.delivery.outbox import Outbox
from bot.domain.clock import Clock
from bot.domain.texts import Texts
from bot.services.phrasing import Phrasing
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.schedules import ScheduleRepository


@dataclass(frozen=True)
class ScheduleContext:
    """The store, the outbox, the words and the clock that schedule work needs."""

    db: Database
    clients: ClientRepository
    schedules: ScheduleRepository
    outbox: Outbox
    texts: Texts
    clock: Clock


class ScheduleService:
    """A service over clients' schedules (CheckIns and Preferences)."""

    def __init__(self, context: ScheduleContext, rng: random.Random | None = None) -> None:
        self._db = context.db
        self._clients = context.clients
        self._schedules = context.schedules
        self._outbox = context.outbox
        self._texts = context.texts
        self._phrasing = Phrasing(context.texts)
        self._clock = context.clock
        self._rng = rng or random.Random()
