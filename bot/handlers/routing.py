"""Every handler, registered in one visible place, and the role checks in front of them.

Order matters: commands first, then relayable messages, then the catch-alls that
explain what does not work. Everything but leaving groups and the team inbox's group
(bot.handlers.team) is for private chats.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.domain.models import Client, Specialist
from bot.handlers.admin import (
    cmd_addspecialist,
    cmd_audit,
    cmd_removespecialist,
    cmd_report,
    cmd_specialists,
)
from bot.handlers.client import (
    on_client_edit,
    on_client_message,
    on_consent_button,
    on_terms_button,
)
from bot.handlers.common import (
    answer_quietly,
    client_note,
    cmd_crisis,
    cmd_help,
    cmd_start,
    identify,
    on_error,
    on_my_chat_member,
)
from bot.handlers.context import Context, PorchlightApp, services
from bot.handlers.inbox import forget_handled, is_live_location
from bot.handlers.languages import cmd_language, on_staff_language_button
from bot.handlers.polling import is_reduced
from bot.handlers.settings import (
    cmd_forget,
    cmd_mydata,
    cmd_pause,
    cmd_privacy,
    cmd_quiet,
    cmd_resume,
    cmd_schedule,
    cmd_settings,
    cmd_stop,
    cmd_timezone,
    on_settings_button,
)
from bot.handlers.specialist import (
    cmd_away,
    cmd_back,
    cmd_checkin,
    cmd_clients,
    cmd_digest,
    cmd_invite,
    cmd_oncall,
    cmd_to,
    cmd_transfer,
    on_admin_message,
    on_clients_page,
    on_specialist_message,
)
from bot.handlers.team import on_team_edit, on_team_message
from bot.services.people import Person

HANDLED_GROUP = 100
PRIVATE = filters.ChatType.PRIVATE
NEW_MESSAGE = PRIVATE & filters.UpdateType.MESSAGE
GIFTS = filters.StatusUpdate.GIFT | filters.StatusUpdate.UNIQUE_GIFT


class _Reduced(filters.UpdateFilter):
    """A message PTB could not read, kept to its ids (bot.handlers.polling)."""

    def filter(self, update: Update) -> bool:
        return is_reduced(update)


# What copy_message can carry and a person is likely to send.
RELAYABLE = (
    _Reduced(name="reduced")
    | filters.TEXT
    | filters.PHOTO
    | filters.VIDEO
    | filters.VOICE
    | filters.AUDIO
    | filters.Document.ALL
    | filters.Sticker.ALL
    | filters.ANIMATION
    | filters.VIDEO_NOTE
    | filters.LOCATION
    | filters.CONTACT
    | filters.VENUE
) & ~filters.COMMAND

SpecialistHandler = Callable[[Update, Context, Specialist], Awaitable[None]]
ClientHandler = Callable[[Update, Context, Client, Specialist], Awaitable[None]]
PersonHandler = Callable[[Update, Context, Person], Awaitable[None]]
Checked = Callable[[Update, Context], Coroutine[Any, Any, None]]


def _only(
    allowed: Callable[[Person], bool],
    handler: PersonHandler,
    refusal: str,
    strangers: str = "stranger.invitation_only",
) -> Checked:
    """Let through whom `allowed` accepts; tell anyone else kindly (strangers keep nothing)."""

    async def checked(update: Update, context: Context) -> None:
        person = await identify(update, context)
        if person is None:
            return
        notices = services(context).notices
        if allowed(person):
            await handler(update, context, person)
        elif person.is_stranger:
            await notices.say_to_stranger(person.user_id, strangers, person.language)
        else:
            await notices.say(person.user_id, refusal, person.language)

    return checked


def for_specialists(handler: SpecialistHandler) -> Checked:
    """Let only active specialists through."""

    async def as_specialist(update: Update, context: Context, person: Person) -> None:
        assert person.specialist is not None
        await handler(update, context, person.specialist)

    return _only(lambda p: p.specialist is not None, as_specialist, "invite.not_available")


def for_clients(handler: ClientHandler) -> Checked:
    """Let only clients through."""

    async def as_client(update: Update, context: Context, person: Person) -> None:
        assert person.client is not None and person.their_specialist is not None
        await handler(update, context, person.client, person.their_specialist)

    return _only(
        lambda p: p.client is not None and p.their_specialist is not None,
        as_client,
        "settings.clients_only",
    )


def for_admins(handler: PersonHandler) -> Checked:
    """Let only admins (ADMIN_IDS) through; anyone else hears it is not available."""
    return _only(lambda p: p.is_admin, handler, "admin.not_available", "admin.not_available")


def for_staff(handler: PersonHandler) -> Checked:
    """Let specialists and admins through (/transfer)."""
    return _only(lambda p: p.specialist is not None or p.is_admin, handler, "invite.not_available")


def for_clients_and_staff(handler: PersonHandler) -> Checked:
    """Let clients, specialists and admins through (/language)."""
    return _only(
        lambda p: (p.client is not None and p.their_specialist is not None) or p.is_staff,
        handler,
        "settings.clients_only",
    )


async def on_private_message(update: Update, context: Context) -> None:
    """A message to relay: from a client to their specialist, or a specialist's reply."""
    person = await identify(update, context)
    if person is None:
        return
    if person.specialist is not None:
        await on_specialist_message(update, context, person.specialist)
    elif person.client is not None and person.their_specialist is not None:
        await on_client_message(update, context, person.client, person.their_specialist)
    elif person.is_admin:
        # A reply to an escalated message, or else what an admin can do here.
        await on_admin_message(update, context, person)
    else:
        await services(context).notices.say_to_stranger(person.user_id, language=person.language)


