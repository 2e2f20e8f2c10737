"""Keeping every relayable message safe between Telegram and the handlers.

PTB's Updater puts each fetched update into the application's queue and only then
confirms it to Telegram with its next getUpdates. InboxQueue stores the ids of a
private message before it enters the queue, so a crash after the confirmation
cannot lose it: at the next start `replay_inbox` relays what was left unhandled,
and the relay's de-duplication by update id keeps anything from going twice.

When storing fails (the database locked by another process past the busy timeout, a
full disk), the update is neither queued nor confirmed, and `put` logs the fault
(`event=inbox.keep_failed`). With long polling it backs off and tries again, and polling
waits meanwhile, so nothing Telegram holds is confirmed before it is safe: left to PTB,
the error would end its polling task for good while the process looked alive. A webhook
answers 500 instead, and Telegram sends the update again later. If storage stays broken,
the storage watch (bot.watch) stops the bot; a stop cancels the wait at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.ext import filters

from bot.handlers.context import Context, services
from bot.handlers.polling import REDUCED_KIND, SOUND_AND_VIDEO
from bot.logs import EventLog
from bot.services.team import is_team_note
from bot.storage.db import fault_text, is_storage_fault
from bot.storage.inbox import Received

log = EventLog(__name__)

# Waits between attempts to store a message while the database fails.
FIRST_RETRY_SECONDS = 0.25
MAX_RETRY_SECONDS = 5.0
# What the safety screen cannot read: kinds of message with sound or moving pictures.
UNSCREENED_KINDS = SOUND_AND_VIDEO


def unscreened_kind(message: Message) -> str | None:
    """The kind of a voice note, video note, video or audio (also of one PTB could not read,
    bot.handlers.polling); None for anything screenable."""
    found = next((kind for kind in UNSCREENED_KINDS if getattr(message, kind) is not None), None)
    reduced = message.api_kwargs.get(REDUCED_KIND)
    return found or (reduced if reduced in UNSCREENED_KINDS else None)


def is_live_location(update: Update) -> bool:
    """True for an edit that is a live location moving: Telegram reports each move as an
    edit of the message, though nobody edited anything (only a live location can move)."""
    message = update.edited_message
    if message is None:
        return False
    return message.location is not None or message.api_kwargs.get(REDUCED_KIND) == "location"


def received(update: Update, team_chat_id: int | None = None) -> Received | None:
    """The ids of a new private message from a person, or of one written in a client's
    topic in the team group (an answer to the client, unless it is a note), or of an edit
    in a private chat (see Received.edited), if the update is one."""
    message = update.message
    edited = message is None and update.edited_message is not None
    if edited:
        message = update.edited_message
    user = update.effective_user
    if message is None or user is None or user.is_bot:
        return None
    if edited and (message.chat.type != "private" or is_live_location(update)):
        return None
    if filters.COMMAND.check_update(update):
        # Commands are answered, not relayed. What Telegram marks as one, as the handlers
        # tell them apart: "/ hello" is words, relayed, so kept here like any message.
        return None
    if filters.StatusUpdate.ALL.check_update(update):
        # Telegram's note that someone did something (pinned a message, closed a topic):
        # nobody wrote anything, and it cannot be copied.
        return None
    if message.chat.type != "private":
        in_topic = message.is_topic_message and message.message_thread_id is not None
        if message.chat.id != team_chat_id or not in_topic:
            return None
        if is_team_note(message.text or message.caption):
            return None  # a note for the team never reaches the client: nothing to keep
        return Received(
            update_id=update.update_id,
            user_id=user.id,
            chat_id=message.chat.id,
            message_id=message.message_id,
            reply_to_message_id=None,
            thread_id=message.message_thread_id,
        )
    reply = message.reply_to_message
    return Received(
        update_id=update.update_id,
        user_id=user.id,
        chat_id=message.chat.id,
        message_id=message.message_id,
        reply_to_message_id=reply.message_id if reply else None,
        unscreened=unscreened_kind(message),
        forwarded=message.forward_origin is not None,
        edited=edited,
    )


# Store a message's ids; given its words (or caption) and the sender's Telegram language
# to screen, never to keep.
Keep = Callable[[Received, str | None, str | None], Awaitable[None]]


class InboxQueue(asyncio.Queue[object]):
    """The application's update queue, keeping each private message before it is queued."""

    def __init__(self, *, wait_for_storage: bool = True) -> None:
        super().__init__()
        self._keep: Keep | None = None
        self._team_chat_id: int | None = None
        # Long polling waits for a failing database; a webhook answers 500 at once.
        self._wait_for_storage = wait_for_storage

    def keep_with(self, keep: Keep, team_chat_id: int | None = None) -> None:
        """Store with this from now on (set once the database is open); what is written in
        the team group's topics too, if there is one."""
        self._keep = keep
        self._team_chat_id = team_chat_id

    async def handled(self, at_most: float) -> None:
        """Wait until every update queued so far has been handled (the application marks
        each done), or `at_most` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most):
                await self.join()

    async def put(self, item: object) -> None:
        """Store the message's ids, then queue the update."""
        if self._keep is not None and isinstance(item, Update):
            kept = received(item, self._team_chat_id)
            message = item.effective_message
            if kept is not None and message is not None:
                words = message.text or message.caption
                language = item.effective_user.language_code if item.effective_user else None
                await self._keep_until_stored(self._keep, kept, words, language)
        await super().put(item)

    async def _keep_until_stored(
        self, keep: Keep, kept: Received, words: str | None, language: str | None
    ) -> None:
        """Store the ids; while the database fails, try again with back-off (or, for a
        webhook, raise)."""
        wait = FIRST_RETRY_SECONDS
        while True:
            try:
                await keep(kept, words, language)
                return
            except Exception as error:
                if not is_storage_fault(error):
                    # Not the database failing but a fault of ours: the message is still
                    # handled now, only not kept for a crash in between.
                    log.exception("inbox.keep_error", update=kept.update_id)
                    return
                log.warning(
                    "inbox.keep_failed",
                    update=kept.update_id,
                    error=fault_text(error),
                    retry_in=wait if self._wait_for_storage else None,
                )
                if not self._wait_for_storage:
                    raise
            await asyncio.sleep(wait)
            wait = min(MAX_RETRY_SECONDS, wait * 2)


async def forget_handled(update: object, context: Context) -> None:
    """After every handler has run: the message is safe, its inbox row can go."""
    if not isinstance(update, Update):
        return
    failed = context.bot_data.failed_updates
    team_chat_id = services(context).team.chat_id
    if update.update_id in failed:
        # A handler failed (its transaction rolled back): keep the row, so the message is
        # relayed by the next tick (or start) instead of being lost.
        failed.discard(update.update_id)
        if (kept := received(update, team_chat_id)) is not None:
            services(context).relay.left_waiting(kept.user_id)
        return
    if received(update, team_chat_id) is not None:
        await services(context).relay.forget(update.update_id)
