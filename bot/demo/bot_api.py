"""A fake Telegram Bot API server, for the tests and for ``python -m bot demo``.

``FakeBotApi`` is a small aiohttp server on 127.0.0.1 that speaks enough of the Bot API for
the real python-telegram-bot stack (``telegram.Bot``, ``Application``, ``Updater``) to run
against it over HTTP, in the test's own event loop. A test plays the people (``add_user``,
``send_text``, ``press_button``, ...) and then asks what the bot did (``sent_to``, ``calls``,
``answered_callbacks``, ...), waiting on events rather than sleeping::

    async with running_fake_api() as api:
        api.add_user(42, "Alex")
        app = ApplicationBuilder().token(api.token).base_url(api.bot_url)...
        api.send_text(42, "/start")
        [reply] = await api.wait_for_messages(42)

What it fakes:

- the request format PTB uses (urlencoded or multipart form, every non-string value
  JSON-encoded; a JSON body works too) and Telegram's answers (``ok``, ``error_code``,
  ``description``, ``parameters.retry_after``);
- long polling: getUpdates with offset/limit/timeout/allowed_updates wakes as soon as an update
  is pushed and answers at once when the server stops;
- webhooks: after setWebhook (``webhook_url``, ``webhook_secret`` recorded), every update is
  POSTed to the URL (on this machine only) with the ``X-Telegram-Bot-Api-Secret-Token``
  header, one at a time and in order, and retried until the bot answers 200
  (``webhook_posts`` keeps each attempt); getUpdates answers 409 meanwhile.
  ``post_to_webhook`` sends a request of the test's own, with any secret or none
  (``text_update`` makes one);
- per-chat message ids, replies, inline keyboards, copies, forwards, edits (an edit without
  reply_markup drops the inline keyboard, as in Telegram; an identical edit is "message is not
  modified"), deletions, callback answers, commands per scope, files and their download route;
- the HTML, MarkdownV2 and Markdown parse modes, as far as turning markup into plain text and
  entities and rejecting what Telegram rejects (an unknown tag, an unescaped "." in MarkdownV2);
- edits of a user's text (edited_message) and posts in a channel (channel_post);
- supergroups with forum topics (``add_forum_group``, ``send_topic_text``): createForumTopic,
  editForumTopic, closeForumTopic, reopenForumTopic, deleteForumTopic, message_thread_id on
  sends and copies (``is_topic_message`` on the messages), getChat (``is_forum``) and
  getChatMember (the bot's ``can_manage_topics``, members' statuses); what people do to the
  group in Telegram (``delete_topic_by_hand``, ``close_topic_by_hand``, ``take_bot_rights``,
  ``remove_bot_from_group``) answered with Telegram's own errors ("message thread not found",
  TOPIC_CLOSED, "not enough rights to create a topic", "bot was kicked from the supergroup
  chat");
- faults: injected errors and slow answers, users who block the bot, optional flood limits
  (overall, per chat, and about 20 messages a minute in one group),
  updates the bot cannot read (``push_raw`` hands out anything verbatim).

What it does not fake: certificates and Telegram's webhook concurrency and back-off (it
delivers one update at a time and retries after a tenth of a second), inline mode,
payments, media groups, a channel's members and admins, business connections, cross-chat
replies, group privacy mode (the bot sees every group message), the General topic's own id,
the 409 between two concurrent getUpdates, and Telegram's exact length arithmetic
(lengths here count code points).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

JSONDict = dict[str, Any]
Params = dict[str, Any]

TEXT_LIMIT = 4096
WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_RETRY_SECONDS = 0.1
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200

# Parameters whose value is always a plain string, even when it looks like a number or JSON.
_STRING_KEYS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "url", "description",
    "short_description", "name", "title", "question", "emoji", "action", "language_code",
    "file_id", "secret_token", "inline_message_id", "address", "business_connection_id",
    "message_effect_id", "first_name", "last_name", "phone_number", "performer", "explanation",
    "vcard", "query", "data", "photo", "video", "voice", "audio", "document", "sticker",
    "animation", "video_note", "thumbnail", "ip_address"
})  # fmt: skip
# Parameters that carry a JSON object or array.
_JSON_KEYS = frozenset({
    "reply_markup", "reply_parameters", "entities", "caption_entities", "commands", "scope",
    "allowed_updates", "link_preview_options", "media", "options", "explanation_entities",
    "question_entities"
})  # fmt: skip
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?\d+\.\d*(?:[eE][-+]?\d+)?")

_FILE_KINDS = (
    "photo",
    "video",
    "voice",
    "audio",
    "document",
    "sticker",
    "animation",
    "video_note",
)
_OTHER_KINDS = ("location", "contact", "venue", "poll", "dice", "game")
MEDIA_KINDS = _FILE_KINDS + _OTHER_KINDS
_CAPTIONED = frozenset({"photo", "video", "voice", "audio", "document", "animation"})
# Order matters: an animation message also carries "document", a venue also "location".
_KIND_KEYS = (
    "text", "animation", "photo", "video", "voice", "audio", "document", "sticker",
    "video_note", "venue", "location", "contact", "poll", "dice", "game",
)  # fmt: skip
_CONTENT_KEYS = frozenset(_KIND_KEYS) | {
    "entities", "caption", "caption_entities", "link_preview_options", "has_media_spoiler",
    "show_caption_above_media",
}  # fmt: skip
_MEDIA_METHODS = {
    "sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice", "sendVideo": "video",
    "sendAudio": "audio", "sendSticker": "sticker", "sendAnimation": "animation",
    "sendVideoNote": "video_note",
}  # fmt: skip
_FOLDERS = {
    "photo": ("photos", ".jpg"), "video": ("videos", ".mp4"), "voice": ("voice", ".oga"),
    "audio": ("music", ".mp3"), "document": ("documents", ".bin"),
    "sticker": ("stickers", ".webp"), "animation": ("animations", ".mp4"),
    "video_note": ("video_notes", ".mp4"),
}  # fmt: skip
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"
})  # fmt: skip
# Update types Telegram leaves out unless they are asked for by name.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_BLOCKED = "Forbidden: bot was blocked by the user"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """An error answer of the Bot API, raised inside a method and turned into JSON."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class ApiCall:
    """One request the server received (``ok``/``error_code`` are its answer)."""

    method: str
    params: Params
    ok: bool = True
    error_code: int | None = None
    at: float = 0.0


@dataclass
class WebhookPost:
    """One POST of an update to the bot's webhook: what was sent and the HTTP status back
    (0 when the bot could not be reached)."""

    update_id: int
    secret_token: str | None
    status: int


@dataclass
class FakeMessage:
    """A message in a chat, as the server keeps it; ``raw`` is the Telegram Message dict."""

    message_id: int
    chat_id: int
    from_bot: bool
    kind: str
    text: str | None = None
    caption: str | None = None
    reply_markup: JSONDict | None = None
    reply_to_message_id: int | None = None
    copied_from: tuple[int, int] | None = None
    edited: bool = False
    silent: bool = False  # sent with disable_notification: no sound, no banner
    raw: JSONDict = field(default_factory=dict, repr=False)
    update_id: int | None = None  # the update that brought a user's message to the bot

    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard as rows of (text, callback_data); empty without one."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text", ""), b.get("callback_data")) for b in row] for row in rows]


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass
class _StoredFile:
    file_id: str
    unique_id: str
    kind: str
    path: str
    data: bytes = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class _Fault:
    method: str | None
    chat_id: int | None
    status: int
    description: str | None
    retry_after: int | None
    remaining: int
    delay: float

    def matches(self, method: str, params: Params) -> bool:
        if self.method is None:
            if method == "getupdates":
                return False
        elif self.method != method:
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id

    def error(self) -> ApiError:
        retry_after = self.retry_after
        if self.status == 429 and retry_after is None:
            retry_after = 1
        description = self.description
        if description is None:
            description = _DEFAULT_DESCRIPTIONS.get(self.status, f"Error {self.status}")
            if self.status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
        return ApiError(self.status, description, retry_after)


