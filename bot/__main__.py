"""Command line: `python -m bot run|check|health|specialist add|list|remove|invite|audit|
backup|restore|init|demo|report|screen|train-screen`.

Every command reads the same settings as the bot and works while the bot runs
(they share the SQLite file). A configuration problem prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TypeAlias

from telegram.error import InvalidToken, TelegramError

from bot.config import (
    CONFIG_DIR,
    EXIT_CONFIG,
    ConfigError,
    MissingToken,
    Settings,
    configuration_error,
    load_settings,
    unknown_settings,
)
from bot.domain.clock import SystemClock
from bot.domain.commands import telegram_id
from bot.domain.safety import PLACEHOLDER, SafetyConfigError, SafetyScreen
from bot.domain.texts import DEFAULT_LANGUAGE, Texts, TextsError
from bot.health import check_health
from bot.logs import redact_urls, say_last, settle_logs, setup_logging
from bot.report.cli import add_report_command, report_command
from bot.restore import RestoreError, hold_run_lock, restore
from bot.screen_cli import add_screen_commands, screen_command, train_command
from bot.services.admin import AUDIT_DEFAULT, AUDIT_MAX
from bot.services.container import Services
from bot.services.notices import Refused
from bot.services.onboarding import InviteRefused
from bot.services.people import CLI, SpecialistError
from bot.services.team_check import team_chat_problems
from bot.startup import api_bot
from bot.storage.db import StorageError, inspect_database
from bot.storage.escalations import anyone_on_call

EXIT_FAILURE = 1


def _user_id(text: str) -> int:
    """A Telegram user id argument (a longer number would not fit the database)."""
    user_id = telegram_id(text)
    if user_id is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Telegram user id")
    return user_id


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _command(commands: Commands, name: str, summary: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does (the summary, as in the list)."""
    return commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:])


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("porchlight")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class _VersionAction(argparse.Action):
    """--version, looked up only when asked: importlib.metadata slows every start-up."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(f"porchlight {_version()}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="porchlight", description=__doc__)
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(
        commands,
        "run",
        "run the bot until Ctrl-C or SIGTERM: long polling, or a webhook with WEBHOOK_URL;"
        " it waits for the network, and stops with one line if Telegram refuses the token",
    )
    _command(
        commands,
        "check",
        "check the settings, the texts, the safety resources and the token (getMe);"
        " exit 1 on any problem",
    )
    specialist = _command(commands, "specialist", "manage specialists (add, list, remove)")
    specialist_commands = specialist.add_subparsers(dest="action", required=True)
    add = _command(specialist_commands, "add", "register a specialist (or rename one)")
    add.add_argument("telegram_user_id", type=_user_id, help="their Telegram user id")
    add.add_argument("--name", required=True, help="display name clients will see")
    _command(specialist_commands, "list", "list specialists and how many clients each has")
    remove = _command(
        specialist_commands,
        "remove",
        "remove a specialist; their clients go to another, each told",
    )
    remove.add_argument("telegram_user_id", type=_user_id, help="their Telegram user id")
    remove.add_argument(
        "--to", dest="to", help="the specialist (Telegram user id or display name) to take over"
    )
    invite = _command(
        commands, "invite", "make a single-use invite link for a specialist to give a client"
    )
    invite.add_argument(
        "specialist_telegram_user_id", type=_user_id, help="the specialist's Telegram user id"
    )
    invite.add_argument("--alias", required=True, help="the name the specialist will see")
    _add_backup_command(commands)
    _add_demo_command(commands)
    _add_service_commands(commands)
    add_report_command(commands)
    add_screen_commands(commands)
    audit = _command(commands, "audit", "print the newest audit log entries")
    audit.add_argument(
        "-n",
        type=int,
        default=AUDIT_DEFAULT,
        choices=range(1, AUDIT_MAX + 1),
        metavar=f"1..{AUDIT_MAX}",
        help=f"how many entries (default {AUDIT_DEFAULT})",
    )
    return parser


def _add_backup_command(commands: Commands) -> None:
    backup_command = _command(
        commands, "backup", "copy the database to a file, safely while the bot runs"
    )
    backup_command.add_argument(
        "path",
        help="the file to write; a folder (or a path ending in /, made if missing) gets"
        " a dated file inside",
    )
    backup_command.add_argument("--force", action="store_true", help="replace an existing file")
    backup_command.add_argument(
        "--keep",
        type=_positive,
        metavar="N",
        help="into a folder: keep the newest N dated backups there, delete older ones",
    )
    restore_command = _command(
        commands,
        "restore",
        "put a backup in place of the database (the bot stopped); the current one is kept aside",
    )
    restore_command.add_argument("file", type=Path, help="the backup to restore")


def _add_demo_command(commands: Commands) -> None:
    _command(
        commands, "demo", "watch a specialist and a client use the bot (no token, no network)"
    )


def _add_service_commands(commands: Commands) -> None:
    _command(
        commands,
        "health",
        "exit 0 if the running bot ticked and reached Telegram recently, else 1 (one line why)",
    )
    init = _command(
        commands,
        "init",
        "make a folder to run a bot from: .env from the example and a copy of config/ to"
        " edit (never overwrites)",
    )
    init.add_argument(
        "folder", nargs="?", type=Path, default=Path("."), help="where (default: here)"
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1")
    return int(text)


async def _username(settings: Settings) -> str:
    """Ask Telegram who the bot is (getMe)."""
    async with api_bot(settings) as bot:
        return bot.username


async def _check(settings: Settings) -> int:
    """Where the configuration and the database are, whether the bot can use the database
    (without creating it), and the token: exit 1 on any problem, never "fine" after one."""
    print(f"Configuration folder: {CONFIG_DIR}")
    print(f"Database: {settings.database_path}")
    sound = _texts_are_sound(CONFIG_DIR / "messages")
    if not _warn_if_resources_unfilled(CONFIG_DIR / "safety") or not sound:
        return EXIT_FAILURE
    print(inspect_database(settings.database_path, settings.database_busy_timeout_seconds))
    _warn_if_escalation_has_nowhere_to_go(settings)
    username = await _username(settings)
    if settings.team_chat_id is not None:
        async with api_bot(settings) as bot:
            problems = await team_chat_problems(bot, settings.team_chat_id)
        for problem in problems:
            print(f"Error in the team inbox: {problem}", file=sys.stderr)
        if problems:
            return EXIT_FAILURE
        print(f"Team inbox: the group {settings.team_chat_id} is ready (topics, rights).")
    print(f"Configuration is fine. The bot is @{username}.")
    return 0


def _warn_if_resources_unfilled(folder: Path) -> bool:
    """Clients in crisis are shown the safety resources: say if local lines are missing;
    False (said in one line) if the safety configuration cannot be read at all."""
    try:
        unfilled = SafetyScreen.load(folder).unfilled()
    except SafetyConfigError as error:
        print(f"Error in the safety configuration: {error}", file=sys.stderr)
        return False
    for language in unfilled:
        print(
            f"Warning: {folder / language}.toml still has the placeholder for local crisis"
            f" lines ({PLACEHOLDER} ...]): replace it with your programme's own.",
            file=sys.stderr,
        )
    return True


def _texts_are_sound(folder: Path) -> bool:
    """The messages load (every language, every key); False, said in one line, if not."""
    try:
        Texts.load(folder)
    except TextsError as error:
        print(f"Error in the messages ({folder}): {error}", file=sys.stderr)
        return False
    return True


def _warn_if_escalation_has_nowhere_to_go(settings: Settings) -> None:
    """Without admins and with nobody on call, an urgent message nobody answers only
    reminds its own specialist: say so (a database not made yet has nobody on call)."""
    if settings.admin_ids:
        return
    if settings.database_path.exists() and anyone_on_call(settings.database_path):
        return
    print(
        "Warning: ADMIN_IDS is empty and no specialist is /oncall, so a possibly urgent"
        " message nobody answers has nowhere to go: set ADMIN_IDS, or ask a specialist to"
        " send /oncall on.",
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
    print(services.texts.get(refused.key, DEFAULT_LANGUAGE, **refused.params), file=sys.stderr)
    return EXIT_FAILURE


async def _specialist_add(settings: Settings, user_id: int, name: str) -> int:
    async with _opened(settings) as services:
        try:
            specialist = await services.people.add_specialist(user_id, name, CLI)
        except SpecialistError as error:
            reason = services.texts.get(error.key, DEFAULT_LANGUAGE)
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
        print(
            services.texts.get("admin.removed_alone", DEFAULT_LANGUAGE, name=leaving.display_name)
        )
    else:
        print(
            services.texts.get(
                "admin.removed",
                DEFAULT_LANGUAGE,
                name=leaving.display_name,
                count=removal.moved,
                target=target.display_name,
            )
        )
        print(
            "(The running bot sends their messages within seconds; a stopped one when it starts.)"
        )
    if settings.team_chat_id is not None:
        text = services.texts.get(
            "team_removal.in_group", DEFAULT_LANGUAGE, name=leaving.display_name
        )
        print(text)
    return 0


async def _audit(settings: Settings, count: int) -> int:
    async with _opened(settings) as services:
        lines = await services.admin.audit(count)
    print("\n".join(lines))
    return 0


async def _invite(settings: Settings, user_id: int, alias: str) -> int:
    async with _opened(settings) as services:
        found = await services.people.specialists()
    if not any(s.telegram_user_id == user_id and s.active for s, _ in found):
        print(
            f"{user_id} is not a specialist here: register them first with"
            f" porchlight specialist add {user_id} --name <name>",
            file=sys.stderr,
        )
        return EXIT_FAILURE
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
    from bot.startup import reach_telegram

    # Until the bot's own handlers take over (bot.app), SIGTERM is Ctrl-C: a service
    # stopped while it waits for the network stops at once, with exit 0.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        # The lock tells `restore` (and a second `run`) that this database is in use.
        with hold_run_lock(settings.database_path):
            asyncio.run(reach_telegram(settings))
            if not _serve_metrics(settings):
                return EXIT_FAILURE
            run(settings)
    except RestoreError as error:
        say_last(str(error))
        return EXIT_FAILURE
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while waiting for the network
        return 0
    except OSError as error:
        if error.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
            raise
        say_last(
            f"Could not listen on {settings.webhook_listen}:{settings.webhook_port} for the "
            f"webhook ({error.strerror}): set WEBHOOK_LISTEN and WEBHOOK_PORT to a free address."
        )
        return EXIT_FAILURE
    return 0


def _interrupt(signal_number: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _serve_metrics(settings: Settings) -> bool:
    """With METRICS_PORT, serve /metrics; False (said in one line) if the port is taken."""
    if settings.metrics_port is None:
        return True
    from bot import metrics

    try:
        metrics.serve(settings.metrics_listen, settings.metrics_port)
    except OSError as error:
        say_last(  # from `run`: after its log's last line, never waiting on a stalled one
            f"Could not listen on {settings.metrics_listen}:{settings.metrics_port} for metrics"
            f" ({error.strerror}): set METRICS_LISTEN and METRICS_PORT to a free address."
        )
        return False
    return True


def _backup(settings: Settings, path: str, force: bool, keep: int | None = None) -> int:
    """Copy the database with SQLite's online backup; the bot may keep running."""
    from bot.backup import BackupError, backup, prune

    into_folder = path.endswith("/") or Path(path).is_dir()
    if keep is not None and not into_folder:
        print("--keep works with a folder: end the path with /", file=sys.stderr)
        return EXIT_FAILURE
    # SIGTERM (a cron job's timeout) as Ctrl-C: the partial copy is deleted on the way out,
    # not left in the folder with every client's data, where --keep never prunes it.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        written = backup(settings.database_path, path, now=datetime.now(UTC), force=force)
    except BackupError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("The backup was interrupted before it finished: run it again.", file=sys.stderr)
        return EXIT_FAILURE
    size = written.stat().st_size
    print(f"Backed up {settings.database_path} to {written} ({size / 1024:.0f} KB).")
    if keep is not None:
        deleted = prune(written.parent, keep)
        if deleted:
            print(f"Deleted {len(deleted)} older backup(s) in {written.parent}, kept {keep}.")
    print("To restore it: porchlight restore <file> (see 'Backups' in README.md).")
    return 0


