"""Queueing messages: what services call, inside their transaction, to say something."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from bot.domain.clock import Clock
from bot.domain.models import Client, Direction, Specialist
from bot.domain.texts import chunks
from bot.storage.db import Database, Step, to_db
from bot.storage.outbox import NewItem, OutboxItem, OutboxRepository, Priority, keyboard_id
from bot.storage.relay import RelayRepository

Buttons = Sequence[Sequence[tuple[str, str]]]

# The longest text Telegram sends as one message; a longer one goes in parts (of at most
# MESSAGE_LIMIT characters, bot.domain.texts.chunks).
TEXT_LIMIT = 4096


def keyboard(buttons: Buttons) -> dict[str, Any]:
    """An inline keyboard as the Bot API's JSON: rows of (label, callback data)."""
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in buttons
        ]
    }


def _part_key(key: str | None, index: int) -> str | None:
    """A long text's parts each carry the key, the first as given, the rest numbered."""
    return key if key is None or index == 0 else f"{key}#{index}"


def _text_payload(chat_id: int, text: str, buttons: Buttons | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if buttons:
        payload["reply_markup"] = keyboard(buttons)
    return payload


def _batch_payload(
    item: NewText, quoted: dict[str, str], keyboards: dict[str, str]
) -> dict[str, Any] | str:
    if item.keyboard is None:
        return _text_payload(item.chat_id, item.text, item.buttons)
    text = quoted.get(item.text)
    if text is None:
        text = quoted[item.text] = json.dumps(item.text, ensure_ascii=False)
    name = keyboards.get(item.keyboard)
    if name is None:
        name = keyboards[item.keyboard] = keyboard_id(item.keyboard)
    expires = "" if item.expires is None else f',"expires":"{to_db(item.expires)}"'
    quiet = ',"quiet":1' if item.quiet_drops else ""
    return (
        f'{{"chat_id":{item.chat_id},"text":{text},"keyboard":"{name}","slot":"{item.slot}"'
        f"{expires}{quiet}}}"
    )


@dataclass(frozen=True)
class NewText:
    """A text to queue in a batch."""

    chat_id: int
    text: str
    buttons: Buttons | None = None
    # The inline keyboard as Bot API JSON with SLOT where `slot` goes: stored once for the
    # thousands of messages a tick sends under it (bot.storage.outbox, m024).
    keyboard: str | None = None
    slot: str = ""
    priority: Priority = Priority.SCHEDULED
    idempotency_key: str | None = None
    at_most_once: bool = False
    # An at-most-once text still waiting then is not sent (a check-in kept by an outage
    # past the start of the client's quiet hours): Sender._send_one.
    expires: datetime | None = None
    # Dropped at the start of the client's quiet hours as they are when it waits, whatever
    # they were when it was queued (a scheduled check-in: OutboxRepository.expire_checkins).
    quiet_drops: bool = False


@dataclass(frozen=True)
class Linked:
    """A message linked to a client was queued: a text (a header, a note) or a copy."""

    chat_id: int
    relay_link_id: int
    priority: Priority
    text: str | None = None
    source: tuple[int, int] | None = None


class Outbox:
    """Writes messages to the outbox table and tells the sender."""

    def __init__(
        self, db: Database, repo: OutboxRepository, relay: RelayRepository, clock: Clock
    ) -> None:
        self._db = db
        self._repo = repo
        self._relay = relay
        self._clock = clock
        self._wake: Callable[[], None] = lambda: None
        self._offer: Callable[[OutboxItem], None] = lambda item: None
        self._withdraw: Callable[[Collection[int]], None] = lambda ids: None
        self._mirror: Callable[[Linked], Awaitable[bool]] | None = None

    def mirror_with(self, mirror: Callable[[Linked], Awaitable[bool]]) -> None:
        """Also tell `mirror`, in the same transaction, of every message linked to a client
        (the team inbox copies what a specialist sees into the client's topic); when it
        answers True, the message goes there instead of to its own chat."""
        self._mirror = mirror

    async def queue(
        self,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        *,
        priority: Priority,
        idempotency_key: str | None = None,
        silent: bool = False,
    ) -> int:
        """Queue any Bot API call the sender knows (the team inbox's topic calls, copies and
        texts into a topic); the item's id, 0 if its idempotency key was queued already."""
        payload = {"chat_id": chat_id, **payload}
        if silent:
            payload["silent"] = True
        return await self._add(
            chat_id, method, payload, priority=priority, idempotency_key=idempotency_key
        )

    def connect(
        self,
        wake: Callable[[], None],
        offer: Callable[[OutboxItem], None],
        withdraw: Callable[[Collection[int]], None] | None = None,
    ) -> None:
        """How to tell the sender: wake it to look at the outbox, offer it one item, or
        withdraw items it may hold already."""
        self._wake = wake
        self._offer = offer
        if withdraw is not None:
            self._withdraw = withdraw

    async def _add(self, chat_id: int, method: str, payload: dict[str, Any], **kwargs: Any) -> int:
        now = self._clock.now()
        item = await self._repo.add(
            chat_id=chat_id, method=method, payload=payload, now=now, **kwargs
        )
        if item is None:
            return 0
        if item.priority.waited_for and item.not_before <= now and item.status == "pending":
            # Someone is waiting for it: straight to the sender once it is committed, not
            # after the sender's next look at the outbox (most of a relay's latency).
            self._db.after_commit(partial(self._offer, item))
        else:
            # Once committed, on the event loop: the sender cannot see it before, and a
            # relay's transaction runs on the database's thread (Database.in_one_trip),
            # where waking the sender's asyncio.Event would touch the loop from outside it.
            self._db.after_commit(self._wake)
        return item.id

    async def text(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        priority: Priority = Priority.PERSON,
        relay_link_id: int | None = None,
        idempotency_key: str | None = None,
        at_most_once: bool = False,
        ephemeral: bool = False,
        silent: bool = False,
        private: bool = False,
    ) -> int:
        """Queue a text from the bot; anything but a relay header ends the relay thread.
        `private`: to its own chat even in TEAM_MODE=group (what the group could not take).

        A text longer than one message may be (a list of many specialists, an audit, a
        summary) goes as several, split between lines: Telegram refuses it whole. The first
        carries the link and the key (the others the key and their number), the last the
        buttons; the first one's id is returned.
        """
        if relay_link_id is None and not ephemeral:
            await self._relay.forget_last_source(chat_id)
        linked = None if relay_link_id is None else Linked(chat_id, relay_link_id, priority, text)
        mirror = None if private else self._mirror
        if linked is not None and mirror is not None and await mirror(linked):
            return 0  # it goes to the team inbox's topic instead (TEAM_MODE=group)
        parts = chunks(text.split("\n")) if len(text) > TEXT_LIMIT else [text]
        first = 0
        for index, part in enumerate(parts):
            payload = _text_payload(chat_id, part, buttons if index == len(parts) - 1 else None)
            if silent:
                payload["silent"] = True  # arrives without a sound (the specialist is away)
            added = await self._add(
                chat_id,
                "send_message",
                payload,
                priority=priority,
                relay_link_id=relay_link_id if index == 0 else None,
                idempotency_key=_part_key(idempotency_key, index),
                at_most_once=at_most_once,
                ephemeral=ephemeral,
            )
            if index == 0 and not added:
                return 0  # queued already (its idempotency key): so were the rest
            first = first or added
        return first

    def text_steps(self, items: Sequence[NewText]) -> list[Step]:
        """The writes that queue many texts at once (the check-in tick's batches, which run
        them with their other writes: Database.write_steps); each ends its chat's relay
        thread. The sender is told now: it waits for the transaction all the same."""
        if not items:
            return []
        # A storm's texts are few distinct ones sent to many: each is serialised once.
        quoted: dict[str, str] = {}
        keyboards: dict[str, str] = {}
        steps = [
            self._relay.forget_last_sources_step([item.chat_id for item in items]),
            self._repo.add_many_step(
                [
                    NewItem(
                        chat_id=item.chat_id,
                        method="send_message",
                        payload=_batch_payload(item, quoted, keyboards),
                        priority=item.priority,
                        idempotency_key=item.idempotency_key,
                        at_most_once=item.at_most_once,
                    )
                    for item in items
                ],
                self._clock.now(),
            ),
        ]
        if keyboards:
            steps.insert(1, self._repo.keyboards_step(keyboards))
        self._wake()
        return steps

    async def copy(
        self,
        chat_id: int,
        from_chat_id: int,
        message_id: int,
        *,
        relay_link_id: int,
        reply_to: int | None = None,
        silent: bool = False,
        priority: Priority = Priority.PERSON,
        private: bool = False,
    ) -> int:
        """Queue a copy of a person's message (never a forward: the sender stays hidden);
        `private` as for text()."""
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "from_chat_id": from_chat_id,
            "message_id": message_id,
        }
        if silent:
            payload["silent"] = True
        if reply_to is not None:
            payload["reply_to"] = reply_to
        if self._mirror is not None and not private:
            source = (from_chat_id, message_id)
            if await self._mirror(Linked(chat_id, relay_link_id, priority, source=source)):
                return 0  # it goes to the team inbox's topic instead (TEAM_MODE=group)
        return await self._add(
            chat_id, "copy_message", payload, priority=priority, relay_link_id=relay_link_id
        )

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, *, buttons: Buttons | None = None
    ) -> int:
        """Queue an edit of one of the bot's own messages (buttons gone unless given)."""
        payload = _text_payload(chat_id, text, buttons)
        payload["message_id"] = message_id
        return await self._add(chat_id, "edit_message_text", payload, priority=Priority.PERSON)

    async def document(self, chat_id: int, filename: str, content: str, *, caption: str) -> int:
        """Queue a text file (a client's data export) with a caption."""
        payload = {
            "chat_id": chat_id,
            "filename": filename,
            "content": content,
            "caption": caption,
        }
        return await self._add(chat_id, "send_document", payload, priority=Priority.PERSON)

    async def note_about(
        self,
        specialist: Specialist,
        client: Client,
        text: str,
        *,
        loud: bool = False,
        quiet: bool = False,
    ) -> int:
        """A note to a specialist about one client ("Alex would like to talk"): linked like
        a relay header, so a reply to it reaches that client; silent while they are away,
        unless it must be heard (an urgent message nobody else can answer), or always if
        `quiet` (something to know, not to act on)."""
        # Not a header: the next relay into this chat opens with one again (text() keeps
        # the thread for anything linked, as it must for headers).
        await self._relay.forget_last_source(specialist.chat_id)
        return await self.linked_text(
            specialist.chat_id,
            text,
            client_id=client.id,
            specialist_id=specialist.id,
            now=self._clock.now(),
            silent=quiet or (specialist.away and not loud),
        )

    async def linked_text(
        self,
        chat_id: int,
        text: str,
        *,
        client_id: int,
        specialist_id: int,
        now: datetime,
        direction: Direction = Direction.TO_SPECIALIST,
        priority: Priority = Priority.PERSON,
        silent: bool = False,
    ) -> int:
        """Queue a text linked to a client (a relay header, a note about them), so that a
        reply to it reaches them; it keeps the relay thread. The item's id is returned."""
        link = await self._relay.add_link(
            client_id=client_id,
            specialist_id=specialist_id,
            direction=direction,
            source=None,
            dest_chat_id=chat_id,
            now=now,
        )
        return await self.text(chat_id, text, relay_link_id=link, silent=silent, priority=priority)

    async def take_queued(self, chat_id: int, client_id: int) -> list[OutboxItem]:
        """Withdraw what waits for a chat about one client (a transfer re-addresses it);
        the sender drops what it holds of it unless its request has left already."""
        taken = await self._repo.take_queued(chat_id, client_id)
        if taken:
            self._db.after_commit(partial(self._withdraw, [item.id for item in taken]))
        return taken

    def withdrawn(self, item_ids: Collection[int]) -> None:
        """These items were deleted (an erasure): once that is committed, the sender drops
        any of them it holds, unless its request has left already."""
        if item_ids:
            self._db.after_commit(partial(self._withdraw, list(item_ids)))

    async def first_ordinary_waiting(self, chat_id: int) -> OutboxItem | None:
        """The chat's next item to go after anything possibly urgent, if one waits."""
        return await self._repo.first_waiting(chat_id, after=Priority.URGENT)

    async def release(self, chat_id: int) -> int:
        """Everything held for a chat (its person had blocked the bot) goes, in order."""
        released = await self._repo.release_chat(chat_id, self._clock.now())
        if released:
            self._db.after_commit(self._wake)
        return released

    async def drop_held_digests(self, chat_id: int) -> int:
        """A daily summary held for a specialist who blocked the bot never goes (stale)."""
        return await self._repo.drop_held_digests(chat_id)

    async def drop_held(self, chat_id: int) -> int:
        """What is held for a removed specialist (they had blocked the bot) never goes: not
        when they unblock it, nor if they are registered again months later."""
        return await self._repo.drop_held(chat_id)

    async def withdraw_checkins(self, chat_id: int) -> None:
        """A client paused or stopped: a check-in still waiting to go no longer goes."""
        await self._repo.withdraw_checkins(chat_id)

    async def expire_checkins(self, chat_id: int, at: datetime) -> None:
        """A client changed their zone or quiet hours: a check-in still waiting goes no
        later than `at`, when their quiet hours now begin."""
        await self._repo.expire_checkins(chat_id, at)

    async def remove_buttons(self, chat_id: int, message_id: int) -> int:
        """Queue the removal of the buttons under one of the bot's messages."""
        payload = {"chat_id": chat_id, "message_id": message_id}
        # Ephemeral: the chat may be a stranger's, of whom nothing is kept.
        return await self._add(
            chat_id,
            "edit_message_reply_markup",
            payload,
            priority=Priority.PERSON,
            ephemeral=True,
        )
