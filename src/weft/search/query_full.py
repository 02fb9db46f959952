"""The full Lucene syntax of the ``search`` parameter (``queryType=full``): lexer and parser.

Pure text -> AST (see :mod:`weft.search.query_ast`); entered through :func:`weft.search.query.parse_search`.

Full syntax (``queryType=full``)
================================

Lucene's classic QueryParser grammar, including its tokenization: ``AND``/``&&``, ``OR``/``||``,
``NOT``/``!``, ``+``, ``-``; words are case-sensitive (``and`` is a term) and a bare ``|`` or ``&``
is a term. ``+``, ``-`` or ``!`` followed by whitespace is a term, as in Lucene.

* Every parenthesized group (and the whole query) is one flat list of clauses combined with
  Lucene's ``addClause`` rules, so precedence is Lucene's, not boolean algebra's:

  - a clause introduced by ``AND`` is required and makes the clause before it required (unless
    that one is prohibited); a clause with ``+`` is required; ``-``, ``!`` or ``NOT`` makes it
    prohibited (``must_not``), whatever the search mode: negation is always ANDed;
  - under ``searchMode=any`` other clauses are optional (``should``); under ``searchMode=all``
    they are required, except that a clause introduced by ``OR`` is optional and makes the clause
    before it optional.

  So with ``any``, ``a AND b OR c`` is ``Boolean(must=(a, b), should=(c,))`` and ``a OR b AND c``
  is ``Boolean(must=(b, c), should=(a,))``; with ``all``, ``a AND b OR c`` is
  ``Boolean(must=(a,), should=(b, c))``.
* A query (or group) with only prohibited clauses, like ``-luxury``, is
  ``Boolean(must_not=(luxury,))``: no required or optional clause, so it matches nothing, which is
  what Azure returns for it (it is not a syntax error).
* ``field:x``, ``field:"a b"``, ``field:(a b)`` set ``field`` on every leaf inside unless an
  inner clause names its own field. Field names are ``[A-Za-z_][A-Za-z0-9_]*`` joined by ``/``
  for sub-fields (``address/city:seattle``). ``*:x`` means all fields; ``*:*`` is MatchAll.
* ``*`` alone is MatchAll; ``field:*`` is ``Wildcard("*", field)`` (documents with any term in
  the field). A boosted MatchAll (``*^2``) is ``Boolean(must=(MatchAll(),), boost=2.0)``.
* A word whose only wildcard is one final ``*`` is a :class:`Prefix`; any other word with an
  unescaped ``*`` or ``?`` is a :class:`Wildcard`. In ``Wildcard.pattern`` an unescaped ``*`` or
  ``?`` is a wildcard and a literal ``*``, ``?`` or ``\\`` stays escaped (``\\*``, ``\\?``,
  ``\\\\``); every other escape is removed.
* ``/re/`` is a :class:`Regex`; the pattern is the raw (lowercased) text between the slashes.
* ``term~`` is fuzzy with distance 2, ``term~N`` with N in 0..2 (a similarity below 1, as in
  ``term~0.8``, is converted to a distance as Lucene does); more than 2 or a fraction above 1 is
  an error. A ``~`` after a wildcard, prefix or regex term is ignored, as in Lucene.
* ``"a b"~N`` is a phrase with ``slop=N`` (a fraction is truncated). Boosts ``x^N`` apply to
  terms, phrases and groups (on the group's :class:`Boolean`, or multiplied into a single
  clause's own boost).
* Range queries (``[a TO b]``, ``{a TO b}``) are not supported and are syntax errors.
* Errors carry the 0-based offset of the first problem in reading order: the unexpected token,
  the end of the text when a clause is missing (``a AND``, ``title:``), or the opening ``(``,
  ``"`` or ``/`` that is never closed.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Iterator, NamedTuple, NoReturn

from weft.errors import QuerySyntaxError
from weft.search.query_ast import Boolean, Fuzzy, MatchAll, Node, Phrase, Prefix, Regex, Term, Wildcard
from weft.search.query_limits import MAX_CLAUSES, MAX_DEPTH

_MUST = "must"
_SHOULD = "should"
_MUST_NOT = "must_not"


def syntax_error(text: str, position: int, reason: str = "") -> NoReturn:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    message = (
        f"Failed to parse query string at line {line}, column {column}. "
        "See https://aka.ms/azure-search-full-query for supported syntax."
    )
    if reason:
        message = f"{message} {reason}"
    raise QuerySyntaxError(message, text=text, position=position, parameter="search")


def _with_boost(node: Node, boost: float) -> Node:
    """Apply a boost to ``node``, multiplying any boost it already has."""
    if isinstance(node, MatchAll):
        return Boolean(must=(node,), boost=boost)
    return dataclasses.replace(node, boost=node.boost * boost)


# --------------------------------------------------------------------------------------------
# Full Lucene syntax
# --------------------------------------------------------------------------------------------

_FULL_SPACE = frozenset(" \t\n\r\u3000")
# Characters that cannot start a term (Lucene's _TERM_START_CHAR excludes them); '+' and '-'
# may still continue one.
_NOT_TERM_START = _FULL_SPACE | frozenset('+-!():^[]"{}~*?\\/')
_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_FIELD_NAME_RE = re.compile(rf"{_IDENT}(?:/{_IDENT})*")
# A sub-field path followed by ':'; plain names are lexed as terms followed by ':'.
_FIELD_PATH_RE = re.compile(rf"({_IDENT}(?:/{_IDENT})+)[ \t\n\r\u3000]*(?=:)")

_AND, _OR, _NOT = "AND", "OR", "NOT"
_PLUS, _MINUS, _BAREOPER = "PLUS", "MINUS", "BAREOPER"
_LPAREN, _RPAREN, _COLON, _CARAT, _NUMBER = "LPAREN", "RPAREN", "COLON", "CARAT", "NUMBER"
_QUOTED, _TERM, _STAR, _PREFIX, _WILD, _REGEX = "QUOTED", "TERM", "STAR", "PREFIX", "WILD", "REGEX"
_SLOP, _FIELD, _EOF = "SLOP", "FIELD", "EOF"

_WORD_OPERATORS = {"AND": _AND, "&&": _AND, "OR": _OR, "||": _OR, "NOT": _NOT}
_BARE_TERMS = frozenset({_TERM, _STAR, _PREFIX, _WILD, _REGEX, _BAREOPER})
_CLAUSE_START = _BARE_TERMS | {_QUOTED, _LPAREN, _FIELD}
_QUERY_CONTINUES = _CLAUSE_START | {_AND, _OR, _NOT, _PLUS, _MINUS}


class _Token(NamedTuple):
    kind: str
    image: str  # the raw text, escapes included
    pos: int


def _unescape(image: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(image):
        if image[i] == "\\" and i + 1 < len(image):
            i += 1
        out.append(image[i])
        i += 1
    return "".join(out)


def _wildcard_pattern(image: str) -> str:
    """Drop escapes except those that keep ``*``, ``?`` or ``\\`` literal."""
    out: list[str] = []
    i = 0
    while i < len(image):
        c = image[i]
        if c == "\\" and i + 1 < len(image):
            nxt = image[i + 1]
            out.append("\\" + nxt if nxt in "*?\\" else nxt)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _describe(token: _Token) -> str:
    return "the end of the query" if token.kind == _EOF else f"'{token.image}'"


class _FullLexer:
    """Lucene classic QueryParser tokens, produced lazily so errors come in reading order."""

    def __init__(self, text: str):
        self.text = text

    def fail(self, pos: int, reason: str) -> NoReturn:
        syntax_error(self.text, pos, reason)

    def tokens(self) -> Iterator[_Token]:
        text = self.text
        n = len(text)
        i = 0
        while i < n:
            c = text[i]
            if c in _FULL_SPACE:
                i += 1
            elif c in "():":
                yield _Token({"(": _LPAREN, ")": _RPAREN, ":": _COLON}[c], c, i)
                i += 1
            elif c == "^":
                yield _Token(_CARAT, c, i)
                j = self._skip_space(i + 1)
                match = _NUMBER_RE.match(text, j)
                if match is None:
                    self.fail(j, "Expected a number after '^'.")
                yield _Token(_NUMBER, match.group(), j)
                i = match.end()
            elif c == '"':
                end = self._quoted_end(i)
                yield _Token(_QUOTED, text[i:end], i)
                i = end
            elif c == "~":
                end = self._slop_end(i)
                yield _Token(_SLOP, text[i:end], i)
                i = end
            elif c in "+-!":
                if i + 1 < n and text[i + 1] in _FULL_SPACE:
                    yield _Token(_BAREOPER, c, i)
                    i += 2
                else:
                    yield _Token({"+": _PLUS, "-": _MINUS, "!": _NOT}[c], c, i)
                    i += 1
            elif c in "[{":
                self.fail(i, "Range queries are not supported; use $filter.")
            elif c in "]}":
                self.fail(i, f"Unexpected '{c}'.")
            elif c == "/":
                end = self._regex_end(i)
                yield _Token(_REGEX, text[i:end], i)
                i = end
            else:
                path = _FIELD_PATH_RE.match(text, i)
                if path is not None:
                    yield _Token(_FIELD, path.group(1), i)
                    i = path.end()
                else:
                    token = self._word(i)
                    yield token
                    i += len(token.image)
        while True:  # the parser may look past the end
            yield _Token(_EOF, "", n)

    def _skip_space(self, i: int) -> int:
        while i < len(self.text) and self.text[i] in _FULL_SPACE:
            i += 1
        return i

    def _escape_end(self, i: int) -> int:
        """End of the escape sequence starting with the backslash at ``i``."""
        if i + 1 >= len(self.text):
            self.fail(i, "The query ends with an escape character.")
        return i + 2

    def _term_chars_end(self, i: int, wildcards: list[int] | None = None) -> int:
        """Skip term characters (and, when ``wildcards`` is given, unescaped ``*`` and ``?``)."""
        text = self.text
        while i < len(text):
            c = text[i]
            if c == "\\":
                i = self._escape_end(i)
            elif wildcards is not None and c in "*?":
                wildcards.append(i)
                i += 1
            elif c not in _NOT_TERM_START or c in "+-":
                i += 1
            else:
                break
        return i

    def _word(self, start: int) -> _Token:
        wildcards: list[int] = []
        text = self.text
        # The first character is a term start, an escape, '*' or '?'; later ones may be '+'/'-'.
        if text[start] == "\\":
            i = self._escape_end(start)
        else:
            if text[start] in "*?":
                wildcards.append(start)
            i = start + 1
        end = self._term_chars_end(i, wildcards)
        image = text[start:end]
        if image in _WORD_OPERATORS:
            kind = _WORD_OPERATORS[image]
        elif not wildcards:
            kind = _TERM
        elif image == "*":
            kind = _STAR
        elif wildcards == [end - 1] and image.endswith("*"):
            kind = _PREFIX
        else:
            kind = _WILD
        return _Token(kind, image, start)

    def _quoted_end(self, start: int) -> int:
        text = self.text
        i = start + 1
        while i < len(text):
            c = text[i]
            if c == "\\" and i + 1 < len(text):
                i += 2
            elif c == '"':
                return i + 1
            else:
                i += 1
        self.fail(start, "The phrase is not closed with '\"'.")

    def _slop_end(self, start: int) -> int:
        match = _NUMBER_RE.match(self.text, start + 1)
        return self._term_chars_end(match.end() if match else start + 1)

    def _regex_end(self, start: int) -> int:
        # Lucene's REGEXPTERM is "/" (~["/"] | "\\/")* "/", longest match: '\/' is part of the
        # pattern unless no later '/' closes it, in which case the last '\/' closes it.
        text = self.text
        last_escaped_slash = -1
        i = start + 1
        while i < len(text):
            c = text[i]
            if c == "\\" and i + 1 < len(text) and text[i + 1] == "/":
                last_escaped_slash = i + 1
                i += 2
            elif c == "/":
                return i + 1
            else:
                i += 1
        if last_escaped_slash >= 0:
            return last_escaped_slash + 1
        self.fail(start, "The regular expression is not closed with '/'.")


class _FullParser:
    """Recursive descent over Lucene's classic grammar::

        query   := modifier? clause (conjunction? modifier? clause)*
        clause  := (field ':' | '*' ':')? ( term | '(' query ')' ('^' number)? )
        term    := bare (('^' number)? slop? | slop ('^' number)?) | quoted slop? ('^' number)?

    Recursion happens only per group, and groups are limited to :data:`MAX_DEPTH` levels.
    """

    def __init__(self, text: str, default_required: bool):
        self.text = text
        self.default_required = default_required
        self.stream = _FullLexer(text).tokens()
        self.lookahead: list[_Token] = []
        self.clauses = 0

    # -- token access --------------------------------------------------------------------

    def peek(self, k: int = 0) -> _Token:
        while len(self.lookahead) <= k:
            self.lookahead.append(next(self.stream))
        return self.lookahead[k]

    def advance(self) -> _Token:
        token = self.peek()
        if token.kind != _EOF:
            self.lookahead.pop(0)
        return token

    def fail(self, pos: int, reason: str) -> NoReturn:
        syntax_error(self.text, pos, reason)

    # -- grammar ---------------------------------------------------------------------------

    def parse(self) -> Node:
        node = self.query(None, 0)
        token = self.peek()
        if token.kind != _EOF:
            self.fail(token.pos, f"Unexpected {_describe(token)}.")
        return node

    def query(self, field: str | None, depth: int) -> Node:
        clauses: list[tuple[str, Node]] = []
        modifier = self.modifier()
        self.add_clause(clauses, None, modifier, self.clause(field, depth))
        while self.peek().kind in _QUERY_CONTINUES:
            conjunction = self.conjunction()
            modifier = self.modifier()
            self.add_clause(clauses, conjunction, modifier, self.clause(field, depth))
        if len(clauses) == 1 and clauses[0][0] != _MUST_NOT:
            return clauses[0][1]
        return Boolean(
            must=tuple(n for occur, n in clauses if occur == _MUST),
            should=tuple(n for occur, n in clauses if occur == _SHOULD),
            must_not=tuple(n for occur, n in clauses if occur == _MUST_NOT),
        )

    def conjunction(self) -> str | None:
        if self.peek().kind in (_AND, _OR):
            return self.advance().kind
        return None

    def modifier(self) -> str | None:
        kind = self.peek().kind
        if kind == _PLUS:
            self.advance()
            return _MUST
        if kind in (_MINUS, _NOT):
            self.advance()
            return _MUST_NOT
        return None

    def add_clause(self, clauses: list[tuple[str, Node]], conjunction: str | None, modifier: str | None, node: Node) -> None:
        """Lucene QueryParserBase.addClause."""
        if clauses and clauses[-1][0] != _MUST_NOT:
            if conjunction == _AND:
                clauses[-1] = (_MUST, clauses[-1][1])
            elif conjunction == _OR and self.default_required:
                clauses[-1] = (_SHOULD, clauses[-1][1])
        if modifier == _MUST_NOT:
            occur = _MUST_NOT
        elif self.default_required:
            occur = _SHOULD if conjunction == _OR else _MUST
        else:
            occur = _MUST if modifier == _MUST or conjunction == _AND else _SHOULD
        clauses.append((occur, node))

    def clause(self, field: str | None, depth: int) -> Node:
        token = self.peek()
        if token.kind in (_TERM, _FIELD, _STAR) and self.peek(1).kind == _COLON:
            if token.kind == _STAR:
                field = None
            else:
                name = token.image if token.kind == _FIELD else _unescape(token.image)
                if not _FIELD_NAME_RE.fullmatch(name):
                    self.fail(token.pos, f"'{name}' is not a valid field name.")
                field = name
            self.advance()
            self.advance()
        token = self.peek()
        if token.kind != _LPAREN:
            return self.term(field)
        if depth >= MAX_DEPTH:
            self.fail(token.pos, f"The query is nested more than {MAX_DEPTH} levels deep.")
        self.advance()
        node = self.query(field, depth + 1)
        close = self.peek()
        if close.kind == _EOF:
            self.fail(token.pos, "The '(' is never closed.")
        if close.kind != _RPAREN:
            self.fail(close.pos, f"Unexpected {_describe(close)}.")
        self.advance()
        boost = self.boost()
        return node if boost is None else _with_boost(node, boost)

    def term(self, field: str | None) -> Node:
        token = self.advance()
        if token.kind in _BARE_TERMS:
            slop: _Token | None = None
            boost = self.boost()
            if self.peek().kind == _SLOP:
                slop = self.advance()
                if boost is None:
                    boost = self.boost()
            node = self.bare_term(token, slop, field)
        elif token.kind == _QUOTED:
            slop = self.advance() if self.peek().kind == _SLOP else None
            boost = self.boost()
            node = Phrase(_unescape(token.image[1:-1]), field, self.phrase_slop(slop))
        else:
            self.fail(token.pos, f"Expected a search term but found {_describe(token)}.")
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            self.fail(token.pos, f"The query has more than {MAX_CLAUSES} clauses.")
        return node if boost is None else _with_boost(node, boost)

    def boost(self) -> float | None:
        if self.peek().kind != _CARAT:
            return None
        self.advance()
        number = self.advance()  # the lexer guarantees a NUMBER after '^'
        value = float(number.image)
        if not math.isfinite(value):
            self.fail(number.pos, "The boost is too large.")
        return value

    def bare_term(self, token: _Token, slop: _Token | None, field: str | None) -> Node:
        kind, image = token.kind, token.image
        if kind == _STAR:
            return MatchAll() if field is None else Wildcard("*", field)
        if kind == _PREFIX:
            return Prefix(_unescape(image[:-1]).lower(), field)
        if kind == _WILD:
            return Wildcard(_wildcard_pattern(image).lower(), field)
        if kind == _REGEX:
            return Regex(image[1:-1].lower(), field)
        text = image[0] if kind == _BAREOPER else _unescape(image)
        if slop is not None:
            return Fuzzy(text.lower(), self.fuzzy_distance(slop, text), field)
        return Term(text, field)

    def fuzzy_distance(self, slop: _Token, text: str) -> int:
        value = slop.image[1:]
        if value == "":
            return 2
        if not _NUMBER_RE.fullmatch(value):
            self.fail(slop.pos, f"'{slop.image}' is not a valid fuzzy edit distance.")
        whole, _, fraction = value.partition(".")
        distance = int(whole)
        has_fraction = fraction.strip("0") != ""
        if distance >= 1:
            if has_fraction:
                self.fail(slop.pos, "Fractional edit distances are not allowed.")
            if distance > 2:
                self.fail(slop.pos, "The fuzzy edit distance must be between 0 and 2.")
            return distance
        if not has_fraction:
            return 0
        # A minimum similarity (Lucene's legacy form): edits = (1 - similarity) * length, at most 2.
        similarity = float("0." + fraction)
        return min(int((1.0 - similarity) * len(text)), 2)

    def phrase_slop(self, slop: _Token | None) -> int:
        value = "" if slop is None else slop.image[1:]
        if value == "":
            return 0
        if not _NUMBER_RE.fullmatch(value):
            self.fail(slop.pos, f"'{slop.image}' is not a valid phrase slop.")
        whole = value.partition(".")[0] or "0"
        if len(whole) > 9:  # check_query_limits names the limit; keep the int small
            whole = "999999999"
        return int(whole)
