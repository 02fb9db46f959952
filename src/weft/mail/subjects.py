"""Subject normalization: the RFC 5256 base subject (for grouping) and the conversation topic (for replies).

Two different normalizations, for two jobs:

* ``base_subject`` follows RFC 5256 section 2.1: whitespace collapsed, ``(fwd)`` trailers,
  ``Re:``/``Fwd:`` leaders, list tags (``[list]``) and ``[Fwd: ...]`` wrappers removed. It is what
  subject fallback compares (case-insensitively, via ``subject_key``).
* ``conversation_topic`` only removes reply/forward markers and keeps list tags and ticket
  numbers: it is what a reply's ``Thread-Topic`` and ``Subject`` are built from, so the text a
  person wrote survives.

The RFC recognizes ``re``, ``fw`` and ``fwd``; mail in other languages uses its own markers
(``AW:``, ``SV:``, ``Antw:``...). Those are the replaceable ``reply_prefixes`` argument, defaulting
to ``DEFAULT_REPLY_PREFIXES``. Matching is case-insensitive; a marker may carry a counter blob
(``Re[2]:``) and may end with an ASCII or a full-width colon.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

RFC_REPLY_PREFIXES: tuple[str, ...] = ("re", "fwd", "fw")

DEFAULT_REPLY_PREFIXES: tuple[str, ...] = (
    "aw", "wg",                     # German: Antwort, Weitergeleitet
    "sv", "vs", "vb", "vl",         # Scandinavian / Finnish
    "antw", "doorst",               # Dutch
    "rv", "res", "enc",             # Spanish / Portuguese
    "tr", "ref",                    # French
    "rif", "inoltro",               # Italian
    "odp", "pd",                    # Polish
    "ynt", "ilt",                   # Turkish
    "отв", "пер",                   # Russian
    "回复", "答复", "转发", "回覆", "轉寄",  # Chinese
)

_WHITESPACE = re.compile(r"\s+")
_BLOB = r"\[[^\[\]]*\]\s*"
_TRAILER = re.compile(r"(?:\s*\(fwd\))+\s*$", re.IGNORECASE)
_FWD_WRAPPER = re.compile(r"^\[fwd:(.*)\]$", re.IGNORECASE | re.DOTALL)
_LEADING_BLOB = re.compile(r"^" + _BLOB)


@dataclass(frozen=True)
class BaseSubject:
    """The RFC 5256 base subject of a subject line, and whether removing artifacts showed a reply or forward."""

    text: str
    is_reply_or_forward: bool

    @property
    def key(self) -> str:
        """The comparison key: the base subject case-folded."""
        return self.text.casefold()


def collapse_whitespace(subject: str) -> str:
    """Tabs, folding and runs of whitespace become one space; ends are trimmed."""
    return _WHITESPACE.sub(" ", subject or "").strip()


@lru_cache(maxsize=64)
def _leader_pattern(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    words = sorted({p.casefold() for p in (*RFC_REPLY_PREFIXES, *prefixes) if p}, key=len, reverse=True)
    alternatives = "|".join(re.escape(word) for word in words)
    # (*subj-blob subj-refwd): leading list tags, then a marker, optional blob, then a colon.
    return re.compile(rf"^((?:{_BLOB})*)(?:{alternatives})\s*(?:\[[^\[\]]*\])?\s*[:\uff1a]\s*", re.IGNORECASE)


def _prefix_tuple(reply_prefixes: Iterable[str] | None) -> tuple[str, ...]:
    return DEFAULT_REPLY_PREFIXES if reply_prefixes is None else tuple(reply_prefixes)


def base_subject(subject: str, reply_prefixes: Iterable[str] | None = None) -> BaseSubject:
    """RFC 5256 section 2.1 base subject extraction (on an already decoded string)."""
    leader = _leader_pattern(_prefix_tuple(reply_prefixes))
    text = collapse_whitespace(subject)
    marked = False
    while True:
        # (2) trailers
        stripped = _TRAILER.sub("", text)
        if stripped != text:
            marked = True
            text = stripped.strip()
        # (3)-(5) leaders and removable blobs, until nothing changes
        while True:
            match = leader.match(text)
            if match:
                text = text[match.end():]
                marked = True
                continue
            blob = _LEADING_BLOB.match(text)
            if blob and text[blob.end():].strip():
                text = text[blob.end():]
                continue
            break
        # (6) [fwd: ...] wrapper, then start over
        wrapper = _FWD_WRAPPER.match(text)
        if wrapper:
            text = wrapper.group(1).strip()
            marked = True
            continue
        return BaseSubject(text.strip(), marked)


def subject_key(subject: str, reply_prefixes: Iterable[str] | None = None) -> str:
    """The case-folded base subject, what subject fallback compares."""
    return base_subject(subject, reply_prefixes).key


def conversation_topic(subject: str, reply_prefixes: Iterable[str] | None = None) -> str:
    """The subject without reply/forward markers, list tags kept: ``"[ops] RE: FW: Disk full"`` -> ``"[ops] Disk full"``."""
    leader = _leader_pattern(_prefix_tuple(reply_prefixes))
    text = collapse_whitespace(subject)
    while True:
        before = text
        text = _TRAILER.sub("", text).strip()
        match = leader.match(text)
        if match:
            text = (match.group(1) + text[match.end():]).strip()
        wrapper = _FWD_WRAPPER.match(text)
        if wrapper:
            text = wrapper.group(1).strip()
        if text == before:
            return text


def reply_subject(subject: str, reply_prefixes: Iterable[str] | None = None) -> str:
    """The subject of a reply: exactly one ``Re: `` in front of the topic."""
    topic = conversation_topic(subject, reply_prefixes)
    return f"Re: {topic}" if topic else "Re:"
