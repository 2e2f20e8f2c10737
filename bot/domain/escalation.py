"""Escalation: a possibly urgent message nobody has answered goes to the supervisors.

Pure values and rules; the service (bot.services.escalation) does the sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# How long the supervisor who answered an escalation may keep writing to the client through
# their copy. One fixed day: long enough to finish the conversation they started, short
# enough that the client is soon back with their own specialist alone.
FOLLOW_UP_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Escalation:
    """One message screened urgent, and where its escalation stands (never its words)."""

    id: int
    client_id: int
    specialist_id: int
    category: str
    source_chat_id: int
    source_message_id: int
    flagged_at: datetime
    due_at: datetime | None
    escalated_at: datetime | None
    answered_at: datetime | None
    answered_by: int | None

    @property
    def escalated(self) -> bool:
        """It has gone to the supervisors (or, with nobody there, the loud reminder went)."""
        return self.escalated_at is not None


@dataclass(frozen=True)
class Responder:
    """Whoever answers a client: their specialist, or a supervisor (an admin or on call)."""

    user_id: int
    chat_id: int
    # None for an admin who is not a specialist: the client hears "the team".
    name: str | None
    is_admin: bool = False


@dataclass(frozen=True)
class Supervisor:
    """Someone who receives escalations: an admin, or a specialist on call."""

    user_id: int
    chat_id: int


class Reply(StrEnum):
    """What becomes of a supervisor's reply to their copy of an escalation."""

    FIRST = "first"  # it was still open: this reply answers it, and closes it
    FOLLOW_UP = "follow_up"  # the one who answered it, within FOLLOW_UP_WINDOW: it goes
    TAKEN = "taken"  # someone else answered it first: it does not go
    OVER = "over"  # the one who answered it, after FOLLOW_UP_WINDOW: it does not go


def after_answer(escalation: Escalation, user_id: int, now: datetime) -> Reply:
    """A reply to an escalation someone has answered: only the first answerer may write on,
    and only for FOLLOW_UP_WINDOW, so the client never hears from two supervisors at once."""
    if escalation.answered_by != user_id:
        return Reply.TAKEN
    assert escalation.answered_at is not None
    if now >= escalation.answered_at + FOLLOW_UP_WINDOW:
        return Reply.OVER
    return Reply.FOLLOW_UP


def due_at(flagged_at: datetime, after: timedelta, away: bool) -> datetime:
    """When an urgent message goes to the supervisors: at once while the specialist is away."""
    return flagged_at if away else flagged_at + after


def supervisors(
    admin_ids: frozenset[int],
    on_call: list[Supervisor],
    assigned_user_id: int,
    client_user_id: int | None = None,
) -> list[Supervisor]:
    """The admins and everyone on call, once each, without the client's own specialist and
    without the client (an admin may also be someone's client: never their own message)."""
    found = {s.user_id: s for s in on_call}
    for admin in admin_ids:
        found.setdefault(admin, Supervisor(admin, admin))
    left_out = {assigned_user_id, client_user_id}
    return sorted(
        (s for s in found.values() if s.user_id not in left_out), key=lambda s: s.user_id
    )
