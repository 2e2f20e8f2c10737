"""Who may write on after an escalation has been answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.escalation import FOLLOW_UP_WINDOW, Escalation, Reply, after_answer

ANSWERED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TESS, ADMIN = 1003, 900


def answered_by(user_id: int) -> Escalation:
    return Escalation(
        id=1,
        client_id=1,
        specialist_id=1,
        category="suicide",
        source_chat_id=2001,
        source_message_id=5,
        flagged_at=ANSWERED - timedelta(minutes=20),
        due_at=None,
        escalated_at=ANSWERED - timedelta(minutes=5),
        answered_at=ANSWERED,
        answered_by=user_id,
    )


@pytest.mark.parametrize(
    ("user_id", "later", "expected"),
    [
        (TESS, timedelta(0), Reply.FOLLOW_UP),
        (TESS, FOLLOW_UP_WINDOW - timedelta(seconds=1), Reply.FOLLOW_UP),
        (TESS, FOLLOW_UP_WINDOW, Reply.OVER),
        (TESS, timedelta(days=90), Reply.OVER),
        (ADMIN, timedelta(0), Reply.TAKEN),
        (ADMIN, timedelta(days=90), Reply.TAKEN),
    ],
)
def test_only_the_first_answerer_writes_on_and_only_for_a_day(
    user_id: int, later: timedelta, expected: Reply
) -> None:
    assert after_answer(answered_by(TESS), user_id, ANSWERED + later) is expected
