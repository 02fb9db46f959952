"""The Outlook conversation index: MS-OXOMSG 2.2.1.3 PidTagConversationIndex, the ``Thread-Index`` header.

Layout (the header value is the base64 of these bytes)::

    header block, 22 bytes
      byte 0       reserved, 0x01
      bytes 1-5    40 bits of the FILETIME (UTC, 100 ns ticks since 1601-01-01), big-endian
      bytes 6-21   conversation GUID; Data1/Data2/Data3 big-endian (= uuid.UUID.bytes)
    child block ("response level"), 5 bytes, one per reply or forward
      bit 0        DC, delta code
      bits 1-31    TimeDelta
      bits 32-39   random

Two time encodings of the header exist in the wild:

* ``CURRENT`` (today's spec): the 32 high bits plus the 8 high bits of the low DWORD, i.e.
  FILETIME bits 63..24. For dates 1829-2057 the top FILETIME byte is 0x01, so byte 1 is 0x01
  (values start ``AQ...`` in base64).
* ``LEGACY`` (the 2008 spec revision, Outlook 2007): the top byte is dropped and bits 55..16
  are stored (values start ``Ac...``/``Ad...``). The dropped byte is taken to be 0x01.

A parsed index records the 40 stored bits as they were (``header_time``), so bytes round-trip
exactly; the encoding is read from byte 1.

Child block time: TimeDiff = reply time - header time (FILETIME ticks). If TimeDiff is below
2**49 (about 1.78 years; the spec's test ``high DWORD & 0x00FE0000 == 0``), DC = 0 and
TimeDelta = TimeDiff bits 48..18 (262144 ticks, ~26 ms, per unit). Otherwise DC = 1 and
TimeDelta = bits 53..23 (8388608 ticks, ~0.84 s, per unit; up to ~57 years). A reply time
before the header time (clock skew) counts as a zero difference.
"""
from __future__ import annotations

import base64
import binascii
import enum
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from weft.errors import InvalidInput

HEADER_LENGTH = 22
CHILD_BLOCK_LENGTH = 5
RESERVED_BYTE = 0x01

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
_TICKS_PER_SECOND = 10_000_000
_FINE_SHIFT = 18     # DC = 0: TimeDelta is TimeDiff >> 18
_COARSE_SHIFT = 23   # DC = 1: TimeDelta is TimeDiff >> 23
_FINE_LIMIT = 1 << 49
_COARSE_LIMIT = 1 << 54
_DELTA_MASK = (1 << 31) - 1
_FORTY_BITS = (1 << 40) - 1


class ThreadIndexError(InvalidInput, ValueError):
    """A Thread-Index / conversation index value is malformed, or a value cannot be encoded."""


class TimeEncoding(enum.Enum):
    """Which 40 bits of the FILETIME the header block holds."""

    CURRENT = "current"  # bits 63..24
    LEGACY = "legacy"    # bits 55..16, top byte assumed 0x01


