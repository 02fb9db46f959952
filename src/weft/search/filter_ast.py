"""Data types of parsed OData expressions ($filter, $orderby, $select).

Produced by :mod:`weft.search.odata` (pure parser) and consumed by the engine,
which checks them against an index definition and evaluates them. Frozen
dataclasses so that trees compare by value in tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as TypingLiteral, Union

ComparisonOp = TypingLiteral["eq", "ne", "gt", "ge", "lt", "le"]


@dataclass(frozen=True)
class FieldPath:
    """A field of the document: ``category`` -> ('category',), ``address/city`` -> ('address', 'city')."""

    parts: tuple[str, ...]
    position: int = 0  # offset in the source text, for error messages; ignored in equality
    def __eq__(self, other):  # position is not part of identity
        return isinstance(other, FieldPath) and other.parts == self.parts
    def __hash__(self):
        return hash(("FieldPath", self.parts))

    @property
    def dotted(self) -> str:
        return "/".join(self.parts)


@dataclass(frozen=True)
class RangeVariable:
    """A lambda's range variable, optionally with a sub-path: ``t`` -> ('t', ()), ``r/name`` -> ('r', ('name',))."""

    name: str
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Constant:
    """A literal.

    kind / python value:
      'string' str; 'int' int; 'float' float (incl. nan/inf/-inf); 'bool' bool; 'null' None;
      'datetime' timezone-aware datetime; 'point' (lon, lat) tuple of floats;
      'polygon' tuple of (lon, lat) tuples (first point repeated last, as written).
    """

    kind: str
    value: object


@dataclass(frozen=True)
class GeoDistance:
    """``geo.distance(target, geography'POINT(lon lat)')`` in kilometres (either argument order accepted)."""

    target: Union[FieldPath, RangeVariable]
    point: tuple[float, float]  # (lon, lat)


@dataclass(frozen=True)
class Comparison:
    """``left op constant``. The parser normalizes ``constant op left`` by mirroring the operator."""

    op: ComparisonOp
    left: Union[FieldPath, RangeVariable, GeoDistance]
    right: Constant


@dataclass(frozen=True)
class And:
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Or:
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Not:
    operand: "Expr"


@dataclass(frozen=True)
class BoolField:
    """A bare boolean field or range variable used as a predicate (``inStock``, ``not inStock``)."""

    target: Union[FieldPath, RangeVariable]


@dataclass(frozen=True)
class BoolConstant:
    """``true`` or ``false`` used as a whole predicate."""

    value: bool


@dataclass(frozen=True)
class Lambda:
    """``tags/any(t: t eq 'x')``, ``rooms/all(r: r/price lt 100)``, or bare ``tags/any()``.

    ``variable`` and ``predicate`` are None only for the bare ``any()`` form.
    """

    kind: TypingLiteral["any", "all"]
    collection: Union[FieldPath, RangeVariable]
    variable: str | None
    predicate: "Expr | None"


@dataclass(frozen=True)
class SearchIn:
    """``search.in(target, 'a,b,c'[, 'delimiters'])``; values already split by the delimiters (default ' ,')."""

    target: Union[FieldPath, RangeVariable]
    values: tuple[str, ...]


@dataclass(frozen=True)
class IsMatch:
    """``search.ismatch('query'[, 'fields'[, 'simple'|'full', 'any'|'all']])`` (``scoring`` for ismatchscoring)."""

    query: str
    fields: tuple[str, ...] | None = None
    query_type: str | None = None
    search_mode: str | None = None
    scoring: bool = False


@dataclass(frozen=True)
class GeoIntersects:
    target: Union[FieldPath, RangeVariable]
    polygon: tuple[tuple[float, float], ...]  # (lon, lat) points


Expr = Union[Comparison, And, Or, Not, BoolField, BoolConstant, Lambda, SearchIn, IsMatch, GeoIntersects]


@dataclass(frozen=True)
class SearchScore:
    """``search.score()`` in $orderby."""


@dataclass(frozen=True)
class OrderByClause:
    target: Union[FieldPath, GeoDistance, SearchScore]
    descending: bool = False
