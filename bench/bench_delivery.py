"""Delivery under Telegram's limits: a storm of check-ins, and relays that go through it.

The real bot (``build_application`` + ``running``, as in the end-to-end tests) runs against
the fake Bot API server of tests/fakes over HTTP on 127.0.0.1. The fake runs in a process of
its own (``python -m bench.bench_delivery --fake``, driven by JSON lines on its stdin), so
that the bot's process holds the bot alone: its CPU time is the bot's, and the fake's work
neither slows the bot's event loop nor counts as the bot's. The fake also plays the people:
the bench tells it who writes when, and it reports what it received and when (both
processes read the same CLOCK_MONOTONIC). The bot logs at INFO, as in production, to a
file in the work folder.

Cases:

- ``relays alone``: no storm; 20 clients write to their own specialists, each every 1.1 s
  (one chat never hears twice within the 1 s per-chat limit). Relay latency without a
  storm, and the bot's CPU time per relayed message.
- ``storm C=300``: the fake answers 429 beyond 300 messages in any second (and one a second
  per chat); the bot's limiter is set to 290/s. 2,900 check-ins due at once (10 s of
  sending at 290/s), 10 clients writing every 1.25 s through the drain.
- ``storm C=30``: Telegram's real limits: the fake's cap 30/s, the limiter at 29/s as in
  config/settings.toml; 29 x 60 check-ins due at once (a minute of sending), 5 clients
  writing every 2.5 s through the drain.

Check-in clients are written by SQL (daily at 09:00 UTC, due at DUE); the clock starts a
minute before, so the tick the bot runs at start finds nobody, and the storm's tick is the
bench's own call. The clock is real time shifted (RunningClock), not a ManualClock: the
sender plans retries and Telegram's retry_after on it, so a clock standing still would hold
a rate-limited chat forever.

Achieved rate: every message the fake accepted between one second after the first check-in
and one second before the last, per second, divided by the cap. Relay latency: the moment
the copyMessage request for a client's message reached the fake minus the moment the fake's
getUpdates handed out the update that brought it, minus the median round trip of an empty
request through the same stack (PTB's getMe): what remains is the bot's own time. The round
trip is measured on the idle, warmed-up bot just before the phase and again just after it
(ROUND_TRIPS each), and the median of both is subtracted; both are reported beside it. (Once,
measured only at the start, it caught the screen being read in the background and came out
several milliseconds long, and the bot's own time went negative.) A relay
that opens a conversation also sends a header ("From Alex:") and the copy waits a second for
the chat; each client writes once before measuring (the warm-up), so measured copies follow
without one (checked: no header goes to a relay chat after the warm-up). CPU per relayed
message: process_time (every thread of the bot's process) over the relays-alone phase, less
what the idle bot used in the second before, divided by the messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import logging
import math
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import aged
from bench.harness import Figure, at_least, at_most, exactly, info, median, percentile
from bench.population import CLIENT_COLUMNS, insert_clients, migrate, write_rows
from bot.app import build_application, running
from bot.config import load_settings
from bot.logs import RedactToken, hold_back_libraries
from bot.storage.db import to_db

TITLE = "Delivery (storm, relays)"

TOKEN = "123456:BENCH-TOKEN-not-a-real-one-0123"
BOT_ID = 123456
BOT_USERNAME = "porchlight_bench_bot"

START = datetime(2025, 1, 13, 8, 59, tzinfo=UTC)  # the bot starts; nobody is due yet
DUE = START + timedelta(minutes=1)  # every storm client is due at this moment

STORM_SPECIALISTS = 10  # check-in clients are spread over these; their chats hear nothing
RELAY_PAIRS = 20  # clients 1:1 with specialists who hear from nobody else
STORM_USER_BASE = 10_000_000
RELAY_USER_BASE = 20_000_000
STORM_SPECIALIST_USER_BASE = 1_000
RELAY_SPECIALIST_USER_BASE = 2_000

PER_CHAT_INTERVAL = 1.0  # Telegram's limit in one chat, and the limiter's gap
ROUND_TRIPS = 50  # empty requests just before the measured phase, and again just after it
RATE_TARGET = 0.95
P50_TARGET_MS = 5.0
P99_TARGET_MS = 25.0
PURGE_P99_TARGET_MS = 15.0  # issue 18: relays while the daily purge runs, on a year's history
FAKE_READ_LIMIT = 1 << 26
LATE_SECONDS = 30  # how long after its phase a relay may still arrive (counted, not lost)


class RunningClock:
    """The bot's clock: real time running on from a chosen moment.

    Not a ManualClock: the sender schedules retries and Telegram's retry_after on the
    bot's clock, so a clock that stood still would hold a rate-limited chat forever.
    """

    def __init__(self, start: datetime) -> None:
        self._offset = timedelta(0)
        self.set(start)

    def now(self) -> datetime:
        """The real time, shifted."""
        return datetime.now(UTC) + self._offset

    def set(self, moment: datetime) -> None:
        """From now on, the clock reads `moment` and runs on from there."""
        self._offset = moment - datetime.now(UTC)


@dataclass(frozen=True)
class Plan:
    """One case: the fake's cap, the bot's limiter, the storm and the relays beside it."""

    cap: int  # the fake answers 429 beyond this many messages in any second
    limiter: float  # the bot's send_per_second
    storm_seconds: float  # check-ins due at once: limiter x storm_seconds (0: no storm)
    relay_pairs: int  # clients writing, each to a specialist who hears from nobody else
    relay_interval: float  # seconds between two messages of one client
    relay_seconds: float = 0.0  # relays alone (no storm): for how long they write
    aged_clients: int = 0  # on a copy of bench/aged.py's database, with its purge under way

    @property
    def checkins(self) -> int:
        """How many clients are due at once."""
        return round(self.limiter * self.storm_seconds)


def plans(quick: bool) -> dict[str, Plan]:
    """The cases; --quick shortens every phase (a smoke run, not the figures)."""
    scale = 0.2 if quick else 1.0
    return {
        "relays alone": Plan(30, 29, 0, RELAY_PAIRS, 1.1, relay_seconds=7 * scale),
        "storm C=300": Plan(300, 290, 10 * scale, 10, 1.25),
        "storm C=30": Plan(30, 29, 4 if quick else 60, 5, 2.5),
        "relays during purge": Plan(
            30,
            29,
            0,
            RELAY_PAIRS,
            1.1,
            relay_seconds=7 * scale,
            aged_clients=10_000 if quick else 100_000,
        ),
    }


def _database(workdir: Path, case: str) -> Path:
    return workdir / f"{case.replace(' ', '-').replace('=', '')}.sqlite3"


# ---------------------------------------------------------------------------------- population


def prepare(workdir: Path, quick: bool) -> None:
    """One database per case: the bot's own schema, then specialists and clients by SQL."""
    for case, plan in plans(quick).items():
        if plan.aged_clients:
            _populate_aged(_database(workdir, case), plan.aged_clients)
        else:
            _populate(_database(workdir, case), plan.checkins)


