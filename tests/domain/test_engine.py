"""The tick's policy for one due client: what is sent, what is skipped, what comes next."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain.engine import Action, choose_prompt, decide, decide_manual
from bot.domain.models import ClientStatus, Schedule
from bot.domain.rhythm import Cadence, Rhythm

NINE = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
KEYS = ["p01", "p02", "p03"]
DAILY_NINE = Rhythm(Cadence.DAILY, at=time(9, 0))


def schedule(**changes: object) -> Schedule:
    base = Schedule(
        client_id=1,
        rhythm=DAILY_NINE,
        quiet=None,
        timezone="UTC",
        timezone_chosen=True,
        paused_until=None,
        next_due_at=NINE,
        manual_due_at=None,
        last_slot=None,
        unanswered=0,
        last_prompt=None,
        last_sent_kind=None,
        welcome_back=False,
        awaiting=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def run(status: ClientStatus, current: Schedule, now: datetime = NINE) -> object:
    return decide(status, current, now, prompt_keys=KEYS, patience_after=3, rng=random.Random(1))


def test_an_on_time_checkin_is_sent_and_the_next_is_tomorrow() -> None:
    decision = run(ClientStatus.ACTIVE, schedule(), NINE + timedelta(seconds=15))
    assert decision.action is Action.CHECKIN
    assert decision.prompt_key in KEYS
    assert decision.schedule.next_due_at == NINE + timedelta(days=1)
    assert decision.schedule.last_slot == date(2026, 11, 30)
    assert decision.schedule.unanswered == 1


@pytest.mark.parametrize("late", [timedelta(hours=3, minutes=1), timedelta(days=2)])
def test_a_late_slot_is_skipped_not_made_up(late: timedelta) -> None:
    decision = run(ClientStatus.ACTIVE, schedule(), NINE + late)
    assert decision.action is Action.SKIP
    assert decision.schedule.next_due_at is not None
    assert decision.schedule.next_due_at > NINE + late
    assert decision.schedule.unanswered == 0


@pytest.mark.parametrize("status", [ClientStatus.STOPPED, ClientStatus.BLOCKED])
def test_stopped_and_blocked_clients_get_nothing(status: ClientStatus) -> None:
    decision = run(status, schedule())
    assert decision.action is Action.CLEAR
    assert decision.schedule.next_due_at is None


def test_a_pause_that_has_ended_resumes_with_a_welcome() -> None:
    current = schedule(paused_until=NINE - timedelta(minutes=1), next_due_at=NINE)
    decision = run(ClientStatus.PAUSED, current)
    assert decision.action is Action.RESUME
    assert decision.status is ClientStatus.ACTIVE
    assert decision.schedule.welcome_back
    assert decision.schedule.paused_until is None
    assert decision.schedule.next_due_at == NINE + timedelta(days=1)
    after = run(ClientStatus.ACTIVE, decision.schedule, NINE + timedelta(days=1))
    assert after.action is Action.CHECKIN and after.welcome_back
    assert not after.schedule.welcome_back


def test_a_paused_client_before_the_end_gets_nothing() -> None:
    current = schedule(paused_until=NINE + timedelta(days=2))
    decision = run(ClientStatus.PAUSED, current)
    assert decision.action is Action.CLEAR
    assert decision.schedule.next_due_at == NINE + timedelta(days=2)


def test_patience_offer_replaces_the_fourth_and_comes_once_per_silence() -> None:
    offer = run(ClientStatus.ACTIVE, schedule(unanswered=3))
    assert offer.action is Action.PATIENCE
    assert offer.schedule.patience_offered
    still_silent = offer.schedule
    for _ in range(10):
        still_silent = replace(still_silent, next_due_at=NINE)
        later = run(ClientStatus.ACTIVE, still_silent)
        assert later.action is Action.CHECKIN
        still_silent = later.schedule
    assert still_silent.unanswered == 13
    after_contact = replace(still_silent, unanswered=3, patience_offered=False, next_due_at=NINE)
    assert run(ClientStatus.ACTIVE, after_contact).action is Action.PATIENCE


def test_manual_checkin_leaves_the_schedule_alone() -> None:
    current = schedule(manual_due_at=NINE)
    decision = decide_manual(
        ClientStatus.ACTIVE, current, NINE, prompt_keys=KEYS, rng=random.Random(1)
    )
    assert decision.action is Action.CHECKIN
    assert decision.schedule.manual_due_at is None
    assert decision.schedule.next_due_at == NINE
    paused = decide_manual(
        ClientStatus.PAUSED, current, NINE, prompt_keys=KEYS, rng=random.Random(1)
    )
    assert paused.action is Action.CLEAR


def test_prompts_never_repeat_back_to_back() -> None:
    rng = random.Random(7)
    last = None
    for _ in range(200):
        chosen = choose_prompt(KEYS, last, rng)
        assert chosen != last
        last = chosen
    assert choose_prompt(["only"], "only", rng) == "only"


@pytest.mark.parametrize("count", [24, 25, 26, 30])
@pytest.mark.parametrize("client_id", [1, 2, 7, 12, 1001])
def test_a_client_sees_every_prompt_before_any_comes_again(count: int, client_id: int) -> None:
    keys = [f"p{n:02d}" for n in range(1, count + 1)]
    rng = random.Random(client_id)
    seen: list[str] = []
    last = "gone"  # a prompt since removed: the walk starts anywhere
    for _ in range(3 * count):
        last = choose_prompt(keys, last, rng, client_id)
        seen.append(last)
    for start in range(len(seen) - count + 1):
        assert sorted(seen[start : start + count]) == keys


def test_the_first_checkin_is_the_first_prompt_a_plain_hello() -> None:
    keys = [f"p{n:02d}" for n in range(1, 27)]
    assert {choose_prompt(keys, None, random.Random(seed), seed) for seed in range(20)} == {"p01"}


def test_clients_checked_in_together_walk_the_prompts_differently() -> None:
    keys = [f"p{n:02d}" for n in range(1, 27)]
    walks = set()
    for client_id in range(1, 13):
        last = "p01"
        walk = []
        for _ in range(5):
            last = choose_prompt(keys, last, random.Random(0), client_id)
            walk.append(last)
        walks.add(tuple(walk))
    assert len(walks) == 12


def test_the_tick_walks_a_daily_client_through_three_weeks_without_a_repeat() -> None:
    keys = [f"p{n:02d}" for n in range(1, 25)]
    current = schedule(client_id=42)
    now = NINE
    sent = []
    for _ in range(21):
        decision = decide(
            ClientStatus.ACTIVE,
            current,
            now + timedelta(seconds=15),
            prompt_keys=keys,
            patience_after=99,
            rng=random.Random(3),
        )
        assert decision.action is Action.CHECKIN
        sent.append(decision.prompt_key)
        current = decision.schedule
        assert current.next_due_at is not None
        now = current.next_due_at
    assert len(set(sent)) == 21


def test_a_schedule_changed_by_but_equals_one_changed_by_replace() -> None:
    original = schedule(
        rhythm=None,
        next_due_at=None,
        unanswered=2,
        last_prompt="p01",
        last_sent_kind="checkin",
        welcome_back=True,
    )
    changed = original.but(unanswered=3, welcome_back=False)
    assert changed == replace(original, unanswered=3, welcome_back=False)
    assert original.unanswered == 2  # the original stays as it was
    with pytest.raises(TypeError, match="no field unanswerd"):
        original.but(unanswerd=3)
