"""Key digests for hard-delete reconciliation. Pure (no SQL).

A source key's digest is the md5 of its *canonical text*: an integer's decimal text, a string
itself (UTF-8), a UUID's lowercase hyphenated form. Every SQL dialect weft reads renders these the
same way (``CAST(k AS text)``, ``CAST(k AS CHAR)``...), so the source can compute the digest in SQL
and the indexer's key ledger in Python, and the two agree key for key whatever the source's
collation. Keys of other types (dates, floats, decimals, bytes) have no text every dialect renders
identically: they have no digest, and reconciliation walks the ledger instead.

From the 32 hex digits of the digest:

* the **bucket** is the first :data:`BUCKET_DIGITS` (3) digits, 0..4095;
* the **check** is the next :data:`CHECK_DIGITS` (8) digits, 0..2^32-1;
* a **prefix** of ``3 + d`` digits (``0 <= d <= 8``) names a range inside a bucket: the keys whose
  check starts with those ``d`` hex digits. Reconciliation compares ``(count, sum of checks)`` per
  prefix between the source and the ledger, and lists keys only under prefixes that differ.
"""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

BUCKET_DIGITS = 3
BUCKETS = 16 ** BUCKET_DIGITS  # 4096
CHECK_DIGITS = 8
CHECK_BITS = 4 * CHECK_DIGITS
MAX_PREFIX_DIGITS = BUCKET_DIGITS + CHECK_DIGITS


def canonical_text(value: Any) -> str | None:
    """The text a key is hashed as, or None when its type has no dialect-independent text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    return None


def encoded_text(value: Any) -> str | None:
    """:func:`canonical_text` of a key as the ledger stores it (``tracking.encode_value`` JSON)."""
    if isinstance(value, dict):
        if len(value) == 1 and "uuid" in value:
            try:
                return str(uuid.UUID(str(value["uuid"])))
            except ValueError:
                return None
        return None
    return canonical_text(value)


def digest_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def bucket_and_check(text: str | None) -> tuple[int, int] | tuple[None, None]:
    if text is None:
        return None, None
    digest = digest_hex(text)
    return int(digest[:BUCKET_DIGITS], 16), int(digest[BUCKET_DIGITS:MAX_PREFIX_DIGITS], 16)


def prefix_of(bucket: int, check: int, digits: int) -> str:
    """The hex prefix of ``digits`` digits (3..11) of a key with this bucket and check."""
    return (f"{bucket:03x}{check:08x}")[:digits]


def prefix_range(prefix: str) -> tuple[int, int, int]:
    """``(bucket, lowest check, highest check)`` covered by a hex prefix of 3..11 digits."""
    bucket = int(prefix[:BUCKET_DIGITS], 16)
    tail = prefix[BUCKET_DIGITS:]
    free_bits = CHECK_BITS - 4 * len(tail)
    low = (int(tail, 16) if tail else 0) << free_bits
    return bucket, low, low + (1 << free_bits) - 1