def _storm_user(number: int) -> int:
    return STORM_USER_BASE + number


def _relay_user(number: int) -> int:
    return RELAY_USER_BASE + number


def _relay_specialist_user(number: int) -> int:
    return RELAY_SPECIALIST_USER_BASE + number


def _client_row(
    client_id: int, user: int, specialist_id: int, alias: str, due: bool
) -> tuple[object, ...]:
    joined = to_db(START - timedelta(days=90))
    values: dict[str, object] = {
        "id": client_id,
        "telegram_user_id": user,
        "chat_id": user,  # a private chat's id is the user's id
        "alias": alias,
        "specialist_id": specialist_id,
        "status": "active",
        "language": "en",
        "timezone": "UTC",
        "consent_version": 1,
        "consented_at": joined,
        "created_at": joined,
        # Storm clients: daily at 09:00 UTC, due now, yesterday's check-in answered.
        # Relay clients: check-ins only when they write, so none is open while they do.
        "cadence": "daily" if due else "when_i_write",
        "weekdays": None,
        "window": None,
        "at": "09:00" if due else None,
        "quiet": None,
        "timezone_chosen": 1,
        "next_due_at": to_db(DUE) if due else None,
        "last_slot": (DUE - timedelta(days=1)).date().isoformat() if due else None,
        "unanswered": 0,
        "last_prompt": "p01" if due else None,
        "last_sent_kind": "checkin" if due else None,
    }
    return tuple(values[column] for column in CLIENT_COLUMNS)


