"""`python -m bot demo`: a specialist and a client use the real bot while you watch.

The real Application (build_application: the same handlers, services, outbox and sender as
`run`) talks over HTTP to the Bot API server of bot.demo.bot_api, inside this process, with
a temporary database, a made-up token and a clock the script moves on. Nothing goes beyond
127.0.0.1 and no .env is read. Each step waits until the bot has answered and sent
everything, then prints what each person sees in their own chat.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bot.app import build_application, running
from bot.config import CONFIG_DIR, Settings
from bot.demo.bot_api import FakeBotApi, FakeMessage
from bot.domain.clock import ManualClock
from bot.domain.texts import DEFAULT_LANGUAGE, Texts
from bot.report.charts import ChartsUnavailable
from bot.report.sample import seed_programme
from bot.services.container import Services
from bot.storage.outbox import OutboxRepository

DEMO_TOKEN = "123456789:DEMO-token-not-a-real-one-0000"
BOT_USERNAME = "porchlight_demo_bot"
START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # a Monday morning
CHECKIN_DUE = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
STEP_SECONDS = 15.0
SAMPLE_CLIENTS = 80
SAMPLE_REPORT = Path(tempfile.gettempdir()) / "porchlight-demo-report.html"


@dataclass(frozen=True)
class Person:
    """Someone in the demo, with their own private chat with the bot."""

    user_id: int
    first_name: str
    role: str

    @property
    def label(self) -> str:
        """How their lines start: [client Alex]."""
        return f"[{self.role} {self.first_name}]"


SAM = Person(1001, "Sam", "specialist")
ALEX = Person(2001, "Alex", "client")


class DemoStuck(Exception):
    """The bot did not answer as the script expected."""


def _view(message: FakeMessage) -> str:
    """A message as its reader sees it: the text (or kind) and the buttons' labels."""
    body = message.text or message.caption or f"({message.kind.replace('_', ' ')})"
    labels = " ".join(f"[{label}]" for row in message.buttons() for label, _ in row)
    return f"{body}\n{labels}" if labels else body


class Transcript:
    """What each person has seen so far; prints what is new or changed in their chat."""

    def __init__(self, api: FakeBotApi, people: tuple[Person, ...], out: TextIO) -> None:
        self._api = api
        self._people = people
        self._out = out
        self._seen: dict[tuple[int, int], str] = {}

    def print(self, line: str = "") -> None:
        """One line of the transcript, at once."""
        print(line, file=self._out, flush=True)

    def says(self, person: Person, what: str) -> None:
        """What the person sends or does."""
        self.print(f"{person.label} → {what}")

    def news(self, person: Person) -> list[FakeMessage]:
        """The bot's messages in the person's chat that are new or changed since last shown."""
        return [
            m
            for m in self._api.sent_to(person.user_id)
            if self._seen.get((m.chat_id, m.message_id)) != _view(m)
        ]

    def show(self) -> None:
        """Print the news of every chat, then remember it as seen."""
        for person in self._people:
            for message in self.news(person):
                key = (message.chat_id, message.message_id)
                before = self._seen.get(key)
                self._seen[key] = _view(message)
                if before is None:
                    self._show(f"{person.label} ← bot: ", message)
                elif before.startswith(self._seen[key]):  # the same text, without its buttons
                    first = before.splitlines()[0]
                    shown = first if len(first) <= 40 else f"{first[:40]}…"
                    self.print(f"{person.label} ← bot takes the buttons off “{shown}”")
                else:
                    self._show(f"{person.label} ← bot changes its message: ", message)

    def _show(self, head: str, message: FakeMessage) -> None:
        body = (message.text or message.caption or f"({message.kind})").splitlines()
        indent = " " * len(head)
        self.print(head + body[0])
        for line in body[1:]:
            self.print(indent + line if line else "")
        for row in message.buttons():
            self.print(indent + " ".join(f"[{label}]" for label, _ in row))


