"""Command line: `python -m bot run|check|specialist|invite|audit|backup|demo|screen`.

Every command reads the same settings as the bot and works while the bot runs
(they share the SQLite file). A configuration problem prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.backup import BackupError, backup
from bot.config import CONFIG_DIR, ConfigError, MissingToken, Settings, load_settings
from bot.domain.clock import SystemClock
from bot.domain.commands import telegram_id
from bot.domain.safety import PLACEHOLDER, SafetyConfigError, SafetyScreen
from bot.logs import setup_logging
from bot.services.admin import AUDIT_DEFAULT, AUDIT_MAX
from bot.services.container import Services
from bot.services.notices import Refused
from bot.services.onboarding import InviteRefused
from bot.services.people import CLI, SpecialistError

EXIT_FAILURE = 1
EXIT_CONFIG = 2


def _user_id(text: str) -> int:
    """A Telegram user id argument (a longer number would not fit the database)."""
    user_id = telegram_id(text)
    if user_id is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Telegram user id")
    return user_id


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="porchlight", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling, or a webhook) until Ctrl-C")
    commands.add_parser("check", help="check the configuration and the token (getMe)")
    specialist = commands.add_parser("specialist", help="manage specialists")
    specialist_commands = specialist.add_subparsers(dest="action", required=True)
    add = specialist_commands.add_parser("add", help="register a specialist")
    add.add_argument("telegram_user_id", type=_user_id)
    add.add_argument("--name", required=True, help="display name clients will see")
    specialist_commands.add_parser("list", help="list specialists")
    remove = specialist_commands.add_parser(
        "remove", help="remove a specialist; their clients go to another, each told"
    )
    remove.add_argument("telegram_user_id", type=_user_id)
    remove.add_argument(
        "--to", dest="to", help="the specialist (Telegram user id or display name) to take over"
    )
    invite = commands.add_parser("invite", help="make an invite link for a specialist")
    invite.add_argument("specialist_telegram_user_id", type=_user_id)
    invite.add_argument("--alias", required=True, help="the name the specialist will see")
    _add_backup_command(commands)
    _add_demo_command(commands)
    _add_screen_command(commands)
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


def _add_backup_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup_command = commands.add_parser(
        "backup", help="copy the database to a file, safely while the bot runs"
    )
    backup_command.add_argument("path", type=Path, help="the file to write (or a folder)")
    backup_command.add_argument("--force", action="store_true", help="replace an existing file")


def _add_demo_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser(
        "demo", help="watch a specialist and a client use the bot (no token, no network)"
    )


def _add_screen_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    screen = commands.add_parser(
        "screen",
        help="screen messages (one a line on standard input) as the bot would: urgent,"
        " concern or none, and the category (no token, no database)",
    )
    screen.add_argument(
        "--language", default="en", help="the conversation's language (default en)"
    )


def _screen(language: str) -> int:
    """`python -m bot screen`: LEVEL<TAB>CATEGORY<TAB>message for each line read."""
    try:
        screen = SafetyScreen.load(CONFIG_DIR / "safety")
    except SafetyConfigError as error:
        print(f"Error in the safety configuration: {error}", file=sys.stderr)
        return EXIT_CONFIG
    out = sys.stdout
    for raw in sys.stdin.buffer:
        message = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        found = screen.screen(message, language)
        level, category = (found.level, found.category) if found else ("none", "-")
        out.buffer.write(f"{level}\t{category}\t{message}\n".encode())
    out.flush()
    return 0


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


def _warn_if_resources_unfilled(folder: Path) -> None:
    """Clients in crisis are shown the safety resources: say if local lines are missing."""
    try:
        unfilled = SafetyScreen.load(folder).unfilled()
    except SafetyConfigError as error:
        print(f"Error in the safety configuration: {error}", file=sys.stderr)
        return
    for language in unfilled:
        print(
            f"Warning: {folder / language}.toml still has the placeholder for local crisis"
            f" lines ({PLACEHOLDER} ...]): replace it with your programme's own.",
            file=sys.stderr,
        )


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


def _run(settings: Settings) -> int:
    """Serve until Ctrl-C or SIGTERM; a webhook port that cannot be had is one line."""
    from bot.app import run

    try:
        run(settings)
    except OSError as error:
        if error.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
            raise
        print(
            f"Could not listen on {settings.webhook_listen}:{settings.webhook_port} for the "
            f"webhook ({error.strerror}): set WEBHOOK_LISTEN and WEBHOOK_PORT to a free address.",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return 0


def _backup(settings: Settings, path: Path, force: bool) -> int:
    """Copy the database with SQLite's online backup; the bot may keep running."""
    try:
        written = backup(settings.database_path, path, now=datetime.now(UTC), force=force)
    except BackupError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILURE
    size = written.stat().st_size
    print(f"Backed up {settings.database_path} to {written} ({size / 1024:.0f} KB).")
    print("To restore it, see 'Backups' in README.md.")
    return 0


def _demo() -> int:
    """The real bot against a Bot API server inside this process: no token, no .env."""
    from bot.demo.script import run_demo

    # The transcript is the demo's output: only errors besides it (not, say, the warning
    # that the shipped safety resources still lack local crisis lines).
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(run_demo())


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return _demo()
    if args.command == "screen":
        return _screen(args.language)
    try:
        settings = load_settings()
        if args.command in {"run", "check", "invite"}:
            settings.token()
    except MissingToken as error:
        print(error, file=sys.stderr)
        if args.command == "run":
            print("No token yet? See the bot at work with: python -m bot demo", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(
        settings.log_level_number,
        settings.secret_values(),
        json_lines=settings.log_format == "json",
    )
    try:
        if args.command == "run":
            return _run(settings)
        if args.command == "check":
            _warn_if_env_is_readable()
            _warn_if_resources_unfilled(CONFIG_DIR / "safety")
            return asyncio.run(_check(settings))
        if args.command == "invite":
            return asyncio.run(_invite(settings, args.specialist_telegram_user_id, args.alias))
        if args.command == "backup":
            return _backup(settings, args.path, args.force)
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
