"""Message-IDs: find them in header text, normalize them for comparison, make new ones.

RFC 5322 section 3.6.4: a msg-id is ``"<" id-left "@" id-right ">"``. Real mail is looser, so
parsing is tolerant: the angle brackets are what marks an id inside a header (``In-Reply-To``
often carries trailing prose), and a single bare token containing ``@`` is accepted too.

Normalization (RFC 5256 "Message IDs are normalized"): the angle brackets, comments and
folding whitespace are dropped, and a quoted local part loses its quotes, so
``<"abc"@example.org>`` and ``<abc@example.org>`` compare equal. Case is kept: Message-ID
comparison is case-sensitive. A normalized id never contains ``<``, ``>`` or whitespace.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from weft.errors import InvalidInput

_BRACKETED = re.compile(r"<([^<>]*)>")
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_WHITESPACE = re.compile(r"\s+")
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def normalize_message_id(token: str) -> str | None:
    """The comparable form of one id token (with or without brackets), or None if it is not an id."""
    text = _WHITESPACE.sub("", token)
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if not text or "<" in text or ">" in text:
        return None
    if "@" in text:
        local, _, domain = text.rpartition("@")
        if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
            local = re.sub(r"\\(.)", r"\1", local[1:-1])
        if not local or not domain:
            return None
        text = f"{local}@{domain}"
    return text or None


def parse_message_ids(value: str | None) -> list[str]:
    """Every valid id in a header value (``References``, ``In-Reply-To``), normalized, in order.

    Text in angle brackets counts as an id; without any brackets, a value made of one token
    containing ``@`` counts (some clients drop the brackets). Anything else yields nothing.
    """
    if not value:
        return []
    text = _COMMENT.sub(" ", value)
    found = [normalize_message_id(inner) for inner in _BRACKETED.findall(text)]
    if not found and "<" not in text and ">" not in text:
        bare = text.strip()
        if bare and "@" in bare and not _WHITESPACE.search(bare):
            found = [normalize_message_id(bare)]
    return [item for item in found if item]


def first_message_id(value: str | None) -> str | None:
    """The first valid id in a header value, normalized (the RFC 5256 rule for In-Reply-To)."""
    ids = parse_message_ids(value)
    return ids[0] if ids else None


def parse_reference_list(values: str | Iterable[str] | None) -> list[str]:
    """References given as one raw header value or as a list of items, each possibly holding several ids."""
    if values is None:
        return []
    if isinstance(values, str):
        return parse_message_ids(values)
    ids: list[str] = []
    for item in values:
        ids.extend(parse_message_ids(item))
    return ids


def format_message_id(normalized: str) -> str:
    """The header form ``<id>`` of a normalized id."""
    return f"<{normalized}>"


def make_message_id(domain: str, *, token: str | None = None) -> str:
    """A new ``<token@domain>`` Message-ID; ``token`` defaults to 128 random bits in hex."""
    if not _DOMAIN.match(domain or ""):
        raise InvalidInput(f"Message-ID domain {domain!r} is not a valid domain name.")
    local = secrets.token_hex(16) if token is None else token
    if not local or _WHITESPACE.search(local) or any(ch in local for ch in "<>@\"()"):
        raise InvalidInput(f"Message-ID token {local!r} must be non-empty without spaces, brackets, quotes or '@'.")
    return f"<{local}@{domain}>"
