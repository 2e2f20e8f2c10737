"""The one sender: drains the outbox under the rate limiter, in order per chat.

A dispatcher claims due items (possibly urgent words first, then people waiting, then
check-ins) and hands each chat's items to that chat's worker, which sends them one by one;
chats proceed in parallel, each under the limiter. A chat has at most PER_CHAT_IN_FLIGHT
items with its worker (a second's worth at Telegram's pace of one a second in a chat), and
people's messages are handed out in turns, every chat's next before any chat's second: a
backlog of hundreds in one chat never holds up another chat. A possibly urgent item goes
to the front of its chat's queue, behind only the one being sent.

A message is marked `sending` before the request leaves: after a crash, items left
`sending` are sent again (at least once) unless they are at-most-once (check-ins), which
are dropped rather than risk a double.

Failures: a 429 pauses that chat for retry_after (and everyone, when several chats
are told to wait at once); network errors, timeouts and 5xx are retried with
exponential back-off and jitter until `give_up_after`; a 403 means the person
blocked the bot (what is for a specialist is then held, not given up); a 400 will
not get better by retrying. What is given up on is reported to DeliveryEvents, which
tells a person once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import warnings
from collections import Counter, deque
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message, MessageId, ReplyParameters
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut

from bot import metrics
from bot.delivery.limiter import RateLimiter, Stopped
from bot.domain.clock import Clock, StepBack
from bot.logs import EventLog
from bot.storage.db import Database, fault_text, from_db, is_storage_fault
from bot.storage.outbox import OutboxItem, OutboxRepository, Priority
from bot.storage.topics import TopicRepository

log = EventLog(__name__)

# Telegram's answer to an edit that changes nothing.
NOT_MODIFIED = "message is not modified"

MAX_IN_FLIGHT = 200
# One chat sends about one message a second: more with its worker would only wait there,
# holding room another chat's message could use (three: a header, its copy, one more).
PER_CHAT_IN_FLIGHT = 3
SCHEDULED_IN_FLIGHT = 30
SCHEDULED_REFILL = 10
IDLE_WAIT_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 300.0
STALE_AFTER = timedelta(hours=3)
ERROR_PAUSE_SECONDS = 1.0
# This many different chats told to wait within a second means the whole bot is.
GLOBAL_429_CHATS = 3
# Telegram's answer to a topic edit, close or reopen that changes nothing.
TOPIC_NOT_MODIFIED = "topic_not_modified"
# How long an item for a topic still being made waits before it looks again.
TOPIC_WAIT = timedelta(seconds=3)
# A team group item that is the specialist's only copy (TEAM_MODE=group, "instead" in its
# payload) is retried this long, not a day: then it goes to their private chat instead.
INSTEAD_GIVE_UP_AFTER = timedelta(minutes=15)


class DeliveryEvents(Protocol):
    """Who hears about messages that could not be delivered."""

    async def blocked(self, item: OutboxItem) -> bool:
        """The person in the item's chat blocked the bot (Telegram answered 403); True if
        the item is kept for them (held until they unblock), False to give it up."""

    async def dead(self, item: OutboxItem, reason: str) -> None:
        """The item was given up on."""


class TeamFailures(Protocol):
    """Who hears, inside the transaction that gives it up, of a team group item given up."""

    async def failed(self, item: OutboxItem, error: TelegramError) -> None:
        """The item (with its topic's thread id, if it had one) will not be sent."""


def _markup(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    data = payload.get("reply_markup")
    return InlineKeyboardMarkup.de_json(data, None) if data else None


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sender:
    """Sends queued messages; the only code that calls the Bot API to send."""

    def __init__(
        self,
        db: Database,
        outbox: OutboxRepository,
        bot: Bot,
        limiter: RateLimiter,
        clock: Clock,
        *,
        events: DeliveryEvents | None = None,
        give_up_after: timedelta = timedelta(hours=24),
        max_in_flight: int = MAX_IN_FLIGHT,
        scheduled_in_flight: int = SCHEDULED_IN_FLIGHT,
        topics: TopicRepository | None = None,
        team: TeamFailures | None = None,
        team_chat_id: int | None = None,
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._bot = bot
        self._limiter = limiter
        self._clock = clock
        self._events = events
        self._give_up_after = give_up_after
        self._topics = topics
        self._team = team
        self._team_chat_id = team_chat_id
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[int] = set()
        self._in_flight_by: dict[Priority, set[int]] = {p: set() for p in Priority}
        self._in_flight_in: Counter[int] = Counter()  # per chat
        # Per priority: how many may be in flight, and how much room makes a look worthwhile.
        self._allowances = {
            Priority.URGENT: (max_in_flight, 1),
            Priority.PERSON: (max_in_flight, 1),
            Priority.SCHEDULED: (scheduled_in_flight, SCHEDULED_REFILL),
            # The team group is one chat: a second's worth with its worker is plenty.
            Priority.TEAM_URGENT: (PER_CHAT_IN_FLIGHT, 1),
            Priority.TEAM: (PER_CHAT_IN_FLIGHT, 1),
        }
        # Priorities that had more due than room at the dispatcher's last look: a worker
        # that frees enough room wakes it (any other finish would only make it look again).
        self._wanting: set[Priority] = set()
        self._queues: dict[int, deque[OutboxItem]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._recent_429: deque[tuple[float, int]] = deque()
        # A worker's send failed with an exception (the database failing, a full disk): the
        # dispatcher pauses before handing the same items out again, instead of spinning.
        self._worker_failed = False
        # Items withdrawn while with a worker (a transfer re-addressed them): not to be sent.
        self._withdrawn: set[int] = set()
        self._step_back = StepBack(clock)

    def wake(self) -> None:
        """Something new is queued."""
        self._wake.set()

    async def start(self) -> None:
        """Recover from an interrupted run, then start draining in the background."""
        async with self._db.transaction():
            retried, dropped = await self._outbox.recover_interrupted()
            ahead = await self._outbox.queued_ahead(self._clock.now())
        if retried or dropped:
            log.warning("outbox.recovered", retried=retried, dropped=dropped)
        if ahead:
            log.warning("clock.went_back", moved=ahead)
        self._stopping = False
        self._stopped.clear()
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        """Finish the messages being sent right now, then stop; the rest waits in the outbox."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._workers:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                if self._worker_failed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopped.wait(), ERROR_PAUSE_SECONDS)
                    self._worker_failed = False
                    continue
                next_at = await self._dispatch()
                if not self._stopping:
                    await self._idle(next_at)
            except Exception as error:
                # A locked database (a backup, the command line) must not end sending.
                if is_storage_fault(error):
                    log.warning("outbox.dispatch_failed", error=fault_text(error))
                else:
                    log.exception("outbox.dispatch_error")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), ERROR_PAUSE_SECONDS)

    async def _idle(self, next_at: datetime | None) -> None:
        """Sleep until something is queued, a worker finishes, or a retry comes due."""
        timeout = IDLE_WAIT_SECONDS
        if next_at is not None:
            timeout = min(timeout, max(0.005, (next_at - self._clock.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def _dispatch(self) -> datetime | None:
        """Hand due items to their chats' workers, within each priority's allowance;
        return when the earliest item not yet due becomes due.

        Check-ins in flight are held to their own allowance (a fraction of a second's
        worth: they mostly wait for their pacing slot), so a message a person is waiting
        for always finds room.
        """
        self._wake.clear()
        await self._after_step_back()
        # People's messages (retries come due, offers without room) are looked for as a
        # person's work; check-ins and the next moment as background work.
        async with self._db.autocommit():
            await self._look(Priority.URGENT)
            await self._look(Priority.PERSON)
        async with self._db.autocommit(background=True):
            await self._look(Priority.SCHEDULED)
            await self._look(Priority.TEAM_URGENT)
            await self._look(Priority.TEAM)
            # What is due now is either handed out already (its worker wakes us when done)
            # or waits for room (likewise): only a future moment needs a timer.
            return await self._outbox.next_not_before(after=self._clock.now())

    async def _after_step_back(self) -> None:
        """The clock went back since the last look (NTP stepping it, a hardware clock read
        as local time): what waits in the outbox for a moment (a retry, its chat's turn)
        would otherwise wait that much longer, an hour for an hour, and every message
        queued for its chat after it too. It waits as long as it was meant to instead."""
        now, step = self._step_back.look()
        if step is None:
            return
        # One transaction: after a storm tens of thousands wait, each its own commit else.
        async with self._db.transaction():
            moved = await self._outbox.bring_forward(step, now)
        log.warning("clock.went_back", seconds=round(step.total_seconds()), moved=moved)

    async def _look(self, priority: Priority) -> None:
        """Hand out what is due of one priority, as far as its allowance has room."""
        allowance, least = self._allowances[priority]
        handed = self._in_flight_by[priority]
        room = allowance - len(handed)
        if room < min(least, allowance):
            self._wanting.add(priority)
            return
        now = self._clock.now()
        capped = False
        if priority is Priority.PERSON:
            items, capped = await self._outbox.due_in_turns(
                now,
                room,
                priority=priority,
                exclude=handed,
                in_flight=self._in_flight_in,
                per_chat=PER_CHAT_IN_FLIGHT,
            )
        else:
            # Possibly urgent words are few and go whatever their chat holds; check-ins are
            # one per chat (and would cost the storm a read of all of them per look).
            items = await self._outbox.due(now, room, priority=priority, exclude=handed)
        for item in items:
            self._hand_out(item)
        if len(items) < room and not capped:
            self._wanting.discard(priority)
        else:
            # Either room ran out or a chat has more than its share: a worker finishing one
            # makes room, and wakes the dispatcher for it.
            self._wanting.add(priority)

    def offer(self, item: OutboxItem) -> None:
        """A message a person waits for, just committed and due: to its chat's worker now.

        Without room (or while stopping) the dispatcher finds it in the outbox instead.
        One chat's messages keep their order: an item is only offered when it is due at
        once, and goes to the dispatcher too while an item queued before it for the same
        chat waits in the outbox (a retry come due, an offer without room), not yet
        handed to the chat's worker.
        """
        allowance, _ = self._allowances[item.priority]
        full = len(self._in_flight_by[item.priority]) >= allowance
        if item.priority is Priority.PERSON:
            full = full or self._in_flight_in[item.chat_id] >= PER_CHAT_IN_FLIGHT
        # Only items of its priority or a higher one go before it (queued_before).
        behind = any(earlier not in self._in_flight for earlier in item.queued_before)
        if self._stopping or full or behind:
            self._wake.set()
            return
        self._hand_out(item)

    def withdraw(self, item_ids: Collection[int]) -> None:
        """These items went elsewhere: any still with a worker, even one waiting for its
        chat's turn, is not sent (one whose request has left cannot be called back)."""
        self._withdrawn.update(item_id for item_id in item_ids if item_id in self._in_flight)

    def _hand_out(self, item: OutboxItem) -> None:
        """Queue an item on its chat's worker, starting the worker if needed."""
        if item.id in self._in_flight:
            return
        self._in_flight.add(item.id)
        self._in_flight_by[item.priority].add(item.id)
        self._in_flight_in[item.chat_id] += 1
        queue = self._queues.setdefault(item.chat_id, deque())
        if item.priority in (Priority.URGENT, Priority.TEAM_URGENT):
            # Ahead of the chat's ordinary items (in their order among themselves).
            place = next(
                (i for i, queued in enumerate(queue) if queued.priority > item.priority),
                len(queue),
            )
            queue.insert(place, item)
        else:
            queue.append(item)
        if item.chat_id not in self._workers:
            self._workers[item.chat_id] = asyncio.create_task(
                self._work(item.chat_id), name=f"outbox-chat-{item.chat_id}"
            )

    async def _work(self, chat_id: int) -> None:
        """Send one chat's items in order; stop at the first that has to wait."""
        queue = self._queues[chat_id]
        sent = True
        try:
            while queue and not self._stopping:
                item = queue.popleft()
                try:
                    sent = await self._send_one(item)
                except Exception as error:
                    if not is_storage_fault(error):
                        log.exception("outbox.send_error", item=item.id)
                    elif not self._worker_failed:  # one line per pause, not one per item
                        log.warning("outbox.storage_failed", item=item.id, error=fault_text(error))
                    self._worker_failed = True
                    sent = False
                finally:
                    self._release(item)
                if not sent:
                    break
        finally:
            for left in queue:
                self._release(left)
            del self._queues[chat_id]
            del self._workers[chat_id]
            if queue or not sent:
                # The chat has to wait (or the sender stops): the dispatcher looks again,
                # for what was left and for when the wait ends.
                self._wake.set()

    def _release(self, item: OutboxItem) -> None:
        if item.id not in self._in_flight:
            return
        self._withdrawn.discard(item.id)
        self._in_flight.discard(item.id)
        self._in_flight_in[item.chat_id] -= 1
        if not self._in_flight_in[item.chat_id]:
            del self._in_flight_in[item.chat_id]
        handed = self._in_flight_by[item.priority]
        handed.discard(item.id)
        allowance, least = self._allowances[item.priority]
        if item.priority in self._wanting and allowance - len(handed) >= min(least, allowance):
            self._wake.set()

    async def _send_one(self, item: OutboxItem) -> bool:
        """Send one item; False when the chat has to wait before its next message."""
        if item.at_most_once and (stale := self._stale(item)) is not None:
            # A check-in that waited this long (a long outage), or into the client's quiet
            # hours, would no longer be the one the client chose: drop it, never deliver it
            # late.
            async with self._db.autocommit():
                await self._outbox.mark_dead(item, stale)
            metrics.dead()
            return True
        # A check-in's bookkeeping lets a person's message go first (Database.autocommit).
        background = not item.priority.waited_for
        async with self._db.autocommit(background=background):
            waiting = await self._outbox.mark_sending(item.id)
        if not waiting:
            return True  # withdrawn or erased since it was handed out: nothing to send
        if "topic" in item.payload or "link_topic" in item.payload:
            try:
                ready = await self._into_topic(item)
            except BadRequest as error:
                await self._give_up(item, error)
                return True
            if ready is False:
                # Its topic is still being made (an urgent item goes ahead of that request):
                # it waits, without holding up the request it waits for.
                async with self._db.autocommit(background=background):
                    await self._outbox.retry_later(
                        item.id, self._clock.now() + TOPIC_WAIT, "topic not made yet"
                    )
                return True
            if ready is None:
                async with self._db.autocommit(background=background):
                    await self._outbox.mark_sent(item, None, self._clock.now())
                return True
            item = ready
        # The limiter comes last, so the request leaves the moment its slot is granted
        # (a database wait in between bunched requests past Telegram's limits).
        if not await self._wait_turn(item):
            if item.id not in self._withdrawn:
                async with self._db.autocommit():  # stopping: back to pending, in its place
                    await self._outbox.retry_later(item.id, item.not_before, "stopped")
            return False
        if item.id in self._withdrawn:
            return True  # re-addressed while it waited for its turn: withdrawn in the outbox
        try:
            message_id = await self._call(item)
        except RetryAfter as error:
            await self._rate_limited(item, _retry_seconds(error))
            return False
        except Forbidden as error:
            if self._events is not None and await self._events.blocked(item):
                # Kept for a specialist who blocked the bot, with the rest of their chat:
                # sent when they unblock it.
                log.warning("outbox.held", item=item.id, chat=item.chat_id)
                return False
            await self._give_up(item, error)
            return True
        except BadRequest as error:
            if (
                NOT_MODIFIED in error.message.lower()
                or TOPIC_NOT_MODIFIED in error.message.lower()
            ):
                # An edit to what the message already says (a button tapped twice): done.
                message_id = None
            else:
                await self._give_up(item, error, tell=True)
                return True
        except TimedOut as error:
            if item.at_most_once:
                # Telegram may have delivered it before the answer timed out: a second
                # try could send the same check-in twice, so this one is given up.
                await self._give_up(item, error)
                return True
            return await self._retry(item, error)
        except TelegramError as error:
            return await self._retry(item, error)
        async with self._db.autocommit(background=background):
            await self._outbox.mark_sent(item, message_id, self._clock.now())
        log.debug("outbox.sent", item=item.id, chat=item.chat_id, method=item.method)
        return True

    def _stale(self, item: OutboxItem) -> str | None:
        """Why an at-most-once item may no longer go (queued too long ago, or its client's
        quiet hours have begun since), or None."""
        now = self._clock.now()
        if now - item.created_at > STALE_AFTER:
            return "stale"
        expires = item.payload.get("expires")
        if expires is not None and now >= from_db(expires):
            return "quiet hours"
        return None

    async def _wait_turn(self, item: OutboxItem) -> bool:
        """Wait for the limiter; False if the sender stops first.

        The wait runs in this task, not in one of its own: the moment the limiter counts
        is the moment the request leaves (waking a waiting task took the loop a step or
        two more), and a message that need not wait, like most relays, costs no task.
        """
        try:
            await self._limiter.acquire(
                item.chat_id,
                urgent=item.priority.waited_for,
                stopping=lambda: self._stopping,
            )
        except Stopped:
            return False
        return True

    async def _rate_limited(self, item: OutboxItem, seconds: float) -> None:
        log.warning("outbox.rate_limited", chat=item.chat_id, retry_after=seconds)
        metrics.rate_limited()
        now = asyncio.get_running_loop().time()
        self._recent_429.append((now, item.chat_id))
        while self._recent_429 and self._recent_429[0][0] < now - 1.0:
            self._recent_429.popleft()
        if len({chat for _, chat in self._recent_429}) >= GLOBAL_429_CHATS:
            self._limiter.pause_all(seconds)
        self._limiter.pause_chat(item.chat_id, seconds)
        until = self._clock.now() + timedelta(seconds=seconds)
        async with self._db.transaction():
            await self._outbox.retry_later(item.id, until, "RetryAfter")
            await self._outbox.pause_chat(item.chat_id, until)

    async def _retry(self, item: OutboxItem, error: TelegramError) -> bool:
        """Back off exponentially with jitter, until give_up_after since the item was queued."""
        now = self._clock.now()
        limit = self._give_up_after
        if "instead" in item.payload:
            limit = min(limit, INSTEAD_GIVE_UP_AFTER)
        if now - item.created_at > limit:
            await self._give_up(item, error, tell=True)
            return True
        backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** (item.attempts + 1))
        delay = backoff * random.uniform(0.5, 1.0)  # jitter spreads retries apart
        log.warning(
            "outbox.retry",
            item=item.id,
            chat=item.chat_id,
            error=type(error).__name__,
            in_seconds=delay,
        )
        metrics.retried()
        until = now + timedelta(seconds=delay)
        async with self._db.transaction():
            await self._outbox.retry_later(item.id, until, type(error).__name__)
            await self._outbox.pause_chat(item.chat_id, until)
        return False

    async def _give_up(
        self, item: OutboxItem, error: TelegramError, *, tell: bool = False
    ) -> None:
        # Telegram's descriptions name the problem, never the message's content.
        reason = f"{type(error).__name__}: {error.message}"
        log.warning("outbox.dead", item=item.id, chat=item.chat_id, reason=reason)
        metrics.dead()
        async with self._db.transaction():
            if not await self._outbox.mark_dead(item, reason):
                # Erased by /forget while it was being sent: nobody is left to tell, and
                # its ids (the client's, the link's) may belong to someone else by now.
                return
            if self._team is not None and (
                item.chat_id == self._team_chat_id or item.method.endswith("_topic")
            ):
                # In the same transaction: what stood in for a specialist's copy goes to
                # their private chat instead, and a topic that is gone is forgotten.
                try:
                    await self._team.failed(item, error)
                    if isinstance(error, Forbidden) and item.chat_id == self._team_chat_id:
                        # The bot is out of the group: nothing queued there can go. Each
                        # item's fallback now, not one every few seconds at the group's pace.
                        for other in await self._outbox.waiting_in(item.chat_id):
                            await self._outbox.mark_dead(other, reason)
                            await self._team.failed(other, error)
                except Exception as failure:
                    if is_storage_fault(failure):
                        raise  # all of it again, once the database answers
                    # A fault of ours must not keep the item from being given up.
                    log.exception("outbox.team_failed_error", item=item.id)
        if tell and self._events is not None:
            await self._events.dead(item, reason)

    async def _into_topic(self, item: OutboxItem) -> OutboxItem | Literal[False] | None:
        """A team inbox item with its topic's thread id (and a General line with the link to
        its topic), read before the limiter so that no lookup delays the request; None for
        a topic already made (an item retried after a crash); False while its topic is
        still being made."""
        payload = dict(item.payload)
        if item.method == "create_topic":
            return None if await self._thread_of(payload["topic"]) is not None else item
        for key in ("topic", "link_topic"):
            if key in payload and await self._being_made(payload[key]):
                return False
        if "topic" in payload:
            payload["thread_id"] = await self._made(payload["topic"])
        if "link_topic" in payload:
            thread = await self._made(payload["link_topic"])
            internal = str(payload["chat_id"]).removeprefix("-100").removeprefix("-")
            link = f"https://t.me/c/{internal}/{thread}"
            payload["text"] = payload["text"].replace("{topic_link}", link)
        return replace(item, payload=payload)

    async def _thread_of(self, client_id: int) -> int | None:
        if self._topics is None:
            return None
        async with self._db.autocommit(background=True):
            topic = await self._topics.get(client_id)
        return None if topic is None else topic.thread_id

    async def _being_made(self, client_id: int) -> bool:
        if self._topics is None:
            return False
        async with self._db.autocommit(background=True):
            return await self._topics.being_made(client_id)

    async def _made(self, client_id: int) -> int:
        thread = await self._thread_of(client_id)
        if thread is None:
            raise BadRequest("the client has no team topic")
        return thread

    async def _topic_call(self, item: OutboxItem) -> bool:
        """Make, rename, close, reopen or delete a team topic; False if it is no topic call."""
        payload, chat_id = item.payload, item.payload["chat_id"]
        if item.method == "create_topic":
            assert self._topics is not None
            made = await self._bot.create_forum_topic(chat_id, payload["name"])
            async with self._db.autocommit(background=True):
                kept = await self._topics.made(payload["topic"], made.message_thread_id)
            if not kept:  # the client used /forget meanwhile: the topic goes too
                await self._bot.delete_forum_topic(chat_id, made.message_thread_id)
        elif item.method == "delete_topic":
            await self._bot.delete_forum_topic(chat_id, payload["thread_id"])
        elif item.method == "edit_topic":
            await self._bot.edit_forum_topic(chat_id, payload["thread_id"], name=payload["name"])
        elif item.method == "close_topic":
            await self._bot.close_forum_topic(chat_id, payload["thread_id"])
        elif item.method == "reopen_topic":
            await self._bot.reopen_forum_topic(chat_id, payload["thread_id"])
        else:
            return False
        return True

    async def _call(self, item: OutboxItem) -> int | None:
        """Make the Bot API call for one item; return the id of the message it produced."""
        payload = item.payload
        if item.method.endswith("_topic") and await self._topic_call(item):
            return None
        thread = payload.get("thread_id")  # in a team topic (_into_topic)
        if item.method == "send_message":
            sent: Message | MessageId | bool = await self._bot.send_message(
                chat_id=payload["chat_id"],
                text=payload["text"],
                parse_mode=payload.get("parse_mode"),
                reply_markup=_markup(payload),
                disable_notification=payload.get("silent"),
                message_thread_id=thread,
            )
        elif item.method == "copy_message":
            reply_to = payload.get("reply_to")
            sent = await self._bot.copy_message(
                chat_id=payload["chat_id"],
                from_chat_id=payload["from_chat_id"],
                message_id=payload["message_id"],
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to
                    else None
                ),
                disable_notification=payload.get("silent"),
                message_thread_id=thread,
            )
        elif item.method == "send_document":
            sent = await self._bot.send_document(
                chat_id=payload["chat_id"],
                document=InputFile(
                    payload["content"].encode("utf-8"), filename=payload["filename"]
                ),
                caption=payload["caption"],
            )
        elif item.method == "edit_message_text":
            sent = await self._bot.edit_message_text(
                chat_id=payload["chat_id"],
                message_id=payload["message_id"],
                text=payload["text"],
                parse_mode=payload.get("parse_mode"),
                reply_markup=_markup(payload),
            )
        elif item.method == "edit_message_reply_markup":
            sent = await self._bot.edit_message_reply_markup(
                chat_id=payload["chat_id"], message_id=payload["message_id"], reply_markup=None
            )
        else:
            raise BadRequest(f"unknown outbox method {item.method}")
        if isinstance(sent, Message | MessageId):
            return sent.message_id
        return None