class Script:
    """The demo's people acting through the fake Telegram, one step at a time."""

    def __init__(
        self, api: FakeBotApi, services: Services, clock: ManualClock, out: TextIO
    ) -> None:
        self.api = api
        self.services = services
        self.clock = clock
        self.texts = Texts.load(CONFIG_DIR / "messages")
        self.transcript = Transcript(api, (SAM, ALEX), out)

    def text(self, key: str, **params: object) -> str:
        """A text from the catalogue, as the bot would send it."""
        return self.texts.get(key, DEFAULT_LANGUAGE, **params)

    async def write(
        self, person: Person, text: str, *, reply_to: int | None = None, shown: str = ""
    ) -> FakeMessage:
        """The person writes in their chat."""
        self.transcript.says(person, shown or text)
        return self.api.send_text(person.user_id, text, reply_to=reply_to)

    async def tap(self, person: Person, label: str) -> None:
        """The person taps a button on the latest message that has one with this label."""
        for message in reversed(self.api.sent_to(person.user_id)):
            for row in message.buttons():
                for text, data in row:
                    if text == label and data is not None:
                        self.transcript.says(person, f"taps “{label}”")
                        self.api.press_button(person.user_id, message.message_id, data)
                        return
        raise DemoStuck(f"{person.label} sees no button “{label}”")

    async def answered(self, *expected: tuple[Person, str]) -> None:
        """Wait until each person has something new saying this, and all is sent; print."""

        def arrived() -> bool:
            return all(
                any(fragment in _view(m) for m in self.transcript.news(person))
                for person, fragment in expected
            )

        wanted = "; ".join(f"{person.label} to see {fragment!r}" for person, fragment in expected)
        await self._until(arrived, wanted)
        await self._drained()
        self.transcript.show()

    async def _until(self, condition: Callable[[], bool], wanted: str) -> None:
        try:
            await self.api.wait_until(condition, timeout=STEP_SECONDS)
        except AssertionError:
            raise DemoStuck(f"waited {STEP_SECONDS:.0f}s for {wanted}") from None

    async def _drained(self) -> None:
        """Poll, with a deadline, until the outbox holds nothing waiting or in flight."""
        outbox = OutboxRepository(self.services.db)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_SECONDS
        while loop.time() < deadline:
            async with self.services.db.transaction():
                counts = await outbox.counts()
            if counts.get("pending", 0) + counts.get("sending", 0) == 0:
                return
            await asyncio.sleep(0.02)
        raise DemoStuck("the outbox did not empty")

    async def play(self) -> None:
        """Invite, consent, a rhythm, a check-in, a tap, a message each way, a pause."""
        say = self.transcript.print
        say("1. Sam Rivera, a peer support specialist, is registered by the programme:")
        say('   python -m bot specialist add 1001 --name "Sam Rivera"')
        await self.services.people.add_specialist(SAM.user_id, "Sam Rivera")
        say()
        say("2. Sam asks for an invite link for a client they will call Alex.")
        await self.write(SAM, "/invite Alex")
        await self.answered((SAM, f"t.me/{BOT_USERNAME}?start="))
        link = self.api.sent_to(SAM.user_id)[-1].text or ""
        code = link.rsplit("start=", 1)[-1].strip()
        say()
        say("3. Alex opens the link, reads what the bot is for, and says yes.")
        await self.write(ALEX, f"/start {code}", shown=f"opens the link (/start {code})")
        await self.answered((ALEX, self.text("consent.yes")))
        await self.tap(ALEX, self.text("consent.yes"))
        await self.answered(
            (SAM, self.text("specialist.joined", alias="Alex")),
            (ALEX, self.text("setup.cadence_question")),
        )
        say()
        say("4. Alex chooses a check-in every day at 09:00, in UTC.")
        await self.tap(ALEX, self.text("setup.every_day"))
        await self.answered((ALEX, self.text("setup.moment_question")))
        await self.tap(ALEX, self.text("setup.set_time"))
        await self.answered((ALEX, self.text("setup.time_question")))
        await self.tap(ALEX, "09:00")
        await self.answered((ALEX, self.text("setup.timezone_question")))
        await self.tap(ALEX, "UTC")
        await self.answered((ALEX, "09:00"))
        say()
        say("5. It is 09:00 (the demo moves its clock on): the check-in arrives.")
        self.clock.set(CHECKIN_DUE)
        assert self.services.sender is not None
        self.services.sender.wake()
        await self.services.checkins.tick()
        await self.answered((ALEX, self.text("checkin.meh")))
        say()
        say("6. Alex taps an answer; Sam hears about it.")
        await self.tap(ALEX, self.text("checkin.meh"))
        await self.answered(
            (ALEX, self.text("checkin.ack_meh", specialist="Sam Rivera")),
            (SAM, self.text("answer.meh")),
        )
        say()
        say("7. Alex writes; Sam answers by replying to Alex's message.")
        words = "Thanks for asking. Work has been a lot this week."
        await self.write(ALEX, words)
        await self.answered((SAM, words))
        copy = next(m for m in reversed(self.api.sent_to(SAM.user_id)) if m.copied_from)
        answer = "Thank you for telling me, Alex. Would a call on Thursday help?"
        await self.write(SAM, answer, reply_to=copy.message_id, shown=f"replies: {answer}")
        await self.answered((ALEX, answer))
        say()
        say("8. Alex would like a quiet week and pauses check-ins.")
        await self.write(ALEX, "/pause")
        await self.answered((ALEX, self.text("pause.one_week")))
        await self.tap(ALEX, self.text("pause.one_week"))
        await self.answered((ALEX, "/settings"), (SAM, "Alex"))
        say()
        say("That is the whole round. To run Porchlight for real, see README.md (Set-up).")


