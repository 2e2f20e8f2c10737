"""The team inbox: a staff supergroup with one forum topic per client (TEAM_CHAT_ID)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import MONDAY_6_UTC
from tests.e2e.harness import Harness, harness, say, tap
from tests.e2e.test_mydata import export_of
from tests.fakes.bot_api import FakeBotApi, FakeMessage

TEAM = -1001234567890
ADMIN, SAM, RIA = 900, 1001, 1002
ALEX, BO, CY = 2001, 2002, 2003
OUTSIDER = 3001


STAFF = {SAM: "member", RIA: "member"}


def team_settings(**more: object) -> dict[str, object]:
    # Telegram's 20 a minute, sped up for the tests (the pacing is tested on its own).
    return {"team_chat_id": TEAM, "team_send_per_minute": 60_000, **more}


@asynccontextmanager
async def team_bot(
    api: FakeBotApi,
    tmp_path: Path,
    members: Mapping[int, str] = {ADMIN: "creator", **STAFF},
) -> AsyncIterator[Harness]:
    """The usual cast, with the team group (these members in it) on from the start."""
    api.add_forum_group(TEAM, "Porch team", members=dict(members))
    async with harness(api, tmp_path, start=MONDAY_6_UTC, **team_settings()) as bot:
        await bot.add_people()
        yield bot


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    """The usual cast, with the team group on from the start."""
    async with team_bot(fake_api, tmp_path) as running:
        yield running


def topic_named(api: FakeBotApi, name: str) -> int:
    [thread] = [t.thread_id for t in api.topics(TEAM).values() if t.name == name]
    return thread


def texts(messages: list[FakeMessage]) -> list[str]:
    return [m.text or m.caption or "" for m in messages]


async def test_every_client_has_one_topic_from_the_start(bot: Harness) -> None:
    api = bot.api
    names = sorted(t.name for t in api.topics(TEAM).values())
    assert names == ["Alex · Sam Rivera", "Bo · Sam Rivera", "Cy · Ria Okafor"]
    alex = topic_named(api, "Alex · Sam Rivera")
    first, joined = texts(api.in_topic(TEAM, alex))
    assert first.startswith("This topic is Alex's, a client of Sam Rivera.")
    assert "starts with # or !note is a note for the team and never reaches Alex" in first
    assert joined == "Alex has joined."
    assert await bot.rows("SELECT count(*) FROM team_topics WHERE thread_id IS NOT NULL") == [(3,)]


# As in production, and with the loop's thread checks (tests/e2e/conftest.py): the relay
# runs on the database's thread (Database.in_one_trip) and queues the team's copy there,
# so the sender must be woken from the loop.
@pytest.mark.parametrize("checked", [False, pytest.param(True, marks=pytest.mark.thread_checks)])
async def test_what_sam_sees_the_team_sees(bot: Harness, checked: bool) -> None:
    assert asyncio.get_running_loop().get_debug() is checked
    api = bot.api
    alex = topic_named(api, "Alex · Sam Rivera")
    before_sam = len(api.sent_to(SAM))
    words = api.send_text(ALEX, "Rough week, honestly")
    await bot.barrier(ALEX)
    # Sam's private chat as before (TEAM_MODE=copy) ...
    sam_new = api.sent_to(SAM)[before_sam:]
    assert [m.copied_from for m in sam_new if m.copied_from] == [(ALEX, words.message_id)]
    # ... and the same in Alex's topic: a copy (never a forward; no header, it is theirs).
    in_topic = api.in_topic(TEAM, alex)
    assert texts(in_topic)[-2:] == ["Alex has joined.", "Rough week, honestly"]
    assert in_topic[-1].copied_from == (ALEX, words.message_id)
    assert "forward_origin" not in in_topic[-1].raw
    assert not api.calls_to("forwardMessage")
    assert await bot.rows("SELECT count(*) FROM inbox") == [(0,)]
    # Nothing about Alex lands in anyone else's topic.
    bo = topic_named(api, "Bo · Sam Rivera")
    assert "Rough week, honestly" not in texts(api.in_topic(TEAM, bo))

    # Sam answers from their private chat: the team sees that too.
    api.send_text(SAM, "Thanks for telling me", reply_to=sam_new[-1].message_id)
    await bot.barrier(SAM)
    assert texts(api.in_topic(TEAM, alex))[-2:] == ["Sam Rivera to Alex:", "Thanks for telling me"]


async def test_the_topic_follows_transfer_stop_return_and_forget(bot: Harness) -> None:
    api = bot.api
    alex = topic_named(api, "Alex · Sam Rivera")
    await say(bot, SAM, "/transfer Alex Ria Okafor")
    await bot.settle()
    assert api.topics(TEAM)[alex].name == "Alex · Ria Okafor"

    question = await say(bot, ALEX, "/stop")
    await tap(bot, ALEX, question, "Yes, stop them")
    assert api.topics(TEAM)[alex].closed
    assert texts(api.in_topic(TEAM, alex))[-1] == (
        "Alex stopped scheduled check-ins. They can still write to you here."
    )
    await say(bot, ALEX, "/resume")
    api.send_text(ALEX, "I'm back")
    await bot.barrier(ALEX)
    assert not api.topics(TEAM)[alex].closed
    assert texts(api.in_topic(TEAM, alex))[-1] == "I'm back"

    question = await say(bot, ALEX, "/forget")
    await tap(bot, ALEX, question, "Erase everything")
    await bot.settle()
    assert alex not in api.topics(TEAM)
    assert api.in_topic(TEAM, alex) == []
    assert await bot.rows("SELECT client_id FROM team_topics ORDER BY client_id") == [(2,), (3,)]
    assert await bot.rows(
        "SELECT count(*) FROM outbox WHERE payload LIKE '%I''m back%' OR payload LIKE '%Alex%'"
    ) == [(0,)]


async def test_the_bot_stays_in_the_team_group_and_leaves_others(bot: Harness) -> None:
    api = bot.api
    api.add_bot_to_group(TEAM, by_user_id=ADMIN)
    api.add_bot_to_group(-500, by_user_id=ADMIN)
    await api.wait_until(lambda: -500 in api.left_chats, what="left the other group")
    await bot.barrier(SAM)
    assert TEAM not in api.left_chats


async def test_turning_it_on_shows_the_terms_first_and_never_makes_two_topics(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    api = fake_api
    api.add_forum_group(TEAM, "Porch team", members={SAM: "member", RIA: "member"})
    async with harness(api, tmp_path, start=MONDAY_6_UTC) as bot:
        await bot.add_people()
        assert api.sent_to(TEAM) == []
        # The programme turns the team inbox on.
        bot.settings = bot.settings.model_copy(update=team_settings())
        await bot.restart()
        await bot.settle()
        assert api.topics(TEAM) == {}  # nobody has been shown the new terms yet

        # Alex and Bo write at the same moment, Alex twice; then the bot restarts.
        before = {who: len(api.sent_to(who)) for who in (ALEX, BO)}
        api.send_text(ALEX, "first")
        api.send_text(BO, "hello")
        api.send_text(ALEX, "second")
        await bot.barrier(SAM)
        notes = {}
        for who in (ALEX, BO):
            sent = api.sent_to(who)[before[who] :]
            terms = [m for m in sent if (m.text or "").startswith("A short note before")]
            assert len(terms) == 1, texts(sent)
            assert "also copied into the team's private group" in (terms[0].text or "")
            notes[who] = terms[0]
        # Shown is not accepted: nothing of theirs goes to the group before they tap Okay.
        assert api.topics(TEAM) == {}
        for who in (ALEX, BO):
            await tap(bot, who, notes[who], "Okay")
        await bot.restart()
        api.send_text(ALEX, "third")
        await bot.barrier(SAM)

        await api.wait_until(lambda: len(api.topics(TEAM)) == 2, what="both topics")
        names = sorted(t.name for t in api.topics(TEAM).values())
        assert names == ["Alex · Sam Rivera", "Bo · Sam Rivera"]  # Cy has not written
        assert len(api.calls_to("createForumTopic")) == 2
        alex = topic_named(api, "Alex · Sam Rivera")
        assert [t for t in texts(api.in_topic(TEAM, alex)) if not t.startswith("This topic")] == [
            "third"
        ]
        privacy = await say(bot, ALEX, "/privacy")
        assert "into the private group of Sam Rivera's team" in (privacy.text or "")
        data = await export_of(bot, ALEX)
        assert data["team_inbox"]["topic_title"] == "Alex · Sam Rivera"
        assert "private group of your specialist's team" in data["team_inbox"]["about"]
        await bot.barrier(CY)  # (its /help) the new terms come first
        assert "team_inbox" not in await export_of(bot, CY)  # nothing of Cy's copied yet


async def test_the_group_limit_holds_and_private_chats_keep_their_pace(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    # Telegram's limits sped up: 20 group messages in 6 s (a tenth of a minute), one message
    # in 0.05 s in a private chat (a twentieth of a second); the bot keeps inside them.
    api = fake_api
    api.add_forum_group(TEAM, "Porch team", members={SAM: "member", RIA: "member"})
    settings = team_settings(
        team_send_per_minute=20 * 10, send_per_second=290, send_per_chat_interval=0.08
    )
    async with harness(api, tmp_path, start=MONDAY_6_UTC, **settings) as bot:
        await bot.add_people()
        api.enforce_limits(per_second=300, per_chat_interval=0.05, group_minute=6.0)
        already = len(api.sent_to(TEAM))
        sent = []
        for round_ in range(10):
            for user in (ALEX, BO, CY):
                sent.append(api.send_text(user, f"message {round_} from {user}"))

        def relayed(chat: int) -> set[tuple[int, int]]:
            return {m.copied_from for m in api.sent_to(chat) if m.copied_from}

        await api.wait_until(
            lambda: len(relayed(SAM) | relayed(RIA)) == 30,
            timeout=15,
            what="every private copy",
        )
        privately_done = asyncio.get_running_loop().time()
        group_then = len(api.sent_to(TEAM)) - already
        await api.wait_until(lambda: len(relayed(TEAM)) == 30, timeout=40, what="group copies")
        group_done = asyncio.get_running_loop().time()

        assert (
            relayed(SAM) | relayed(RIA)
            == relayed(TEAM)
            == {(m.chat_id, m.message_id) for m in sent}
        )
        # The private chats were served first, at their own pace, while the group waited.
        assert group_then <= 20
        assert group_done - privately_done > 2.0
        assert api.violations == []
        assert [c for c in api.calls if c.error_code == 429] == []
        # At no moment more than 20 in any "minute" of the group.
        times = [c.at for c in api.calls if c.params.get("chat_id") == TEAM and c.ok]
        assert all(b - a >= 6.0 for a, b in zip(times, times[20:], strict=False))


async def test_staff_answer_from_the_topic_and_notes_stay_in_the_team(bot: Harness) -> None:
    api = bot.api
    alex = topic_named(api, "Alex · Sam Rivera")
    await say(bot, SAM, "/away")
    api.send_text(ALEX, "Is anyone there?")
    api.send_text(ALEX, "Hello?")
    await bot.barrier(ALEX)
    away = [t for t in texts(api.in_topic(TEAM, alex)) if "is away" in t]
    assert away == [
        "Sam Rivera is away: Alex has been told their message waits for them. Anyone here"
        " can answer Alex meanwhile."
    ]
    alex_before, sam_before = len(api.sent_to(ALEX)), len(api.sent_to(SAM))

    # Ria covers: she writes in Alex's topic, no reply needed.
    covering = api.send_topic_text(TEAM, RIA, "Yes, I'm here for Sam today", thread_id=alex)
    await bot.barrier(RIA)
    to_alex = api.sent_to(ALEX)[alex_before:]
    assert texts(to_alex) == [
        "From Ria Okafor, on Sam Rivera's team:",
        "Yes, I'm here for Sam today",
    ]
    assert to_alex[1].copied_from == (TEAM, covering.message_id)
    to_sam = api.sent_to(SAM)[sam_before:]
    assert texts(to_sam) == ["Ria Okafor answered Alex:", "Yes, I'm here for Sam today"]
    # Notes stay in the team; so does anything from someone who is not staff.
    api.add_user(OUTSIDER, "Olu")
    for who, words in [
        (RIA, "# she sounded low, let's check tomorrow"),
        (SAM, "!note I'll call on Monday"),
        (OUTSIDER, "hello Alex"),
        (OUTSIDER, "hello again"),
    ]:
        api.send_topic_text(TEAM, who, words, thread_id=alex)
    await bot.barrier(RIA)
    assert len(api.sent_to(ALEX)) == alex_before + 2
    notices = [t for t in texts(api.in_topic(TEAM, alex)) if t.startswith("Only registered")]
    assert notices == [
        "Only registered specialists and admins reach Alex from here: what you write stays in "
        "the team."
    ]

    # Alex's answer to Ria's words reaches Sam, and the topic.
    api.send_text(ALEX, "Thank you Ria", reply_to=to_alex[1].message_id)
    await bot.barrier(ALEX)
    assert "Thank you Ria" in texts(api.sent_to(SAM))
    assert texts(api.in_topic(TEAM, alex))[-1] == "Thank you Ria"

    # Sam, back, answers in the topic under their own name; an admin under the team's.
    await say(bot, SAM, "/back")
    alex_before, sam_before = len(api.sent_to(ALEX)), len(api.sent_to(SAM))
    api.send_topic_text(TEAM, SAM, "Back now, Alex", thread_id=alex)
    api.send_topic_text(TEAM, ADMIN, "We're all here for you", thread_id=alex)
    await bot.barrier(SAM)
    assert texts(api.sent_to(ALEX)[alex_before:]) == [
        "From Sam Rivera, your peer support specialist:",
        "Back now, Alex",
        "From Sam Rivera's team:",
        "We're all here for you",
    ]
    assert texts(api.sent_to(SAM)[sam_before:])[:2] == [
        "An admin answered Alex:",
        "We're all here for you",
    ]
    # Nothing any of them wrote in the topic was copied into it again.
    in_topic = texts(api.in_topic(TEAM, alex))
    assert "Back now, Alex" not in in_topic and "Yes, I'm here for Sam today" not in in_topic


async def test_commands_in_a_topic_and_the_client_list_in_general(bot: Harness) -> None:
    api = bot.api
    alex = topic_named(api, "Alex · Sam Rivera")
    before = len(api.sent_to(ALEX))
    api.send_topic_text(TEAM, RIA, "/checkin", thread_id=alex)
    await bot.barrier(RIA)
    checkin = api.sent_to(ALEX)[before:]
    assert len(checkin) == 1 and checkin[0].buttons()

    api.send_topic_text(TEAM, SAM, "/transfer Ria Okafor", thread_id=alex)
    await bot.barrier(SAM)
    assert api.topics(TEAM)[alex].name == "Alex · Ria Okafor"
    assert (await bot.client_row(ALEX))["specialist_id"] == 2

    api.add_user(OUTSIDER, "Olu")
    api.send_topic_text(TEAM, OUTSIDER, "/clients")
    api.send_topic_text(TEAM, ADMIN, "/clients")
    await bot.barrier(ADMIN)
    [listing] = [m for m in api.in_topic(TEAM, None) if (m.text or "").startswith("Every")]
    lines = (listing.text or "").splitlines()
    assert lines[0] == "Every client's topic:"
    assert lines[1] == f"Alex · Ria Okafor: https://t.me/c/1234567890/{alex}"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "Alex · Ria Okafor",
        "Bo · Sam Rivera",
        "Cy · Ria Okafor",
    ]


async def test_taps_and_urgent_flags_reach_the_topic_and_general(bot: Harness) -> None:
    api = bot.api
    alex = topic_named(api, "Alex · Sam Rivera")
    api.send_topic_text(TEAM, SAM, "/checkin", thread_id=alex)
    await bot.barrier(SAM)
    await tap(bot, ALEX, api.sent_to(ALEX)[-1], "I'd like to talk")
    assert texts(api.in_topic(TEAM, alex))[-1].startswith("🔔 Alex would like to talk")

    words = api.send_text(ALEX, "honestly I want to k1ll myself tonight")
    await bot.barrier(ALEX)
    header, copy = api.in_topic(TEAM, alex)[-2:]
    assert (header.text or "").startswith("⚠️ Possibly urgent")
    assert copy.copied_from == (ALEX, words.message_id)
    assert not header.silent and not copy.silent  # loud, unlike ordinary copies
    [line] = [m for m in api.in_topic(TEAM, None) if "Possibly urgent" in (m.text or "")]
    assert line.text == (
        f"⚠️ Possibly urgent, from Alex (Sam Rivera): https://t.me/c/1234567890/{alex}"
    )
    assert not line.silent
    assert api.in_topic(TEAM, alex)[1].silent  # "Alex has joined." arrived quietly


async def test_an_escalation_reaches_the_topic_and_general(bot: Harness) -> None:
    api = bot.api
    alex = topic_named(api, "Alex · Sam Rivera")
    api.send_text(ALEX, "i want to die")
    await bot.barrier(ALEX)
    bot.advance(timedelta(minutes=16))
    await bot.run_tick()
    assert any(
        (m.text or "").startswith("⚠️ Possibly urgent, not answered") for m in api.sent_to(ADMIN)
    )
    escalated = [t for t in texts(api.in_topic(TEAM, alex)) if t.startswith("⚠️ Nobody")]
    assert len(escalated) == 1 and "gone to the supervisors" in escalated[0]
    [line] = [t for t in texts(api.in_topic(TEAM, None)) if "not answered yet" in t]
    assert line == (
        "⚠️ Alex's possibly urgent message (Sam Rivera) is not answered yet and has gone to"
        f" the supervisors: https://t.me/c/1234567890/{alex}"
    )
    # Ria answers in the topic: the escalation is answered for everyone.
    before = len(api.sent_to(ADMIN))
    api.send_topic_text(TEAM, RIA, "I'm calling you now, Alex", thread_id=alex)
    await bot.barrier(RIA)
    told = texts(api.sent_to(ADMIN)[before:])
    assert any("Ria Okafor" in t for t in told), told


async def test_in_group_mode_only_the_topic_hears_and_the_specialist_is_mentioned(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    api = fake_api
    async with team_bot(api, tmp_path, members=STAFF) as bot:
        bot.settings = bot.settings.model_copy(update={"team_mode": "group"})
        await bot.restart()
        alex = topic_named(api, "Alex · Sam Rivera")
        sam_before = len(api.sent_to(SAM))
        api.send_text(ALEX, "an ordinary day")
        api.send_text(ALEX, "honestly I want to k1ll myself tonight")
        await bot.barrier(ALEX)
        assert api.sent_to(SAM)[sam_before:] == []  # nothing in Sam's private chat
        in_topic = api.in_topic(TEAM, alex)
        # (The urgent one may overtake the ordinary one in the group's line.)
        assert "an ordinary day" in texts(in_topic)[-3:]
        [mention] = [m for m in in_topic if (m.text or "").startswith("Sam Rivera ⚠️ Possibly")]
        [entity] = mention.raw["entities"]
        assert entity["url"] == f"tg://user?id={SAM}"
        # Sam answers from the topic as usual.
        before = len(api.sent_to(ALEX))
        api.send_topic_text(TEAM, SAM, "I'm here, Alex", thread_id=alex)
        await bot.barrier(SAM)
        assert "I'm here, Alex" in texts(api.sent_to(ALEX)[before:])


async def test_transfer_in_a_topic_moves_that_topic_s_client_and_only_for_their_staff(
    bot: Harness,
) -> None:
    api = bot.api
    ria_alex = 2004  # Ria has a client she also calls Alex
    await bot.join(ria_alex, "Alexis", RIA, "Alex")
    await bot.settle()
    sams_alex = topic_named(api, "Alex · Sam Rivera")
    sam_id = (await bot.client_row(ALEX))["specialist_id"]
    ria_id = (await bot.client_row(ria_alex))["specialist_id"]
    # A colleague who is not an admin may not move Sam's client, and never moves her own.
    before = len(api.sent_to(RIA))
    api.send_topic_text(TEAM, RIA, "/transfer Sam Rivera", thread_id=sams_alex)
    await bot.next_text(RIA, before)
    assert (await bot.client_row(ALEX))["specialist_id"] == sam_id
    assert (await bot.client_row(ria_alex))["specialist_id"] == ria_id
    # Sam, in the same topic, moves this Alex to Ria.
    api.send_topic_text(TEAM, SAM, "/transfer Ria Okafor", thread_id=sams_alex)
    await bot.barrier(SAM)
    await bot.settle()
    assert (await bot.client_row(ALEX))["specialist_id"] == ria_id
    assert (await bot.client_row(ria_alex))["specialist_id"] == ria_id