def _populate(path: Path, storm: int) -> None:
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)

    created = to_db(START - timedelta(days=365))
    specialists = [
        (
            n,
            STORM_SPECIALIST_USER_BASE + n,
            STORM_SPECIALIST_USER_BASE + n,
            f"Storm {n}",
            1,
            created,
        )
        for n in range(1, STORM_SPECIALISTS + 1)
    ]
    specialists += [
        (
            STORM_SPECIALISTS + n,
            _relay_specialist_user(n),
            _relay_specialist_user(n),
            f"Relay {n}",
            1,
            created,
        )
        for n in range(1, RELAY_PAIRS + 1)
    ]
    clients = [
        _client_row(n, _storm_user(n), n % STORM_SPECIALISTS + 1, f"client {n}", due=True)
        for n in range(1, storm + 1)
    ]
    clients += [
        _client_row(storm + n, _relay_user(n), STORM_SPECIALISTS + n, f"writer {n}", due=False)
        for n in range(1, RELAY_PAIRS + 1)
    ]
    write_rows(path, specialists, clients)


def _populate_aged(path: Path, clients: int) -> None:
    """The aged database, nobody due (its clients' chats are not the fake's), and the relay
    pairs added after its own specialists and clients."""
    aged.copy_of(clients, path)
    migrate(path)  # the aged file may predate client_ticks (m024)
    specialists = aged.population_of(clients).specialists
    created = to_db(START - timedelta(days=365))
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        connection.execute("UPDATE client_ticks SET next_due_at = NULL")
        connection.executemany(
            "INSERT INTO specialists"
            " (id, telegram_user_id, chat_id, display_name, active, created_at)"
            " VALUES (?, ?, ?, ?, 1, ?)",
            [
                (
                    specialists + n,
                    _relay_specialist_user(n),
                    _relay_specialist_user(n),
                    f"Relay {n}",
                    created,
                )
                for n in range(1, RELAY_PAIRS + 1)
            ],
        )
        insert_clients(
            connection,
            [
                _client_row(clients + n, _relay_user(n), specialists + n, f"writer {n}", due=False)
                for n in range(1, RELAY_PAIRS + 1)
            ],
        )
        connection.execute("COMMIT")
    finally:
        connection.close()


def _users(storm: int) -> list[tuple[int, str]]:
    """Everyone the fake must know: a private chat per person."""
    users = [(_storm_user(n), f"Client{n}") for n in range(1, storm + 1)]
    users += [(_relay_user(n), f"Writer{n}") for n in range(1, RELAY_PAIRS + 1)]
    users += [(STORM_SPECIALIST_USER_BASE + n, "Storm") for n in range(1, STORM_SPECIALISTS + 1)]
    users += [(_relay_specialist_user(n), "Relay") for n in range(1, RELAY_PAIRS + 1)]
    return users


# ---------------------------------------------------------------------------------- the fake


class FakeTelegram:
    """The fake Bot API server in its own process, spoken to by JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.base_url = ""

    @classmethod
    async def start(cls, users: list[tuple[int, str]], cap: int, storm: int) -> FakeTelegram:
        """Start the server with these people, limits, and storm clients to count."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bench_delivery",
            "--fake",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=FAKE_READ_LIMIT,
        )
        fake = cls(process)
        config = {
            "users": users,
            "cap": cap,
            "chat_interval": PER_CHAT_INTERVAL,
            "storm_chats": [_storm_user(1), _storm_user(storm)] if storm else None,
        }
        fake.base_url = str((await fake.ask("config", **config))["base_url"])
        return fake

    async def ask(self, op: str, **arguments: Any) -> dict[str, Any]:
        """Send one command and read its answer."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write((json.dumps({"op": op, **arguments}) + "\n").encode())
        await self._process.stdin.drain()
        line = await self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake server exited during {op!r}")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok", False):
            raise RuntimeError(f"the fake server: {op!r} failed: {answer.get('error')}")
        return answer

    async def write(self, tag: str, plan: Sequence[tuple[float, int]]) -> None:
        """People write: (seconds from now, user id) each, all tagged for the report."""
        await self.ask("write", tag=tag, plan=plan)

    async def copied(self, timeout: float) -> int:  # noqa: ASYNC109
        """Wait until every message written so far has been copied to its specialist (or
        the timeout has passed); return how many were not."""
        return int((await self.ask("wait_copies", timeout=timeout))["missing"])

    async def close(self) -> None:
        """Stop the server and its process."""
        with contextlib.suppress(RuntimeError, ConnectionError):
            await self.ask("stop")
        try:
            await asyncio.wait_for(self._process.wait(), 10)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


def _fake_main() -> None:
    """In the fake's process: serve until told to stop."""
    asyncio.run(_serve_fake())


