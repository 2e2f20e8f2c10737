"""What the inbox keeps of an update, to relay it after a crash (ids, never words)."""

from __future__ import annotations

from telegram import Update

from bot.handlers.inbox import received

ALEX, TEAM, TOPIC = 2001, -100_500, 77
ALEX_FROM = {"id": ALEX, "is_bot": False, "first_name": "Alexandra"}
WELCOME = {"message_id": 1, "date": 0, "chat": {"id": ALEX, "type": "private"}, "text": "hi"}


def update(chat: dict[str, object], **fields: object) -> Update:
    raw = {"message_id": 9, "date": 0, "chat": chat, "from": ALEX_FROM, **fields}
    return Update.de_json({"update_id": 5, "message": raw}, None)


def test_a_service_note_is_not_kept_to_be_relayed() -> None:
    """Telegram's note that someone pinned a message or closed a topic: nothing anyone
    wrote, and nothing a copy can carry. Kept, a crash before its handling would have
    relayed it at the next start: a copy that fails, under a header over nothing."""
    private = {"id": ALEX, "type": "private"}
    group = {"id": TEAM, "type": "supergroup", "is_forum": True}
    in_topic = {"message_thread_id": TOPIC, "is_topic_message": True}
    assert received(update(private, pinned_message=WELCOME)) is None
    assert received(update(group, forum_topic_closed={}, **in_topic), TEAM) is None
    # What someone wrote is kept, in their chat as in a client's topic.
    assert received(update(private, text="hi")) is not None
    assert received(update(group, text="hi", **in_topic), TEAM) is not None