async def sample_report(services: Services, clock: ManualClock, out: TextIO, path: Path) -> None:
    """The programme report of the demo's database, with twelve made-up weeks of a larger
    programme around Alex and Sam (so the charts have something to show)."""
    await seed_programme(services.db, clients=SAMPLE_CLIENTS, weeks=12, end=clock.now())
    try:
        await services.report.write(path)
    except ChartsUnavailable as missing:
        out.write(f"\nNo sample report: {missing}\n")
        return
    out.write(
        f"\nA sample programme report (the demo's database, with {SAMPLE_CLIENTS} made-up\n"
        f"clients over twelve weeks) is in {path}\n"
        "Make your own with: python -m bot report\n"
    )


async def run_demo(out: TextIO = sys.stdout, report_to: Path = SAMPLE_REPORT) -> int:
    """Play the demo against a Bot API server inside this process; 0 when it went through."""
    out.write(
        "Porchlight demo: the real bot, a stand-in Telegram inside this process, a temporary\n"
        "database. Nothing leaves this machine and no token is needed.\n\n"
    )
    api = FakeBotApi(token=DEMO_TOKEN, bot_id=123456789, bot_username=BOT_USERNAME)
    await api.start()
    try:
        with tempfile.TemporaryDirectory(prefix="porchlight-demo-") as folder:
            # Only what the demo sets, and the defaults: nothing from the environment, .env or
            # config/settings.toml (the values are fixed and valid, so nothing to validate).
            settings = Settings.model_construct(
                telegram_bot_token=SecretStr(DEMO_TOKEN),
                telegram_api_base_url=api.base_url,
                database_path=Path(folder) / "porchlight.sqlite3",
                send_per_second=1000,
                send_per_chat_interval=0,
                checkin_tick_seconds=3600,  # the script runs the tick itself
            )
            api.add_user(SAM.user_id, SAM.first_name)
            api.add_user(ALEX.user_id, ALEX.first_name)
            clock = ManualClock(START)
            application = build_application(settings, clock)
            async with running(application, timedelta(seconds=1)):
                await Script(api, application.bot_data.services, clock, out).play()
                await sample_report(application.bot_data.services, clock, out, report_to)
    except DemoStuck as stuck:
        print(f"The demo stopped: {stuck}.", file=sys.stderr)
        return 1
    finally:
        await api.stop()
    return 0
