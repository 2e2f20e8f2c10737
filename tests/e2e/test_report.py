"""/report end to end: an admin gets the programme report as an HTML document; nobody else."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.harness import Harness, harness, say, tap
from tests.e2e.test_checkins import checkins, daily_at_nine_in_berlin
from tests.fakes.bot_api import FakeBotApi

SAM, ALEX, ADMIN = 1001, 2001, 900
NOT_FOR_YOU = "Sorry, that's only available to the programme's admins."


async def report_of(bot: Harness, text: str) -> tuple[str, str]:
    """The admin sends `text`; return the document's caption and HTML."""
    before = len(bot.api.sent_to(ADMIN))
    bot.api.send_text(ADMIN, text)
    # Drawing seven charts takes a second or two (more on a busy machine).
    [sent] = (await bot.api.wait_for_messages(ADMIN, before + 1, timeout=60))[before:]
    document = sent.raw["document"]
    assert document["file_name"] == "porchlight-report.html"
    return sent.raw.get("caption") or "", bot.api.file_data(document["file_id"]).decode()


async def test_an_admin_gets_the_report_as_a_document(bot: Harness) -> None:
    bot.api.send_text(ALEX, "a few words only Sam reads 7f3e")
    await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    await bot.settle()

    caption, page = await report_of(bot, "/report")
    assert caption.startswith("The programme report, 2026-W38 to 2026-W49.")
    assert page.count("<svg") == 7
    weeks = re.findall(r"<tr><td>(2026-W\d\d)</td>", page)
    assert weeks[0] == "2026-W49"  # specialists and caseloads now
    assert weeks[1:13] == [f"2026-W{n}" for n in range(38, 50)]  # reach, week by week
    # This week: three invited and joined (small cells), one message from a client.
    assert "<tr><td>2026-W49</td><td>&lt;5</td><td>&lt;5</td><td>&lt;5</td>" in page
    for private in ("7f3e", "Alex", "Alexandra", str(ALEX), str(SAM)):
        assert private not in page

    bot.advance(timedelta(days=7))
    caption, page = await report_of(bot, "/report 4w")
    assert caption.startswith("The programme report, 2026-W47 to 2026-W50.")
    assert re.findall(r"<tr><td>(2026-W\d\d)</td>", page)[1:5] == [
        "2026-W47",
        "2026-W48",
        "2026-W49",
        "2026-W50",
    ]


async def test_report_is_for_admins_only(bot: Harness) -> None:
    assert (await say(bot, SAM, "/report")).text == NOT_FOR_YOU
    before = len(bot.api.sent_to(ALEX))
    bot.api.send_text(ALEX, "/report")
    await bot.settle()
    assert not any(m.raw.get("document") for m in bot.api.sent_to(ALEX)[before:])
    usage = await say(bot, ADMIN, "/report lots")
    assert usage.text == (
        "Send /report for the last 12 weeks, or /report 4w for the last 4 weeks (up to 104)."
    )
    assert await bot.rows("SELECT count(*) FROM outbox WHERE method = 'send_document'") == [(0,)]


async def test_weekly_report_goes_to_admins_once_also_across_a_restart(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    # Monday 30 November, 08:59 in Madrid (07:59 UTC); REPORT_WEEKLY is Monday 09:00 there.
    start = datetime(2026, 11, 30, 7, 59, tzinfo=UTC)
    async with harness(
        fake_api,
        tmp_path,
        start=start,
        report_weekly="mon 09:00",
        default_timezone="Europe/Madrid",
    ) as bot:
        bot.api.add_user(ADMIN, "Ada")
        await bot.run_tick()
        assert await documents(bot) == 0
        bot.advance(timedelta(minutes=1))
        await bot.run_tick()
        await bot.api.wait_until(lambda: sent_reports(bot) == 1, timeout=60, what="the report")
        await bot.run_tick()
        await bot.restart()
        await bot.run_tick()
        bot.advance(timedelta(days=6, hours=23))  # Monday 7 December 08:59
        await bot.run_tick()
        assert sent_reports(bot) == 1
        bot.advance(timedelta(hours=1))
        await bot.run_tick()
        await bot.api.wait_until(lambda: sent_reports(bot) == 2, timeout=60, what="next week's")
        assert await bot.rows("SELECT week FROM report_runs ORDER BY week") == [
            ("2026-W49",),
            ("2026-W50",),
        ]


def sent_reports(bot: Harness) -> int:
    return sum(1 for m in bot.api.sent_to(ADMIN) if m.raw.get("document"))


async def documents(bot: Harness) -> int:
    [(count,)] = await bot.rows("SELECT count(*) FROM outbox WHERE method = 'send_document'")
    assert isinstance(count, int)
    return count


async def test_clients_shows_the_last_eight_taps_and_the_events_count_them(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    answers = ["Doing okay"] * 6 + ["Could be better"] * 3
    for day, label in enumerate(answers):
        bot.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC) + timedelta(days=day))
        await bot.tick()
        await tap(bot, ALEX, checkins(bot, ALEX)[-1], label)
    overview = await say(bot, SAM, "/clients")
    [alex] = [line for line in (overview.text or "").splitlines() if line.startswith("Alex")]
    assert alex.endswith(" · taps ●●●●●◐◐◐")
    assert (overview.text or "").endswith(
        "Taps, oldest first: ● doing okay, ◐ could be better, ○ not today, ◆ would like to talk."
    )
    [bo] = [line for line in (overview.text or "").splitlines() if line.startswith("Bo")]
    assert "taps" not in bo
    assert await bot.rows(
        "SELECT kind, detail, count(*) FROM events WHERE kind LIKE 'checkin%'"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    ) == [
        ("checkin_answered", "meh", 3),
        ("checkin_answered", "ok", 6),
        ("checkin_sent", "scheduled", 9),
    ]


async def test_mydata_holds_the_clients_own_events(bot: Harness) -> None:
    bot.api.send_text(ALEX, "hello 51c2")
    await bot.said(SAM, len(bot.api.sent_to(SAM)) + 2)
    await bot.settle()
    before = len(bot.api.sent_to(ALEX))
    bot.api.send_text(ALEX, "/mydata")
    [sent] = (await bot.said(ALEX, before + 1))[before:]
    data = json.loads(bot.api.file_data(sent.raw["document"]["file_id"]))
    assert [(e["kind"], e["detail"]) for e in data["events"]] == [
        ("joined", None),
        ("client_message", None),
    ]


async def test_changes_of_pace_are_recorded_once_each(bot: Harness) -> None:
    await daily_at_nine_in_berlin(bot, ALEX)
    for _ in range(2):  # the same pause twice is one change of pace
        question = await say(bot, ALEX, "/pause")
        await tap(bot, ALEX, question, "1 week")
    await say(bot, ALEX, "/resume")
    question = await say(bot, ALEX, "/stop")
    await tap(bot, ALEX, question, "Yes, stop them")
    await say(bot, ALEX, "/schedule")
    question = bot.api.sent_to(ALEX)[-1]
    await tap(bot, ALEX, question, "Only when I write")
    await bot.settle()
    assert await bot.rows(
        "SELECT kind FROM events WHERE client_id IS NOT NULL AND kind NOT IN"
        " ('joined', 'client_message', 'specialist_message') ORDER BY id"
    ) == [("paused",), ("resumed",), ("stopped",), ("when_i_write",)]
