"""ETags and the If-Match / If-None-Match rules every Azure-style definition (indexes, synonym maps, data sources,
indexers, knowledge sources and bases) follows, and the ``$select`` of their lists. Plain Python: the services raise,
the HTTP layer maps."""
from __future__ import annotations

import os
import time

from weft.errors import ConcurrentChange, InvalidInput, PreconditionFailed

PRECONDITION = ("The precondition given in one of the request headers evaluated to false. No change was made to the "
                "resource from this request.")


def new_etag() -> str:
    return '"0x' + format(time.time_ns() ^ int.from_bytes(os.urandom(4), "big"), "X") + '"'


def _strip(etag: str) -> str:
    etag = etag.strip()
    return (etag[2:] if etag.startswith("W/") else etag).strip('"')


def check_preconditions(current: str | None, if_match: str | None, if_none_match: str | None) -> None:
    """`current`: the stored ETag, None when the resource does not exist. Raises PreconditionFailed (412)."""
    if if_match is not None and (current is None or (if_match.strip() != "*" and _strip(if_match) != _strip(current))):
        raise PreconditionFailed(PRECONDITION)
    if if_none_match is not None and current is not None and (if_none_match.strip() == "*" or _strip(if_none_match) == _strip(current)):
        raise PreconditionFailed(PRECONDITION)


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()  # a store write with no expectation about the stored ETag (an unconditional upsert)
ATTEMPTS = 8


def expect_etag(stored: str | None, expected) -> None:
    """The stores' compare step of a conditional write: ``expected`` is the ETag the service read (None: it read no
    row; ANY: no check). Raises ConcurrentChange when the stored one differs."""
    if expected is not ANY and stored != expected:
        raise ConcurrentChange("The definition was changed by another request while this one was applied; retry it.")


def retried(operation, attempts: int = ATTEMPTS, reload=None):
    """Runs ``operation`` (read, check preconditions, conditional write) again while its write finds a concurrent
    change: the retry reads the new state, so an If-Match that no longer holds becomes a 412 and an unconditional
    write applies over the newer definition. ``reload``, when given, refreshes a cached view (a node's catalog)
    before the retry; otherwise the retry waits a moment."""
    for attempt in range(attempts):
        try:
            return operation()
        except ConcurrentChange:
            if attempt == attempts - 1:
                raise
            if reload is not None:
                reload()
            else:
                time.sleep(0.005 * (attempt + 1))


def selected(items: list[dict], select: str | None, allowed: set[str], noun: str) -> list[dict]:
    """A list's ``$select`` (``*`` or absent: everything): each item cut to the named properties; a name that is not
    one of ``allowed`` is refused in Azure's words ("... is not a property of {noun}")."""
    if not select or select.strip() == "*":
        return items
    wanted = [s.strip() for s in select.split(",") if s.strip()]
    for w in wanted:
        if w not in allowed:
            raise InvalidInput(f"Invalid $select: '{w}' is not a property of {noun}.\r\nParameter name: $select")
    return [{k: v for k, v in item.items() if k in wanted} for item in items]
