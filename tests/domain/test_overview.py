"""Who comes first in a specialist's overview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.models import Client, ClientStatus, Schedule
from bot.domain.overview import Attention, ClientFacts, by_attention

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def facts(
    alias: str,
    *,
    heard: timedelta = timedelta(hours=1),
    answered: timedelta | None = None,
    flagged: timedelta | None = None,
    talk: timedelta | None = None,
    status: ClientStatus = ClientStatus.ACTIVE,
) -> ClientFacts:
    def ago(delta: timedelta | None) -> datetime | None:
        return None if delta is None else NOW - delta

    client = Client(1, 1, 1, alias, 1, status, "en", "UTC", 1, NOW - timedelta(days=60))
    schedule = Schedule(
        1, None, None, "UTC", False, None, None, None, None, 0, None, None, False, None
    )
    return ClientFacts(
        client=client,
        schedule=schedule,
        last_heard_at=NOW - heard,
        last_wrote_at=None,
        last_answered_at=ago(answered),
        flagged_at=ago(flagged),
        talk_at=ago(talk),
    )


def test_urgent_then_talk_then_long_silence_then_by_alias() -> None:
    found = by_attention(
        [
            facts("bea"),
            facts("Quiet long", heard=timedelta(days=30)),
            facts("Quiet less", heard=timedelta(days=15)),
            facts("Talk", talk=timedelta(hours=2)),
            facts("Urgent old", flagged=timedelta(days=2)),
            facts("Urgent new", flagged=timedelta(hours=1)),
            facts("Adam"),
        ],
        NOW,
    )
    assert [f.client.alias for f in found] == [
        "Urgent new",
        "Urgent old",
        "Talk",
        "Quiet long",
        "Quiet less",
        "Adam",
        "bea",
    ]


def test_an_answer_or_a_week_closes_an_alert() -> None:
    answered = facts("A", flagged=timedelta(hours=3), answered=timedelta(hours=1))
    assert answered.attention(NOW) is Attention.NONE
    answered_before = facts("A", flagged=timedelta(hours=1), answered=timedelta(hours=3))
    assert answered_before.attention(NOW) is Attention.URGENT
    assert facts("A", talk=timedelta(days=8)).attention(NOW) is Attention.NONE
    assert facts("A", talk=timedelta(days=6)).attention(NOW) is Attention.TALK


def test_silence_counts_after_two_weeks_and_never_for_a_blocked_client() -> None:
    assert facts("A", heard=timedelta(days=14)).attention(NOW) is Attention.NONE
    assert facts("A", heard=timedelta(days=14, seconds=1)).quiet_for(NOW) is not None
    blocked = facts("A", heard=timedelta(days=40), status=ClientStatus.BLOCKED)
    assert blocked.attention(NOW) is Attention.NONE


def test_a_message_that_may_need_attention_comes_after_urgent_and_before_talk() -> None:
    concern = facts("Concern", talk=timedelta(hours=1))
    concern = ClientFacts(**{**concern.__dict__, "concern_at": NOW - timedelta(hours=2)})
    found = by_attention(
        [
            facts("Talk", talk=timedelta(hours=1)),
            concern,
            facts("Urgent", flagged=timedelta(days=1)),
        ],
        NOW,
    )
    assert [f.client.alias for f in found] == ["Urgent", "Concern", "Talk"]
    assert concern.attention(NOW) is Attention.CONCERN
    answered = ClientFacts(**{**concern.__dict__, "last_answered_at": NOW})
    assert answered.attention(NOW) is Attention.NONE
