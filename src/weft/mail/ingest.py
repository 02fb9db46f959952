"""Importing a mailbox into the thread store: each mail conversation becomes a thread, each email a message.

``import_mail(threads, principal, path, own_addresses=...)`` reads every message under ``path`` (.eml,
mbox, Maildir), threads the new messages together with the mail already stored for the tenant
(``MailThreader``), and writes only what is missing:

- a conversation with no stored message becomes a new thread, metadata ``source=mail``,
  ``mail_root`` (the root's Message-ID) and ``subject``;
- a conversation that already has stored messages gets its new messages appended to that thread;
- a new message that joins two stored threads (a late parent) is appended to the older thread,
  the newer one is tagged ``mail_joined_into=<older id>`` and the join is reported. Items are not
  moved between threads (a known limitation).

Each email is a ``message`` item (role ``assistant`` when the sender is one of ``own_addresses``,
else ``user``; content the text part) whose metadata holds ``message_id`` and the threading
headers. Re-importing is idempotent by Message-ID: the stored items' ``message_id`` metadata is
the record of what is there, so nothing depends on (expiring) idempotency keys. Two imports
running at the same time into one tenant can both add the same message; run one at a time.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path

from weft.mail.headers import trim_references
from weft.mail.message_ids import first_message_id, format_message_id, parse_reference_list
from weft.mail.reading import ParsedMail, count_messages, read_path
from weft.mail.threading import MailMessage, MailThreader, ThreadingOptions, message_from_headers
from weft.threads.items import MAX_ITEMS_PER_REQUEST, MAX_METADATA_VALUE, normalize_input_item
from weft.threads.policy import Principal
from weft.threads.service import PendingItem, ThreadService

MAIL_SOURCE = "mail"
_HEADER_KEYS = {"message_id": "message-id", "in_reply_to": "in-reply-to", "references": "references",
                "subject": "subject", "date": "date", "thread_index": "thread-index"}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class JoinedConversations:
    """A new message linked stored threads together; its pieces were appended to ``kept``."""

    kept: str
    others: tuple[str, ...]


@dataclass
class ImportReport:
    messages_seen: int = 0
    items_added: int = 0
    already_present: int = 0       # Message-ID already stored for this tenant
    duplicates: int = 0            # same Message-ID more than once in this import
    conversations_created: int = 0
    conversations_extended: int = 0
    joined: list[JoinedConversations] = field(default_factory=list)
    created_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Stored:
    conversation_id: str
    message: MailMessage
    message_id: str


def message_key(message_id: str) -> str:
    """How Message-IDs are compared for idempotency: normalized, else the raw (truncated) value."""
    return first_message_id(message_id) or _cut(message_id.strip())


def _cut(value: str) -> str:
    return value[:MAX_METADATA_VALUE]


def item_metadata(mail: ParsedMail) -> dict[str, str]:
    """The item metadata of one email: its Message-ID and threading headers, each within 512 characters."""
    metadata = {"message_id": _cut(mail.message_id.strip())}
    if mail.headers.get("in-reply-to"):
        metadata["in_reply_to"] = _cut(mail.headers["in-reply-to"].strip())
    refs = parse_reference_list(mail.headers.get("references"))
    if refs:
        kept = trim_references([format_message_id(r) for r in refs], max_references=len(refs) + 2, max_length=MAX_METADATA_VALUE)
        metadata["references"] = _cut(" ".join(kept))
    if mail.headers.get("thread-index"):
        metadata["thread_index"] = _cut(mail.headers["thread-index"].strip())
    if mail.subject:
        metadata["subject"] = _cut(mail.subject)
    if mail.date is not None:
        metadata["date"] = format_datetime(mail.date)
    if mail.sender:
        metadata["from"] = _cut(mail.sender)
    return metadata


def _threading_message(key: str, metadata: dict[str, str]) -> MailMessage:
    return message_from_headers(key, {header: metadata[name] for name, header in _HEADER_KEYS.items() if metadata.get(name)})


def _pending(mail: ParsedMail, own: frozenset[str]) -> PendingItem:
    role = "assistant" if mail.sender and mail.sender in own else "user"
    item_type, role, body = normalize_input_item({"type": "message", "role": role, "content": mail.text})
    body["metadata"] = item_metadata(mail)
    return PendingItem(item_type, role, body)


def stored_mail(threads: ThreadService, principal: Principal) -> tuple[dict[str, _Stored], dict[str, object]]:
    """Every stored mail message of the tenant by Message-ID key, and the mail conversations by id."""
    messages: dict[str, _Stored] = {}
    conversations: dict[str, object] = {}
    after = None
    while True:
        page = threads.list_conversations(principal, limit=100, order="asc", after=after, metadata={"source": MAIL_SOURCE})
        for conversation in page.data:
            conversations[conversation.id] = conversation
            for item in threads.history(principal, conversation.id):
                metadata = item.metadata
                if not metadata.get("message_id"):
                    continue
                key = message_key(metadata["message_id"])
                messages.setdefault(key, _Stored(conversation.id, _threading_message(key, metadata), metadata["message_id"]))
        if not page.has_more or not page.data:
            return messages, conversations
        after = page.last_id


def _batches(items: list[PendingItem]) -> Iterable[list[PendingItem]]:
    for start in range(0, len(items), MAX_ITEMS_PER_REQUEST):
        yield items[start:start + MAX_ITEMS_PER_REQUEST]


def import_mail(threads: ThreadService, principal: Principal, path: Path | str, *, own_addresses: Iterable[str] = (),
                options: ThreadingOptions | None = None, progress: Progress | None = None) -> ImportReport:
    """Import every message under ``path`` for ``principal``'s tenant; see the module doc."""
    own = frozenset(a.strip().lower() for a in own_addresses if a and a.strip())
    report = ImportReport()
    path = Path(path)
    total = count_messages(path)
    stored, conversations = stored_mail(threads, principal)
    new: dict[str, ParsedMail] = {}
    done = 0
    for mail in read_path(path):
        report.messages_seen += 1
        key = message_key(mail.message_id)
        if key in stored:
            report.already_present += 1
            done += 1
        elif key in new:
            report.duplicates += 1
            done += 1
        else:
            new[key] = mail
        if progress:
            progress(done, max(total, report.messages_seen))
    total = max(total, report.messages_seen)
    if not new:
        if progress:
            progress(total, total)
        return report

    threader = MailThreader(options)
    for key, item in stored.items():
        threader.add(item.message)
    for key, mail in new.items():
        threader.add(message_from_headers(key, {**mail.headers, "message-id": mail.message_id}))

    def message_id_of(key: str) -> str:
        return new[key].message_id if key in new else stored[key].message_id

    for conversation in threader.conversations():
        members = [m for m in conversation.messages if m in new]
        if not members:
            continue
        # The conversation's core is what its headers and Thread-Index tie together; the stored
        # thread is chosen from the core only, so a message carrying evidence never lands in a
        # thread because a subject-placed message of another conversation was stored there.
        # (A conversation grouped by subject alone carries no evidence, so all of it is its core.)
        core = list(conversation.messages) if conversation.subject_only else \
            [m for m in conversation.messages if m not in conversation.subject_joined]
        pending = [_pending(new[m], own) for m in members]
        root = conversation.root if conversation.root in new or conversation.root in stored else members[0]
        if root in stored and root not in core:
            root = next((m for m in core if m in new or m in stored), members[0])
        targets = sorted({stored[m].conversation_id for m in core if m in stored},
                         key=lambda cid: (conversations[cid].created_at_ms, cid))  # type: ignore[attr-defined]
        if not targets:
            subject = new[root].subject if root in new else ""
            metadata = {"source": MAIL_SOURCE, "mail_root": _cut(message_id_of(root)), "subject": _cut(subject)}
            batches = list(_batches(pending))
            created, _ = threads.create_conversation(principal, metadata=metadata, pending=batches[0])
            for batch in batches[1:]:
                threads.append_items(principal, created.id, None, pending=batch)
            report.conversations_created += 1
            report.created_ids.append(created.id)
        else:
            kept = targets[0]
            for batch in _batches(pending):
                threads.append_items(principal, kept, None, pending=batch)
            report.conversations_extended += 1
            _retag(threads, principal, conversations, kept, {"mail_root": _cut(message_id_of(root))})
            if len(targets) > 1:
                report.joined.append(JoinedConversations(kept, tuple(targets[1:])))
                for other in targets[1:]:
                    _retag(threads, principal, conversations, other, {"mail_joined_into": kept})
        report.items_added += len(pending)
        done += len(pending)
        if progress:
            progress(done, total)
    return report


def _retag(threads: ThreadService, principal: Principal, conversations: dict, conversation_id: str, changes: dict[str, str]) -> None:
    metadata = dict(conversations[conversation_id].metadata)
    if all(metadata.get(k) == v for k, v in changes.items()):
        return
    metadata.update(changes)
    conversations[conversation_id] = threads.update_conversation(principal, conversation_id, metadata=metadata)
