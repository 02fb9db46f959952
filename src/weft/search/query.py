"""Parsers of the ``search`` parameter of Azure AI Search: simple syntax and full Lucene syntax.

Pure text -> AST (see :mod:`weft.search.query_ast`); no analysis, no schema, no engine, no I/O.
The only public entry point is :func:`parse_search`.

Both syntaxes
=============

* ``None``, empty or whitespace-only text and ``*`` parse to :class:`MatchAll`.
* ``Term`` and ``Phrase`` keep the user's characters (minus escapes) and their case: the engine
  analyzes them per field. A clause whose text analyzes to no tokens (``|``, ``""``, a stopword)
  must be dropped by the engine, as Lucene drops it; the parser cannot know the analyzer.
* ``Prefix``, ``Wildcard``, ``Fuzzy`` and ``Regex`` text is lowercased (Azure does not analyze it).
* ``searchMode=any`` makes OR the default operator between clauses, ``all`` makes it AND.
* A group that ends up with a single required or optional clause is that clause itself, not a
  one-element :class:`Boolean` (unless it carries a boost or a negation).
* Limits (see also :mod:`weft.search.query_limits` for pattern, fuzzy and proximity limits):
  more than :data:`MAX_QUERY_LENGTH` characters, more than :data:`MAX_CLAUSES` leaf
  clauses, or more than :data:`MAX_DEPTH` levels of nesting are rejected (full syntax:
  :class:`QuerySyntaxError`; simple syntax: :class:`InvalidInput`, while deep but shallow-tree
  input such as ``((((a))))`` is fine). The simple parser uses an explicit stack and the full
  parser recurses only per group, at most :data:`MAX_DEPTH` deep, so hostile input never causes a
  ``RecursionError`` (nor do the returned trees, which stay shallow enough to compare and print).

Simple syntax (``queryType=simple``)
====================================

Lucene's SimpleQueryParser with the AND, OR, NOT, phrase, prefix, precedence, whitespace and
escape operators (no fuzzy, no slop: ``~`` is an ordinary character). It never reports syntax
errors:

* ``+`` is AND, ``|`` is OR; an operator with no clause before it is ignored, and of several
  operators in a row only the first counts. Adjacent clauses use the default operator.
* Operators are applied strictly left to right with no precedence; a change of operator closes
  the group built so far: ``a | b + c`` is ``(a | b) + c`` and ``a + b | c`` is ``(a + b) | c``.
* ``-`` negates the clause right after it (``--a`` is ``a``); it is an operator only at the start
  of a clause, so ``wi-fi`` is one term.
* A negated clause in an OR group is ``Boolean(must=(MatchAll(),), must_not=(x,))`` (documents
  without ``x``), so under ``searchMode=any`` ``wifi -luxury`` means ``wifi OR NOT luxury``. In an
  AND group it becomes a ``must_not`` of that group: under ``searchMode=all`` ``wifi -luxury`` is
  ``Boolean(must=(wifi,), must_not=(luxury,))``. A group made only of negations gets
  ``must=(MatchAll(),)``, so ``-luxury`` alone means "every document without luxury".
* ``term*`` is a prefix only when the ``*`` ends the term; a term made only of ``*`` is MatchAll.
* An unterminated ``"`` or an unbalanced ``(`` or ``)`` is ignored and the rest is parsed as
  ordinary text; ``\\`` escapes any character.
* Text with no clause at all (``+``, ``()``, ``""``) parses to ``Boolean()``, which matches
  nothing, as Lucene's MatchNoDocsQuery does.

Full syntax (``queryType=full``): see :mod:`weft.search.query_full`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field as dc_field

from weft.errors import InvalidInput
from weft.search.query_ast import Boolean, MatchAll, Node, Phrase, Prefix, Term
from weft.search.query_full import _FullParser, syntax_error
from weft.search.query_limits import MAX_CLAUSES, MAX_DEPTH, MAX_QUERY_LENGTH, check_query_limits

__all__ = ["parse_search", "MAX_QUERY_LENGTH", "MAX_CLAUSES", "MAX_DEPTH"]

_PARAMETER = "search"
_QUERY_TYPES = ("simple", "full")
_SEARCH_MODES = ("any", "all")

_MUST = "must"
_SHOULD = "should"
_MUST_NOT = "must_not"


def parse_search(text: str | None, query_type: str = "simple", search_mode: str = "any") -> Node:
    """Parse the ``search`` parameter into a query AST.

    ``query_type`` is ``"simple"`` (default) or ``"full"``; ``search_mode`` is ``"any"`` (default)
    or ``"all"`` (both compared case-insensitively; ``None`` means the default). Raises
    :class:`InvalidInput` for bad arguments or exceeded limits in simple syntax and
    :class:`QuerySyntaxError` for any problem in full syntax.
    """
    query_type = _choice(query_type, _QUERY_TYPES, "queryType")
    search_mode = _choice(search_mode, _SEARCH_MODES, "searchMode")
    if text is None:
        return MatchAll()
    if not isinstance(text, str):
        raise InvalidInput(f"The '{_PARAMETER}' parameter must be a string.")
    if len(text) <= _CACHED_LENGTH:
        return _parse_cached(text, query_type, search_mode)
    return _parse(text, query_type, search_mode)


# Parsed queries are immutable (frozen dataclasses, tuples), so the same text parses once: the short queries most
# requests send are kept (errors are raised again each time, never cached).
_CACHED_LENGTH = 256


def _parse(text: str, query_type: str, search_mode: str) -> Node:
    full = query_type == "full"
    if len(text) > MAX_QUERY_LENGTH:
        reason = f"The query is longer than {MAX_QUERY_LENGTH} characters."
        if full:
            syntax_error(text, MAX_QUERY_LENGTH, reason)
        raise InvalidInput(f"Invalid search query: {reason}")
    stripped = text.strip()
    if not stripped or stripped == "*":
        return MatchAll()
    if full:
        return check_query_limits(_FullParser(text, default_required=search_mode == "all").parse())
    return check_query_limits(_SimpleParser(text, default_op=_MUST if search_mode == "all" else _SHOULD).parse())


_parse_cached = functools.lru_cache(maxsize=4096)(_parse)


def _choice(value: str | None, allowed: tuple[str, ...], name: str) -> str:
    if value is None:
        return allowed[0]
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    expected = " or ".join(f"'{a}'" for a in allowed)
    raise InvalidInput(f"Invalid value '{value}' for parameter '{name}'; expected {expected}.")


def _negation(node: Node) -> Boolean:
    """Documents that do not match ``node``."""
    return Boolean(must=(MatchAll(),), must_not=(node,))


def _tree_depth(node: Node) -> int:
    """Depth of nested Boolean nodes (a leaf is 1), computed without recursion."""
    deepest = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(current, Boolean):
            stack.extend((child, depth + 1) for child in (*current.must, *current.should, *current.must_not))
    return deepest


# --------------------------------------------------------------------------------------------
# Simple syntax
# --------------------------------------------------------------------------------------------

_SIMPLE_SPACE = frozenset(" \t\n\r")
_SIMPLE_TOKEN_END = _SIMPLE_SPACE | frozenset('"|+()')


@dataclass
class _SimpleGroup:
    """The clauses of one parenthesized range (or the whole text) being combined left to right.

    ``items`` holds ``(node, negated)`` pairs. While ``op`` is None there is at most one item; a
    change of operator folds the items built so far into a single node (Lucene's "operational
    change requiring a new parent node").
    """

    end: int
    items: list[tuple[Node, bool]] = dc_field(default_factory=list)
    op: str | None = None  # operator of the items (Lucene's previousOperation)
    pending: str | None = None  # explicit operator before the next clause (currentOperation)
    negations: int = 0  # '-' signs right before the next clause

    def add(self, node: Node, default_op: str) -> None:
        entry = (node, self.negations % 2 == 1)
        if self.items:
            op = self.pending or default_op
            if self.op is not None and self.op != op:
                self.items = [(self.result(), False)]
            self.op = op
        self.items.append(entry)
        self.pending = None

    def result(self) -> Node | None:
        if not self.items:
            return None
        if self.op is None:
            node, negated = self.items[0]
            return _negation(node) if negated else node
        if self.op == _SHOULD:
            return Boolean(should=tuple(_negation(n) if neg else n for n, neg in self.items))
        must = tuple(n for n, neg in self.items if not neg)
        must_not = tuple(n for n, neg in self.items if neg)
        return Boolean(must=must or (MatchAll(),), must_not=must_not)


class _SimpleParser:
    """Lucene SimpleQueryParser semantics, with an explicit stack instead of recursion."""

    def __init__(self, text: str, default_op: str):
        self.text = text
        self.default_op = default_op
        self.clauses = 0

    def parse(self) -> Node:
        text = self.text
        closing = self._matching_parens()
        groups = [_SimpleGroup(end=len(text))]
        i = 0
        while True:
            group = groups[-1]
            if i >= group.end:
                if len(groups) == 1:
                    break
                groups.pop()
                parent = groups[-1]
                self._add(parent, group.result())
                parent.negations = 0
                i = group.end + 1
                continue
            c = text[i]
            if c == "(":
                close = closing.get(i)
                if close is None:  # never closed: the '(' is ignored
                    i += 1
                elif close == i + 1:  # '()' cancels the operator before it
                    group.pending = None
                    i = close + 1
                else:
                    groups.append(_SimpleGroup(end=close))
                    i += 1
                    continue  # the negations apply to the whole group
            elif c == ")":  # unbalanced: ignored
                i += 1
            elif c == '"':
                i = self._phrase(group, i)
            elif c == "+" or c == "|":
                if group.pending is None and group.items:
                    group.pending = _MUST if c == "+" else _SHOULD
                i += 1
            elif c == "-":
                group.negations += 1
                i += 1
                continue
            elif c in _SIMPLE_SPACE:
                i += 1
            else:
                i = self._token(group, i)
            group.negations = 0
        node = groups[0].result()
        if node is None:
            return Boolean()
        if _tree_depth(node) > MAX_DEPTH:
            raise InvalidInput(f"Invalid search query: it is nested more than {MAX_DEPTH} levels deep.")
        return node

    def _add(self, group: _SimpleGroup, node: Node | None) -> None:
        if node is not None:
            group.add(node, self.default_op)

    def _leaf(self, group: _SimpleGroup, node: Node) -> None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise InvalidInput(f"Invalid search query: it has more than {MAX_CLAUSES} clauses.")
        group.add(node, self.default_op)

    def _matching_parens(self) -> dict[int, int]:
        """Map each '(' to the ')' that closes it, honouring escapes (quotes do not matter)."""
        text = self.text
        closing: dict[int, int] = {}
        opened: list[int] = []
        i = 0
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == "(":
                opened.append(i)
            elif c == ")" and opened:
                closing[opened.pop()] = i
            i += 1
        return closing

    def _phrase(self, group: _SimpleGroup, start: int) -> int:
        text, end = self.text, group.end
        chars: list[str] = []
        escaped = False
        i = start + 1
        while i < end:
            c = text[i]
            if not escaped:
                if c == "\\":
                    escaped = True
                    i += 1
                    continue
                if c == '"':
                    break
            escaped = False
            chars.append(c)
            i += 1
        if i >= end:  # never closed: the '"' is ignored
            return start + 1
        if i == start + 1:  # '""' cancels the operator before it
            group.pending = None
        else:
            phrase = "".join(chars)
            if phrase.strip():
                self._leaf(group, Phrase(phrase))
        return i + 1

    def _token(self, group: _SimpleGroup, start: int) -> int:
        text, end = self.text, group.end
        chars: list[str] = []
        escaped = prefix = False
        only_stars = True
        i = start
        while i < end:
            c = text[i]
            if escaped:
                only_stars = False
            else:
                if c == "\\":
                    escaped = True
                    prefix = False
                    i += 1
                    continue
                if c in _SIMPLE_TOKEN_END:
                    break
                prefix = bool(chars) and c == "*"
                only_stars = only_stars and c == "*"
            escaped = False
            chars.append(c)
            i += 1
        if chars:
            if only_stars:
                node: Node = MatchAll()
            elif prefix:
                node = Prefix("".join(chars[:-1]).lower())
            else:
                node = Term("".join(chars))
            self._leaf(group, node)
        return i


