"""The fake Telegram Bot API server lives in the package (the demo runs it too)."""

from bot.demo.bot_api import (
    CALLBACK_ANSWER_LIMIT,
    CAPTION_LIMIT,
    MEDIA_KINDS,
    TEXT_LIMIT,
    ApiCall,
    ApiError,
    FakeBotApi,
    FakeMessage,
    ForumTopic,
    JSONDict,
    Params,
    WebhookPost,
    running_fake_api,
)

__all__ = [
    "CALLBACK_ANSWER_LIMIT",
    "CAPTION_LIMIT",
    "MEDIA_KINDS",
    "TEXT_LIMIT",
    "ApiCall",
    "ApiError",
    "FakeBotApi",
    "FakeMessage",
    "ForumTopic",
    "JSONDict",
    "Params",
    "WebhookPost",
    "running_fake_api",
]
