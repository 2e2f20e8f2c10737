"""Who needs the specialist first: the facts about a client, and the order of attention.

A possibly urgent message comes first, then one that may need attention (the screen's
`concern` level), then clients waiting for an answer longer than REMIND_AFTER_HOURS, then
an "I'd like to talk", each only while the specialist has not written to the client since
(urgent, concern and talk for a week at most); then
clients not heard from for more than two weeks, the longest silence first; then
everyone else by alias. Silence is never urgent: it only sorts a name higher.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from bot.domain.models import Client, ClientStatus, Schedule

RECENT = timedelta(days=7)
QUIET_AFTER = timedelta(days=14)
WAITING_AFTER = timedelta(hours=24)


class Attention(IntEnum):
    """Why a client is near the top of the list (lower comes first)."""

    URGENT = 0
    CONCERN = 1
    WAITING = 2
    TALK = 3
    QUIET = 4
    NONE = 5


@dataclass(frozen=True)
class ClientFacts:
    """What the overview knows about one client: metadata only, never what they wrote."""

    client: Client
    schedule: Schedule
    last_heard_at: datetime  # last message or tap; consent if nothing since
    last_wrote_at: datetime | None  # last message relayed to a specialist
    last_answered_at: datetime | None  # the specialist's last message to them
    flagged_at: datetime | None  # the last possibly urgent message
    talk_at: datetime | None  # the last "I'd like to talk"
    # Since when the client's first unanswered message or "talk" has waited.
    waiting_since: datetime | None = None
    taps: tuple[str, ...] = ()  # the last check-in buttons tapped (moods), oldest first
    concern_at: datetime | None = None  # the last message that may need attention

    def attention(self, now: datetime, waiting_after: timedelta = WAITING_AFTER) -> Attention:
        """Why this client needs the specialist now, if they do."""
        if self._open(self.flagged_at, now):
            return Attention.URGENT
        if self._open(self.concern_at, now):
            return Attention.CONCERN
        if self.waiting_since is not None and now - self.waiting_since >= waiting_after:
            return Attention.WAITING
        if self._open(self.talk_at, now):
            return Attention.TALK
        if self.quiet_for(now) is not None:
            return Attention.QUIET
        return Attention.NONE

    def quiet_for(self, now: datetime) -> timedelta | None:
        """How long nothing has been heard, when that is more than QUIET_AFTER."""
        if self.client.status is ClientStatus.BLOCKED:
            return None
        silence = now - self.last_heard_at
        return silence if silence > QUIET_AFTER else None

    def _open(self, moment: datetime | None, now: datetime) -> bool:
        """Recent, and the specialist has not written to the client since."""
        if moment is None or now - moment > RECENT:
            return False
        return self.last_answered_at is None or self.last_answered_at < moment


def by_attention(
    facts: Iterable[ClientFacts], now: datetime, waiting_after: timedelta = WAITING_AFTER
) -> list[ClientFacts]:
    """The clients in the order a specialist should look at them."""

    def key(item: ClientFacts) -> tuple[int, float, str]:
        attention = item.attention(now, waiting_after)
        if attention is Attention.URGENT:
            moment = item.flagged_at
        elif attention is Attention.CONCERN:
            moment = item.concern_at
        elif attention is Attention.WAITING:
            moment = item.waiting_since
        elif attention is Attention.TALK:
            moment = item.talk_at
        else:
            moment = None
        # Newest alert first; among the quiet, the longest silence first.
        if moment is not None:
            order = -moment.timestamp()
        elif attention is Attention.QUIET:
            order = item.last_heard_at.timestamp()
        else:
            order = 0.0
        return attention, order, item.client.alias.casefold()

    return sorted(facts, key=key)
