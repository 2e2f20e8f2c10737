"""Long polling that an update the bot cannot read does not stop.

PTB's `Bot.get_updates` parses a whole getUpdates batch with one `Update.de_list`: when
one element cannot be parsed (a field Telegram sends in a shape PTB does not expect), the
call fails, the Updater's offset stays where it was, and the next poll fetches the same
batch and fails again, for ever. Every other update in the batch (up to 100, from any
client) is never handled, and `Updater.stop` raises from its last getUpdates.

`PollingBot.get_updates` reads each element on its own instead. One that cannot be
parsed but has a readable `update_id` is logged by that id and the exception's class,
never its text, which may quote the update. A new message is then reduced to the ids
that copying it needs (who, which chat, which message, the one it replies to), with its
words when they are plain text, for the safety screen, and relayed like any other: nothing
a client wrote is lost, nor left unscreened, because PTB could not read some field of it
(`event=telegram.update_reduced update_id=N error=TypeError`); an edit is reduced the
same way, so urgent words written into one are still screened. Anything else is handed on
as an empty `Update` with its id (`event=telegram.update_skipped ...`): no handler matches
it, and the Updater's offset moves past it, which confirms it to Telegram. The others
of the batch are handled as always.

An element whose `update_id` is not an integer (or that is not an object at all) cannot
be confirmed by its own id. It is skipped, and confirmed with the next readable update
after it, as an offset confirms every update before it; it is logged then, with
`update_id=- error=TypeError`. Guessing its id instead could confirm a real update
nobody has read. While such elements are the newest Telegram holds, every poll would
find them again at once: the poll then answers nothing after a pause (HELD_PAUSE_SECONDS,
never longer than the long poll asked for) instead of asking again in a loop, and says
so once per offset (`event=telegram.updates_held offset=N count=K`).

The raw batch comes from `do_api_request("getUpdates", ...)`, PTB's public way to make a
call and get Telegram's answer unparsed, rather than from `Bot._post`, which PTB's own
`get_updates` uses but which is not PTB's API. Three things differ from `get_updates` and
are put right here: PTB warns that `get_updates` exists (the warning is filtered out), it
calls a refused token EndPointNotFound (it is InvalidToken again, on which PTB's polling
loop stops rather than retrying), and it knows nothing of the long poll's timeout (the
read timeout is the transport's own plus the long poll's, as in `get_updates`).

A poll after one that brought updates first waits until they have been handled (at most
HANDLED_WAIT_SECONDS; `handled`, the application's InboxQueue), then AFTER_HANDLED_SECONDS
more, for the copies they queued to be sent: the application handles updates one at a time,
so a message fetched sooner would only wait in the queue, while the poll's request, built
and sent while a message was being relayed, was most of a millisecond of the event loop's
in the relay's way (bench/RESULTS.md). Each update is kept in the inbox before it is
queued; waiting changes only when Telegram is next asked.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.error import EndPointNotFound, InvalidToken
from telegram.ext import ExtBot
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.logs import EventLog

log = EventLog(__name__)

# Marks a message reduced to its ids (PTB keeps a field it does not know in api_kwargs).
REDUCED = "porchlight_reduced"
# On a reduced message: its kind when it is sound or moving pictures, which the safety
# screen cannot read (its header says so, as for any voice note or video), or a location
# (a live one moves by edits, bot.handlers.inbox.is_live_location).
REDUCED_KIND = "porchlight_kind"
SOUND_AND_VIDEO = ("voice", "video_note", "video", "audio")

# The longest a poll waits when all it found were updates without a readable id.
HELD_PAUSE_SECONDS = 1.0

# The longest a poll waits for the updates of the one before to be handled, and how long
# it then leaves the sender to send what they queued.
HANDLED_WAIT_SECONDS = 1.0
AFTER_HANDLED_SECONDS = 0.002

# do_api_request warns that Bot.getUpdates exists; the one call it would warn about is the one
# in PollingBot.get_updates. (pyproject.toml repeats the filter for the tests: pytest resets
# the filters for collection and for each test.)
GET_UPDATES_WARNING = r"Please use 'Bot\.getUpdates'"
warnings.filterwarnings("ignore", message=GET_UPDATES_WARNING, category=PTBUserWarning)


def read_updates(
    batch: Sequence[object], bot: Bot | None = None
) -> tuple[tuple[Update, ...], int]:
    """A getUpdates answer's updates, each parsed on its own, and how many elements at its
    end have no readable update_id (not confirmed yet: nothing after them says where they are).

    An update that cannot be parsed is an empty Update with its id; one without a readable
    id is left out, and confirmed by the next readable one. Each is logged when skipped.
    """
    updates: list[Update] = []
    without_id = 0
    for element in batch:
        update_id = _update_id(element)
        if update_id is None:
            without_id += 1
            continue
        for _ in range(without_id):  # confirmed together with this one
            log.error("telegram.update_skipped", update_id=None, error="TypeError")
        without_id = 0
        updates.append(_parsed(element, update_id, bot))
    return tuple(updates), without_id


def _update_id(element: object) -> int | None:
    """The element's update_id, if it is an integer."""
    found = element.get("update_id") if isinstance(element, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def _parsed(element: Any, update_id: int, bot: Bot | None) -> Update:
    """The Update; when PTB cannot build it, the message reduced to its ids, or else an
    empty update with its id."""
    try:
        return Update.de_json(element, bot)
    except Exception as error:
        # The exception's text may quote the update: only its class is logged.
        reason = type(error).__name__
    reduced = _reduced(element, update_id, bot)
    if reduced is not None:
        log.error("telegram.update_reduced", update_id=update_id, error=reason)
        return reduced
    log.error("telegram.update_skipped", update_id=update_id, error=reason)
    skipped = Update(update_id)
    skipped.set_bot(bot)
    return skipped


def _reduced(element: dict[str, Any], update_id: int, bot: Bot | None) -> Update | None:
    """A new message PTB cannot read, kept to what copying it needs: who wrote, in which
    chat and topic, which message (and the one it replies to), its words if plain text,
    to be screened. Its content is left to Telegram, so a client's words still reach their
    specialist; None if even those ids are unreadable. An edit likewise: urgent words
    written into one are relayed (bot.handlers.client.on_client_edit)."""
    field = next((key for key in ("message", "edited_message") if key in element), None)
    message = element.get(field) if field is not None else None
    if field is None or not isinstance(message, dict):
        return None
    chat, sender, reply = (message.get(key) for key in ("chat", "from", "reply_to_message"))
    ids = [message.get("message_id")]
    ids += [part.get("id") if isinstance(part, dict) else None for part in (chat, sender)]
    if not all(isinstance(found, int) and not isinstance(found, bool) for found in ids):
        return None
    message_id, chat_id, user_id = ids
    assert isinstance(chat, dict)
    kept: dict[str, Any] = {
        "message_id": message_id,
        "date": 0,  # the date is not needed to copy, and may be what could not be read
        "chat": {"id": chat_id, "type": chat.get("type", "private")},
        "from": {"id": user_id, "is_bot": False, "first_name": "?"},
        REDUCED: True,
    }
    kind = next((key for key in (*SOUND_AND_VIDEO, "location") if key in message), None)
    if kind is not None:
        kept[REDUCED_KIND] = kind
    thread = message.get("message_thread_id")
    if isinstance(thread, int) and not isinstance(thread, bool):
        # Written in a topic (the team inbox's: an answer to the topic's client).
        kept["message_thread_id"] = thread
        kept["is_topic_message"] = message.get("is_topic_message") is True
    replied_to = reply.get("message_id") if isinstance(reply, dict) else None
    if isinstance(replied_to, int):
        kept["reply_to_message"] = {"message_id": replied_to, "date": 0, "chat": kept["chat"]}
    # Its words, when they can be read, for the safety screen (in memory, as for any
    # message): possibly urgent words must not pass unmarked because another field could
    # not be read. Without them if even that fails.
    words = {key: message[key] for key in ("text", "caption") if isinstance(message.get(key), str)}
    for attempt in ({**kept, **words}, kept) if words else (kept,):
        try:
            return Update.de_json({"update_id": update_id, field: attempt}, bot)
        except Exception:
            continue
    return None


def is_reduced(update: Update) -> bool:
    """True for a message reduced to its ids (see _reduced): relay it, whatever it holds."""
    message = update.message
    return message is not None and bool(message.api_kwargs.get(REDUCED))


def _seconds(period: TimePeriod | float | None) -> float:
    if isinstance(period, timedelta):
        return period.total_seconds()
    return float(period or 0)


class PollingBot(ExtBot[None]):
    """The application's bot: get_updates skips what it cannot read (see the module)."""

    def __init__(
        self,
        token: str,
        *,
        get_updates_request: BaseRequest,
        handled: Callable[[float], Awaitable[None]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(token, get_updates_request=get_updates_request, **kwargs)
        self._poll_request = get_updates_request
        # Waits until the updates queued so far are handled (InboxQueue.handled).
        self._handled = handled
        self._brought = False  # the last poll brought updates
        self._held_at: int | None = None  # the offset of the last poll that said it held some

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 (the long poll's, as in PTB)
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        """As PTB's get_updates, but an update that cannot be read is skipped, not fatal;
        asked once the last poll's updates are handled."""
        if self._handled is not None and self._brought:
            await self._handled(HANDLED_WAIT_SECONDS)
            await asyncio.sleep(AFTER_HANDLED_SECONDS)
        own = (
            self._poll_request.read_timeout
            if isinstance(read_timeout, DefaultValue)
            else read_timeout
        )
        try:
            batch = await self.do_api_request(
                "getUpdates",
                {
                    "offset": offset,
                    "limit": limit,
                    "timeout": timeout,
                    "allowed_updates": allowed_updates,
                    **(api_kwargs or {}),
                },
                read_timeout=_seconds(own) + _seconds(timeout),
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except EndPointNotFound as error:
            raise InvalidToken(error.message) from error
        if not isinstance(batch, list):
            raise TypeError("getUpdates answered with something other than a list")
        updates, held = read_updates(batch, self)
        self._brought = bool(updates)
        if held and not updates:
            if offset != self._held_at:
                log.warning("telegram.updates_held", offset=offset, count=held)
                self._held_at = offset
            await asyncio.sleep(min(_seconds(timeout), HELD_PAUSE_SECONDS))
        for update in updates:
            self.insert_callback_data(update)
        return updates