def _restore(settings: Settings, file: Path) -> int:
    """Put a backup in place of the database, the bot stopped."""
    signal.signal(signal.SIGTERM, _interrupt)  # as in _backup: the partial copy is deleted
    try:
        kept = restore(settings.database_path, file, now=datetime.now(UTC))
    except RestoreError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("The restore was interrupted before it finished: run it again.", file=sys.stderr)
        return EXIT_FAILURE
    print(f"Restored {file} as {settings.database_path}.")
    if kept is not None:
        print(f"The database it replaced is kept as {kept}.")
    print("Start the bot again; it brings the backup up to date by itself.")
    return 0


def _health(settings: Settings) -> int:
    """One line, and 0 when the running bot is alive."""
    verdict = check_health(
        settings.database_path, settings.checkin_tick_seconds, datetime.now(UTC)
    )
    print(verdict.reason, file=sys.stdout if verdict.healthy else sys.stderr)
    return 0 if verdict.healthy else EXIT_FAILURE


def _init(folder: Path) -> int:
    """A folder to run a bot from, with its own .env and config/."""
    from bot.scaffold import ScaffoldError, scaffold

    try:
        scaffold(folder)
    except ScaffoldError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILURE
    print(f"Wrote {folder / '.env'} (private: the token goes there) and {folder / 'config'}/")
    print("(the messages, the safety resources and settings.toml, yours to edit). Next:")
    print(f"  1. put the token from @BotFather in {folder / '.env'}")
    print(f"  2. put your programme's crisis lines in {folder / 'config' / 'safety'}/*.toml")
    print(f"  3. from {folder}: porchlight check, then porchlight run")
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
    if args.command == "init":
        return _init(args.folder)
    if args.command == "screen":
        return screen_command(args.language, args.explain)
    if args.command == "train-screen":
        return train_command(
            args.files, args.out, args.false_alarms, args.calibrate, args.recalibrate
        )
    try:
        settings = load_settings()
        for warning in unknown_settings():
            print(warning, file=sys.stderr)
        if args.command in {"run", "check", "invite"}:
            settings.token()
    except MissingToken as error:
        print(error, file=sys.stderr)
        if args.command == "run":
            print("No token yet? See the bot at work with: python -m bot demo", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as error:
        print(redact_urls(str(error)), file=sys.stderr)  # a URL setting may hold a password
        return EXIT_CONFIG
    # Only `run` logs as it goes; the other commands print their result, and log problems.
    level = settings.log_level_number
    setup_logging(
        level if args.command == "run" else max(level, logging.WARNING),
        settings.secret_values(),
        json_lines=settings.log_format == "json",
        background=args.command == "run",
    )
    try:
        if args.command == "run":
            try:
                return _run(settings)
            finally:
                settle_logs()  # the one line, if any, comes after the log's last
        if args.command == "check":
            _warn_if_env_is_readable()
            return asyncio.run(_check(settings))
        if args.command == "health":
            return _health(settings)
        if args.command == "restore":
            return _restore(settings, args.file)
        if args.command == "invite":
            return asyncio.run(_invite(settings, args.specialist_telegram_user_id, args.alias))
        if args.command == "backup":
            return _backup(settings, args.path, args.force, args.keep)
        if args.command == "report":
            return asyncio.run(report_command(settings, args))
        if args.command == "audit":
            return asyncio.run(_audit(settings, args.n))
        if args.action == "add":
            return asyncio.run(_specialist_add(settings, args.telegram_user_id, args.name))
        if args.action == "remove":
            return asyncio.run(_specialist_remove(settings, args.telegram_user_id, args.to))
        return asyncio.run(_specialist_list(settings))
    # say_last: from `run`, after its log's last line, and never waiting on a log
    # destination that has stopped reading (for the others, print).
    except (TextsError, SafetyConfigError) as error:
        say_last(configuration_error(error))
        return EXIT_CONFIG
    except StorageError as error:
        say_last(str(error))
        return EXIT_FAILURE
    except InvalidToken:
        say_last("TELEGRAM_BOT_TOKEN was refused by Telegram: check it with @BotFather.")
        return EXIT_CONFIG
    except TelegramError as error:
        say_last(
            f"Could not reach the Bot API ({type(error).__name__}): {redact_urls(error.message)}"
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
