"""The command menu each person sees: clients by default, specialists and admins per chat.

Menus are set through the bot directly (they are settings, not messages), at start-up
for everyone known and again when a specialist is added or removed. The clients' menu
is set once per language, for Telegram to pick by the app's language, and for one chat
when a client chooses a language with /language (removed again when they erase their
data). A specialist's or admin's menu is in their language: at start-up (the same one
call each), when they choose one with /language, and when the bot first hears from them.
Telegram refuses a chat scope for someone who never opened the bot; that is logged and
skipped, and never stops the bot from starting.
"""

from __future__ import annotations

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.domain.texts import DEFAULT_LANGUAGE, Texts
from bot.logs import EventLog
from bot.services.container import Services

log = EventLog(__name__)

CLIENT_COMMANDS = (
    "settings",
    "schedule",
    "timezone",
    "quiet",
    "pause",
    "resume",
    "stop",
    "privacy",
    "mydata",
    "forget",
    "language",
    "crisis",
    "help",
)
SPECIALIST_COMMANDS = (
    "clients",
    "to",
    "invite",
    "checkin",
    "away",
    "back",
    "transfer",
    "digest",
    "oncall",
    "help",
)
ADMIN_COMMANDS = (
    "specialists",
    "addspecialist",
    "removespecialist",
    "transfer",
    "audit",
    "report",
    "oncall",
    "help",
)
_ROLES = {"client": CLIENT_COMMANDS, "specialist": SPECIALIST_COMMANDS, "admin": ADMIN_COMMANDS}


def commands(texts: Texts, role: str, language: str = DEFAULT_LANGUAGE) -> list[BotCommand]:
    """The menu of one role ('client', 'specialist', 'admin' or 'specialist+admin')."""
    names: list[str] = []
    for part in role.split("+"):
        names += [name for name in _ROLES[part] if name not in names]
    names.sort(key=lambda name: name == "help")  # /help last, whichever roles combine
    return [BotCommand(name, texts.get(f"menu.{name}", language)) for name in names]


def role_of(is_specialist: bool, is_admin: bool) -> str | None:
    """The menu role of a person who is a specialist, an admin, both, or neither (None)."""
    roles = [name for name, held in (("specialist", is_specialist), ("admin", is_admin)) if held]
    return "+".join(roles) or None


async def _apply(
    bot: Bot,
    texts: Texts,
    scope: BotCommandScope,
    role: str | None,
    language: str = DEFAULT_LANGUAGE,
    language_code: str | None = None,
) -> None:
    """Set one menu in a language (no role: delete it); with `language_code`, only for
    people whose Telegram app is in that language."""
    if role is None:
        await bot.delete_my_commands(scope=scope)
    else:
        menu = commands(texts, role, language)
        await bot.set_my_commands(menu, scope=scope, language_code=language_code)


async def set_menu(
    bot: Bot, texts: Texts, chat_id: int, role: str | None, language: str = DEFAULT_LANGUAGE
) -> bool:
    """Give one chat its role's menu in a language (None: back to the clients' default);
    False if refused."""
    try:
        await _apply(bot, texts, BotCommandScopeChat(chat_id), role, language)
    except TelegramError as error:
        log.warning("menu.refused", chat=chat_id, error=type(error).__name__)
        return False
    return True


async def set_menus(bot: Bot, found: Services) -> None:
    """At start-up: the clients' menu by default, and each specialist's and admin's own."""
    admins = found.people.admin_ids
    specialists = [specialist for specialist, _ in await found.people.specialists()]
    spoken = await found.people.staff_languages()
    # The clients' menu: English for any app language, then one per other language.
    menus: list[tuple[BotCommandScope, str | None, str, str | None]] = [
        (BotCommandScopeDefault(), "client", language or DEFAULT_LANGUAGE, language)
        for language in [None, *sorted(found.texts.languages - {DEFAULT_LANGUAGE})]
    ]
    menus += [
        (
            BotCommandScopeChat(s.chat_id),
            role_of(s.active, s.telegram_user_id in admins),
            s.language,
            None,
        )
        for s in specialists
    ]
    others = sorted(admins - {s.telegram_user_id for s in specialists})
    menus += [
        (BotCommandScopeChat(admin), "admin", spoken.get(admin, DEFAULT_LANGUAGE), None)
        for admin in others
    ]
    for scope, role, language, code in menus:
        try:
            await _apply(bot, found.texts, scope, role, language, code)
        except (BadRequest, Forbidden) as error:
            # Someone who never opened the bot: their menu comes with the next start.
            log.warning("menu.refused", scope=scope.type, error=error.message)
        except TelegramError as error:
            # The Bot API cannot be reached: the bot works without menus; no more tries.
            log.warning("menu.not_set", error=type(error).__name__)
            return
