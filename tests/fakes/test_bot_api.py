"""The fake Bot API server, driven by the real python-telegram-bot over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.fakes.bot_api import MEDIA_KINDS, FakeBotApi, running_fake_api

ALEX = 1001
SAM = 1002
CHANNEL = -1009876543210
GROUP = -5001


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with running_fake_api() as server:
        server.add_user(ALEX, "Alex", username="alex")
        server.add_user(SAM, "Sam", language_code="de")
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.bot_url, base_file_url=api.file_url) as client:
        yield client


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


# --- plain Bot calls -----------------------------------------------------------------------------


async def test_get_me_and_bad_token_and_unknown_method(api: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (api.bot_id, api.bot_username, True)

    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=api.bot_url):
            pass
    assert [c.error_code for c in api.calls if not c.ok][-2:] == [404, 401]


async def test_send_message_params_are_typed_and_stored(api: FakeBotApi, bot: Bot) -> None:
    question = api.send_text(ALEX, "how are you?")
    sent = await bot.send_message(
        ALEX,
        "123",
        reply_markup=keyboard(("Fine", "mood:fine"), ("Not today", "mood:no")),
        reply_parameters=ReplyParameters(question.message_id),
        disable_notification=True,
    )
    call = api.calls_to("sendMessage")[-1]
    assert call.params["text"] == "123"
    assert call.params["chat_id"] == ALEX
    assert call.params["disable_notification"] is True
    assert call.params["reply_parameters"] == {"message_id": question.message_id}
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "mood:fine"

    assert sent.message_id == question.message_id + 1  # one counter per chat
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "how are you?"
    assert sent.reply_markup == keyboard(("Fine", "mood:fine"), ("Not today", "mood:no"))

    [stored] = api.sent_to(ALEX)
    assert (stored.text, stored.kind, stored.reply_to_message_id) == ("123", "text", 1)
    assert stored.buttons() == [[("Fine", "mood:fine")], [("Not today", "mood:no")]]
    assert [m.from_bot for m in api.messages(ALEX)] == [False, True]


async def test_reply_keyboard_is_remembered_but_not_echoed(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(ALEX, "pick", reply_markup=ReplyKeyboardMarkup([["a", "b"]]))
    assert sent.reply_markup is None  # Telegram echoes inline keyboards only
    [stored] = api.sent_to(ALEX)
    assert stored.reply_markup == {"keyboard": [[{"text": "a"}, {"text": "b"}]]}
    assert stored.buttons() == []


async def test_form_and_json_bodies_are_decoded(api: FakeBotApi) -> None:
    url = f"{api.bot_url}{api.token}/sendMessage"
    async with httpx.AsyncClient() as client:
        form = {"chat_id": str(ALEX), "text": "true", "protect_content": "true"}
        answer = (await client.post(url, data=form)).json()
        assert answer["ok"] and answer["result"]["text"] == "true"
        body = {"chat_id": ALEX, "text": "[1, 2]", "reply_markup": {"remove_keyboard": True}}
        answer = (await client.post(url, json=body)).json()
        assert answer["ok"] and answer["result"]["text"] == "[1, 2]"
        answer = (await client.get(f"{api.bot_url}{api.token}/getMe")).json()
        assert answer["result"]["username"] == api.bot_username
    first, second = api.calls_to("sendMessage")
    assert first.params == {"chat_id": ALEX, "text": "true", "protect_content": True}
    assert second.params["reply_markup"] == {"remove_keyboard": True}


async def test_validation_errors(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ALEX, " ")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALEX, "x" * 4097)
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(ALEX, "hi", reply_parameters=ReplyParameters(99))
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("new", chat_id=ALEX, message_id=99)
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await bot.copy_message(ALEX, from_chat_id=SAM, message_id=99)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(ALEX, b"data", caption="c" * 1025)
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(ALEX, "hi", reply_markup=keyboard(("x", "d" * 65)))
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(ALEX, 99)
    user_message = api.send_text(ALEX, "mine")
    with pytest.raises(BadRequest, match="can't be edited"):
        await bot.edit_message_text("theirs", chat_id=ALEX, message_id=user_message.message_id)
    assert api.sent_to(ALEX) == []
    assert all(c.error_code == 400 for c in api.calls if not c.ok)


async def test_parse_modes(api: FakeBotApi, bot: Bot) -> None:
    html = await bot.send_message(
        ALEX, "<b>Hi</b> &lt;3 <a href='https://x.org'>link</a>", parse_mode=ParseMode.HTML
    )
    assert html.text == "Hi <3 link"
    assert [(e.type, e.offset, e.length) for e in html.entities] == [
        ("bold", 0, 2),
        ("text_link", 6, 4),
    ]
    md = await bot.send_message(ALEX, r"*Hi* there\. 1\+1", parse_mode=ParseMode.MARKDOWN_V2)
    assert md.text == "Hi there. 1+1"
    assert [(e.type, e.offset, e.length) for e in md.entities] == [("bold", 0, 2)]

    with pytest.raises(BadRequest, match=r"(?i)unsupported start tag"):
        await bot.send_message(ALEX, "a < b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(ALEX, "Thanks.", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match=r"(?i)find end tag"):
        await bot.send_message(ALEX, "<i>open", parse_mode=ParseMode.HTML)


async def test_copy_keeps_content_and_replaces_caption(api: FakeBotApi, bot: Bot) -> None:
    text = api.send_text(SAM, "/start secret")
    assert text.raw["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    photo = api.send_media(SAM, "photo", caption="sunset")

    copied = await bot.copy_message(ALEX, from_chat_id=SAM, message_id=text.message_id)
    await bot.copy_message(ALEX, SAM, photo.message_id)
    await bot.copy_message(
        ALEX, SAM, photo.message_id, caption="<i>from Sam</i>", parse_mode="HTML"
    )

    first, second, third = api.sent_to(ALEX)
    assert copied.message_id == first.message_id == 1
    assert (first.kind, first.text, first.copied_from) == ("text", "/start secret", (SAM, 1))
    assert (second.kind, second.caption) == ("photo", "sunset")
    assert second.raw["photo"] == photo.raw["photo"]
    assert (third.caption, third.raw["caption_entities"][0]["type"]) == ("from Sam", "italic")


async def test_copy_every_media_kind(api: FakeBotApi, bot: Bot) -> None:
    for kind in MEDIA_KINDS:
        original = api.send_media(SAM, kind)
        await bot.copy_message(ALEX, SAM, original.message_id)
    copies = api.sent_to(ALEX)
    assert [m.kind for m in copies] == list(MEDIA_KINDS)
    poll = copies[MEDIA_KINDS.index("poll")].raw["poll"]
    assert poll["question"] == "Shall we?"
    assert copies[MEDIA_KINDS.index("dice")].raw["dice"] == {"emoji": "🎲", "value": 4}
    assert "document" in copies[MEDIA_KINDS.index("animation")].raw


async def test_forward(api: FakeBotApi, bot: Bot) -> None:
    original = api.send_text(SAM, "pass this on")
    forwarded = await bot.forward_message(ALEX, SAM, original.message_id)
    assert forwarded.text == "pass this on"
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.sender_user.id == SAM  # type: ignore[attr-defined]


async def test_upload_get_file_and_download(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_document(ALEX, b"%PDF fake", filename="export.pdf", caption="your data")
    assert sent.document is not None
    assert (sent.document.file_name, sent.caption) == ("export.pdf", "your data")
    telegram_file = await sent.document.get_file()
    assert telegram_file.file_path is not None
    assert telegram_file.file_path.startswith(api.file_url)
    assert bytes(await telegram_file.download_as_bytearray()) == b"%PDF fake"

    again = await bot.send_photo(ALEX, sent.document.file_id)  # reuse by file_id
    assert again.photo[-1].file_id == sent.document.file_id
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_voice(ALEX, "no-such-file")

    voice = api.send_media(ALEX, "voice")
    voice_file = await bot.get_file(voice.raw["voice"]["file_id"])
    assert bytes(await voice_file.download_as_bytearray()) == f"fake voice from {ALEX}".encode()


async def test_edits_are_visible_and_checked(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(ALEX, "Choose", reply_markup=keyboard(("A", "a")))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "Choose", ALEX, sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    await bot.edit_message_text("Chosen: A", chat_id=ALEX, message_id=sent.message_id)
    [stored] = api.sent_to(ALEX)
    assert (stored.text, stored.edited) == ("Chosen: A", True)
    assert stored.buttons() == []  # an edit without reply_markup drops the keyboard

    await bot.edit_message_reply_markup(ALEX, sent.message_id, reply_markup=keyboard(("B", "b")))
    assert stored.buttons() == [[("B", "b")]]

    doc = await bot.send_document(ALEX, b"x", filename="a.txt", caption="old")
    await bot.edit_message_caption(ALEX, doc.message_id, caption="new")
    assert api.sent_to(ALEX)[-1].caption == "new"
    with pytest.raises(BadRequest, match="no text in the message"):
        await bot.edit_message_text("text", ALEX, doc.message_id)

    assert await bot.delete_message(ALEX, doc.message_id)
    assert [m.message_id for m in api.sent_to(ALEX)] == [sent.message_id]
    assert api.deleted[-1].message_id == doc.message_id


async def test_commands_by_scope(api: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("pause", "Pause")])
    await bot.set_my_commands([BotCommand("stop", "Stop")], scope=BotCommandScopeChat(ALEX))
    await bot.set_my_commands(
        [BotCommand("start", "Anfangen")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="de",
    )
    assert set(api.commands) == {"default", f"chat:{ALEX}", "all_private_chats/de"}
    assert api.commands["default"][1] == {"command": "pause", "description": "Pause"}
    assert [c.command for c in await bot.get_my_commands()] == ["start", "pause"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(ALEX))
    assert f"chat:{ALEX}" not in api.commands
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_chats_actions_and_leaving(api: FakeBotApi, bot: Bot) -> None:
    chat = await bot.get_chat(ALEX)
    assert (chat.first_name, chat.username, chat.type) == ("Alex", "alex", "private")
    assert await bot.send_chat_action(ALEX, "typing")
    api.add_bot_to_group(GROUP, ALEX)
    assert await bot.leave_chat(GROUP)
    assert api.left_chats == [GROUP]
    with pytest.raises(Forbidden, match="not a member"):
        await bot.send_message(GROUP, "still here?")
    with pytest.raises(BadRequest):
        await bot.leave_chat(ALEX)


async def test_get_updates_offsets_and_long_poll(api: FakeBotApi, bot: Bot) -> None:
    first = api.send_text(ALEX, "one")
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == [first.text]
    assert api.pending_updates() == 1  # not confirmed until an offset passes it

    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=10))
    await api.wait_for_update_consumed(updates[-1].update_id)
    api.send_text(ALEX, "two")
    woken = await poll
    assert [u.message.text for u in woken if u.message] == ["two"]
    assert loop.time() - started < 2  # woke at once, not after the 10 s timeout

    empty = await bot.get_updates(offset=woken[-1].update_id + 1, timeout=0)
    assert empty == ()
    assert api.pending_updates() == 0


async def test_stop_releases_a_long_poll() -> None:
    api = FakeBotApi()
    await api.start()
    async with Bot(api.token, base_url=api.bot_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await api.wait_until(lambda: bool(api.calls_to("getUpdates")), what="a long poll")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await api.stop()
        assert await poll == ()
        assert loop.time() - started < 2


async def test_allowed_updates_and_push_update(api: FakeBotApi, bot: Bot) -> None:
    reaction = {
        "message_reaction": {
            "chat": {"id": ALEX, "type": "private"},
            "message_id": 1,
            "date": 0,
            "old_reaction": [],
            "new_reaction": [],
        }
    }
    api.push_update(reaction)
    update_id = api.push_update(
        {"message": {"message_id": 7, "date": 0, "chat": {"id": ALEX, "type": "private"}}}
    )
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [update_id]  # reactions are opt-in
    assert api.messages(ALEX)[-1].message_id == 7
    assert api.send_text(ALEX, "next").message_id == 8


async def test_push_raw_hands_out_anything_verbatim_in_its_place(api: FakeBotApi) -> None:
    before = api.send_text(ALEX, "before")
    place = api.push_raw({"update_id": "not a number", "message": "not a message"})
    after = api.send_text(ALEX, "after")
    assert before.update_id is not None and after.update_id is not None
    assert before.update_id < place < after.update_id
    url = f"{api.bot_url}{api.token}/getUpdates"
    async with httpx.AsyncClient() as client:
        batch = (await client.post(url, json={"allowed_updates": ["message"]})).json()["result"]
        assert batch[1] == {"update_id": "not a number", "message": "not a message"}
        assert [u["update_id"] for u in batch[::2]] == [before.update_id, after.update_id]
        assert api.pending_updates() == 3
        # An offset past a later update confirms it, as any other.
        await client.post(url, json={"offset": after.update_id + 1})
    assert api.pending_updates() == 0


# --- faults --------------------------------------------------------------------------------------


# PTB 22 warns on every RetryAfter that retry_after will become a timedelta.
RETRY_AFTER_WARNING = "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"


@pytest.mark.filterwarnings(RETRY_AFTER_WARNING)
async def test_faults_map_to_ptb_exceptions(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ALEX, "hi")
    assert caught.value.retry_after == 7

    api.fail_next("sendMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(ALEX, "hi")
    await bot.send_message(ALEX, "hi")

    api.fail_next(chat_id=SAM, status=403)
    await bot.send_message(ALEX, "not this chat")
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.copy_message(SAM, ALEX, 1)

    assert [m.text for m in api.sent_to(ALEX)] == ["hi", "not this chat"]
    with pytest.raises(ValueError, match="does not implement"):
        api.fail_next("send_message")
    failed = [(c.method, c.error_code) for c in api.calls if not c.ok]
    assert failed == [("sendMessage", 429), ("sendMessage", 500), ("sendMessage", 500),
                      ("copyMessage", 403)]  # fmt: skip


async def test_slow_answer_times_out_but_the_message_was_sent(api: FakeBotApi) -> None:
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(api.token, base_url=api.bot_url, request=request) as bot:
        api.fail_next("sendMessage", status=200, delay=5)
        with pytest.raises(TimedOut):
            await bot.send_message(ALEX, "slow")
    assert [m.text for m in api.sent_to(ALEX)] == ["slow"]


async def test_blocked_user(api: FakeBotApi, bot: Bot) -> None:
    api.block_bot(ALEX)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALEX, "hello?")
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None
    assert member.new_chat_member.status == "kicked"
    api.unblock_bot(ALEX)
    await bot.send_message(ALEX, "welcome back")


@pytest.mark.filterwarnings(RETRY_AFTER_WARNING)
async def test_enforce_limits(api: FakeBotApi, bot: Bot) -> None:
    api.enforce_limits(per_second=3, per_chat_interval=1.0)
    await bot.send_message(ALEX, "one")
    with pytest.raises(RetryAfter):
        await bot.send_message(ALEX, "two")
    for user_id in (SAM, 2001):
        api.add_user(user_id, "Someone")
        await bot.send_message(user_id, "hi")
    api.add_user(2002, "Fourth")
    with pytest.raises(RetryAfter):
        await bot.send_message(2002, "hi")
    assert api.violations == [("chat", ALEX), ("global", None)]


async def test_wait_for_messages_explains_a_timeout(api: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(ALEX, "only one")
    with pytest.raises(AssertionError, match="2 bot message") as caught:
        await api.wait_for_messages(ALEX, 2, timeout=0.1)
    assert "'only one'" in str(caught.value)


# --- a real Application, polling -----------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Copy whatever arrives back, as a reply to it."""
    message = update.effective_message
    assert message is not None
    await context.bot.copy_message(
        chat_id=message.chat_id,
        from_chat_id=message.chat_id,
        message_id=message.message_id,
        reply_parameters=ReplyParameters(message.message_id),
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer two buttons, remembering the deep-link argument."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        f"Welcome ({' '.join(context.args or [])})",
        reply_markup=keyboard(("Yes", "consent:yes"), ("Not now", "consent:no")),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the tap and turn the question into its answer."""
    query = update.callback_query
    assert query is not None
    await query.answer("Noted")
    await query.edit_message_text(f"You chose {query.data}")


async def on_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say hello in a group the bot was added to."""
    member = update.my_chat_member
    assert member is not None
    if member.new_chat_member.status == "member":
        await context.bot.send_message(member.chat.id, "Hello, group")


@pytest.fixture
async def app(api: FakeBotApi) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.bot_url)
        .base_file_url(api.file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(ChatMemberHandler(on_membership))
    application.add_handler(MessageHandler(filters.ALL & ~filters.COMMAND, echo))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        yield application
        await application.updater.stop()
        await application.stop()


async def test_application_echoes_text_and_replies(api: FakeBotApi, app: Application) -> None:  # type: ignore[type-arg]
    first = api.send_text(ALEX, "123")
    reply = api.send_text(ALEX, "a reply", reply_to=first.message_id)
    assert reply.raw["reply_to_message"]["text"] == "123"

    echoed = await api.wait_for_messages(ALEX, 2)
    assert [m.text for m in echoed] == ["123", "a reply"]
    assert [m.reply_to_message_id for m in echoed] == [first.message_id, reply.message_id]
    assert [m.copied_from for m in echoed] == [(ALEX, 1), (ALEX, 2)]
    assert echoed[1].raw["reply_to_message"]["message_id"] == reply.message_id
    assert [c.method for c in api.calls[:2]] == ["getMe", "deleteWebhook"]


async def test_application_receives_every_media_kind(api: FakeBotApi, app: Application) -> None:  # type: ignore[type-arg]
    for kind in MEDIA_KINDS:
        api.send_media(SAM, kind, caption="look" if kind in ("photo", "voice") else None)
    copies = await api.wait_for_messages(SAM, len(MEDIA_KINDS))
    assert sorted(m.kind for m in copies) == sorted(MEDIA_KINDS)
    assert [m.caption for m in copies if m.caption] == ["look", "look"]


async def test_application_buttons_and_callbacks(api: FakeBotApi, app: Application) -> None:  # type: ignore[type-arg]
    api.send_text(ALEX, "/start abc123")
    [welcome] = await api.wait_for_messages(ALEX)
    assert welcome.text == "Welcome (abc123)"
    assert welcome.buttons() == [[("Yes", "consent:yes")], [("Not now", "consent:no")]]

    query_id = api.press_button(ALEX, welcome.message_id, "consent:yes")
    await api.wait_until(lambda: welcome.edited, what="the welcome to be edited")
    assert api.answered_callbacks[query_id]["text"] == "Noted"
    assert welcome.text == "You chose consent:yes"
    assert api.sent_to(ALEX) == [welcome]
    with pytest.raises(AssertionError, match="no button"):
        api.press_button(ALEX, welcome.message_id, "consent:maybe")


async def test_application_group_membership(api: FakeBotApi, app: Application) -> None:  # type: ignore[type-arg]
    api.add_bot_to_group(GROUP, SAM)
    [hello] = await api.wait_for_messages(GROUP)
    assert hello.text == "Hello, group"
    said = api.send_group_text(GROUP, SAM, "hi all")
    echoed = await api.wait_for_messages(GROUP, 2)
    assert echoed[-1].text == "hi all"
    assert said.raw["chat"]["type"] == "group"
    assert said.raw["from"]["id"] == SAM


async def test_application_receives_edits_and_channel_posts(
    api: FakeBotApi,
    app: Application,  # type: ignore[type-arg]
) -> None:
    first = api.send_text(ALEX, "a typo")
    await api.wait_for_messages(ALEX)
    api.edit_text(ALEX, first.message_id, "fixed")
    echoed = await api.wait_for_messages(ALEX, 2)
    assert (first.text, first.edited) == ("fixed", True)
    assert echoed[-1].text == "fixed"
    with pytest.raises(AssertionError, match="no text message"):
        api.edit_text(ALEX, echoed[-1].message_id, "not mine")

    api.post_to_channel(CHANNEL, "news")
    [copied] = await api.wait_for_messages(CHANNEL)
    assert copied.text == "news"
    [post] = [m for m in api.messages(CHANNEL) if not m.from_bot]
    assert post.raw["chat"]["type"] == "channel"
    assert "from" not in post.raw and post.raw["sender_chat"]["id"] == CHANNEL


async def test_application_update_is_confirmed(api: FakeBotApi, app: Application) -> None:  # type: ignore[type-arg]
    message = api.send_text(SAM, "hello")
    assert message.update_id == api.last_update_id
    await api.wait_for_update_consumed(message.update_id)
    await api.wait_for_messages(SAM)
    assert api.pending_updates() == 0


async def test_webhook_set_and_deleted(api: FakeBotApi, bot: Bot) -> None:
    url = "http://127.0.0.1:9/hook"  # nothing listens there; no update is pending anyway
    assert await bot.set_webhook(url, secret_token="s3cret_-token")
    assert (api.webhook_url, api.webhook_secret) == (url, "s3cret_-token")
    assert (await bot.get_webhook_info()).url == url
    with pytest.raises(Conflict):
        await bot.get_updates()
    with pytest.raises(BadRequest, match="unallowed characters"):
        await bot.set_webhook(url, secret_token="not allowed")
    assert await bot.delete_webhook()
    assert (api.webhook_url, api.webhook_secret) == ("", None)
    api.send_text(ALEX, "back to polling")
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.text == "back to polling"
    assert api.webhook_posts == []
