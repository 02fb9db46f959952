"""Outgoing threading headers that Outlook, Gmail and JWZ-style clients all group the same way.

What each client groups on:

* JWZ / RFC 5256 clients (Thunderbird, mutt, Apple Mail...): ``In-Reply-To`` and ``References``.
  RFC 5322 3.6.4: a reply's ``In-Reply-To`` is the parent's ``Message-ID`` and its ``References``
  are the parent's ``References`` (or its single ``In-Reply-To`` id) followed by the parent's id.
* Gmail: ``References``/``In-Reply-To`` naming earlier messages *and* the same subject once
  ``Re:``-style prefixes are removed.
* Outlook / Exchange: ``Thread-Index`` (the conversation index: the parent's full index plus
  one 5-byte child block per reply, so every message's value is unique) and ``Thread-Topic``
  (the conversation topic, unchanged across the conversation).

``conversation_headers`` starts a conversation; ``reply_headers`` answers any message given as
its raw headers; ``related_emails`` produces "one main email plus N related emails" where every
related email is a reply to the main one (the seed's failure was five copies of the root's
Thread-Index, each claiming to start the conversation).
"""
from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from weft.errors import InvalidInput
from weft.mail import thread_index
from weft.mail.message_ids import (
    first_message_id,
    format_message_id,
    make_message_id,
    parse_message_ids,
)
from weft.mail.subjects import collapse_whitespace, conversation_topic, reply_subject

DEFAULT_MAX_REFERENCES = 20
MAX_REFERENCES_LENGTH = 900  # stay under RFC 5322's 998-octet line limit even before folding
_ROOT_GUID_NAMESPACE = uuid.UUID("5b0f6f4e-2a7c-4c1e-9a55-7765667420a1")  # weft's namespace for derived GUIDs


@dataclass(frozen=True)
class OutgoingHeaders:
    """The threading headers of one outgoing email."""

    message_id: str
    subject: str
    thread_topic: str
    thread_index: str
    in_reply_to: str | None = None
    references: str | None = None

    def as_dict(self) -> dict[str, str]:
        """Header name -> value, in the order a sender would write them (absent ones left out)."""
        headers = {"Message-ID": self.message_id, "Subject": self.subject}
        if self.in_reply_to:
            headers["In-Reply-To"] = self.in_reply_to
        if self.references:
            headers["References"] = self.references
        headers["Thread-Topic"] = self.thread_topic
        headers["Thread-Index"] = self.thread_index
        return headers


@dataclass(frozen=True)
class RelatedEmails:
    """A main email and the related emails that answer it, ready to send in this order."""

    main: OutgoingHeaders
    related: tuple[OutgoingHeaders, ...]

    def all(self) -> tuple[OutgoingHeaders, ...]:
        return (self.main, *self.related)


def trim_references(ids: Sequence[str], max_references: int = DEFAULT_MAX_REFERENCES,
                    max_length: int = MAX_REFERENCES_LENGTH) -> list[str]:
    """Shorten a References chain the usual way: keep the first id (the conversation root) and the most recent ones.

    Duplicates are dropped, keeping each id's last position so the parent stays last.
    """
    if max_references < 2:
        raise InvalidInput("max_references must be at least 2 (the root and the parent).")
    unique: list[str] = []
    seen: set[str] = set()
    for item in reversed(ids):
        if item not in seen:
            seen.add(item)
            unique.append(item)
    unique.reverse()
    if len(unique) > max_references:
        unique = [unique[0], *unique[-(max_references - 1):]]
    while len(unique) > 2 and len(" ".join(unique)) > max_length:
        del unique[1]
    return unique


def _header_lookup(headers: Mapping[str, str] | OutgoingHeaders | object) -> dict[str, str]:
    if isinstance(headers, OutgoingHeaders):
        headers = headers.as_dict()
    values: dict[str, str] = {}
    for name, value in headers.items():  # type: ignore[attr-defined]
        values.setdefault(str(name).lower(), str(value))
    return values


def _new_message_id(domain: str, message_id: str | None) -> str:
    if message_id is None:
        return make_message_id(domain)
    normalized = first_message_id(message_id)
    if normalized is None:
        raise InvalidInput(f"{message_id!r} is not a Message-ID.")
    return format_message_id(normalized)