async def _explain(
    update: Update, context: Context, key: str, admins: str | None, tell_strangers: bool
) -> None:
    """Tell a specialist or client why `key` did nothing; admins get the text `admins`."""
    person = await identify(update, context)
    if person is not None:
        await _explain_to(context, person, key, admins, tell_strangers)


async def _explain_to(
    context: Context, person: Person, key: str, admins: str | None, tell_strangers: bool
) -> None:
    """As _explain, to someone already identified."""
    if person.specialist is not None:
        await services(context).notices.say(person.user_id, f"specialist.{key}", person.language)
    elif person.client is not None:
        await client_note(context, person, f"client.{key}")
    elif person.is_admin:
        if admins is not None:
            await services(context).notices.say(person.user_id, admins, person.language)
    elif tell_strangers:
        await services(context).notices.say_to_stranger(person.user_id, language=person.language)


async def on_unsupported(update: Update, context: Context) -> None:
    """A poll, dice, game or other kind that cannot be relayed."""
    await _explain(update, context, "unsupported", "admin.greeting", tell_strangers=True)


async def on_edited(update: Update, context: Context) -> None:
    """An edit: copies cannot follow it, so say so (an admin's edit changes nothing); a
    client's edit the safety screen flags goes to their specialist all the same."""
    if is_live_location(update):
        return
    person = await identify(update, context)
    if person is None:
        return
    client, specialist = person.client, person.their_specialist
    as_client = person.specialist is None and client is not None and specialist is not None
    if as_client and await on_client_edit(update, context, client, specialist):  # type: ignore[arg-type]
        return
    await _explain_to(context, person, "edit_not_relayed", None, tell_strangers=False)


async def on_unknown_command(update: Update, context: Context) -> None:
    """A command we do not know."""
    await _explain(
        update, context, "unknown_command", "specialist.unknown_command", tell_strangers=True
    )


def on_its_message(query: CallbackQuery) -> bool:
    """True if the press is of a button the message shows.

    Telegram's apps press only what a message shows; other data is forged (a modified
    app) or stale (a keyboard already taken away), and no data names the person it is
    for, so it could otherwise act on the presser's account from any message, an erasure
    included, without the question ever being asked.
    """
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    shown = message.reply_markup.inline_keyboard
    return any(button.callback_data == query.data for row in shown for button in row)


