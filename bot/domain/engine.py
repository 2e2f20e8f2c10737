"""What the check-in tick does with one due client: pure policy, no I/O.

Patience over pressure, in code: a client who is paused, stopped or blocked gets
nothing; a check-in that would now arrive late, outside the chosen window or in
quiet hours is skipped rather than sent (is_stale); after `patience_after`
unanswered check-ins in a row the next one is replaced by a single offer to ease
off, made once per silence (any word or tap from the client allows the next one);
the frequency is never raised here.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from math import gcd

from bot.domain.models import ClientStatus, Schedule
from bot.domain.rhythm import after_quiet, is_stale, next_due, slot_date, zone


class Action(StrEnum):
    """What the tick does for one client."""

    CHECKIN = "checkin"
    PATIENCE = "patience"
    SKIP = "skip"
    RESUME = "resume"
    CLEAR = "clear"


@dataclass(frozen=True)
class Decision:
    """The tick's verdict: what to send, and the schedule to store."""

    action: Action
    schedule: Schedule
    status: ClientStatus
    prompt_key: str | None = None
    welcome_back: bool = False


@cache
def _strides(count: int) -> tuple[int, ...]:
    """Steps that walk through `count` prompts visiting each once before any comes again."""
    return tuple(step for step in range(1, count) if gcd(step, count) == 1) or (1,)


def choose_prompt(
    keys: Sequence[str], last: str | None, rng: random.Random, client_id: int = 0
) -> str:
    """The prompt after the last one sent, in this client's own order through all of them.

    A client sees every prompt once before any comes again (with 24 or more, a daily client
    sees no repeat within three weeks). Each client walks the prompts with a stride of their
    own, so clients checked in at the same moment do not all read the same words. The very
    first check-in is the first prompt, a plain hello with no conversation before it; after
    the prompts changed (the last one sent is gone), the walk starts anywhere.
    """
    if last is None:
        return keys[0]
    if last not in keys:
        return rng.choice(list(keys))
    strides = _strides(len(keys))
    step = strides[client_id % len(strides)]
    return keys[(keys.index(last) + step) % len(keys)]


def decide(
    status: ClientStatus,
    schedule: Schedule,
    now: datetime,
    *,
    prompt_keys: Sequence[str],
    patience_after: int,
    rng: random.Random,
) -> Decision:
    """Decide what a due client gets, and when they are due next."""
    tz = zone(schedule.timezone)
    rhythm = schedule.rhythm
    if status is ClientStatus.PAUSED:
        if schedule.paused_until is None or schedule.paused_until > now:
            return Decision(Action.CLEAR, schedule.but(next_due_at=schedule.paused_until), status)
        following = (
            next_due(rhythm, tz, schedule.quiet, now, last_slot=schedule.last_slot, rng=rng)
            if rhythm is not None
            else None
        )
        resumed = schedule.but(paused_until=None, next_due_at=following, welcome_back=True)
        return Decision(Action.RESUME, resumed, ClientStatus.ACTIVE)
    due = schedule.next_due_at
    if status is not ClientStatus.ACTIVE or rhythm is None or due is None:
        return Decision(Action.CLEAR, schedule.but(next_due_at=None), status)
    slot = slot_date(due, tz)
    following = next_due(rhythm, tz, schedule.quiet, now, last_slot=slot, rng=rng)
    if is_stale(rhythm, tz, schedule.quiet, due, now):
        return Decision(Action.SKIP, schedule.but(next_due_at=following, last_slot=slot), status)
    if schedule.unanswered >= patience_after and not schedule.patience_offered:
        offer = schedule.but(
            next_due_at=following,
            last_slot=slot,
            patience_offered=True,
            last_sent_kind=Action.PATIENCE.value,
        )
        return Decision(Action.PATIENCE, offer, status)
    # A check-in a specialist asked for that is due too (both put at the end of the same
    # quiet hours) is this one: one message, counted once.
    asked = schedule.manual_due_at
    served = {} if asked is None or asked > now else {"manual_due_at": None}
    return _checkin(
        schedule, status, prompt_keys, rng, next_due_at=following, last_slot=slot, **served
    )


def decide_manual(
    status: ClientStatus,
    schedule: Schedule,
    now: datetime,
    *,
    prompt_keys: Sequence[str],
    rng: random.Random,
) -> Decision:
    """A check-in a specialist asked for, now that it may go (not if the client paused since).

    It was put after the quiet hours of when it was asked for; now may be inside quiet hours
    all the same (the bot was down until the next night, the client changed their quiet
    hours or zone since): then it waits for them to end, as the specialist was told."""
    if status is not ClientStatus.ACTIVE:
        return Decision(Action.CLEAR, schedule.but(manual_due_at=None), status)
    later = after_quiet(now, zone(schedule.timezone), schedule.quiet)
    if later > now:
        return Decision(Action.SKIP, schedule.but(manual_due_at=later), status)
    return _checkin(schedule, status, prompt_keys, rng, manual_due_at=None)


def _checkin(
    schedule: Schedule,
    status: ClientStatus,
    prompt_keys: Sequence[str],
    rng: random.Random,
    **changes: object,
) -> Decision:
    prompt = choose_prompt(prompt_keys, schedule.last_prompt, rng, schedule.client_id)
    sent = schedule.but(
        unanswered=schedule.unanswered + 1,
        last_prompt=prompt,
        last_sent_kind=Action.CHECKIN.value,
        welcome_back=False,
        **changes,
    )
    return Decision(Action.CHECKIN, sent, status, prompt, welcome_back=schedule.welcome_back)
