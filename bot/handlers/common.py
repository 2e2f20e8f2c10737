"""Handlers that look at who is writing first: /start, /help, and anything in a group."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable

from telegram import CallbackQuery, ChatMemberUpdated, Update
from telegram.error import TelegramError

from bot.handlers.context import Context, services
from bot.handlers.menus import role_of, set_menu
from bot.logs import EventLog
from bot.services.notices import Refused
from bot.services.people import Person

log = EventLog(__name__)


async def identify(update: Update, context: Context) -> Person | None:
    """The person behind an update, if it has a user."""
    user = update.effective_user
    if user is None:
        return None
    found = services(context)
    app_language = found.texts.language_for(user.language_code) if user.language_code else None
    person = await found.people.identify(user.id, app_language)
    chat = update.effective_chat
    private = chat is not None and chat.type == "private"
    if person.menu_outdated and person.client is None and context.bot_data.menus_started.is_set():
        # A staff member first heard from (start-up could not set a menu for someone who
        # had never opened the bot), or whose app's language is theirs and changed. Not
        # before the start-up menus begin: they follow the first tick, and read it.
        role = role_of(person.specialist is not None, person.is_admin)
        await set_menu(context.bot, found.texts, person.user_id, role, person.language)
    if person.specialist is not None and person.specialist.blocked and private:
        # They write to the bot, so it can write to them: what was kept for them goes.
        # Telegram sends no my_chat_member for a first /start after "bot can't initiate
        # conversation", nor again for an unblock the bot missed.
        await found.unreachable.unblocked(person.specialist)
    if person.client is not None and person.their_specialist is not None:
        await found.onboarding.show_changed_terms(person.client, person.their_specialist)
    return person


def command_text(update: Update) -> str:
    """What was typed after the command, as typed (line breaks kept)."""
    message = update.message
    if message is None or message.text is None:
        return ""
    parts = message.text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def refusing(
    context: Context, chat_id: int, request: Awaitable[None], language: str
) -> None:
    """Run a request; if it is refused, say why (it changed nothing), in `language`."""
    try:
        await request
    except Refused as refused:
        await services(context).notices.refuse(chat_id, refused, language)


async def client_note(context: Context, person: Person, key: str) -> None:
    """A note to a client, naming their specialist: help, an unsupported message, an edit."""
    client, theirs = person.client, person.their_specialist
    assert client is not None
    name = theirs.display_name if theirs else ""
    await services(context).notices.say(client.chat_id, key, client.language, specialist=name)


async def cmd_start(update: Update, context: Context) -> None:
    """/start with an invite code opens the invite; bare /start greets by role."""
    person = await identify(update, context)
    if person is None:
        return
    found = services(context)
    if context.args:
        await found.onboarding.open_invite(person, context.args[0])
    elif person.specialist is not None:
        await found.notices.say(
            person.user_id,
            "specialist.greeting",
            person.language,
            name=person.specialist.display_name,
        )
    elif person.client is not None:
        await cmd_help(update, context)
    elif person.is_admin:
        await found.notices.say(person.user_id, "admin.greeting", person.language)
    else:
        await found.notices.say_to_stranger(person.user_id, language=person.language)


async def cmd_help(update: Update, context: Context) -> None:
    """/help: what this person can do here."""
    person = await identify(update, context)
    if person is None:
        return
    found = services(context)
    if person.specialist is not None:
        await found.notices.say(person.user_id, "specialist.help", person.language)
        if person.is_admin:
            await found.notices.say(person.user_id, "admin.greeting", person.language)
    elif person.client is not None:
        await client_note(context, person, "client.help")
    elif person.is_admin:
        await found.notices.say(person.user_id, "admin.greeting", person.language)
    else:
        await found.notices.say_to_stranger(person.user_id, language=person.language)


async def cmd_crisis(update: Update, context: Context) -> None:
    """/crisis: the crisis lines, to anyone, any time, without writing anything."""
    person = await identify(update, context)
    if person is None:
        return
    await services(context).escalations.crisis(
        person.user_id, person.language, stranger=person.is_stranger
    )


async def on_my_chat_member(update: Update, context: Context) -> None:
    """A person blocked or unblocked the bot, or someone added it to a group (it leaves)."""
    member: ChatMemberUpdated | None = update.my_chat_member
    if member is None:
        return
    status = member.new_chat_member.status
    if member.chat.type == "private":
        found = services(context)
        if status == "kicked":
            await found.reports.chat_blocked(member.chat.id)
            return
        person = await found.people.identify(member.chat.id)
        if person.client is not None:
            await found.preferences.unblock(person.client)
        if person.specialist is not None:
            await found.unreachable.unblocked(person.specialist)
        return
    if status in {"left", "kicked"}:
        return
    if member.chat.id == services(context).team.chat_id:
        log.info("team.group_joined", chat=member.chat.id)
        return  # the team inbox's group (TEAM_CHAT_ID): the one group the bot stays in
    log.info("group.leave", chat=member.chat.id)
    await context.bot.leave_chat(member.chat.id)


async def answer_quietly(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; Telegram refuses answers to old presses, which is harmless."""
    with contextlib.suppress(TelegramError):
        await query.answer(text)


async def on_error(update: object, context: Context) -> None:
    """Log the failure by event name and ids only (an update can hold a client's words)."""
    update_id = update.update_id if isinstance(update, Update) else None
    if update_id is not None:
        context.bot_data.failed_updates.add(update_id)
    log.error(
        "handler.error",
        update=update_id,
        error=type(context.error).__name__,
        exc_info=context.error,
    )
