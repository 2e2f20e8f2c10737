"""Keeping every relayable message safe between Telegram and the handlers.

PTB's Updater puts each fetched update into the application's queue and only then
confirms it to Telegram with its next getUpdates. InboxQueue stores the ids of a
private message before it enters the queue, so a crash after the confirmation
cannot lose it: at the next start `replay_inbox` relays what was left unhandled,
and the relay's de-duplication by update id keeps anything from going twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from telegram import Message, Update

from bot.handlers.context import Context, services
from bot.storage.inbox import Received

# What the safety screen cannot read: kinds of message with sound or moving pictures.
UNSCREENED_KINDS = ("voice", "video_note", "video", "audio")


def unscreened_kind(message: Message) -> str | None:
    """The kind of a voice note, video note, video or audio; None for anything screenable."""
    return next((kind for kind in UNSCREENED_KINDS if getattr(message, kind) is not None), None)


def received(update: Update) -> Received | None:
    """The ids of a new private message from a person, if the update is one."""
    message = update.message
    user = update.effective_user
    if message is None or user is None or message.chat.type != "private":
        return None
    if message.text is not None and message.text.startswith("/"):
        return None  # commands are answered, not relayed
    reply = message.reply_to_message
    return Received(
        update_id=update.update_id,
        user_id=user.id,
        chat_id=message.chat.id,
        message_id=message.message_id,
        reply_to_message_id=reply.message_id if reply else None,
        unscreened=unscreened_kind(message),
    )


# Store a message's ids; given its words (or caption) and the sender's Telegram language
# to screen, never to keep.
Keep = Callable[[Received, str | None, str | None], Awaitable[None]]


class InboxQueue(asyncio.Queue[object]):
    """The application's update queue, keeping each private message before it is queued."""

    def __init__(self) -> None:
        super().__init__()
        self._keep: Keep | None = None

    def keep_with(self, keep: Keep) -> None:
        """Store with this from now on (set once the database is open)."""
        self._keep = keep

    async def put(self, item: object) -> None:
        """Store the message's ids, then queue the update."""
        if self._keep is not None and isinstance(item, Update):
            kept = received(item)
            if kept is not None and item.message is not None:
                words = item.message.text or item.message.caption
                language = item.effective_user.language_code if item.effective_user else None
                await self._keep(kept, words, language)
        await super().put(item)


async def forget_handled(update: object, context: Context) -> None:
    """After every handler has run: the message is safe, its inbox row can go."""
    if not isinstance(update, Update):
        return
    failed = context.bot_data.failed_updates
    if update.update_id in failed:
        # A handler failed (its transaction rolled back): keep the row, so the message is
        # relayed at the next start instead of being lost.
        failed.discard(update.update_id)
        return
    if received(update) is not None:
        await services(context).relay.forget(update.update_id)
