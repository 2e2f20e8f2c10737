"""Command line: `python -m bot run|check|specialist add|list|remove|invite|audit`.

Every command reads the same settings as the bot and works while the bot runs
(they share the SQLite file). A configuration problem prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.config import ConfigError, Settings, load_settings
from bot.domain.clock import SystemClock
from bot.logs import setup_logging
from bot.services.admin import AUDIT_DEFAULT, AUDIT_MAX
from bot.services.container import Services
from bot.services.notices import Refused
from bot.services.onboarding import InviteRefused
from bot.services.people import CLI, SpecialistError

EXIT_FAILURE = 1
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="porchlight", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling) until Ctrl-C")
    commands.add_parser("check", help="check the configuration and the token (getMe)")
    specialist = commands.add_parser("specialist", help="manage specialists")
    specialist_commands = specialist.add_subparsers(dest="action", required=True)
    add = specialist_commands.add_parser("add", help="register a specialist")
    add.add_argument("telegram_user_id", type=int)
    add.add_argument("--name", required=True, help="display name clients will see")
    specialist_commands.add_parser("list", help="list specialists")
    remove = specialist_commands.add_parser(
        "remove", help="remove a specialist; their clients go to another, each told"
    )
    remove.add_argument("telegram_user_id", type=int)
    remove.add_argument(
        "--to", dest="to", help="the specialist (Telegram user id or display name) to take over"
    )
    invite = commands.add_parser("invite", help="make an invite link for a specialist")
    invite.add_argument("specialist_telegram_user_id", type=int)
    invite.add_argument("--alias", required=True, help="the name the specialist will see")
    audit = commands.add_parser("audit", help="print the newest audit log entries")
    audit.add_argument(
        "-n",
        type=int,
        default=AUDIT_DEFAULT,
        choices=range(1, AUDIT_MAX + 1),
        metavar=f"1..{AUDIT_MAX}",
        help=f"how many entries (default {AUDIT_DEFAULT})",
    )
    return parser


def _bot(settings: Settings) -> Bot:
    root = settings.telegram_api_base_url
    return Bot(settings.token(), base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")


async def _username(settings: Settings) -> str:
    """Ask Telegram who the bot is (getMe)."""
    async with _bot(settings) as bot:
        return bot.username


async def _check(settings: Settings) -> int:
    username = await _username(settings)
    print(f"Configuration is fine. The bot is @{username}.")
    return 0


def _warn_if_env_is_readable(env: Path = Path(".env")) -> None:
    """The token lives in .env: say so when others on the machine can read it."""
    if env.exists() and env.stat().st_mode & 0o077:
        print(
            "Warning: .env holds the bot token and others on this machine can read it;"
            " run: chmod 600 .env",
            file=sys.stderr,
        )


@asynccontextmanager
async def _opened(settings: Settings) -> AsyncIterator[Services]:
    """The services over the bot's database (no sender: the running bot sends)."""
    services = await Services.open(settings, SystemClock())
    try:
        yield services
    finally:
        await services.close()


def _refuse(services: Services, refused: Refused) -> int:
    print(services.texts.get(refused.key, "en", **refused.params), file=sys.stderr)
    return EXIT_FAILURE


async def _specialist_add(settings: Settings, user_id: int, name: str) -> int:
    async with _opened(settings) as services:
        try:
            specialist = await services.people.add_specialist(user_id, name, CLI)
        except SpecialistError as error:
            reason = services.texts.get(error.key)
            return _refuse(services, Refused("admin.add_refused", reason=reason))
    print(f"Specialist {specialist.display_name} ({specialist.telegram_user_id}) is registered.")
    print("They can now open the bot in Telegram and send /start.")
    return 0


async def _specialist_list(settings: Settings) -> int:
    async with _opened(settings) as services:
        found = await services.people.specialists()
    if not found:
        print("No specialists yet. Add one with: porchlight specialist add <id> --name <name>")
    for specialist, clients in found:
        state = "active" if specialist.active else "removed"
        print(
            f"{specialist.telegram_user_id}\t{specialist.display_name}\t{state}\t{clients} clients"
        )
    return 0


async def _specialist_remove(settings: Settings, user_id: int, to: str | None) -> int:
    async with _opened(settings) as services:
        try:
            removal = await services.transfers.remove_specialist(CLI, user_id, to)
        except Refused as refused:
            return _refuse(services, refused)
    leaving, target = removal.specialist, removal.target
    if target is None:
        print(services.texts.get("admin.removed_alone", name=leaving.display_name))
        return 0
    print(
        services.texts.get(
            "admin.removed",
            name=leaving.display_name,
            count=removal.moved,
            target=target.display_name,
        )
    )
    print("(The running bot sends their messages within seconds; a stopped one when it starts.)")
    return 0


async def _audit(settings: Settings, count: int) -> int:
    async with _opened(settings) as services:
        lines = await services.admin.audit(count)
    print("\n".join(lines))
    return 0


async def _invite(settings: Settings, user_id: int, alias: str) -> int:
    username = await _username(settings)
    async with _opened(settings) as services:
        try:
            invite = await services.onboarding.create_invite_for_user(user_id, alias, username)
        except InviteRefused as refused:
            return _refuse(services, refused)
    print(
        f"Invite for {invite.alias}, single use, expires {invite.expires_at:%Y-%m-%d %H:%M} UTC:"
    )
    print(invite.link)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        token = settings.token() if args.command in {"run", "check", "invite"} else None
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.log_level_number, token)
    try:
        if args.command == "run":
            from bot.app import run

            run(settings)
            return 0
        if args.command == "check":
            _warn_if_env_is_readable()
            return asyncio.run(_check(settings))
        if args.command == "invite":
            return asyncio.run(_invite(settings, args.specialist_telegram_user_id, args.alias))
        if args.command == "audit":
            return asyncio.run(_audit(settings, args.n))
        if args.action == "add":
            return asyncio.run(_specialist_add(settings, args.telegram_user_id, args.name))
        if args.action == "remove":
            return asyncio.run(_specialist_remove(settings, args.telegram_user_id, args.to))
        return asyncio.run(_specialist_list(settings))
    except InvalidToken:
        print(
            "TELEGRAM_BOT_TOKEN was refused by Telegram: check it with @BotFather.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except TelegramError as error:
        print(
            f"Could not reach the Bot API ({type(error).__name__}): {error.message}",
            file=sys.stderr,
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
