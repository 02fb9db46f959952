"""Reading email from files: single ``.eml`` files, mbox files and Maildir folders.

Parsing uses the standard library (`email`, `mailbox`) and tolerates what real mailboxes contain:
any charset (unknown ones decoded as UTF-8 with replacement), broken or missing headers, messages
without a text part (the HTML part is turned into text), and messages without a Message-ID (a stable
id is derived from the content so that importing twice still finds the same message).
"""
from __future__ import annotations

import email
import email.header
import email.policy
import hashlib
import html
import mailbox
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from weft.mail.threading import MailMessage, message_from_headers

_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"[ \t]+")
_BLANKS_RE = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class ParsedMail:
    """One email as weft stores it."""

    message_id: str  # as in the header, or derived ("<sha256...@weft.invalid>") when absent
    headers: dict[str, str]  # the threading headers (message-id, in-reply-to, references, subject, date, thread-index)
    sender: str  # address of From, lowercased ('' if none)
    recipients: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    source: str  # where it came from (file path, mbox path#n, maildir key)

    def threading_message(self) -> MailMessage:
        return message_from_headers(self.message_id, {**self.headers, "message-id": self.message_id})


def parse_bytes(raw: bytes, source: str = "") -> ParsedMail:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return from_message(message, source, raw)


def from_message(message: Message, source: str = "", raw: bytes | None = None) -> ParsedMail:
    headers: dict[str, str] = {}
    for name in ("message-id", "in-reply-to", "references", "subject", "date", "thread-index", "thread-topic", "from", "to", "cc"):
        value = message.get(name)
        if value is not None:
            headers[name] = _header_text(value)
    message_id = headers.get("message-id", "").strip()
    if not message_id:
        digest = hashlib.sha256(raw if raw is not None else message.as_bytes()).hexdigest()[:32]
        message_id = f"<{digest}@weft.invalid>"
        headers["message-id"] = message_id
    date = None
    if headers.get("date"):
        try:
            date = parsedate_to_datetime(headers["date"])
            if date.tzinfo is None:
                date = date.replace(tzinfo=timezone.utc)
        except (TypeError, ValueError, IndexError):
            date = None
    senders = [addr.lower() for _, addr in getaddresses([headers.get("from", "")]) if addr]
    recipients = tuple(addr.lower() for _, addr in getaddresses([headers.get("to", ""), headers.get("cc", "")]) if addr)
    return ParsedMail(
        message_id=message_id,
        headers={k: v for k, v in headers.items() if k in ("message-id", "in-reply-to", "references", "subject", "date", "thread-index")},
        sender=senders[0] if senders else "",
        recipients=recipients,
        subject=headers.get("subject", ""),
        date=date,
        text=body_text(message),
        source=source,
    )


def _header_text(value) -> str:
    """A header value as text, decoding RFC 2047 words in any charset, never failing."""
    try:
        parts = email.header.decode_header(str(value))
    except Exception:
        return str(value)
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(_decode(chunk, charset))
        else:
            out.append(chunk)
    return " ".join(p.strip() for p in out if p is not None).strip() if len(out) > 1 else (out[0].strip() if out else "")


def _decode(payload: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def body_text(message: Message) -> str:
    """The text of a message: the first text/plain part, else the first text/html part as text."""
    plain = html_part = None
    for part in message.walk() if message.is_multipart() else [message]:
        if part.get_content_maintype() == "multipart":
            continue
        if (part.get("Content-Disposition") or "").lower().startswith("attachment"):
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and html_part is None:
            html_part = part
    chosen = plain or html_part
    if chosen is None:
        return ""
    payload = chosen.get_payload(decode=True)
    if payload is None:
        text = str(chosen.get_payload() or "")
    else:
        text = _decode(payload, chosen.get_content_charset())
    if chosen is html_part and plain is None:
        text = html.unescape(_TAG_RE.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", text)))
    text = _SPACE_RE.sub(" ", text.replace("\r\n", "\n"))
    return _BLANKS_RE.sub("\n\n", text).strip()


def read_path(path: Path) -> Iterator[ParsedMail]:
    """Every email under ``path``: a Maildir folder, an mbox file, an .eml file, or a folder of them."""
    path = Path(path)
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            box = mailbox.Maildir(str(path), factory=None, create=False)
            for key in sorted(box.keys()):
                try:
                    raw = box.get_bytes(key)
                except Exception:
                    continue
                yield parse_bytes(raw, f"{path}:{key}")
            return
        for child in sorted(path.iterdir()):
            if child.name.startswith("."):
                continue
            yield from read_path(child)
        return
    if _looks_like_mbox(path):
        box = mailbox.mbox(str(path), create=False)
        for n, key in enumerate(box.keys()):
            try:
                raw = box.get_bytes(key)
            except Exception:
                continue
            yield parse_bytes(raw, f"{path}#{n}")
        return
    yield parse_bytes(path.read_bytes(), str(path))


def _looks_like_mbox(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(5) == b"From "


def count_messages(path: Path) -> int:
    """How many messages `read_path` will yield (for progress bars)."""
    path = Path(path)
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            return len(mailbox.Maildir(str(path), factory=None, create=False))
        return sum(count_messages(c) for c in path.iterdir() if not c.name.startswith("."))
    if _looks_like_mbox(path):
        return len(mailbox.mbox(str(path), create=False))
    return 1
