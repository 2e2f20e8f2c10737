"""The command menu each person sees: clients by default, specialists and admins per chat.

Menus are set through the bot directly (they are settings, not messages), at start-up
for everyone known and again when a specialist is added or removed. Telegram refuses
a chat scope for someone who never opened the bot; that is logged and skipped, and
never stops the bot from starting.
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

from bot.domain.texts import Texts
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
    "help",
)
ADMIN_COMMANDS = ("specialists", "addspecialist", "removespecialist", "transfer", "audit", "help")
_ROLES = {"client": CLIENT_COMMANDS, "specialist": SPECIALIST_COMMANDS, "admin": ADMIN_COMMANDS}


def commands(texts: Texts, role: str) -> list[BotCommand]:
    """The menu of one role ('client', 'specialist', 'admin' or 'specialist+admin')."""
    names: list[str] = []
    for part in role.split("+"):
        names += [name for name in _ROLES[part] if name not in names]
    names.sort(key=lambda name: name == "help")  # /help last, whichever roles combine
    return [BotCommand(name, texts.get(f"menu.{name}")) for name in names]


def role_of(is_specialist: bool, is_admin: bool) -> str | None:
    """The menu role of a person who is a specialist, an admin, both, or neither (None)."""
    roles = [name for name, held in (("specialist", is_specialist), ("admin", is_admin)) if held]
    return "+".join(roles) or None


async def _apply(bot: Bot, texts: Texts, scope: BotCommandScope, role: str | None) -> None:
    if role is None:
        await bot.delete_my_commands(scope=scope)
    else:
        await bot.set_my_commands(commands(texts, role), scope=scope)


async def set_menu(bot: Bot, texts: Texts, chat_id: int, role: str | None) -> bool:
    """Give one chat its role's menu (None: back to the clients' default); False if refused."""
    try:
        await _apply(bot, texts, BotCommandScopeChat(chat_id), role)
    except TelegramError as error:
        log.warning("menu.refused", chat=chat_id, error=type(error).__name__)
        return False
    return True


async def set_menus(bot: Bot, found: Services) -> None:
    """At start-up: the clients' menu by default, and each specialist's and admin's own."""
    admins = found.people.admin_ids
    specialists = [specialist for specialist, _ in await found.people.specialists()]
    menus: list[tuple[BotCommandScope, str | None]] = [(BotCommandScopeDefault(), "client")]
    menus += [
        (BotCommandScopeChat(s.chat_id), role_of(s.active, s.telegram_user_id in admins))
        for s in specialists
    ]
    others = sorted(admins - {s.telegram_user_id for s in specialists})
    menus += [(BotCommandScopeChat(admin), "admin") for admin in others]
    for scope, role in menus:
        try:
            await _apply(bot, found.texts, scope, role)
        except (BadRequest, Forbidden) as error:
            # Someone who never opened the bot: their menu comes with the next start.
            log.warning("menu.refused", scope=scope.type, error=error.message)
        except TelegramError as error:
            # The Bot API cannot be reached: the bot works without menus; no more tries.
            log.warning("menu.not_set", error=type(error).__name__)
            return