def conversation_headers(subject: str, *, now: datetime, domain: str, guid: uuid.UUID | None = None,
                         message_id: str | None = None) -> OutgoingHeaders:
    """Headers of an email that starts a conversation: a new Thread-Index header block and the topic."""
    topic = conversation_topic(subject)
    return OutgoingHeaders(
        message_id=_new_message_id(domain, message_id),
        subject=collapse_whitespace(subject),
        thread_topic=topic,
        thread_index=thread_index.new_conversation(now, guid).to_base64(),
    )


def _parent_index(values: dict[str, str], root_id: str | None, now: datetime) -> thread_index.ConversationIndex:
    """The parent's conversation index, or, when it has none, a stable stand-in derived from the conversation root.

    Replies to the same index-less parent then share one header block (the same GUID from the
    root Message-ID, the same time from the parent's Date) and so one Outlook conversation.
    """
    if values.get("thread-index"):
        try:
            return thread_index.parse(values["thread-index"])
        except thread_index.ThreadIndexError:
            pass
    started = now
    if values.get("date"):
        try:
            parsed = parsedate_to_datetime(values["date"])
            if parsed.tzinfo is not None:
                started = min(parsed, now)
        except (TypeError, ValueError, IndexError):
            pass
    guid = uuid.uuid5(_ROOT_GUID_NAMESPACE, root_id) if root_id else None
    try:
        return thread_index.new_conversation(started, guid)
    except thread_index.ThreadIndexError:  # a Date outside what the header can encode
        return thread_index.new_conversation(now, guid)


def reply_headers(parent: Mapping[str, str] | OutgoingHeaders | object, *, now: datetime, domain: str,
                  message_id: str | None = None, random_byte: int | None = None,
                  max_references: int = DEFAULT_MAX_REFERENCES) -> OutgoingHeaders:
    """Headers of a reply to ``parent`` (its raw headers: a mapping, an ``email.message.Message``, or ``OutgoingHeaders``)."""
    values = _header_lookup(parent)
    parent_id = first_message_id(values.get("message-id"))
    chain = parse_message_ids(values.get("references"))
    if not chain:
        in_reply_to_ids = parse_message_ids(values.get("in-reply-to"))
        chain = in_reply_to_ids if len(in_reply_to_ids) == 1 else []
    if parent_id:
        chain = [*chain, parent_id]
    chain = trim_references(chain, max_references) if chain else []
    root_id = chain[0] if chain else None

    parent_subject = values.get("subject", "")
    topic = collapse_whitespace(values.get("thread-topic", "")) or conversation_topic(parent_subject)
    subject = reply_subject(parent_subject) if conversation_topic(parent_subject) else reply_subject(topic)
    index = thread_index.reply(_parent_index(values, root_id, now), now, random_byte=random_byte)
    return OutgoingHeaders(
        message_id=_new_message_id(domain, message_id),
        subject=subject,
        thread_topic=topic,
        thread_index=index.to_base64(),
        in_reply_to=format_message_id(parent_id) if parent_id else None,
        references=" ".join(format_message_id(item) for item in chain) or None,
    )


def related_emails(subject: str, *, now: datetime, domain: str, related_count: int = 4,
                   guid: uuid.UUID | None = None, message_ids: Sequence[str] | None = None,
                   random_high_nibble: int | None = None) -> RelatedEmails:
    """One main email and ``related_count`` related emails that Outlook, Gmail and JWZ clients show as one conversation.

    Each related email is a reply to the main one: ``In-Reply-To``/``References`` name the main
    email, its Thread-Index is the main index plus one child block of its own, and its subject is
    ``Re: <topic>``. Siblings' child blocks differ in their low 4 bits (a sequence count, as MAPI
    does) and, past 16 siblings, by one 26 ms delta step per further 16.
    """
    if related_count < 0:
        raise InvalidInput("related_count cannot be negative.")
    if message_ids is not None and len(message_ids) != related_count + 1:
        raise InvalidInput(f"message_ids needs {related_count + 1} ids: the main email's and one per related email.")
    ids = list(message_ids) if message_ids is not None else [None] * (related_count + 1)
    high = secrets.randbelow(16) if random_high_nibble is None else random_high_nibble
    if not 0 <= high <= 15:
        raise InvalidInput("random_high_nibble must be between 0 and 15.")
    main = conversation_headers(subject, now=now, domain=domain, guid=guid, message_id=ids[0])
    related = tuple(
        reply_headers(
            main,
            now=now + timedelta(microseconds=26_215 * (position // 16)),
            domain=domain,
            message_id=ids[position + 1],
            random_byte=(high << 4) | (position % 16),
        )
        for position in range(related_count)
    )
    return RelatedEmails(main, related)
