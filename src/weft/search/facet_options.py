"""Facet option values that need more than a number: ``timeoffset`` (pure).

Azure's Search Documents reference: ``timeoffset`` is ``[+-]hh:mm``, ``[+-]hhmm`` or ``[+-]hh``; it goes with the
``interval`` option, only on ``Edm.DateTimeOffset`` fields, and gives the UTC offset used in setting time
boundaries: ``lastRenovationDate,interval:day,timeoffset:-01:00`` uses the day boundary that starts at 01:00:00
UTC (midnight in the target time zone). The bucket values stay UTC instants (that boundary, ``...T01:00:00Z``).
"""
from __future__ import annotations

import re

from weft.errors import InvalidInput

_OFFSET = re.compile(r"^([+-]?)(\d{2})(?::?(\d{2}))?$")
MAX_OFFSET_MINUTES = 14 * 60  # the range of a DateTimeOffset's offset


def parse_time_offset(value: str, expression: str) -> int:
    """The offset in minutes east of UTC; a 400 naming the facet when it is malformed."""
    m = _OFFSET.match(value.strip())
    if m is not None:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        total = hours * 60 + minutes
        if minutes < 60 and total <= MAX_OFFSET_MINUTES:
            return -total if m.group(1) == "-" else total
    raise InvalidInput(f"Invalid timeoffset '{value}' in '{expression}'; use [+-]hh:mm, [+-]hhmm or [+-]hh, at most 14 hours "
                       "from UTC.\r\nParameter name: facets")