async def _serve_fake() -> None:
    # Only this process needs aiohttp and the fake; the bot's process never imports them.
    from tests.fakes.bot_api import FakeBotApi, Params

    class TimedFakeBotApi(FakeBotApi):
        """The fake, also noting when each update is handed out and counting deliveries."""

        def __init__(self, storm_chats: tuple[int, int] | None) -> None:
            super().__init__(token=TOKEN, bot_id=BOT_ID, bot_username=BOT_USERNAME)
            self.handed_out: dict[int, float] = {}
            self.storm_chats = storm_chats
            self.checkins = 0
            self.uncopied: set[tuple[int, int]] = set()
            self.planned = 0
            self.written: list[tuple[str, int, int, int]] = []
            self.timed_violations: list[tuple[str, int, float]] = []

        def _admit_send(self, chat_id: int) -> None:
            before = len(self.violations)
            try:
                super()._admit_send(chat_id)
            finally:
                if len(self.violations) > before:
                    kind, _ = self.violations[-1]
                    now = asyncio.get_running_loop().time()
                    self.timed_violations.append((kind, chat_id, now))

        async def _get_updates(self, p: Params) -> list[dict[str, Any]]:
            updates = await super()._get_updates(p)
            now = asyncio.get_running_loop().time()
            for update in updates:
                self.handed_out.setdefault(int(update["update_id"]), now)
            return updates

        async def _send_message(self, p: Params) -> dict[str, Any]:
            result = await super()._send_message(p)
            low, high = self.storm_chats or (0, -1)
            if low <= p["chat_id"] <= high:
                self.checkins += 1
            return result

        async def _copy_message(self, p: Params) -> dict[str, Any]:
            result = await super()._copy_message(p)
            self.uncopied.discard((p["from_chat_id"], p["message_id"]))
            return result

        def all_copied(self) -> bool:
            return len(self.written) == self.planned and not self.uncopied

        def delivered(self, count: int) -> bool:
            return self.checkins >= count

        def say(self, tag: str, user: int) -> None:
            message = self.send_text(user, f"{tag} message {len(self.written) + 1}")
            assert message.update_id is not None
            self.written.append((tag, user, message.message_id, message.update_id))
            self.uncopied.add((user, message.message_id))

        async def until(self, predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
            deadline = asyncio.get_running_loop().time() + timeout
            while not predicate():
                if asyncio.get_running_loop().time() >= deadline:
                    return False
                await self._wait_change(deadline, tick=0.05)
            return True

        def report(self) -> dict[str, Any]:
            calls = [
                [
                    call.method,
                    call.params.get("chat_id"),
                    call.ok,
                    call.error_code,
                    call.at,
                    call.params.get("from_chat_id"),
                    call.params.get("message_id"),
                ]
                for call in self.calls
                if call.method.lower() != "getupdates"
            ]
            written = [
                [tag, user, message_id, update_id, self.handed_out.get(update_id)]
                for tag, user, message_id, update_id in self.written
            ]
            return {
                "calls": calls,
                "written": written,
                "violations": self.timed_violations,
                "internal_errors": len(self.internal_errors),
                "cpu": time.process_time(),
            }

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=FAKE_READ_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def answer(**values: Any) -> None:
        sys.stdout.write(json.dumps({"ok": True, **values}) + "\n")
        sys.stdout.flush()

    api: TimedFakeBotApi | None = None
    try:
        while line := await reader.readline():
            command = json.loads(line)
            op = command["op"]
            if op == "config":
                chats = command["storm_chats"]
                api = TimedFakeBotApi(tuple(chats) if chats else None)
                await api.start()
                for user, name in command["users"]:
                    api.add_user(user, name)
                api.enforce_limits(command["cap"], command["chat_interval"])
                # The fake is the clock of arrivals: a pause of its own would bunch them. Its
                # cycle collector, walking thousands of stored messages, paused it for ~40 ms
                # in the C=300 storm, and the requests that waited in its socket then counted
                # as more in one second than the bot had sent in any second (the bot's grants
                # never exceeded 291). Reference counting still frees what a run drops.
                gc.collect()
                gc.freeze()
                gc.disable()
                answer(base_url=api.base_url)
                continue
            assert api is not None
            if op == "write":
                now = loop.time()
                for delay, user in command["plan"]:
                    loop.call_at(now + delay, api.say, command["tag"], user)
                api.planned += len(command["plan"])
                answer()
            elif op == "wait_copies":
                await api.until(api.all_copied, command["timeout"])
                answer(missing=api.planned - len(api.written) + len(api.uncopied))
            elif op == "wait_checkins":
                enough = functools.partial(api.delivered, command["count"])
                done = await api.until(enough, command["timeout"])
                answer(done=done, delivered=api.checkins)
            elif op == "report":
                answer(**api.report())
            elif op == "stop":
                answer()
                break
    finally:
        if api is not None:
            await api.stop()


# ---------------------------------------------------------------------------------- the bot


@dataclass
class Written:
    """A message a client wrote, as the fake reported it."""

    tag: str
    user: int
    message_id: int
    update_id: int
    handed_out: float | None


@dataclass
class Report:
    """What the fake saw, ready to read."""

    calls: list[list[Any]]
    written: list[Written]
    violations: list[tuple[str, int, float]]
    internal_errors: int
    fake_cpu: float
    copies: dict[tuple[int, int], float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        """Read the fake's report."""
        report = cls(
            calls=data["calls"],
            written=[Written(*row) for row in data["written"]],
            violations=[(kind, chat, at) for kind, chat, at in data["violations"]],
            internal_errors=data["internal_errors"],
            fake_cpu=data["cpu"],
        )
        for method, _, ok, _, at, from_chat, message_id in report.calls:
            if method.lower() == "copymessage" and ok:
                report.copies.setdefault((from_chat, message_id), at)
        return report

    def latencies(self, tag: str, round_trip: float) -> list[float]:
        """Bot time per relayed message of one phase, in seconds (inf: never copied)."""
        return [
            self.copies[(w.user, w.message_id)] - w.handed_out - round_trip
            if w.handed_out is not None and (w.user, w.message_id) in self.copies
            else math.inf
            for w in self.written
            if w.tag == tag
        ]

    def sends(self) -> list[tuple[int, float]]:
        """Every message the fake accepted: (chat, when it arrived)."""
        return [
            (chat, at)
            for method, chat, ok, _, at, _, _ in self.calls
            if ok and method.lower() in ("sendmessage", "copymessage")
        ]

    def refused(self, code: int, after: float) -> int:
        """Requests the fake answered with this error code, after a moment."""
        return sum(1 for call in self.calls if call[3] == code and call[4] > after)

    def too_many(self, kind: str, after: float) -> int:
        """429s for going over the cap ("global") or too soon in one chat ("chat")."""
        return sum(1 for what, _, at in self.violations if what == kind and at > after)

    def sent_to(self, chats: set[int], method: str, after: float) -> int:
        """Successful calls of one method to these chats after a moment."""
        return sum(
            1
            for name, chat, ok, _, at, _, _ in self.calls
            if ok and name.lower() == method.lower() and chat in chats and at > after
        )


def _log_to(path: Path) -> None:
    """Log as `python -m bot run` does (INFO, token redacted), to a file in the workdir."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactToken(TOKEN))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    hold_back_libraries()


async def _round_trips(get_me: Callable[[], Awaitable[object]]) -> list[float]:
    """The times of ROUND_TRIPS empty requests through PTB to the fake and back, one after
    another."""
    seconds: list[float] = []
    for _ in range(ROUND_TRIPS):
        before = time.perf_counter()
        await get_me()
        seconds.append(time.perf_counter() - before)
    return seconds


@dataclass(frozen=True)
class RoundTrip:
    """An empty request's round trip, measured just before the phase and just after it."""

    before: list[float]
    after: list[float]

    @property
    def seconds(self) -> float:
        """What is subtracted from each relay's latency: the median of both."""
        return median(self.before + self.after)


def _relay_plan(
    pairs: int, interval: float, seconds: float, start: float = 0.25
) -> list[tuple[float, int]]:
    """Each client writes every `interval` s, the clients staggered evenly across it."""
    plan: list[tuple[float, int]] = []
    for number in range(1, pairs + 1):
        moment = start + (number - 1) * interval / pairs
        while moment <= start + seconds:
            plan.append((moment, _relay_user(number)))
            moment += interval
    return sorted(plan)


@dataclass
class Cpu:
    """CPU time of this process (every thread: the loop and aiosqlite's) and of the loop."""

    process: float
    loop: float
    wall: float

    @classmethod
    def now(cls) -> Cpu:
        """A reading."""
        return cls(time.process_time(), time.thread_time(), time.perf_counter())

    def since(self, earlier: Cpu) -> Cpu:
        """What passed between two readings."""
        return Cpu(
            self.process - earlier.process, self.loop - earlier.loop, self.wall - earlier.wall
        )


async def run_case(workdir: Path, case: str, plan: Plan) -> list[Figure]:
    """Start the fake and the bot, warm the relay chats up, then the case's phase."""
    _log_to(workdir / f"{_database(workdir, case).stem}.log")
    fake = await FakeTelegram.start(_users(plan.checkins), plan.cap, plan.checkins)
    try:
        settings = load_settings(
            _env_file=None,
            telegram_bot_token=TOKEN,
            telegram_api_base_url=fake.base_url,
            database_path=_database(workdir, case),
            send_per_second=plan.limiter,
            send_per_chat_interval=PER_CHAT_INTERVAL,
            checkin_tick_seconds=3600,  # the tick runs at start; the storm's is the bench's
        )
        clock = RunningClock(START)
        application = build_application(settings, clock)
        async with running(application):
            services = application.bot_data.services
            # Warm-up: each writer's first message opens a conversation with a header.
            warm_up = [(0.1 * n, _relay_user(n)) for n in range(1, plan.relay_pairs + 1)]
            await fake.write("warm-up", warm_up)
            if missing := await fake.copied(timeout=10):
                raise RuntimeError(f"warm-up: {missing} message(s) not relayed within 10 s")
            await asyncio.sleep(PER_CHAT_INTERVAL)  # the warm-up copies' chat gaps pass
            before = await _round_trips(application.bot.get_me)
            if plan.checkins:
                phase = await _storm(fake, services, clock, plan)
            elif plan.aged_clients:
                phase = await _relays_during_purge(fake, services, plan)
            else:
                phase = await _relays_alone(fake, plan)
            round_trip = RoundTrip(before, await _round_trips(application.bot.get_me))
        raw = await fake.ask("report")
        # Kept beside the log, for whoever wants to look closer at a run.
        (workdir / f"{_database(workdir, case).stem}.report.json").write_text(json.dumps(raw))
    finally:
        await fake.close()
    return _figures(Report.from_json(raw), plan, round_trip, phase)


@dataclass
class Phase:
    """The measured phase: its tag in the fake's report, its CPU, and a few facts."""

    tag: str
    cpu: Cpu
    relays: int
    idle_cpu_per_second: float = 0.0
    tick_seconds: float = 0.0
    checkins: int = 0
    purge_statements: int = 0
    purge_under_way: bool = False


async def _relays_alone(fake: FakeTelegram, plan: Plan) -> Phase:
    """Idle first (what the bot costs doing nothing), then relays and nothing else."""
    idle_before = Cpu.now()
    await asyncio.sleep(1.0)
    idle = Cpu.now().since(idle_before)
    relays = _relay_plan(plan.relay_pairs, plan.relay_interval, plan.relay_seconds)
    before = Cpu.now()
    await fake.write("relay", relays)
    await fake.copied(timeout=plan.relay_seconds + LATE_SECONDS)
    cpu = Cpu.now().since(before)
    return Phase("relay", cpu, len(relays), idle_cpu_per_second=idle.process / idle.wall)


async def _relays_during_purge(fake: FakeTelegram, services: Any, plan: Plan) -> Phase:
    """Relays alone, while the bot's own retention job goes through the day's purge (one
    step a second; the first, a second after the start, finds a day of history to delete).
    """
    purge = services.relay.purge
    statements_before = purge.statements
    phase = await _relays_alone(fake, plan)
    phase.purge_statements = purge.statements - statements_before
    phase.purge_under_way = purge.under_way
    return phase


async def _storm(fake: FakeTelegram, services: Any, clock: RunningClock, plan: Plan) -> Phase:
    """The storm's tick, relays through the drain, until every check-in has gone."""
    clock.set(DUE)
    before = Cpu.now()
    report = await services.checkins.tick()
    tick_seconds = time.perf_counter() - before.wall
    drain = plan.checkins / plan.limiter
    relays = _relay_plan(plan.relay_pairs, plan.relay_interval, max(0.0, drain - 1.5))
    await fake.write("storm", relays)
    await fake.ask("wait_checkins", count=plan.checkins, timeout=drain * 1.5 + 20)
    cpu = Cpu.now().since(before)
    await fake.copied(timeout=LATE_SECONDS)
    return Phase("storm", cpu, len(relays), tick_seconds=tick_seconds, checkins=report.checkins)


def _steady_rate(moments: Sequence[float], start: float, end: float) -> float:
    """Messages a second between two moments."""
    inside = sum(1 for moment in moments if start <= moment <= end)
    return inside / (end - start) if end > start else float("nan")


def _busiest_second(moments: Sequence[float]) -> int:
    """The most messages in any one-second window."""
    ordered = sorted(moments)
    best, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def _figures(report: Report, plan: Plan, round_trip: RoundTrip, phase: Phase) -> list[Figure]:
    """The case's figures, from what the fake saw and what the bot's process measured."""
    warm_copies = [
        report.copies.get((w.user, w.message_id), 0.0)
        for w in report.written
        if w.tag == "warm-up"
    ]
    warmed = max(warm_copies, default=0.0)  # the measured phase starts after this
    where = "during the storm" if plan.checkins else "alone"
    if plan.aged_clients:
        where = "during the purge"
    figures = _storm_figures(report, plan, phase) if plan.checkins else []
    figures += [
        exactly(f"429 answers {where}", report.refused(429, warmed), "answers", 0),
        info(f"429s {where}: over the cap", report.too_many("global", warmed), "answers"),
        info(f"429s {where}: one chat too soon", report.too_many("chat", warmed), "answers"),
    ]
    figures += _relay_figures(report, plan, round_trip, phase, warmed, where)
    if plan.aged_clients:
        figures += [
            info("aged database: clients", plan.aged_clients, "clients"),
            info("purge statements during the relays", phase.purge_statements, "statements"),
            info("purge still under way at the end (1 = yes)", int(phase.purge_under_way), ""),
        ]
    figures += [
        info(
            "429 answers in the warm-up (a header, then its copy)",
            report.refused(429, 0) - report.refused(429, warmed),
            "answers",
        ),
        exactly("fake server errors", report.internal_errors, "", 0),
    ]
    return figures


def _storm_figures(report: Report, plan: Plan, phase: Phase) -> list[Figure]:
    storm_chats = set(range(_storm_user(1), _storm_user(plan.checkins) + 1))
    sends = report.sends()
    moments = [at for _, at in sends]
    checkins = [at for chat, at in sends if chat in storm_chats]
    first, last = min(checkins), max(checkins)
    trim = min(1.0, (last - first) / 5)  # the steady part leaves out the first and last second
    steady = _steady_rate(moments, first + trim, last - trim)
    return [
        exactly("check-ins queued by the tick", phase.checkins, "messages", plan.checkins),
        exactly("check-ins delivered", len(checkins), "messages", plan.checkins),
        at_least("achieved rate, steady part / cap", steady / plan.cap, "of cap", RATE_TARGET),
        info("achieved rate, steady part (every message)", steady, "msg/s"),
        info(
            "achieved rate, steady part (check-ins only)",
            _steady_rate(checkins, first + trim, last - trim),
            "msg/s",
        ),
        info("drain: first to last check-in", last - first, "s"),
        info("busiest one-second window at the fake", _busiest_second(moments), "messages"),
        info("storm tick (queues every check-in)", phase.tick_seconds, "s"),
        info("bot CPU, tick + drain (all threads)", phase.cpu.process / phase.cpu.wall * 100, "%"),
        info(
            "bot CPU per message sent (all threads)", phase.cpu.process / len(sends) * 1000, "ms"
        ),
    ]


def _relay_figures(
    report: Report, plan: Plan, round_trip: RoundTrip, phase: Phase, warmed: float, where: str
) -> list[Figure]:
    latencies = [s * 1000 for s in report.latencies(phase.tag, round_trip.seconds)]
    relay_chats = {_relay_specialist_user(n) for n in range(1, RELAY_PAIRS + 1)}
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    figures = [
        exactly("relays written", len(latencies), "messages", phase.relays),
        exactly(f"relays not copied {LATE_SECONDS} s later", latencies.count(math.inf), "", 0),
        exactly(
            "headers to relay chats after the warm-up",
            report.sent_to(relay_chats, "sendMessage", warmed),
            "messages",
            0,
        ),
        info("fake round trip (PTB getMe), median", round_trip.seconds * 1000, "ms"),
        info(
            "fake round trip just before the phase, median", median(round_trip.before) * 1000, "ms"
        ),
        info(
            "fake round trip just after the phase, median", median(round_trip.after) * 1000, "ms"
        ),
    ]
    if plan.checkins:
        figures += [
            at_most(f"relay latency p50 {where} (bot's own)", p50, "ms", P50_TARGET_MS),
            at_most(f"relay latency p99 {where} (bot's own)", p99, "ms", P99_TARGET_MS),
        ]
    elif plan.aged_clients:
        figures += [
            info(f"relay latency p50 {where} (bot's own)", p50, "ms"),
            at_most(f"relay latency p99 {where} (bot's own)", p99, "ms", PURGE_P99_TARGET_MS),
        ]
    else:
        figures += [
            info(f"relay latency p50 {where} (bot's own)", p50, "ms"),
            info(f"relay latency p99 {where} (bot's own)", p99, "ms"),
        ]
    figures.append(
        info(f"relay latency worst {where} (bot's own)", max(latencies, default=math.nan), "ms")
    )
    if not plan.checkins:
        net = phase.cpu.process - phase.idle_cpu_per_second * phase.cpu.wall
        figures += [
            info("bot CPU per relayed message (all threads)", net / phase.relays * 1000, "ms"),
            info(
                "bot CPU per relayed message (event-loop thread)",
                phase.cpu.loop / phase.relays * 1000,
                "ms",
            ),
            info("bot CPU when idle", phase.idle_cpu_per_second * 100, "%"),
        ]
    return figures


def _case(name: str) -> Callable[[Path, bool], Awaitable[list[Figure]]]:
    async def case(workdir: Path, quick: bool) -> list[Figure]:
        return await run_case(workdir, name, plans(quick)[name])

    return case


CASES: dict[str, Callable[[Path, bool], Awaitable[list[Figure]]]] = {
    name: _case(name) for name in plans(quick=False)
}


def combine(results: Mapping[str, Sequence[Figure]]) -> list[Figure]:
    """What each storm adds to relay latency, against relays alone."""

    def value(case: str, prefix: str) -> float:
        return next(f.value for f in results[case] if f.name.startswith(prefix))

    figures = []
    for storm in ("storm C=300", "storm C=30"):
        for which in ("p50", "p99"):
            added = value(storm, f"relay latency {which}") - value(
                "relays alone", f"relay latency {which}"
            )
            figures.append(info(f"relay {which} added by the {storm}", added, "ms"))
    return figures


if __name__ == "__main__" and sys.argv[1:] == ["--fake"]:
    _fake_main()
