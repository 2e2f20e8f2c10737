"""Invite codes and aliases: generation, hashing and validation, no I/O."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata

# 16 random bytes = 128 bits, 22 URL-safe characters: fits a /start payload (64 max)
# and a callback_data string (64 bytes) with room for a prefix.
CODE_BYTES = 16
_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
ALIAS_MAX_LENGTH = 32


def new_code() -> str:
    """Return a fresh random invite code."""
    return secrets.token_urlsafe(CODE_BYTES)


def hash_code(code: str) -> bytes:
    """Return the stored form of a code; the code itself is never kept."""
    return hashlib.sha256(code.encode("ascii")).digest()


def looks_like_code(text: str) -> bool:
    """True if the text has the shape of a code we could have issued."""
    return bool(_CODE_RE.match(text))


class AliasError(ValueError):
    """An alias that cannot be used; the message is a text key."""


def clean_alias(raw: str) -> str:
    """Return the alias as it will be stored, or raise AliasError.

    Control and formatting characters (including right-to-left overrides) are
    refused: an alias is shown in headers and must not rearrange the text around it.
    """
    alias = " ".join(raw.split())
    if not alias:
        raise AliasError("alias.empty")
    if len(alias) > ALIAS_MAX_LENGTH:
        raise AliasError("alias.too_long")
    if alias.startswith("/") or has_hidden_characters(alias):
        raise AliasError("alias.invalid")
    return alias


def has_hidden_characters(name: str) -> bool:
    """True if the name holds control, formatting or unassigned characters: invisible ones
    (a zero-width space makes a look-alike of another name) and right-to-left overrides
    (which rearrange the text around a name shown in a header)."""
    return any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"} for char in name)
