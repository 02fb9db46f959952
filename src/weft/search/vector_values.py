"""A document's ``Collection(Edm.Single)`` vector, checked once and packed once.

``single_vector`` validates a vector of JSON numbers and returns a ``SingleVector``: the list of numbers as sent
(what merges, the cluster's stored source and every other reader of a document see) carrying ``f32``, the same
values packed as float32 (native byte order, as numpy and the stored column have them), made while checking them. The storage column (``_vectors``/``_ann``)
and the ANN index take those bytes as they are (one ``numpy.frombuffer`` per write group instead of one list
conversion per document and per consumer). A ``SingleVector`` is never changed after it is made: nothing in
weft mutates a document's vector in place (a merge replaces it whole).

The check, at C speed: ``struct.pack`` refuses anything that is not a number (str, None, nested lists) and any
value beyond the float32 range; a finite sum means every value is finite; and a bool (JSON ``true``/``false``,
which Python counts as the numbers 1 and 0) packs exactly as 1.0 or 0.0, so only a vector whose packed bytes
contain one of those two patterns is checked value by value (``exact``), which also gives every refusal its
message. Numbers that are not ``int``/``float`` (a library caller's numpy scalars) are taken as numbers.
"""
from __future__ import annotations

import math
import numbers
import struct
from typing import Callable

FLOAT32_MAX = 3.4028234663852886e38
_ONE = struct.pack("=f", 1.0)
_ZERO = struct.pack("=f", 0.0)
_FORMATS: dict[int, struct.Struct] = {}


class SingleVector(list):
    """A checked float vector (a list of its numbers) with ``f32``: the values as float32 bytes (native order)."""

    __slots__ = ("f32",)

    def __reduce__(self):  # pickles (and copies) as the plain list it is
        return (list, (list(self),))


def _format(n: int) -> struct.Struct:
    found = _FORMATS.get(n)
    if found is None:
        found = _FORMATS[n] = struct.Struct(f"={n}f")
    return found


def single_vector(values: list, refuse: Callable[[object, str | None], None]) -> SingleVector:
    """``values`` (a non-empty list of the right length) as a ``SingleVector``; ``refuse(v, why)`` raises for a
    bad value (``why`` None: not a number at all)."""
    fmt = _format(len(values))
    try:
        packed = fmt.pack(*values)
    except (struct.error, TypeError, OverflowError, ValueError):
        packed = None
    if packed is None or _ONE in packed or _ZERO in packed:
        packed = exact(values, refuse, fmt)
    else:
        try:
            finite = math.isfinite(sum(values))
        except TypeError:  # a number type that does not add to a float
            finite = False
        if not finite:
            packed = exact(values, refuse, fmt)
    out = SingleVector(values)
    out.f32 = packed
    return out


def exact(values: list, refuse: Callable[[object, str | None], None], fmt: struct.Struct | None = None) -> bytes:
    """The value-by-value check: real numbers only (no bools), finite, within float32."""
    for v in values:
        # numbers only (a numpy scalar is one, as on the fast path); a bool is not, though Python counts it as 0 or 1
        if type(v) is bool or not isinstance(v, numbers.Real) or v != v or v in (math.inf, -math.inf):
            refuse(v, None)
        if abs(v) > FLOAT32_MAX:
            try:
                struct.pack("=f", v)  # rounds to the largest float32 when close enough
            except (OverflowError, struct.error):  # struct.error: an int too large for a double
                refuse(v, f"is outside the range of Edm.Single (±{FLOAT32_MAX:g})")
    return (fmt or _format(len(values))).pack(*values)
