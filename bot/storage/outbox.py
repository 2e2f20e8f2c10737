"""The outbox table: every message the bot will send, and what became of it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

import aiosqlite

from bot.storage.db import Database, Params, Step, from_db, to_db


class Priority(IntEnum):
    """Lower goes first: a person waiting beats a scheduled check-in, and words the safety
    screen found possibly urgent go before anything else queued for their chat. Copies for
    the team inbox's group (bot.services.team) come last: they may lag, never hold anyone up."""

    URGENT = -1
    PERSON = 0
    SCHEDULED = 1
    # The team group's possibly urgent items, ahead of its ordinary ones (m021).
    TEAM_URGENT = 2
    TEAM = 3

    @property
    def waited_for(self) -> bool:
        """A person waits for it (everything but a scheduled check-in or a team copy)."""
        return self < Priority.SCHEDULED


@dataclass(frozen=True)
class OutboxItem:
    """One message waiting to be sent."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    priority: Priority
    relay_link_id: int | None
    attempts: int
    at_most_once: bool
    created_at: datetime
    not_before: datetime
    ephemeral: bool = False
    status: str = "pending"
    # Only from add(): the chat's items still waiting in the outbox, queued before this one.
    queued_before: tuple[int, ...] = ()


@dataclass(frozen=True)
class NewItem:
    """A message to queue in a batch."""

    chat_id: int
    method: str
    payload: dict[str, Any] | str  # a dict, or the same already serialised as JSON
    priority: Priority
    idempotency_key: str | None = None
    at_most_once: bool = False


# A keyboard under thousands of messages alike (the check-in's buttons, the same for
# everyone but the due moment in their callback data) is stored once, in `keyboards` (m024),
# with SLOT where each message's own value goes. An item's payload names it ("keyboard")
# and carries its value ("slot"); it is read back with "reply_markup" as it was written
# before m024, so nothing past this module knows the difference.
SLOT = "<slot>"

# The idempotency key of every part of a daily summary begins so (bot.services.digest).
DIGEST_KEY = "digest:"


def keyboard_id(markup: str) -> str:
    """The name a keyboard is stored under: its content's, so one name is one keyboard."""
    return hashlib.sha256(markup.encode()).hexdigest()[:16]


def _json(payload: dict[str, Any] | str) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))


def _item(row: aiosqlite.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        chat_id=row["chat_id"],
        method=row["method"],
        payload=json.loads(row["payload"]),
        priority=Priority(row["priority"]),
        relay_link_id=row["relay_link_id"],
        attempts=row["attempts"],
        at_most_once=bool(row["at_most_once"]),
        created_at=from_db(row["created_at"]),
        not_before=from_db(row["not_before"]),
        ephemeral=bool(row["ephemeral"]),
        status=row["status"],
    )


