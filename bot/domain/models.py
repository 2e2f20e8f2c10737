"""The people and records Porchlight knows about, as plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar

from bot.domain.rhythm import QuietHours, Rhythm
from bot.domain.texts import DEFAULT_LANGUAGE

T = TypeVar("T")


class ClientStatus(StrEnum):
    """Where a client stands with scheduled check-ins (relay works in every state)."""

    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    BLOCKED = "blocked"


class Direction(StrEnum):
    """Which way a relayed message travelled."""

    TO_SPECIALIST = "to_specialist"
    TO_CLIENT = "to_client"


@dataclass(frozen=True)
class Specialist:
    """A peer support specialist registered by an admin."""

    id: int
    telegram_user_id: int
    chat_id: int
    display_name: str
    active: bool
    created_at: datetime
    # Away mode: on until /back, or through away_until (a date in the staff's zone).
    away: bool = False
    away_until: date | None = None
    away_note: str | None = None
    # The daily summary: its local time ("HH:MM"), and the local date it last went.
    digest_at: time | None = None
    digest_sent_on: date | None = None
    # They blocked the bot: their messages are held until they unblock it (m012).
    blocked: bool = False
    # The language they read the bot in (their /language choice, else their Telegram
    # app's; m022).
    language: str = DEFAULT_LANGUAGE

    def is_away(self, today: date) -> bool:
        """Away on this (local) day: until /back, or through the until-date."""
        return self.away and (self.away_until is None or today <= self.away_until)


@dataclass(frozen=True)
class Client:
    """A person who accepted an invite and consented."""

    id: int
    telegram_user_id: int
    chat_id: int
    alias: str
    specialist_id: int
    status: ClientStatus
    language: str
    timezone: str
    consent_version: int
    consented_at: datetime
    # The question the client was just asked to answer by typing (a time, a zone), if any.
    awaiting: str | None = None
    # The terms they accepted said the team inbox's group reads along.
    consent_team: bool = False

    @property
    def accepted(self) -> Terms:
        return Terms(self.consent_version, self.consent_team)

    def has_accepted(self, terms: Terms) -> bool:
        """Whether the client accepted these terms (or later ones that cover them).

        Whatever a version of the terms brings (a new place their messages are copied to)
        applies to a client only once this is true; their messages reach their specialist
        either way.
        """
        return self.accepted.covers(terms)


@dataclass(frozen=True)
class Terms:
    """A version of the consent terms: the texts' own number (consent.version), and whether
    they say the team inbox's group reads along. The two are kept apart (m021): terms with
    the team cover the same version without it, never a later version."""

    version: int
    team: bool = False

    def covers(self, other: Terms) -> bool:
        """Accepting these means having accepted `other` too."""
        return self.version >= other.version and (self.team or not other.team)

    def __str__(self) -> str:
        return f"{self.version} with the team inbox" if self.team else str(self.version)


@dataclass(frozen=True)
class Invite:
    """A single-use invitation; only the hash of its code is ever stored."""

    id: int
    specialist_id: int
    alias: str
    created_at: datetime
    expires_at: datetime

    def is_usable(self, now: datetime) -> bool:
        """True until the invite expires (a used one no longer exists)."""
        return now < self.expires_at


@dataclass(frozen=True)
class RelayLink:
    """One relayed message: where it came from, where its copy landed, whose it is."""

    id: int
    client_id: int
    specialist_id: int
    direction: Direction
    source_chat_id: int | None
    source_message_id: int | None
    dest_chat_id: int
    dest_message_id: int | None


@dataclass(frozen=True)
class Schedule:
    """A client's check-in settings and where the engine stands with them."""

    client_id: int
    rhythm: Rhythm | None  # None until the client has chosen
    quiet: QuietHours | None
    timezone: str
    timezone_chosen: bool
    paused_until: datetime | None
    next_due_at: datetime | None
    manual_due_at: datetime | None
    last_slot: date | None
    unanswered: int
    last_prompt: str | None
    last_sent_kind: str | None
    welcome_back: bool
    awaiting: str | None
    patience_offered: bool = False

    def but(self, **changes: Any) -> Schedule:
        """A copy with these fields changed: dataclasses.replace without its walk over
        every field and keyword call, for the tick, which makes one per due client."""
        if unknown := changes.keys() - _SCHEDULE_FIELDS:
            raise TypeError(f"Schedule has no field {', '.join(sorted(unknown))}")
        copy = object.__new__(Schedule)
        copy.__dict__.update(self.__dict__, **changes)
        return copy


_SCHEDULE_FIELDS = frozenset(field.name for field in fields(Schedule))


@cache
def _field_names(cls: type) -> frozenset[str]:
    # made() skips __init__: a class that checks its values there, or keeps them in slots,
    # would be made unchecked or not at all.
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__} must be made by its constructor")
    return frozenset(field.name for field in fields(cls))


def made(cls: type[T], **values: Any) -> T:
    """cls(**values) for a frozen dataclass with every field given, without its __init__,
    which sets each field through object.__setattr__ (4.7 µs for a Schedule, 0.7 this
    way): for the tick's claim, which makes thousands."""
    if values.keys() != (names := _field_names(cls)):  # type: ignore[arg-type]
        raise TypeError(f"{cls.__name__} takes exactly {', '.join(sorted(names))}")
    instance = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


class CheckinKind(StrEnum):
    """What was sent: a scheduled check-in, one a specialist asked for, or the ease-off offer."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    PATIENCE = "patience"


@dataclass(frozen=True)
class Checkin:
    """One check-in as sent, and how (not what) it was answered."""

    id: int
    client_id: int
    kind: CheckinKind
    due_at: datetime
    sent_at: datetime
    prompt_key: str | None
    answered_at: datetime | None
    answer: str | None


class ActorRole(StrEnum):
    """Who did something recorded in the audit log."""

    CLIENT = "client"
    SPECIALIST = "specialist"
    ADMIN = "admin"
    CLI = "cli"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who is acting: their role and, for staff, their Telegram user id."""

    role: ActorRole
    user_id: int | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: who did what to whom, when. Never message content."""

    id: int
    at: datetime
    actor: Actor
    action: str
    client_id: int | None
    specialist_id: int | None
    detail: str | None
