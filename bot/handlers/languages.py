"""/language for everyone we know: a client's own (bot.handlers.settings) or a staff
member's, and the staff's language buttons; each choice brings the command menu along."""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import answer_quietly, command_text
from bot.handlers.context import Context, services
from bot.handlers.menus import role_of, set_menu
from bot.handlers.settings import cmd_language as cmd_client_language
from bot.services.languages import parse_language_data
from bot.services.people import Person


async def cmd_language(update: Update, context: Context, person: Person) -> None:
    """/language: a client's, else a specialist's or admin's (the same buttons)."""
    if person.client is not None and person.their_specialist is not None:
        await cmd_client_language(update, context, person.client, person.their_specialist)
        return
    chosen = await services(context).staff_languages.command(
        person.user_id, person.language, command_text(update)
    )
    await staff_menu_follows(context, person, chosen)


async def on_staff_language_button(update: Update, context: Context, person: Person) -> bool:
    """A staff member's tap under /language; False if the data is not such a button."""
    query = update.callback_query
    assert query is not None and query.message is not None
    found = services(context)
    parsed = parse_language_data(found.texts, query.data or "")
    if parsed is None or parsed[1] or person.client is not None or not person.is_staff:
        return False  # not a language, or the clients' first question's (not for staff)
    chosen = await found.staff_languages.choose(
        person.user_id, person.language, parsed[0], query.message.message_id
    )
    await answer_quietly(query)
    await staff_menu_follows(context, person, chosen)
    return True


async def staff_menu_follows(context: Context, person: Person, language: str) -> None:
    """A staff member who chose another language gets their command menu in it too."""
    if language != person.language:
        await staff_menu(context, person, language)


async def staff_menu(context: Context, person: Person, language: str) -> None:
    """Set a specialist's or admin's own menu in a language."""
    role = role_of(person.specialist is not None, person.is_admin)
    await set_menu(context.bot, services(context).texts, person.user_id, role, language)