def filetime_from_datetime(moment: datetime) -> int:
    """FILETIME ticks (100 ns since 1601-01-01 UTC) of a timezone-aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ThreadIndexError("Thread-Index times must be timezone-aware datetimes (got a naive datetime).")
    elapsed = moment - _FILETIME_EPOCH
    ticks = (elapsed.days * 86_400 + elapsed.seconds) * _TICKS_PER_SECOND + elapsed.microseconds * 10
    if not 0 <= ticks < 1 << 64:
        raise ThreadIndexError(f"{moment.isoformat()} is outside the FILETIME range.")
    return ticks


def datetime_from_filetime(ticks: int) -> datetime:
    """The UTC datetime of FILETIME ticks (microsecond precision; the 100 ns remainder is dropped)."""
    return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)


@dataclass(frozen=True)
class ChildBlock:
    """One 5-byte response level: delta code, 31-bit time delta, 8 random bits."""

    delta_code: int
    time_delta: int
    random: int

    def __post_init__(self) -> None:
        if not all(isinstance(v, int) for v in (self.delta_code, self.time_delta, self.random)):
            raise ThreadIndexError("Child block fields are integers.")
        if self.delta_code not in (0, 1):
            raise ThreadIndexError(f"delta_code must be 0 or 1, got {self.delta_code!r}.")
        if not 0 <= self.time_delta <= _DELTA_MASK:
            raise ThreadIndexError(f"time_delta must fit in 31 bits, got {self.time_delta!r}.")
        if not 0 <= self.random <= 0xFF:
            raise ThreadIndexError(f"random must fit in 8 bits, got {self.random!r}.")

    @classmethod
    def for_time_difference(cls, ticks: int, random: int) -> ChildBlock:
        """The block for a TimeDiff in FILETIME ticks, choosing the resolution as the spec says."""
        ticks = max(ticks, 0)
        if ticks < _FINE_LIMIT:
            return cls(0, ticks >> _FINE_SHIFT, random)
        if ticks < _COARSE_LIMIT:
            return cls(1, ticks >> _COARSE_SHIFT, random)
        raise ThreadIndexError(
            f"A reply {ticks} ticks (about {ticks // (_TICKS_PER_SECOND * 86_400 * 365)} years) after the "
            "conversation start cannot be encoded: the coarse delta covers less than 2**54 ticks (~57 years)."
        )

    @property
    def time_difference(self) -> int:
        """The TimeDiff this block stands for, in FILETIME ticks (truncated to its resolution)."""
        return self.time_delta << (_COARSE_SHIFT if self.delta_code else _FINE_SHIFT)

    def to_bytes(self) -> bytes:
        word = (self.delta_code << 31) | self.time_delta
        return word.to_bytes(4, "big") + bytes([self.random])

    @classmethod
    def from_bytes(cls, raw: bytes) -> ChildBlock:
        if len(raw) != CHILD_BLOCK_LENGTH:
            raise ThreadIndexError(f"A child block is {CHILD_BLOCK_LENGTH} bytes, got {len(raw)}.")
        word = int.from_bytes(raw[:4], "big")
        return cls(word >> 31, word & _DELTA_MASK, raw[4])


@dataclass(frozen=True)
class ConversationIndex:
    """A parsed conversation index: the header block's stored time bits and GUID, and the child blocks."""

    header_time: int
    guid: uuid.UUID
    children: tuple[ChildBlock, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.header_time, int) or not 0 <= self.header_time <= _FORTY_BITS:
            raise ThreadIndexError(f"header_time must fit in 40 bits, got {self.header_time!r}.")
        if not isinstance(self.guid, uuid.UUID):
            raise ThreadIndexError("guid must be a uuid.UUID.")
        if not all(isinstance(child, ChildBlock) for child in self.children):
            raise ThreadIndexError("children must be ChildBlock values.")
        object.__setattr__(self, "children", tuple(self.children))

    # -- derived views -------------------------------------------------------------------------
    @property
    def encoding(self) -> TimeEncoding:
        return TimeEncoding.CURRENT if self.header_time >> 32 == 0x01 else TimeEncoding.LEGACY

    @property
    def header_filetime(self) -> int:
        """The conversation start as FILETIME ticks, with the bits the header does not store set to zero."""
        if self.encoding is TimeEncoding.CURRENT:
            return self.header_time << 24
        return (0x01 << 56) | (self.header_time << 16)

    @property
    def started_at(self) -> datetime:
        return datetime_from_filetime(self.header_filetime)

    @property
    def depth(self) -> int:
        """How many replies/forwards deep this message is (0 for the message that started the conversation)."""
        return len(self.children)

    @property
    def reply_times(self) -> tuple[datetime, ...]:
        """The time each child block records (header time plus its delta), oldest generation first."""
        start = self.header_filetime
        return tuple(datetime_from_filetime(start + child.time_difference) for child in self.children)

    @property
    def header_bytes(self) -> bytes:
        """The 22-byte header block: what every message of the conversation shares."""
        return bytes([RESERVED_BYTE]) + self.header_time.to_bytes(5, "big") + self.guid.bytes

    @property
    def parent(self) -> ConversationIndex | None:
        """The index of the message this one replies to (one child block fewer), or None at the root."""
        if not self.children:
            return None
        return ConversationIndex(self.header_time, self.guid, self.children[:-1])

    def to_bytes(self) -> bytes:
        return self.header_bytes + b"".join(child.to_bytes() for child in self.children)

    def to_base64(self) -> str:
        """The ``Thread-Index`` header value."""
        return base64.b64encode(self.to_bytes()).decode("ascii")

    def is_ancestor_of(self, other: ConversationIndex) -> bool:
        """True if ``other`` descends from this index (same header, this one's blocks a proper prefix)."""
        return (
            other.header_time == self.header_time
            and other.guid == self.guid
            and len(other.children) > len(self.children)
            and other.children[: len(self.children)] == self.children
        )

    # -- parsing ---------------------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, raw: bytes) -> ConversationIndex:
        """Parse the binary PidTagConversationIndex value."""
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise ThreadIndexError(f"A conversation index is bytes, got {type(raw).__name__}.")
        raw = bytes(raw)
        if len(raw) < HEADER_LENGTH:
            raise ThreadIndexError(f"A conversation index is at least {HEADER_LENGTH} bytes, got {len(raw)}.")
        if (len(raw) - HEADER_LENGTH) % CHILD_BLOCK_LENGTH:
            raise ThreadIndexError(
                f"A conversation index is {HEADER_LENGTH} bytes plus whole {CHILD_BLOCK_LENGTH}-byte child blocks; "
                f"{len(raw)} bytes leaves {(len(raw) - HEADER_LENGTH) % CHILD_BLOCK_LENGTH} over."
            )
        if raw[0] != RESERVED_BYTE:
            raise ThreadIndexError(f"The first byte of a conversation index is 0x01, got 0x{raw[0]:02x}.")
        children = tuple(
            ChildBlock.from_bytes(raw[offset : offset + CHILD_BLOCK_LENGTH])
            for offset in range(HEADER_LENGTH, len(raw), CHILD_BLOCK_LENGTH)
        )
        return cls(int.from_bytes(raw[1:6], "big"), uuid.UUID(bytes=raw[6:22]), children)

    @classmethod
    def from_base64(cls, value: str) -> ConversationIndex:
        """Parse a ``Thread-Index`` header value (folding whitespace and missing padding tolerated)."""
        if not isinstance(value, str):
            raise ThreadIndexError(f"A Thread-Index header value is text, got {type(value).__name__}.")
        compact = "".join(value.split())
        if not compact:
            raise ThreadIndexError("The Thread-Index value is empty.")
        if len(compact) % 4 == 1:
            raise ThreadIndexError("The Thread-Index value is not valid base64 (impossible length).")
        compact += "=" * (-len(compact) % 4)
        try:
            raw = base64.b64decode(compact.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError) as error:
            raise ThreadIndexError(f"The Thread-Index value is not valid base64: {error}.") from None
        return cls.from_bytes(raw)