async def on_button(update: Update, context: Context) -> None:
    """Every button press; unknown or forged data gets a kind answer and changes nothing."""
    query = update.callback_query
    person = await identify(update, context)
    if query is None or person is None:
        return
    if not on_its_message(query):
        await answer_quietly(query, button_gone(context, person))
        return
    if (query.data or "").startswith("consent:"):
        await on_consent_button(update, context, person)
        return
    if (query.data or "").startswith("cl:"):
        await on_clients_page(update, context, person)
        return
    if person.client is None and await on_staff_language_button(update, context, person):
        return
    client, specialist = person.client, person.their_specialist
    known = query.message is not None and client is not None and specialist is not None
    if known and await on_settings_button(update, context, client, specialist):  # type: ignore[arg-type]
        await answer_quietly(query)
        return
    if known and await on_terms_button(update, context, client, specialist):  # type: ignore[arg-type]
        await answer_quietly(query)
        return
    await answer_quietly(query, button_gone(context, person))


def button_gone(context: Context, person: Person) -> str:
    """What a press that no longer does anything is answered: only someone not yet a
    client (for whom a stale consent button is the usual case) is pointed to invite links."""
    key = "consent.button_expired" if person.is_stranger else "button.gone"
    return services(context).texts.get(key, person.language)


def register(application: PorchlightApp) -> None:
    """Add every handler to the application."""
    application.add_handler(CommandHandler("start", cmd_start, filters=NEW_MESSAGE))
    application.add_handler(CommandHandler("help", cmd_help, filters=NEW_MESSAGE))
    application.add_handler(CommandHandler("crisis", cmd_crisis, filters=NEW_MESSAGE))
    commands: dict[str, Checked] = {
        "invite": for_specialists(cmd_invite),
        "checkin": for_specialists(cmd_checkin),
        "clients": for_specialists(cmd_clients),
        "to": for_specialists(cmd_to),
        "away": for_specialists(cmd_away),
        "back": for_specialists(cmd_back),
        "digest": for_specialists(cmd_digest),
        "transfer": for_staff(cmd_transfer),
        "oncall": for_staff(cmd_oncall),
        "specialists": for_admins(cmd_specialists),
        "addspecialist": for_admins(cmd_addspecialist),
        "removespecialist": for_admins(cmd_removespecialist),
        "audit": for_admins(cmd_audit),
        "report": for_admins(cmd_report),
        "settings": for_clients(cmd_settings),
        "schedule": for_clients(cmd_schedule),
        "timezone": for_clients(cmd_timezone),
        "quiet": for_clients(cmd_quiet),
        "pause": for_clients(cmd_pause),
        "resume": for_clients(cmd_resume),
        "stop": for_clients(cmd_stop),
        "forget": for_clients(cmd_forget),
        "privacy": for_clients(cmd_privacy),
        "mydata": for_clients(cmd_mydata),
        "language": for_clients_and_staff(cmd_language),
    }
    for name, checked in commands.items():
        application.add_handler(CommandHandler(name, checked, filters=NEW_MESSAGE))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(NEW_MESSAGE & RELAYABLE, on_private_message))
    application.add_handler(MessageHandler(NEW_MESSAGE & filters.COMMAND, on_unknown_command))
    application.add_handler(MessageHandler(PRIVATE & filters.UpdateType.EDITED_MESSAGE, on_edited))
    # Telegram's note that someone pinned a message or set messages to delete themselves
    # is nothing they wrote: no answer. A gift is sent on purpose: it cannot be passed on.
    application.add_handler(
        MessageHandler(NEW_MESSAGE & (~filters.StatusUpdate.ALL | GIFTS), on_unsupported)
    )
    application.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    # The team inbox's group (the only group the bot stays in): answers, notes, commands;
    # not Telegram's notes that someone pinned a message or closed a topic there.
    in_the_group = filters.ChatType.SUPERGROUP & filters.UpdateType.MESSAGE
    application.add_handler(
        MessageHandler(in_the_group & ~filters.StatusUpdate.ALL, on_team_message)
    )
    application.add_handler(
        MessageHandler(
            filters.ChatType.SUPERGROUP & filters.UpdateType.EDITED_MESSAGE, on_team_edit
        )
    )
    # Last, after every other handler has run (groups run in order).
    application.add_handler(TypeHandler(Update, forget_handled), group=HANDLED_GROUP)
    application.add_error_handler(on_error)
