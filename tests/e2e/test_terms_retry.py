"""Changed terms are shown once: "once" counts only what was stored. When showing them
failed (the database locked for a moment), the client's next contact brings the note."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Harness, fail_next

SAM, ALEX = 1001, 2001
NOTE = "something about how Porchlight works"


def notes_to_alex(bot: Harness) -> int:
    return sum(NOTE in (m.text or "") for m in bot.api.sent_to(ALEX))


async def test_a_terms_note_rolled_back_is_shown_at_the_next_contact(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alex consented under earlier terms (version 1).
    await bot.rows(
        "UPDATE clients SET consent_version = 1, terms_shown_version = 1"
        " WHERE telegram_user_id = ?",
        ALEX,
    )
    failed = fail_next(monkeypatch, bot.services.onboarding, "_audit_consent")

    first = bot.api.send_text(ALEX, "hello again")
    await bot.api.wait_until(lambda: bool(failed), what="the first handling to fail")
    await bot.settle()
    assert notes_to_alex(bot) == 0
    assert (await bot.client_row(ALEX))["terms_shown_version"] == 1  # rolled back whole

    # Alex's next contact brings the note (what failed is relayed by the tick on its own).
    bot.api.send_text(ALEX, "are you there?")
    await bot.barrier(ALEX)
    assert notes_to_alex(bot) == 1
    assert (await bot.client_row(ALEX))["terms_shown_version"] == 2
    await bot.run_tick()
    await bot.api.wait_until(
        lambda: any(m.copied_from == (ALEX, first.message_id) for m in bot.api.sent_to(SAM)),
        what="the failed message relayed to Sam",
    )

    # And once only: the next message brings no second note.
    bot.api.send_text(ALEX, "and once more")
    await bot.barrier(ALEX)
    assert notes_to_alex(bot) == 1
