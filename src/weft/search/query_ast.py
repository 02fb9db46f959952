"""Data types of parsed full-text queries (the ``search`` parameter).

Produced by :mod:`weft.search.query` for both ``queryType=simple`` and ``queryType=full``,
consumed by the engine, which analyzes ``Term``/``Phrase`` text with each field's
analyzer and runs the query against every searchable field (or ``searchFields``,
or the clause's own ``field`` when given, which overrides them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class MatchAll:
    """``*`` or an empty query: every document, constant score."""


@dataclass(frozen=True)
class Term:
    """A bare word, analyzed by each field's analyzer; several tokens (``wi-fi``) are matched as a phrase."""

    text: str
    field: str | None = None
    boost: float = 1.0


@dataclass(frozen=True)
class Phrase:
    """``"a b c"`` (text analyzed into positions), with ``~slop`` in full syntax."""

    text: str
    field: str | None = None
    slop: int = 0
    boost: float = 1.0


@dataclass(frozen=True)
class Prefix:
    """``term*``: not analyzed, only lowercased; constant score."""

    text: str
    field: str | None = None
    boost: float = 1.0


@dataclass(frozen=True)
class Wildcard:
    """Full syntax ``te?t``, ``*erm``, ``t*m``: pattern with ``*`` and ``?``, lowercased; constant score."""

    pattern: str
    field: str | None = None
    boost: float = 1.0


@dataclass(frozen=True)
class Regex:
    """Full syntax ``/[mh]otel/``: a regular expression matched against whole terms; constant score."""

    pattern: str
    field: str | None = None
    boost: float = 1.0


@dataclass(frozen=True)
class Fuzzy:
    """Full syntax ``term~`` (distance 2) or ``term~1``; lowercased; constant score."""

    text: str
    distance: int = 2
    field: str | None = None
    boost: float = 1.0
    prefix: bool = False  # autocomplete: the distance applies to a beginning of the term


@dataclass(frozen=True)
class Boolean:
    """Lucene BooleanQuery.

    A document matches when it matches every ``must`` clause, no ``must_not`` clause, and,
    when ``must`` is empty, at least one ``should`` clause (when ``must`` is non-empty,
    ``should`` clauses only add to the score). A Boolean with only ``must_not`` clauses
    matches nothing unless the parser added ``MatchAll`` (as simple syntax under
    searchMode=any does: ``wifi -luxury`` = ``wifi OR -luxury OR *``).
    """

    must: tuple["Node", ...] = ()
    should: tuple["Node", ...] = ()
    must_not: tuple["Node", ...] = ()
    boost: float = 1.0


Node = Union[MatchAll, Term, Phrase, Prefix, Wildcard, Regex, Fuzzy, Boolean]
