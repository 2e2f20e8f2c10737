"""/report end to end: an admin gets the programme report as an HTML document; nobody else."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.e2e.harness import Harness, say

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