def parse(value: str | bytes | bytearray | ConversationIndex) -> ConversationIndex:
    """Parse a ``Thread-Index`` header (text, base64) or a binary conversation index (bytes)."""
    if isinstance(value, ConversationIndex):
        return value
    if isinstance(value, str):
        return ConversationIndex.from_base64(value)
    return ConversationIndex.from_bytes(value)


def new_conversation(now: datetime, guid: uuid.UUID | None = None) -> ConversationIndex:
    """The index of a message that starts a conversation: header block only, CURRENT time encoding.

    Times outside 1829-2057 cannot be told apart from the legacy encoding and are refused.
    """
    ticks = filetime_from_datetime(now)
    header_time = ticks >> 24
    if header_time >> 32 != 0x01:
        raise ThreadIndexError(f"{now.isoformat()} is outside 1829-2057, the range the header time encoding covers.")
    return ConversationIndex(header_time, uuid.uuid4() if guid is None else guid)


def reply(parent_index: str | bytes | ConversationIndex, now: datetime, random_byte: int | None = None) -> ConversationIndex:
    """The index of a reply or forward: the parent's full index plus one child block for ``now``.

    The delta is measured from the conversation's header time. ``random_byte`` defaults to 8
    random bits; callers creating several siblings at once may pass a sequence count instead
    (MAPI uses 4 random bits plus 4 bits of sequence) so the siblings' indexes differ.
    """
    parent = parse(parent_index)
    random = secrets.randbelow(256) if random_byte is None else random_byte
    block = ChildBlock.for_time_difference(filetime_from_datetime(now) - parent.header_filetime, random)
    return ConversationIndex(parent.header_time, parent.guid, (*parent.children, block))