class OutboxRepository:
    """Reads and writes the outbox table."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Named by their content, so never out of date (keyboard_id).
        self._keyboards: dict[str, str] = {}

    async def _items(self, rows: Sequence[aiosqlite.Row]) -> list[OutboxItem]:
        """The items of rows, each shared keyboard put back in its place (m024)."""
        items = [_item(row) for row in rows]
        missing = {
            item.payload["keyboard"] for item in items if "keyboard" in item.payload
        } - self._keyboards.keys()
        if missing:
            found = await self._db.fetch_all(
                "SELECT id, markup FROM keyboards WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(missing)),),
            )
            self._keyboards.update((row[0], row[1]) for row in found)
        return [self._with_keyboard(item) for item in items]

    def _with_keyboard(self, item: OutboxItem) -> OutboxItem:
        if "keyboard" not in item.payload:
            return item
        payload = dict(item.payload)
        markup = self._keyboards[payload.pop("keyboard")].replace(SLOT, payload.pop("slot"))
        payload["reply_markup"] = json.loads(markup)
        return replace(item, payload=payload)

    def keyboards_step(self, markups: Collection[str]) -> Step:
        """Store keyboards that items will name (a no-op for those stored already)."""
        return (
            "INSERT OR IGNORE INTO keyboards (id, markup) VALUES (?, ?)",
            [(keyboard_id(markup), markup) for markup in markups],
        )

    async def add(
        self,
        *,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        priority: Priority,
        now: datetime,
        relay_link_id: int | None = None,
        idempotency_key: str | None = None,
        at_most_once: bool = False,
        ephemeral: bool = False,
    ) -> OutboxItem | None:
        """Queue a message; None if one with the same idempotency key exists already.

        The item knows which of its chat's items still wait in the outbox ahead of it
        (`queued_before`), so that it is not sent before them.
        """
        # A chat paused by Telegram stays paused for what is queued after the pause too,
        # so messages to one chat never overtake each other. What is for a specialist who
        # blocked the bot is held for them (m012) until they unblock it.
        row = await self._db.fetch_one(
            "INSERT OR IGNORE INTO outbox (chat_id, method, payload, priority, relay_link_id,"
            " idempotency_key, at_most_once, ephemeral, not_before, created_at, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, max(?, coalesce((SELECT max(not_before) FROM outbox"
            " WHERE chat_id = ? AND status = 'pending'), '')), ?, CASE WHEN EXISTS (SELECT 1"
            " FROM specialists WHERE telegram_user_id = ? AND blocked = 1 AND active = 1)"
            " THEN 'held' ELSE 'pending' END)"
            " RETURNING *, (SELECT json_group_array(earlier.id) FROM outbox AS earlier"
            " WHERE earlier.chat_id = outbox.chat_id AND earlier.status = 'pending'"
            " AND earlier.priority <= outbox.priority AND earlier.id < outbox.id)"
            " AS queued_before",
            (
                chat_id,
                method,
                json.dumps(payload, separators=(",", ":")),
                int(priority),
                relay_link_id,
                idempotency_key,
                int(at_most_once),
                int(ephemeral),
                to_db(now),
                chat_id,
                to_db(now),
                chat_id,  # a private chat's id is its user's id
            ),
        )
        if row is None:
            return None
        (item,) = await self._items([row])
        return replace(item, queued_before=tuple(json.loads(row["queued_before"])))

    def add_many_step(self, items: Sequence[NewItem], now: datetime) -> Step:
        """Queue many messages with one statement (the check-in tick's batches, which run it
        with their other writes: Database.write_steps)."""
        stamp = to_db(now)
        return (
            "INSERT OR IGNORE INTO outbox (chat_id, method, payload, priority, idempotency_key,"
            " at_most_once, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, max(?, coalesce(("
            "SELECT max(not_before) FROM outbox WHERE chat_id = ? AND status = 'pending'), '')),"
            " ?)",
            [
                (
                    item.chat_id,
                    item.method,
                    _json(item.payload),
                    int(item.priority),
                    item.idempotency_key,
                    int(item.at_most_once),
                    stamp,
                    item.chat_id,
                    stamp,
                )
                for item in items
            ],
        )

    async def due(
        self,
        now: datetime,
        limit: int,
        *,
        priority: Priority | None = None,
        exclude: Collection[int] = (),
    ) -> list[OutboxItem]:
        """Pending items whose time has come, most urgent first, then in the order they
        came due (one chat's items share their moment when the chat waits, so they keep
        the order they were queued in).

        `exclude` leaves out items already handed to a worker (still pending in here).
        """
        sql = "SELECT * FROM outbox WHERE status = 'pending' AND not_before <= ?"
        params: list[object] = [to_db(now)]
        if priority is not None:
            sql += " AND priority = ?"
            params.append(int(priority))
        if exclude:
            sql += " AND id NOT IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(exclude)))
        params.append(limit)
        # In the order of the index outbox_due: no sort of everything due (a storm's
        # thousands of check-ins) to hand out a few.
        rows = await self._db.fetch_all(f"{sql} ORDER BY priority, not_before, id LIMIT ?", params)
        return await self._items(rows)

    async def due_in_turns(
        self,
        now: datetime,
        limit: int,
        *,
        priority: Priority,
        exclude: Collection[int],
        in_flight: Mapping[int, int],
        per_chat: int,
    ) -> tuple[list[OutboxItem], bool]:
        """Pending items whose time has come, in turns: every chat's next item before any
        chat's second, each chat to at most `per_chat` with what it has `in_flight`; and
        whether some chat had more due than that (its turn comes when it sends one).

        So one chat's backlog (a flood, a client forwarding hundreds of messages) never
        holds up another chat's message. Reads every pending item of the priority that is
        due: for people's messages, which rarely wait in the outbox at all.
        """
        busy = json.dumps({str(chat): count for chat, count in in_flight.items()})
        rows = await self._db.fetch_all(
            "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY chat_id"
            " ORDER BY not_before, id) + coalesce(json_extract(?, '$.\"' || chat_id || '\"'), 0)"
            " AS turn FROM outbox WHERE status = 'pending' AND priority = ? AND not_before <= ?"
            " AND id NOT IN (SELECT value FROM json_each(?)))"
            " WHERE turn <= ? ORDER BY turn, not_before, id LIMIT ?",
            (busy, int(priority), to_db(now), json.dumps(list(exclude)), per_chat + 1, limit),
        )
        items = await self._items([row for row in rows if row["turn"] <= per_chat])
        return items, len(items) < len(rows)

    async def next_not_before(self, after: datetime) -> datetime | None:
        """When the earliest pending item that is not yet due becomes due."""
        # Naming every priority lets SQLite seek in outbox_due, priority by priority,
        # instead of reading every pending item.
        priorities = ", ".join(str(int(priority)) for priority in Priority)
        row = await self._db.fetch_one(
            "SELECT min(not_before) FROM outbox WHERE status = 'pending'"
            f" AND priority IN ({priorities}) AND not_before > ?",
            (to_db(after),),
        )
        return None if row is None or row[0] is None else from_db(row[0])

    async def mark_sending(self, item_id: int) -> bool:
        """The request is about to leave: a crash from here on is ambiguous. False if the
        item is no longer waiting (withdrawn by a pause, erased by /forget): not to be sent."""
        changed = await self._db.write(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1"
            " WHERE id = ? AND status = 'pending'",
            (item_id,),
        )
        return changed == 1

    async def _finish(self, item: OutboxItem, sql: str, params: Params) -> bool:
        """Mark an item done, or delete it if it was never to be kept (a stranger's note);
        False if it is no longer there (erased by /forget while it was being sent)."""
        if item.ephemeral:
            return await self._db.write("DELETE FROM outbox WHERE id = ?", (item.id,)) == 1
        return await self._db.write(sql, params) == 1

    async def mark_sent(self, item: OutboxItem, message_id: int | None, now: datetime) -> None:
        """Telegram accepted the message (a relayed one's link learns its id: m008)."""
        await self._finish(
            item,
            # The payload goes once sent: even the bot's own texts name people.
            "UPDATE outbox SET status = 'sent', sent_at = ?, sent_message_id = ?,"
            " last_error = NULL, payload = '{}' WHERE id = ?",
            (to_db(now), message_id, item.id),
        )

    async def retry_later(self, item_id: int, not_before: datetime, error: str) -> None:
        """Put an item back to be tried again at not_before."""
        await self._db.write(
            "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ? WHERE id = ?",
            (to_db(not_before), error, item_id),
        )

    async def bring_forward(self, step: timedelta, now: datetime) -> int:
        """The clock went back by `step`: every pending item waiting for a later moment (a
        retry's back-off, Telegram's retry_after, its chat's turn) waits as long as it was
        meant to, and no longer: its moment moves back by the step (not before now)."""
        return await self._db.bring_forward(
            "outbox", "not_before", step, now, " AND status = 'pending'"
        )

    async def queued_ahead(self, now: datetime) -> int:
        """Pending items queued after `now`: the clock went back since, maybe while the bot
        was down, where no look saw the step (bring_forward). Each waits no longer than it
        was meant to: its moment moves back by how far its queuing lies ahead of now."""
        stamp = to_db(now)
        rows = await self._db.fetch_all(
            "SELECT id, not_before, created_at FROM outbox"
            " WHERE status = 'pending' AND not_before > ? AND created_at > ?",
            (stamp, stamp),
        )
        await self._db.write_many(
            "UPDATE outbox SET not_before = ? WHERE id = ?",
            [
                (to_db(max(now, from_db(not_before) - (from_db(created) - now))), item_id)
                for item_id, not_before, created in rows
            ],
        )
        return len(rows)

    async def pause_chat(self, chat_id: int, until: datetime) -> None:
        """Hold every pending item of one chat until a moment (Telegram's retry_after)."""
        await self._db.write(
            "UPDATE outbox SET not_before = max(not_before, ?)"
            " WHERE chat_id = ? AND status = 'pending'",
            (to_db(until), chat_id),
        )

    async def mark_dead(self, item: OutboxItem, error: str) -> bool:
        """Give up on an item (its payload goes: it may name people); False if it is no
        longer there (erased by /forget while it was being sent)."""
        return await self._finish(
            item,
            "UPDATE outbox SET status = 'dead', last_error = ?, payload = '{}' WHERE id = ?",
            (error, item.id),
        )

    async def waiting_in(self, chat_id: int) -> list[OutboxItem]:
        """Every item pending for one chat, in sending order."""
        rows = await self._db.fetch_all(
            "SELECT * FROM outbox WHERE chat_id = ? AND status = 'pending'"
            " ORDER BY priority, not_before, id",
            (chat_id,),
        )
        return await self._items(rows)

    async def first_waiting(self, chat_id: int, *, after: Priority) -> OutboxItem | None:
        """The chat's first pending item of a priority below `after`, in sending order."""
        row = await self._db.fetch_one(
            "SELECT * FROM outbox WHERE chat_id = ? AND status = 'pending' AND priority > ?"
            " ORDER BY priority, not_before, id LIMIT 1",
            (chat_id, int(after)),
        )
        return None if row is None else (await self._items([row]))[0]

    async def take_queued(self, chat_id: int, client_id: int) -> list[OutboxItem]:
        """Withdraw what still waits for one chat (pending, held, or sending: a sender may
        still be waiting for the chat's turn) about one client: copies of their words,
        headers and notes linked to them; return it, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM outbox WHERE chat_id = ? AND status IN ('pending', 'held', 'sending')"
            " AND relay_link_id IN (SELECT id FROM relay_links WHERE client_id = ?) ORDER BY id",
            (chat_id, client_id),
        )
        items = await self._items(rows)
        await self._db.write(
            "UPDATE outbox SET status = 'dead', last_error = 'readdressed', payload = '{}'"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps([item.id for item in items]),),
        )
        return items

    async def hold_chat(self, item_id: int, chat_id: int) -> None:
        """Keep everything waiting for one chat, and the item Telegram just refused, until
        its person unblocks the bot (release_chat)."""
        await self._db.write(
            "UPDATE outbox SET status = 'held' WHERE (id = ? AND status = 'sending')"
            " OR (chat_id = ? AND status = 'pending')",
            (item_id, chat_id),
        )

    async def release_chat(self, chat_id: int, now: datetime) -> int:
        """Everything held for one chat waits to be sent again, in the order it came."""
        return await self._db.write(
            "UPDATE outbox SET status = 'pending', not_before = ?, last_error = NULL"
            " WHERE chat_id = ? AND status = 'held'",
            (to_db(now), chat_id),
        )

    async def newly_held(self, chat_id: int) -> list[OutboxItem]:
        """The items held for one chat that nobody has been told about yet, oldest first;
        from now on they count as told."""
        rows = await self._db.fetch_all(
            "UPDATE outbox SET last_error = 'held' WHERE chat_id = ? AND status = 'held'"
            " AND last_error IS NOT 'held' RETURNING *",
            (chat_id,),
        )
        return sorted(await self._items(rows), key=lambda item: item.id)

    async def drop_held(self, chat_id: int) -> int:
        """Give up what is held for one chat (its specialist, who had blocked the bot, was
        removed): none of it may reach them if they are ever registered again."""
        return await self._db.write(
            "UPDATE outbox SET status = 'dead', last_error = 'removed', payload = '{}'"
            " WHERE chat_id = ? AND status = 'held'",
            (chat_id,),
        )

    async def drop_held_digests(self, chat_id: int) -> int:
        """Give up the daily summaries held for one chat (their specialist blocked the bot):
        kept, one would arrive stale, naming clients who may have erased their data since.
        Their keys go too, so the day's summary can be made again once they unblock it."""
        return await self._db.write(
            "UPDATE outbox SET status = 'dead', last_error = 'stale', payload = '{}',"
            " idempotency_key = NULL WHERE chat_id = ? AND status = 'held'"
            " AND idempotency_key LIKE ? || '%'",
            (chat_id, DIGEST_KEY),
        )

    async def withdraw_checkins(self, chat_id: int) -> int:
        """Give up the check-ins still waiting for one chat (the client paused or stopped)."""
        return await self._db.write(
            "UPDATE outbox SET status = 'dead', last_error = 'withdrawn', payload = '{}'"
            " WHERE chat_id = ? AND status = 'pending' AND priority = ? AND at_most_once = 1",
            (chat_id, int(Priority.SCHEDULED)),
        )

    async def expire_checkins(self, chat_id: int, at: datetime) -> int:
        """The scheduled check-ins still waiting for one chat go no later than `at` (the
        client's quiet hours as they are now: Sender._stale). Only those ("quiet" in their
        payload): one a specialist asked for, or an offer, is never dropped so."""
        stamp = to_db(at)
        return await self._db.write(
            "UPDATE outbox SET payload = json_set(payload, '$.expires', ?)"
            " WHERE chat_id = ? AND status = 'pending' AND priority = ? AND at_most_once = 1"
            " AND json_extract(payload, '$.quiet') = 1"
            " AND coalesce(json_extract(payload, '$.expires') > ?, 1)",
            (stamp, chat_id, int(Priority.SCHEDULED), stamp),
        )

    async def recover_interrupted(self) -> tuple[int, int]:
        """After a crash: resend what may be sent twice, drop what must be sent at most once."""
        retried = await self._db.write(
            "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND at_most_once = 0"
        )
        dropped = await self._db.write(
            "UPDATE outbox SET status = 'dead', last_error = 'interrupted', payload = '{}'"
            " WHERE status = 'sending' AND at_most_once = 1"
        )
        return retried, dropped

    async def counts(self) -> dict[str, int]:
        """How many items are in each status."""
        rows = await self._db.fetch_all("SELECT status, count(*) FROM outbox GROUP BY status")
        return {row[0]: row[1] for row in rows}

    async def waiting(self) -> tuple[dict[str, int], datetime | None]:
        """How many items wait to be sent, per priority name, and when the oldest was queued."""
        rows = await self._db.fetch_all(
            "SELECT priority, count(*), min(created_at) FROM outbox"
            " WHERE status = 'pending' GROUP BY priority"
        )
        depths = {priority.name.lower(): 0 for priority in Priority}
        oldest: datetime | None = None
        for priority, count, first in rows:
            depths[Priority(priority).name.lower()] = count
            queued = from_db(first)
            oldest = queued if oldest is None else min(oldest, queued)
        return depths, oldest