@dataclass
class ForumTopic:
    """One topic of a forum supergroup (its id is the id of the message that created it)."""

    thread_id: int
    name: str
    closed: bool = False


@dataclass
class _Chat:
    raw: JSONDict
    messages: dict[int, FakeMessage] = field(default_factory=dict)
    next_message_id: int = 1
    bot_member: bool = True
    blocked: bool = False
    topics: dict[int, ForumTopic] = field(default_factory=dict)
    # A supergroup's members by user id: "creator", "administrator", "member", "left", ...
    members: dict[int, str] = field(default_factory=dict)
    bot_status: str = "member"
    bot_can_manage_topics: bool = False
    bot_kicked: bool = False

    @property
    def id(self) -> int:
        return int(self.raw["id"])

    @property
    def private(self) -> bool:
        return bool(self.raw["type"] == "private")


def _u16(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _kind_of(raw: JSONDict) -> str:
    return next((key for key in _KIND_KEYS if key in raw), "unknown")


def _decode_value(key: str, value: str) -> Any:
    """Undo PTB's encoding: strings travel raw, everything else as JSON."""
    if key in _STRING_KEYS:
        return value
    if key in _JSON_KEYS or value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {key} JSON object") from None
    if value in ("true", "false"):
        return value == "true"
    if _INT_RE.fullmatch(value):
        return int(value)
    if _FLOAT_RE.fullmatch(value):
        return float(value)
    return value


# --- parse modes -------------------------------------------------------------------------------

_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_HTML_ATTR = re.compile(r"""([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_HTML_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot);")
_HTML_KINDS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
_MD_KINDS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _parse_html(src: str) -> tuple[str, list[JSONDict]]:
    out: list[str] = []
    pos = 0
    stack: list[tuple[str, int, JSONDict]] = []
    entities: list[JSONDict] = []
    i = 0
    while i < len(src):
        ch = src[i]
        if ch == "<":
            m = _HTML_TAG.match(src, i)
            if m is None:
                raise _bad(
                    f'can\'t parse entities: Unsupported start tag "" at byte offset '
                    f"{_byte_offset(src, i)}"
                )
            closing, name = m.group(1) == "/", m.group(2).lower()
            if closing:
                if not stack or stack[-1][0] != name:
                    expected = f"</{stack[-1][0]}>" if stack else "nothing"
                    raise _bad(
                        f"can't parse entities: Unmatched end tag at byte offset "
                        f'{_byte_offset(src, i)}, expected "{expected}", found "</{name}>"'
                    )
                _, start, opened = stack.pop()
                if pos > start and not opened.pop("_merged", False):
                    entities.append({"offset": start, "length": pos - start, **opened})
            else:
                if name not in _HTML_KINDS:
                    raise _bad(
                        f'can\'t parse entities: Unsupported start tag "{name}" at byte offset '
                        f"{_byte_offset(src, i)}"
                    )
                attrs = {
                    a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or ""
                    for a in _HTML_ATTR.finditer(m.group(3))
                }
                extra: JSONDict = {"type": _HTML_KINDS[name]}
                if name == "a":
                    if not attrs.get("href"):
                        raise _bad("can't parse entities: Can't find end of a link URL")
                    extra["url"] = attrs["href"]
                elif name == "span" and attrs.get("class") != "tg-spoiler":
                    raise _bad('can\'t parse entities: Tag "span" must have class "tg-spoiler"')
                elif name == "blockquote" and "expandable" in attrs:
                    extra["type"] = "expandable_blockquote"
                elif name == "tg-emoji":
                    extra["custom_emoji_id"] = attrs.get("emoji-id", "")
                elif name == "code" and stack and stack[-1][0] == "pre":
                    language = attrs.get("class", "").removeprefix("language-")
                    if language:
                        stack[-1][2]["language"] = language
                    extra["_merged"] = True
                stack.append((name, pos, extra))
            i = m.end()
            continue
        if ch == "&" and (m := _HTML_ENTITY.match(src, i)):
            ref = m.group(1)
            if ref.startswith("#x"):
                ch = chr(int(ref[2:], 16))
            elif ref.startswith("#"):
                ch = chr(int(ref[1:]))
            else:
                ch = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[ref]
            i = m.end()
        else:
            i += 1
        out.append(ch)
        pos += _u16(ch)
    if stack:
        raise _bad(
            "can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[0][0]}"'
        )
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _parse_markdown(src: str, *, v2: bool) -> tuple[str, list[JSONDict]]:
    """MarkdownV2 (``v2``) or legacy Markdown: markers become entities, escapes are undone."""
    out: list[str] = []
    pos = 0
    stack: list[tuple[str, int, int]] = []  # (marker, utf-16 start, byte offset)
    entities: list[JSONDict] = []

    def emit(text: str) -> None:
        nonlocal pos
        out.append(text)
        pos += _u16(text)

    def find_end(marker: str, start: int) -> int:
        j = start
        while j < len(src):
            if v2 and src[j] == "\\":
                j += 2
                continue
            if src.startswith(marker, j):
                return j
            j += 1
        raise _bad(
            f"can't parse entities: Can't find end of the entity starting at byte offset "
            f"{_byte_offset(src, start - len(marker))}"
        )

    def unescape(text: str) -> str:
        return re.sub(r"\\(.)", r"\1", text, flags=re.S) if v2 else text

    i = 0
    while i < len(src):
        ch = src[i]
        if ch == "\\" and i + 1 < len(src) and (v2 or src[i + 1] in "_*`["):
            emit(src[i + 1])
            i += 2
        elif src.startswith("```", i):
            end = find_end("```", i + 3)
            body, language = src[i + 3 : end], ""
            first, newline, rest = body.partition("\n")
            if newline and first and " " not in first:
                body, language = rest, first
            start = pos
            emit(unescape(body))
            entity: JSONDict = {"type": "pre", "offset": start, "length": pos - start}
            if language:
                entity["language"] = language
            entities.append(entity)
            i = end + 3
        elif ch == "`":
            end = find_end("`", i + 1)
            start = pos
            emit(unescape(src[i + 1 : end]))
            entities.append({"type": "code", "offset": start, "length": pos - start})
            i = end + 1
        elif ch == "[":
            stack.append(("[", pos, _byte_offset(src, i)))
            i += 1
        elif ch == "]" and stack and stack[-1][0] == "[":
            _, start, _offset = stack.pop()
            if not src.startswith("(", i + 1):
                raise _bad("can't parse entities: Can't find end of a link URL")
            end = find_end(")", i + 2)
            url = unescape(src[i + 2 : end])
            entities.append(
                {"type": "text_link", "offset": start, "length": pos - start, "url": url}
            )
            i = end + 1
        elif v2 and ch == ">" and (i == 0 or src[i - 1] == "\n"):
            i += 1  # a blockquote line; the fake keeps its text and drops the quote entity
        elif (marker := _md_marker(src, i, v2)) is not None:
            if stack and stack[-1][0] == marker:
                _, start, _offset = stack.pop()
                entities.append(
                    {"type": _MD_KINDS[marker], "offset": start, "length": pos - start}
                )
            elif any(m == marker for m, _, _ in stack):
                raise _bad(
                    "can't parse entities: Can't find end of the entity starting at byte offset "
                    f"{next(o for m, _, o in stack if m == marker)}"
                )
            else:
                stack.append((marker, pos, _byte_offset(src, i)))
            i += len(marker)
        elif v2 and ch in _MDV2_RESERVED:
            raise _bad(
                f"can't parse entities: Character '{ch}' is reserved and must be escaped "
                "with the preceding '\\'"
            )
        else:
            emit(ch)
            i += 1
    if stack:
        raise _bad(
            "can't parse entities: Can't find end of the entity starting at byte offset "
            f"{stack[0][2]}"
        )
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _md_marker(src: str, i: int, v2: bool) -> str | None:
    if v2:
        for marker in ("||", "__"):
            if src.startswith(marker, i):
                return marker
        return src[i] if src[i] in "*_~" else None
    return src[i] if src[i] in "*_" else None


def _format(text: str, parse_mode: Any, entities: Any) -> tuple[str, list[JSONDict]]:
    """Plain text and entities for a text or caption, as Telegram would store them."""
    if parse_mode in (None, ""):
        if entities is None:
            return text, []
        if not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        return text, entities
    mode = str(parse_mode).lower()
    if mode == "html":
        return _parse_html(text)
    if mode in ("markdownv2", "markdown"):
        return _parse_markdown(text, v2=mode == "markdownv2")
    raise _bad(f"unsupported parse_mode {parse_mode!r}")


def _message_text(p: Params) -> tuple[str, list[JSONDict]]:
    """The plain text and entities of a sendMessage or editMessageText, validated."""
    text = p.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _bad("message text is empty")
    plain, entities = _format(text, p.get("parse_mode"), p.get("entities"))
    if not plain.strip():
        raise _bad("message text is empty")
    if len(plain) > TEXT_LIMIT:
        raise _bad("message is too long")
    return plain, entities


def _command_entities(text: str) -> list[JSONDict]:
    m = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?", text)
    return [{"type": "bot_command", "offset": 0, "length": _u16(m.group())}] if m else []


def _check_markup(markup: Any) -> JSONDict | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard markup JSON object")
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad("can't parse inline keyboard button: Text is empty")
            if len(button) < 2:
                raise _bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
    elif not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
        raise _bad("can't parse reply keyboard markup JSON object")
    return markup


def _without_reply(raw: JSONDict) -> JSONDict:
    return {k: copy.deepcopy(v) for k, v in raw.items() if k != "reply_to_message"}


# --- the server --------------------------------------------------------------------------------


class FakeBotApi:
    """The fake Bot API server; see the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        bot_username: str = "porchlight_test_bot",
        *,
        bot_first_name: str = "Porchlight",
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.calls: list[ApiCall] = []
        self.answered_callbacks: dict[str, JSONDict] = {}
        self.left_chats: list[int] = []
        self.commands: dict[str, list[JSONDict]] = {}
        self.violations: list[tuple[str, int | None]] = []
        self.deleted: list[FakeMessage] = []
        self.internal_errors: list[Exception] = []
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_posts: list[WebhookPost] = []

        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, _Chat] = {}
        self._files: dict[str, _StoredFile] = {}
        self._updates: list[JSONDict] = []
        self._raw_updates: dict[int, Any] = {}  # what push_raw queued, by its place in the queue
        self._next_update_id = 1
        self._next_id = 1  # files, polls, callback queries
        self._open_callbacks: set[str] = set()
        self._allowed_updates: set[str] | None = None
        self._faults: list[_Fault] = []
        self._limits: tuple[int, float] | None = None
        self._send_times: deque[float] = deque()
        self._last_send: dict[int, float] = {}
        self._group_per_minute: int | None = None
        self._group_minute = 60.0
        self._group_sends: dict[int, deque[float]] = {}

        self._changed = asyncio.Event()
        self._stopped = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._webhook_task: asyncio.Task[None] | None = None

        methods: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "close": self._true,
            "logOut": self._true,
            "sendMessage": self._send_message,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "leaveChat": self._leave_chat,
            "getChat": self._get_chat,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChatMember": self._get_chat_member,
            "createForumTopic": self._create_forum_topic,
            "editForumTopic": self._edit_forum_topic,
            "closeForumTopic": functools.partial(self._close_forum_topic, True),
            "reopenForumTopic": functools.partial(self._close_forum_topic, False),
            "deleteForumTopic": self._delete_forum_topic,
        }
        self._methods = {name.lower(): handler for name, handler in methods.items()}
        for name, kind in _MEDIA_METHODS.items():
            self._methods[name.lower()] = functools.partial(self._send_media, kind)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Serve on 127.0.0.1, on this port (0: any free one)."""
        self._stopped.clear()
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # handler_cancellation: a request whose client went away (PTB cancelling its long poll,
        # a client-side timeout) stops here too instead of lingering until its own timeout.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=2.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Release every long poll and slow answer, then close the server."""
        if self._runner is None:
            return
        self._stopped.set()
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        await self._runner.cleanup()
        self._runner = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def bot_url(self) -> str:
        """Ready for ``base_url=`` of ``telegram.Bot`` / ``ApplicationBuilder``."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """Ready for ``base_file_url=``."""
        return f"{self.base_url}/file/bot"

    # --- people and updates ---------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        language_code: str = "en",
        username: str | None = None,
    ) -> None:
        """A Telegram user who has opened a private chat with the bot (chat id == user id)."""
        user: JSONDict = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        chat: JSONDict = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            user["username"] = chat["username"] = username
        self._users[user_id] = user
        self._chats.setdefault(user_id, _Chat(raw=chat))

    def send_text(self, user_id: int, text: str, *, reply_to: int | None = None) -> FakeMessage:
        """The user writes ``text`` in their private chat with the bot."""
        content: JSONDict = {"text": text}
        if entities := _command_entities(text):
            content["entities"] = entities
        return self._user_message(user_id, user_id, content, reply_to)

    def send_forwarded(self, user_id: int, text: str, *, origin: str = "Kim") -> FakeMessage:
        """The user forwards into their private chat with the bot a text `origin` wrote."""
        forwarded = {"type": "hidden_user", "sender_user_name": origin, "date": int(time.time())}
        return self._user_message(
            user_id, user_id, {"text": text, "forward_origin": forwarded}, None
        )

    def send_media(
        self,
        user_id: int,
        kind: str,
        *,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> FakeMessage:
        """The user sends a photo, voice, sticker, poll, ... (see ``MEDIA_KINDS``)."""
        if kind not in MEDIA_KINDS:
            raise ValueError(f"unknown media kind {kind!r}; expected one of {MEDIA_KINDS}")
        if caption is not None and kind not in _CAPTIONED:
            raise ValueError(f"a {kind} has no caption in Telegram")
        stored = None
        if kind in _FILE_KINDS:
            names = {"document": ("notes.pdf", "application/pdf"), "audio": ("song.mp3", None)}
            name, mime = names.get(kind, (None, None))
            stored = self._new_file(kind, f"fake {kind} from {user_id}".encode(), name, mime)
        content = self._media_content(kind, stored)
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user_id, user_id, content, reply_to)

    def press_button(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        force: bool = False,
    ) -> str:
        """The user taps an inline button of the bot's message; returns the callback query id.

        The button must exist on the message unless ``force`` (a stale or forged callback).
        """
        user = self._user(user_id)
        chat = self._chat_for_helper(user_id if chat_id is None else chat_id)
        message = chat.messages.get(message_id)
        if message is None or not message.from_bot:
            raise AssertionError(f"no bot message {message_id} in chat {chat.id}\n{self.dump()}")
        if not force and data not in [d for row in message.buttons() for _, d in row]:
            raise AssertionError(
                f"message {message_id} has no button with callback_data {data!r}; "
                f"buttons: {message.buttons()}"
            )
        query_id = str(4_000_000_000_000 + self._counter())
        self._open_callbacks.add(query_id)
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": copy.deepcopy(user),
                    "message": copy.deepcopy(message.raw),
                    "chat_instance": f"instance-{chat.id}",
                    "data": data,
                }
            }
        )
        return query_id

    def send_group_text(self, chat_id: int, user_id: int, text: str) -> FakeMessage:
        """The user writes in a group (created on first use, with the bot as a member)."""
        chat = self._group(chat_id)
        if not chat.bot_member:
            raise AssertionError(f"the bot is not a member of group {chat_id}")
        content: JSONDict = {"text": text}
        if entities := _command_entities(text):
            content["entities"] = entities
        return self._user_message(user_id, chat_id, content, None)

    def add_forum_group(
        self,
        chat_id: int,
        title: str = "Team",
        *,
        forum: bool = True,
        supergroup: bool = True,
        bot_admin: bool = True,
        can_manage_topics: bool = True,
        members: dict[int, str] | None = None,
    ) -> None:
        """A supergroup (with Topics on unless ``forum`` is false) the bot is in, as an
        administrator allowed to manage topics unless told otherwise; ``members`` maps user
        ids to their status ("member", "administrator", "creator")."""
        if chat_id >= 0:
            raise ValueError(f"group chat ids are negative, got {chat_id}")
        raw: JSONDict = {"id": chat_id, "type": "supergroup" if supergroup else "group"}
        raw["title"] = title
        if forum and supergroup:
            raw["is_forum"] = True
        chat = self._chats.setdefault(chat_id, _Chat(raw=raw))
        chat.raw = raw
        chat.bot_member = True
        chat.bot_kicked = False
        chat.bot_status = "administrator" if bot_admin else "member"
        chat.bot_can_manage_topics = bot_admin and can_manage_topics
        chat.members.update(members or {})

    def topics(self, chat_id: int) -> dict[int, ForumTopic]:
        """The forum's topics by thread id (deleted ones are gone)."""
        return dict(self._chat_for_helper(chat_id).topics)

    def in_topic(self, chat_id: int, thread_id: int | None) -> list[FakeMessage]:
        """The bot's messages in one topic (None: the General topic), service messages out."""
        return [
            m
            for m in self.sent_to(chat_id)
            if m.raw.get("message_thread_id") == thread_id and m.kind != "unknown"
        ]

    def send_topic_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> FakeMessage:
        """A member writes in a forum topic (``thread_id``; None: the General topic)."""
        chat = self._chat_for_helper(chat_id)
        if not chat.raw.get("is_forum"):
            raise AssertionError(f"chat {chat_id} is not a forum")
        if thread_id is not None and thread_id not in chat.topics:
            raise AssertionError(f"no topic {thread_id} in chat {chat_id}")
        content: JSONDict = {"text": text}
        if entities := _command_entities(text):
            content["entities"] = entities
        if thread_id is not None:
            content["message_thread_id"] = thread_id
            content["is_topic_message"] = True
        target = None
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None:
                raise AssertionError(f"no message {reply_to} in chat {chat_id} to reply to")
        elif thread_id is not None:
            # In a topic, a message without a reply answers the topic's first message.
            target = chat.messages.get(thread_id)
        message = self._store(
            chat, copy.deepcopy(self._user(user_id)), content, target, from_bot=False
        )
        message.update_id = self._push({"message": copy.deepcopy(message.raw)})
        return message

    def delete_topic_by_hand(self, chat_id: int, thread_id: int) -> None:
        """A member deletes a topic in Telegram: sends into it answer "message thread not
        found", topic calls about it TOPIC_ID_INVALID."""
        chat = self._chat_for_helper(chat_id)
        if thread_id not in chat.topics:
            raise AssertionError(f"no topic {thread_id} in chat {chat_id}")
        del chat.topics[thread_id]
        for message_id, message in list(chat.messages.items()):
            if message.raw.get("message_thread_id") == thread_id:
                del chat.messages[message_id]

    def close_topic_by_hand(self, chat_id: int, thread_id: int) -> None:
        """A member closes a topic in Telegram."""
        self._chat_for_helper(chat_id).topics[thread_id].closed = True

    def take_bot_rights(self, chat_id: int) -> None:
        """An administrator takes the bot's rights away (it stays a member): no more topics
        made, renamed or closed, and no writing in a closed topic."""
        chat = self._chat_for_helper(chat_id)
        chat.bot_status = "member"
        chat.bot_can_manage_topics = False

    def remove_bot_from_group(self, chat_id: int, by_user_id: int) -> None:
        """A member removes the bot from a group: every request there answers 403, and the
        bot gets a my_chat_member update (kicked)."""
        chat = self._chat_for_helper(chat_id)
        chat.bot_member = False
        chat.bot_kicked = True
        self._push(self._member_update(chat, self._user(by_user_id), chat.bot_status, "kicked"))

    def add_bot_to_group(self, chat_id: int, by_user_id: int) -> None:
        """``by_user_id`` adds the bot to a group: a my_chat_member update (left -> member)."""
        user = self._user(by_user_id)
        chat = self._group(chat_id)
        chat.bot_member = True
        chat.bot_kicked = False
        self._push(self._member_update(chat, user, "left", "member"))

    def edit_text(self, user_id: int, message_id: int, text: str) -> int:
        """The user edits their own earlier message: an edited_message update (its id)."""
        message = self._chat_for_helper(user_id).messages.get(message_id)
        if message is None or message.from_bot or message.text is None:
            raise AssertionError(f"no text message {message_id} of user {user_id} to edit")
        message.text = message.raw["text"] = text
        message.raw["edit_date"] = int(time.time())
        message.edited = True
        return self._push({"edited_message": copy.deepcopy(message.raw)})

    def post_to_channel(self, chat_id: int, text: str) -> int:
        """A post in a channel (created on first use, the bot in it): a channel_post update
        with no user behind it. Returns its update id."""
        if chat_id >= 0:
            raise ValueError(f"channel chat ids are negative, got {chat_id}")
        raw = {"id": chat_id, "type": "channel", "title": f"Channel {chat_id}"}
        chat = self._chats.setdefault(chat_id, _Chat(raw=raw))
        post = self._store(chat, copy.deepcopy(raw), {"text": text}, None, from_bot=False)
        post.raw["sender_chat"] = post.raw.pop("from")
        return self._push({"channel_post": copy.deepcopy(post.raw)})

    def push_update(self, raw: JSONDict) -> int:
        """Queue any update dict; a message in it joins its chat's history. Returns update_id."""
        raw = copy.deepcopy(raw)
        message = raw.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat = self._chats.setdefault(message["chat"]["id"], _Chat(raw=message["chat"]))
            mid = message.get("message_id")
            if isinstance(mid, int) and mid not in chat.messages:
                chat.messages[mid] = self._wrap(chat, message, from_bot=False)
                chat.next_message_id = max(chat.next_message_id, mid + 1)
                chat.messages[mid].update_id = self._push(raw)
                return int(raw["update_id"])
        return self._push(raw)

    def push_raw(self, element: Any) -> int:
        """Queue anything as the next update, handed out verbatim (a field PTB cannot read,
        an update_id that is not a number, not even an object); an offset past its place
        confirms it, as for any update. Returns the id of its place in the queue."""
        place = self._next_update_id
        self._raw_updates[place] = copy.deepcopy(element)
        return self._push({"update_id": place})

    def text_update(self, user_id: int, text: str) -> JSONDict:
        """The user writes ``text``, but the update goes to the test instead of the queue (for
        ``post_to_webhook``); it has an update id of its own."""
        chat = self._chat_for_helper(user_id)
        message = self._store(
            chat, copy.deepcopy(self._user(user_id)), {"text": text}, None, from_bot=False
        )
        message.update_id = self._next_update_id
        self._next_update_id += 1
        return {"update_id": message.update_id, "message": copy.deepcopy(message.raw)}

    async def post_to_webhook(self, update: JSONDict, *, secret_token: str | None) -> int:
        """POST an update to the bot's webhook as Telegram does, with this secret header (None:
        without one); returns the HTTP status. The update does not join the queue."""
        if not self.webhook_url:
            raise AssertionError("no webhook is set: the bot is not in webhook mode")
        async with ClientSession() as session:
            return await self._post_update(session, update, int(update["update_id"]), secret_token)

    # --- what the bot did -----------------------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[FakeMessage]:
        return [m for m in self.messages(chat_id) if m.from_bot]

    def messages(self, chat_id: int) -> list[FakeMessage]:
        chat = self._chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def file_data(self, file_id: str) -> bytes:
        """The bytes of a file the bot uploaded (or a user sent)."""
        return self._files[file_id].data

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def pending_updates(self) -> int:
        return len(self._updates)

    @property
    def last_update_id(self) -> int:
        """The id of the latest update pushed (0 before any)."""
        return self._next_update_id - 1

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "",
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking after every request and update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or predicate}\n{self.dump()}"
                )
            # Also wake now and then, for predicates that look beyond this server.
            await self._wait_change(deadline, tick=0.05)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[FakeMessage]:
        """The bot's messages in ``chat_id`` once there are at least ``count`` of them."""
        await self.wait_until(
            lambda: len(self.sent_to(chat_id)) >= count,
            timeout=timeout,
            what=f"{count} bot message(s) in chat {chat_id}",
        )
        return self.sent_to(chat_id)

    async def wait_for_update_consumed(
        self,
        update_id: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until a getUpdates offset has confirmed ``update_id`` (delivered, not handled)."""
        if update_id > self.last_update_id:
            raise ValueError(f"update {update_id} was never pushed")
        await self.wait_until(
            lambda: all(u["update_id"] != update_id for u in self._updates),
            timeout=timeout,
            what=f"update {update_id} to be confirmed by getUpdates",
        )

    def dump(self) -> str:
        """A readable summary of chats and recent calls, for assertion messages."""
        lines = ["FakeBotApi state:"]
        for chat in self._chats.values():
            lines.append(f"  chat {chat.id} ({chat.raw['type']}): {len(chat.messages)} message(s)")
            for m in list(chat.messages.values())[-10:]:
                who = "bot " if m.from_bot else "user"
                body = m.text if m.text is not None else m.caption
                extra = f" buttons={m.buttons()}" if m.buttons() else ""
                lines.append(f"    #{m.message_id} {who} {m.kind} {body!r}{extra}")
        polls = len(self.calls_to("getUpdates"))
        lines.append(f"  {len(self.calls)} call(s), {polls} getUpdates; last others:")
        for c in [c for c in self.calls if c.method.lower() != "getupdates"][-15:]:
            status = "ok" if c.ok else f"error {c.error_code}"
            shown = {k: v for k, v in c.params.items() if k in ("chat_id", "text", "message_id")}
            lines.append(f"    {c.method} {status} {shown}")
        lines.append(f"  pending updates: {[u['update_id'] for u in self._updates]}")
        if self.webhook_url:
            recent = [(w.update_id, w.status) for w in self.webhook_posts[-10:]]
            lines.append(f"  webhook {self.webhook_url}; last posts (update, status): {recent}")
        return "\n".join(lines)

    # --- faults ---------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """The next ``times`` matching requests fail with ``status`` (after ``delay`` seconds).

        ``method=None`` matches any method except getUpdates. ``status=200`` with a delay is a
        slow success: the request takes effect at once, only the answer comes late (so a client
        that times out has in fact sent the message).
        """
        if method is not None and method.lower() not in self._methods:
            raise ValueError(f"the fake does not implement {method!r}")
        self._faults.append(
            _Fault(
                method.lower() if method else None,
                chat_id,
                status,
                description,
                retry_after,
                times,
                delay,
            )
        )

    def block_bot(self, user_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: sends answer 403; a my_chat_member update (kicked),
        unless ``notify`` is false (the bot then learns of it from a 403 alone)."""
        chat = self._chat_for_helper(user_id)
        chat.blocked = True
        if notify:
            self._push(self._member_update(chat, self._user(user_id), "member", "kicked"))

    def unblock_bot(self, user_id: int) -> None:
        chat = self._chat_for_helper(user_id)
        chat.blocked = False
        self._push(self._member_update(chat, self._user(user_id), "kicked", "member"))

    def enforce_limits(
        self,
        per_second: int = 30,
        per_chat_interval: float = 1.0,
        *,
        group_per_minute: int | None = 20,
        group_minute: float = 60.0,
    ) -> None:
        """Answer 429 to sends beyond ``per_second`` overall, closer than the chat interval,
        or beyond ``group_per_minute`` in one group in any minute (None: no group limit;
        ``group_minute`` shortens the minute, for a test that cannot wait one)."""
        self._limits = (per_second, per_chat_interval)
        self._group_per_minute = group_per_minute
        self._group_minute = group_minute

    # --- HTTP -----------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/file/bot"):
            return self._download(request)
        m = re.fullmatch(r"/bot([^/]+)/([^/]+)", request.path)
        if m is None:
            body = {"ok": False, "error_code": 404, "description": "Not Found"}
            return web.json_response(body, status=404)
        token, method = m.groups()
        loop = asyncio.get_running_loop()
        call = ApiCall(method=method, params={}, at=loop.time())
        self.calls.append(call)
        try:
            call.params = await self._read_params(request)
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            fault = self._take_fault(method.lower(), call.params)
            if fault is not None and fault.status != 200:
                await self._pause(fault.delay)
                raise fault.error()
            result = await handler(call.params)
            if fault is not None:
                await self._pause(fault.delay)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            call.ok, call.error_code = False, exc.status
            status, body = exc.status, exc.body()
        except Exception as exc:  # a bug in the fake: answer 500 and keep it for the test
            self.internal_errors.append(exc)
            call.ok, call.error_code = False, 500
            raise
        finally:
            self._notify()
        return web.json_response(body, status=status, dumps=_dumps)

    async def _read_params(self, request: web.Request) -> Params:
        params: Params = {k: _decode_value(k, v) for k, v in request.query.items()}
        if request.content_type == "application/json":
            body = await request.read()
            try:
                data = json.loads(body) if body else {}
            except ValueError:
                raise _bad("can't parse JSON body") from None
            if not isinstance(data, dict):
                raise _bad("the JSON body must be an object")
            params.update(data)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = _Upload(value.filename, value.content_type, value.file.read())
                elif isinstance(value, str):
                    params[key] = _decode_value(key, value)
        for key in ("chat_id", "from_chat_id", "message_id", "user_id"):
            if isinstance(params.get(key), str) and _INT_RE.fullmatch(params[key]):
                params[key] = int(params[key])
        return params

    def _download(self, request: web.Request) -> web.StreamResponse:
        prefix = f"/file/bot{self.token}/"
        if not request.path.startswith(prefix):
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.path.removeprefix(prefix)
        stored = next((f for f in self._files.values() if f.path == path), None)
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=stored.data, content_type="application/octet-stream")

    def _take_fault(self, method: str, params: Params) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, params):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), seconds)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, deadline: float, *, tick: float | None = None) -> None:
        remaining = deadline - asyncio.get_running_loop().time()
        if tick is not None:
            remaining = min(remaining, tick)
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    # --- Bot API methods ------------------------------------------------------------------------

    async def _true(self, p: Params) -> bool:
        return True

    async def _get_me(self, p: Params) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: Params) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset, limit, timeout = p.get("offset"), p.get("limit", 100), p.get("timeout", 0)
        if not all(isinstance(v, int | float | None) for v in (offset, limit, timeout)):
            raise _bad("wrong parameter in getUpdates")
        if isinstance(p.get("allowed_updates"), list):
            self._allowed_updates = set(p["allowed_updates"]) or None
        if offset:
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            else:
                self._updates = self._updates[int(offset) :]
        limit = min(max(int(limit or 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(float(timeout or 0), 0.0)
        while True:
            self._updates = [u for u in self._updates if self._is_allowed(u)]
            if self._updates or self._stopped.is_set() or loop.time() >= deadline:
                return [self._as_sent(u) for u in self._updates[:limit]]
            await self._wait_change(deadline)

    def _as_sent(self, update: JSONDict) -> Any:
        """An update as Telegram sends it (what push_raw queued, verbatim)."""
        return self._raw_updates.get(update["update_id"], update)

    def _is_allowed(self, update: JSONDict) -> bool:
        if update["update_id"] in self._raw_updates:
            return True
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    async def _delete_webhook(self, p: Params) -> bool:
        self.webhook_url = ""
        self.webhook_secret = None
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _set_webhook(self, p: Params) -> bool:
        url, secret = p.get("url"), p.get("secret_token")
        if not isinstance(url, str) or not url:
            raise _bad("url is empty")
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not _WEBHOOK_SECRET_RE.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if isinstance(p.get("allowed_updates"), list):
            self._allowed_updates = set(p["allowed_updates"]) or None
        self.webhook_url, self.webhook_secret = url, secret
        # The fake never reaches beyond this machine: other hosts are recorded, not called.
        loopback = urlsplit(url).hostname in _LOOPBACK
        if loopback and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.create_task(self._deliver_to_webhook())
        return True

    async def _get_webhook_info(self, p: Params) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        failed = next((w for w in reversed(self.webhook_posts) if w.status != 200), None)
        if self.webhook_url and failed is not None:
            info["last_error_message"] = f"Wrong response from the webhook: {failed.status}"
        return info

    async def _deliver_to_webhook(self) -> None:
        """Telegram's side of a webhook: each update in order, retried until answered 200."""
        loop = asyncio.get_running_loop()
        async with ClientSession() as session:
            while self.webhook_url and not self._stopped.is_set():
                self._updates = [u for u in self._updates if self._is_allowed(u)]
                if not self._updates:
                    await self._wait_change(loop.time() + 1.0)
                    continue
                update = self._updates[0]
                status = await self._post_update(
                    session, self._as_sent(update), update["update_id"], self.webhook_secret
                )
                if status == 200:
                    self._updates = [u for u in self._updates if u is not update]
                    self._notify()
                else:
                    await self._pause(WEBHOOK_RETRY_SECONDS)

    async def _post_update(
        self, session: ClientSession, update: Any, update_id: int, secret_token: str | None
    ) -> int:
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers[WEBHOOK_SECRET_HEADER] = secret_token
        try:
            async with session.post(
                self.webhook_url,
                data=_dumps(update).encode(),
                headers=headers,
                timeout=ClientTimeout(total=10),
            ) as response:
                status = response.status
        except (ClientError, TimeoutError):
            status = 0
        self.webhook_posts.append(WebhookPost(update_id, secret_token, status))
        self._notify()
        return status

    async def _send_message(self, p: Params) -> JSONDict:
        chat = self._target_chat(p)
        plain, entities = _message_text(p)
        content: JSONDict = {"text": plain}
        if entities:
            content["entities"] = entities
        if isinstance(p.get("link_preview_options"), dict):
            content["link_preview_options"] = p["link_preview_options"]
        return self._bot_message(chat, content, p).raw

    async def _send_media(self, kind: str, p: Params) -> JSONDict:
        chat = self._target_chat(p)
        content = self._media_content(kind, self._resolve_file(kind, p))
        self._set_caption(content, kind, p)
        return self._bot_message(chat, content, p).raw

    async def _copy_message(self, p: Params) -> JSONDict:
        chat = self._target_chat(p)
        original = self._original(p, "copy")
        if original.kind == "unknown":
            raise _bad("message can't be copied")
        content = {k: copy.deepcopy(v) for k, v in original.raw.items() if k in _CONTENT_KEYS}
        if "poll" in content:
            content["poll"]["id"] = str(5_000_000_000 + self._counter())
        if "caption" in p and original.kind in _CAPTIONED:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            self._set_caption(content, original.kind, p)
        copied_from = (original.chat_id, original.message_id)
        message = self._bot_message(chat, content, p, copied_from=copied_from)
        return {"message_id": message.message_id}

    async def _forward_message(self, p: Params) -> JSONDict:
        chat = self._target_chat(p)
        original = self._original(p, "forward")
        content = {k: copy.deepcopy(v) for k, v in original.raw.items() if k in _CONTENT_KEYS}
        sender = original.raw.get("from") or self.bot_user
        content["forward_origin"] = {
            "type": "user",
            "sender_user": copy.deepcopy(sender),
            "date": original.raw.get("date", int(time.time())),
        }
        return self._bot_message(chat, content, {k: v for k, v in p.items() if k == "chat_id"}).raw

    async def _edit_message_text(self, p: Params) -> JSONDict:
        message = self._editable(p)
        if message.kind != "text":
            raise _bad("there is no text in the message to edit")
        plain, entities = _message_text(p)
        markup = _check_markup(p.get("reply_markup"))
        if (
            plain == message.text
            and entities == message.raw.get("entities", [])
            and markup == message.reply_markup
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message.text = message.raw["text"] = plain
        message.raw.pop("entities", None)
        if entities:
            message.raw["entities"] = entities
        return self._finish_edit(message, markup)

    async def _edit_message_caption(self, p: Params) -> JSONDict:
        message = self._editable(p)
        if message.kind not in _CAPTIONED:
            raise _bad("there is no caption in the message to edit")
        before = (message.raw.get("caption"), message.raw.get("caption_entities"))
        markup = _check_markup(p.get("reply_markup"))
        content = {
            k: v for k, v in message.raw.items() if k not in ("caption", "caption_entities")
        }
        self._set_caption(content, message.kind, p)
        after = (content.get("caption"), content.get("caption_entities"))
        if before == after and markup == message.reply_markup:
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message.raw = content
        message.caption = content.get("caption")
        return self._finish_edit(message, markup)

    async def _edit_message_reply_markup(self, p: Params) -> JSONDict:
        message = self._editable(p)
        markup = _check_markup(p.get("reply_markup"))
        if markup == message.reply_markup:
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        return self._finish_edit(message, markup)

    async def _delete_message(self, p: Params) -> bool:
        chat = self._lookup_chat(p.get("chat_id"))
        message = chat.messages.pop(p.get("message_id"), None)  # type: ignore[arg-type]
        if message is None:
            raise _bad("message to delete not found")
        self.deleted.append(message)
        return True

    async def _answer_callback_query(self, p: Params) -> bool:
        query_id = p.get("callback_query_id")
        if query_id not in self._open_callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(p.get("text", ""))) > CALLBACK_ANSWER_LIMIT:
            raise _bad("MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        self.answered_callbacks[query_id] = p
        return True

    async def _set_my_commands(self, p: Params) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("command description must be 1-256 characters")
        key = self._scope_key(p)
        if commands:
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        return True

    async def _delete_my_commands(self, p: Params) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    async def _get_my_commands(self, p: Params) -> list[JSONDict]:
        return self.commands.get(self._scope_key(p), [])

    async def _leave_chat(self, p: Params) -> bool:
        chat = self._lookup_chat(p.get("chat_id"))
        if chat.private:
            raise _bad("chat member status can't be changed in private chats")
        if not chat.bot_member:
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        chat.bot_member = False
        self.left_chats.append(chat.id)
        self._push(self._member_update(chat, self.bot_user, "member", "left"))
        return True

    async def _get_chat(self, p: Params) -> JSONDict:
        chat = self._lookup_chat(p.get("chat_id"))
        gifts = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription"), True
        )
        return {
            **chat.raw,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {**gifts, "gifts_from_channels": True},
        }

    async def _get_chat_member(self, p: Params) -> JSONDict:
        chat = self._lookup_chat(p.get("chat_id"))
        user_id = p.get("user_id")
        if user_id == self.bot_id:
            status = chat.bot_status if chat.bot_member else "left"
            member: JSONDict = {"user": copy.deepcopy(self.bot_user), "status": status}
            if status == "administrator":
                member.update(_admin_rights(True, manage_topics=chat.bot_can_manage_topics))
            return member
        if not isinstance(user_id, int) or user_id not in self._users:
            raise _bad("user not found")
        status = chat.members.get(user_id, "left")
        member = {"user": copy.deepcopy(self._users[user_id]), "status": status}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(_admin_rights(False))
        return member

    async def _create_forum_topic(self, p: Params) -> JSONDict:
        chat = self._forum(p, "create a topic")
        name = p.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY" if not name else "topic name is too long")
        # The topic starts with a service message; its id is the topic's id.
        service = self._store(
            chat,
            copy.deepcopy(self.bot_user),
            {"forum_topic_created": {"name": name, "icon_color": 7322096}},
            None,
            from_bot=True,
        )
        thread = service.message_id
        service.raw["message_thread_id"] = thread
        service.raw["is_topic_message"] = True
        chat.topics[thread] = ForumTopic(thread, name)
        return {"message_thread_id": thread, "name": name, "icon_color": 7322096}

    async def _edit_forum_topic(self, p: Params) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p)
        name = p.get("name")
        if name is None or name == topic.name:
            raise _bad("TOPIC_NOT_MODIFIED")
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise _bad("topic name is too long")
        topic.name = name
        return True

    async def _close_forum_topic(self, close: bool, p: Params) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p)
        if topic.closed == close:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.closed = close
        return True

    async def _delete_forum_topic(self, p: Params) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p)
        del chat.topics[topic.thread_id]
        for message_id, message in list(chat.messages.items()):
            if message.raw.get("message_thread_id") == topic.thread_id:
                del chat.messages[message_id]
                self.deleted.append(message)
        return True

    async def _send_chat_action(self, p: Params) -> bool:
        self._target_chat(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def _get_file(self, p: Params) -> JSONDict:
        stored = self._files.get(str(p.get("file_id", "")))
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

    # --- helpers --------------------------------------------------------------------------------

    def _counter(self) -> int:
        self._next_id += 1
        return self._next_id

    def _push(self, update: JSONDict) -> int:
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self._updates.append(update)
        self._updates.sort(key=lambda u: int(u["update_id"]))
        self._notify()
        return int(update["update_id"])

    def _user(self, user_id: int) -> JSONDict:
        if user_id not in self._users:
            raise AssertionError(
                f"unknown user {user_id}: call api.add_user({user_id}, ...) first"
            )
        return self._users[user_id]

    def _chat_for_helper(self, chat_id: int) -> _Chat:
        if chat_id not in self._chats:
            raise AssertionError(f"unknown chat {chat_id}")
        return self._chats[chat_id]

    def _group(self, chat_id: int) -> _Chat:
        if chat_id >= 0:
            raise ValueError(f"group chat ids are negative, got {chat_id}")
        raw = {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
        return self._chats.setdefault(chat_id, _Chat(raw=raw))

    def _member_update(self, chat: _Chat, by: JSONDict, old: str, new: str) -> JSONDict:
        def member(status: str) -> JSONDict:
            entry: JSONDict = {"user": copy.deepcopy(self.bot_user), "status": status}
            if status == "kicked":
                entry["until_date"] = 0
            return entry

        return {
            "my_chat_member": {
                "chat": copy.deepcopy(chat.raw),
                "from": copy.deepcopy(by),
                "date": int(time.time()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            }
        }

    def _user_message(
        self, user_id: int, chat_id: int, content: JSONDict, reply_to: int | None
    ) -> FakeMessage:
        user = self._user(user_id)
        chat = self._chat_for_helper(chat_id)
        target = None
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None:
                raise AssertionError(f"no message {reply_to} in chat {chat_id} to reply to")
        message = self._store(chat, copy.deepcopy(user), content, target, from_bot=False)
        message.update_id = self._push({"message": copy.deepcopy(message.raw)})
        return message

    def _store(
        self,
        chat: _Chat,
        sender: JSONDict,
        content: JSONDict,
        reply_to: FakeMessage | None,
        *,
        from_bot: bool,
        markup: JSONDict | None = None,
        copied_from: tuple[int, int] | None = None,
    ) -> FakeMessage:
        raw: JSONDict = {
            "message_id": chat.next_message_id,
            "from": sender,
            "chat": copy.deepcopy(chat.raw),
            "date": int(time.time()),
            **content,
        }
        chat.next_message_id += 1
        if reply_to is not None:
            raw["reply_to_message"] = _without_reply(reply_to.raw)
        message = self._wrap(chat, raw, from_bot=from_bot, copied_from=copied_from)
        self._set_markup(message, markup)
        chat.messages[message.message_id] = message
        return message

    def _wrap(
        self,
        chat: _Chat,
        raw: JSONDict,
        *,
        from_bot: bool,
        copied_from: tuple[int, int] | None = None,
    ) -> FakeMessage:
        reply = raw.get("reply_to_message")
        return FakeMessage(
            message_id=int(raw["message_id"]),
            chat_id=chat.id,
            from_bot=from_bot,
            kind=_kind_of(raw),
            text=raw.get("text"),
            caption=raw.get("caption"),
            reply_markup=raw.get("reply_markup"),
            reply_to_message_id=reply.get("message_id") if isinstance(reply, dict) else None,
            copied_from=copied_from,
            raw=raw,
        )

    @staticmethod
    def _set_markup(message: FakeMessage, markup: JSONDict | None) -> None:
        # Telegram echoes only inline keyboards in the Message; the fake remembers any markup.
        message.reply_markup = markup
        message.raw.pop("reply_markup", None)
        if markup is not None and "inline_keyboard" in markup:
            message.raw["reply_markup"] = markup

    def _bot_message(
        self,
        chat: _Chat,
        content: JSONDict,
        p: Params,
        *,
        copied_from: tuple[int, int] | None = None,
    ) -> FakeMessage:
        markup = _check_markup(p.get("reply_markup"))
        thread = self._thread(chat, p)
        reply_to = self._reply_target(chat, p)
        if reply_to is None and thread is not None:
            reply_to = chat.messages.get(thread)  # as Telegram: in a topic, under its start
        self._admit_send(chat.id)
        sender = copy.deepcopy(self.bot_user)
        if thread is not None:
            content = {**content, "message_thread_id": thread, "is_topic_message": True}
        message = self._store(
            chat, sender, content, reply_to, from_bot=True, markup=markup, copied_from=copied_from
        )
        message.silent = p.get("disable_notification") is True
        return message

    def _thread(self, chat: _Chat, p: Params) -> int | None:
        """The topic a send goes to: it must exist, and be open (unless the bot manages
        topics, as an administrator may write in a closed one)."""
        thread = p.get("message_thread_id")
        if thread is None:
            return None
        if not chat.raw.get("is_forum"):
            # Telegram ignores a thread id outside forums only for replies; here it is refused.
            raise _bad("message thread not found")
        topic = chat.topics.get(thread)
        if topic is None:
            raise _bad("message thread not found")
        if topic.closed and not chat.bot_can_manage_topics:
            raise _bad("TOPIC_CLOSED")
        return int(thread)

    def _forum(self, p: Params, action: str = "manage topics") -> _Chat:
        chat = self._target_chat(p)
        if not chat.raw.get("is_forum"):
            raise _bad("the chat is not a forum")
        if not chat.bot_can_manage_topics:
            raise _bad(f"not enough rights to {action}")
        return chat

    def _topic(self, chat: _Chat, p: Params) -> ForumTopic:
        topic = chat.topics.get(p.get("message_thread_id"))  # type: ignore[arg-type]
        if topic is None:
            raise _bad("TOPIC_ID_INVALID")
        return topic

    def _admit_send(self, chat_id: int) -> None:
        if self._limits is None:
            return
        per_second, interval = self._limits
        now = asyncio.get_running_loop().time()
        while self._send_times and now - self._send_times[0] >= 1.0:
            self._send_times.popleft()
        if len(self._send_times) >= per_second:
            self.violations.append(("global", None))
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        last = self._last_send.get(chat_id)
        if last is not None and now - last < interval:
            self.violations.append(("chat", chat_id))
            wait = max(1, math.ceil(interval - (now - last)))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        group = self._group_sends.setdefault(chat_id, deque()) if chat_id < 0 else None
        if group is not None and self._group_per_minute is not None:
            while group and now - group[0] >= self._group_minute:
                group.popleft()
            if len(group) >= self._group_per_minute:
                self.violations.append(("group", chat_id))
                wait = max(1, math.ceil(self._group_minute - (now - group[0])))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        self._send_times.append(now)
        self._last_send[chat_id] = now
        if group is not None:
            group.append(now)

    def _lookup_chat(self, value: Any) -> _Chat:
        if value is None or value == "":
            raise _bad("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            name = value[1:].lower()
            found = [c for c in self._chats.values() if c.raw.get("username", "").lower() == name]
            if found:
                return found[0]
        if isinstance(value, int) and value in self._chats:
            return self._chats[value]
        raise _bad("chat not found")

    def _target_chat(self, p: Params) -> _Chat:
        """The chat a request writes to: it must exist, not block the bot, have the bot in it."""
        chat = self._lookup_chat(p.get("chat_id"))
        if chat.blocked:
            raise ApiError(403, _BLOCKED)
        if not chat.private and not chat.bot_member:
            kind = "supergroup chat" if chat.raw["type"] == "supergroup" else "group chat"
            if chat.bot_kicked:
                raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")
        return chat

    def _original(self, p: Params, verb: str) -> FakeMessage:
        source = self._lookup_chat(p.get("from_chat_id"))
        original = source.messages.get(p.get("message_id"))  # type: ignore[arg-type]
        if original is None:
            raise _bad(f"message to {verb} not found")
        return original

    def _editable(self, p: Params) -> FakeMessage:
        if "inline_message_id" in p:
            raise _bad("inline messages are not supported by the fake")
        chat = self._target_chat(p)
        if not isinstance(p.get("message_id"), int):
            raise _bad("message identifier is not specified")
        message = chat.messages.get(p["message_id"])
        if message is None:
            raise _bad("message to edit not found")
        if not message.from_bot:
            raise _bad("message can't be edited")
        return message

    def _finish_edit(self, message: FakeMessage, markup: JSONDict | None) -> JSONDict:
        self._set_markup(message, markup)
        message.edited = True
        message.raw["edit_date"] = int(time.time())
        return message.raw

    def _reply_target(self, chat: _Chat, p: Params) -> FakeMessage | None:
        params = p.get("reply_parameters")
        if params is not None:
            if not isinstance(params, dict) or not isinstance(params.get("message_id"), int):
                raise _bad("can't parse reply parameters JSON object")
            if params.get("chat_id") not in (None, chat.id):
                raise _bad("cross-chat replies are not supported by the fake")
            message_id, allow = params["message_id"], params.get("allow_sending_without_reply")
        elif "reply_to_message_id" in p:
            message_id, allow = p["reply_to_message_id"], p.get("allow_sending_without_reply")
        else:
            return None
        target = chat.messages.get(message_id)
        if target is None and not allow:
            raise _bad("message to be replied not found")
        return target

    def _set_caption(self, content: JSONDict, kind: str, p: Params) -> None:
        caption = p.get("caption")
        if caption is None or kind not in _CAPTIONED:
            return
        plain, entities = _format(str(caption), p.get("parse_mode"), p.get("caption_entities"))
        if len(plain) > CAPTION_LIMIT:
            raise _bad("message caption is too long")
        if plain:
            content["caption"] = plain
            if entities:
                content["caption_entities"] = entities

    def _new_file(
        self, kind: str, data: bytes, file_name: str | None = None, mime_type: str | None = None
    ) -> _StoredFile:
        n = self._counter()
        folder, ext = _FOLDERS[kind]
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        stored = _StoredFile(
            file_id=f"fake-{kind}-{n}",
            unique_id=f"unique-{n}",
            kind=kind,
            path=f"{folder}/file_{n}{ext}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        return stored

    def _resolve_file(self, kind: str, p: Params) -> _StoredFile:
        value = p.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value.removeprefix("attach://"))
        if isinstance(value, _Upload):
            return self._new_file(kind, value.data, value.filename, value.content_type)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1] or None
            return self._new_file(kind, f"downloaded from {value}".encode(), name)
        if isinstance(value, str) and value:
            if value not in self._files:
                raise _bad("wrong file identifier/HTTP URL specified")
            return self._files[value]
        raise _bad(f"there is no {kind} in the request")

    def _media_content(self, kind: str, f: _StoredFile | None) -> JSONDict:
        """The Message fields for a ``kind`` of media, valid for PTB's de_json."""
        base: JSONDict = {}
        if f is not None:
            base = {"file_id": f.file_id, "file_unique_id": f.unique_id, "file_size": len(f.data)}
        named = {**base, "file_name": (f and f.file_name) or f"{kind}.mp4"}
        if kind == "photo":
            return {"photo": self._photo_sizes(base)}
        if kind == "video":
            return {"video": {**base, "width": 640, "height": 360, "duration": 5}}
        if kind == "voice":
            return {"voice": {**base, "duration": 3, "mime_type": "audio/ogg"}}
        if kind == "audio":
            return {"audio": {**base, "duration": 180, "title": "Song", "mime_type": "audio/mpeg"}}
        if kind == "document":
            document = {**base, "file_name": (f and f.file_name) or "file.bin"}
            document["mime_type"] = (f and f.mime_type) or "application/octet-stream"
            return {"document": document}
        if kind == "sticker":
            sticker = {"type": "regular", "width": 512, "height": 512, "emoji": "🙂"}
            return {"sticker": {**base, **sticker, "is_animated": False, "is_video": False}}
        if kind == "animation":
            size = {"width": 320, "height": 240, "duration": 2, "mime_type": "video/mp4"}
            return {
                "animation": {**named, **size},
                "document": {**named, "mime_type": "video/mp4"},
            }
        if kind == "video_note":
            return {"video_note": {**base, "length": 240, "duration": 4}}
        location = {"latitude": 52.52, "longitude": 13.405}
        if kind == "location":
            return {"location": location}
        if kind == "contact":
            return {"contact": {"phone_number": "+15550100", "first_name": "Sam"}}
        if kind == "venue":
            venue = {"location": location, "title": "Community Centre", "address": "1 Main St"}
            return {"venue": venue, "location": location}
        if kind == "poll":
            options = [
                {"text": text, "voter_count": 0, "persistent_id": str(n)}
                for n, text in enumerate(("Yes", "No"))
            ]
            poll = {
                "id": str(5_000_000_000 + self._counter()),
                "question": "Shall we?",
                "options": options,
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            }
            return {"poll": poll}
        if kind == "dice":
            return {"dice": {"emoji": "🎲", "value": 4}}
        if kind == "game":
            photo = self._new_file("photo", b"fake game photo")
            photo_base = {"file_id": photo.file_id, "file_unique_id": photo.unique_id}
            photos = self._photo_sizes(photo_base)
            return {"game": {"title": "Fake Game", "description": "A game", "photo": photos}}
        raise ValueError(f"unknown media kind {kind!r}")

    def _photo_sizes(self, base: JSONDict) -> list[JSONDict]:
        thumb = self._new_file("photo", b"fake thumbnail")
        small = {"file_id": thumb.file_id, "file_unique_id": thumb.unique_id, "file_size": 14}
        return [
            {**small, "width": 90, "height": 68},
            {**base, "width": 1280, "height": 960},
        ]

    @staticmethod
    def _scope_key(p: Params) -> str:
        """The key of ``commands``: default, chat:<id>, ...; with "/<lang>" for a language."""
        scope: JSONDict = p["scope"] if isinstance(p.get("scope"), dict) else {}
        kind = str(scope.get("type", "default"))
        key = kind
        if kind in ("chat", "chat_administrators"):
            key = f"{kind}:{scope.get('chat_id')}"
        elif kind == "chat_member":
            key = f"{kind}:{scope.get('chat_id')}:{scope.get('user_id')}"
        if p.get("language_code"):
            key += f"/{p['language_code']}"
        return key


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


@contextlib.asynccontextmanager
async def running_fake_api(**kwargs: Any) -> AsyncIterator[FakeBotApi]:
    """``async with running_fake_api() as api:`` a started server, stopped on the way out."""
    api = FakeBotApi(**kwargs)
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


def _admin_rights(can_delete: bool, manage_topics: bool | None = None) -> JSONDict:
    """An administrator's rights as getChatMember reports them (the fields PTB requires)."""
    rights: JSONDict = {
        "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
        "can_delete_messages": can_delete, "can_manage_video_chats": False,
        "can_restrict_members": False, "can_promote_members": False,
        "can_change_info": False, "can_invite_users": True,
        "can_post_stories": False, "can_edit_stories": False,
        "can_delete_stories": False,
    }  # fmt: skip
    if manage_topics is not None:
        rights["can_manage_topics"] = manage_topics
    return rights
