"""What the services share: schedule work (check-ins, settings) and the staff's tools."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.delivery.outbox import Outbox
from bot.domain.clock import Clock
from bot.domain.rhythm import zone
from bot.domain.texts import Texts
from bot.services.notices import Notices
from bot.services.phrasing import Phrasing
from bot.storage.audit import AuditRepository
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.overview import OverviewRepository
from bot.storage.schedules import ScheduleRepository
from bot.storage.specialists import SpecialistRepository
from bot.storage.staff_languages import StaffLanguageRepository


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
        # A specialist's language where only their chat is at hand (the tick's notes).
        self._staff_languages = StaffLanguageRepository(context.db)


@dataclass(frozen=True)
class StaffContext:
    """The store, the outbox, the words and the clock that the staff's tools need.

    Dates and times the staff type or read (away dates, the digest's hour) are in
    `staff_timezone`, the programme's zone.
    """

    db: Database
    specialists: SpecialistRepository
    clients: ClientRepository
    audit: AuditRepository
    facts: OverviewRepository
    outbox: Outbox
    notices: Notices
    texts: Texts
    clock: Clock
    staff_timezone: str


class StaffService:
    """A service of the specialists' and admins' side (overview, away, transfers, ...)."""

    def __init__(self, context: StaffContext) -> None:
        self._db = context.db
        self._specialists = context.specialists
        self._clients = context.clients
        self._audit = context.audit
        self._facts = context.facts
        self._outbox = context.outbox
        self._notices = context.notices
        self._texts = context.texts
        self._phrasing = Phrasing(context.texts)
        self._clock = context.clock
        self._staff_tz = zone(context.staff_timezone)
        # The language of staff known only by their Telegram user id (admins, supervisors).
        self._staff_languages = StaffLanguageRepository(context.db)
