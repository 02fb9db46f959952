"""Parser for the OData expressions of Azure AI Search: ``$filter``, ``$orderby`` and ``$select``.

Pure text -> AST (see :mod:`weft.search.filter_ast`); no schema, no engine, no I/O. Anything
the grammar rejects raises :class:`weft.errors.QuerySyntaxError` carrying the input text, the
0-based position of the problem and the query parameter name.

Grammar (Azure's ``search-query-odata-syntax-reference``), precedence lowest first::

    filter      := or_expr
    or_expr     := and_expr ('or' and_expr)*
    and_expr    := unary ('and' unary)*
    unary       := 'not' unary | primary
    primary     := '(' or_expr ')'
                 | operand op constant | constant op operand
                 | path '/any(' [ident ':' or_expr] ')' | path '/all(' ident ':' or_expr ')'
                 | search.in(...) | search.ismatch[scoring](...) | geo.intersects(...)
                 | 'true' | 'false' | path
    operand     := path | geo.distance(path, point) | geo.distance(point, path)

Design notes:

* Lexing is lazy, so the first problem in reading order is the one reported.
* Chains of one operator (``a or b or c or ...``) are built as a balanced tree: for up to three
  operands this is the same as left associativity; for long generated chains it keeps the tree
  shallow so that recursive consumers don't run out of stack.
* Nesting (parentheses, ``not``, lambdas) is limited to :data:`MAX_DEPTH` levels, so hostile
  input fails with a :class:`QuerySyntaxError`, never a ``RecursionError``.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Callable, NoReturn, Sequence

from weft.errors import QuerySyntaxError
from weft.search.filter_ast import (
    And,
    BoolConstant,
    BoolField,
    Comparison,
    Constant,
    Expr,
    FieldPath,
    GeoDistance,
    GeoIntersects,
    IsMatch,
    Lambda,
    Not,
    Or,
    OrderByClause,
    RangeVariable,
    SearchIn,
    SearchScore,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_ORDERBY_CLAUSES",
    "parse_filter",
    "parse_orderby",
    "parse_select",
    "split_search_in_values",
]

MAX_DEPTH = 100
"""Maximum nesting of parentheses, ``not`` and lambdas in a ``$filter``."""

MAX_ORDERBY_CLAUSES = 32

DEFAULT_SEARCH_IN_DELIMITERS = " ,"

COMPARISON_OPS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_MIRRORED_OP = {"eq": "eq", "ne": "ne", "gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}
# Words that cannot start a field path in a $filter (they are operators there).
_FILTER_KEYWORDS = frozenset({"and", "or", "not"}) | COMPARISON_OPS
# Identifiers that are constants when they stand alone.
_NAMED_CONSTANTS = {
    "true": Constant("bool", True),
    "false": Constant("bool", False),
    "null": Constant("null", None),
    "NaN": Constant("float", math.nan),
    "INF": Constant("float", math.inf),
}
_PREDICATE_FUNCTIONS = frozenset({"search.in", "search.ismatch", "search.ismatchscoring", "geo.intersects"})
_KNOWN_FUNCTIONS = _PREDICATE_FUNCTIONS | {"geo.distance", "search.score"}

_WHITESPACE = " \t\r\n\f\v"
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")
_PUNCTUATION = frozenset("(),:/*")

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*", re.ASCII)
_NUMBER_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?", re.ASCII)
_DATE_PREFIX_RE = re.compile(r"[0-9]{4}-[0-9]", re.ASCII)
_DATETIME_RE = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<tzhour>[0-9]{2}):(?P<tzminute>[0-9]{2}))",
    re.ASCII,
)
_GEO_NUMBER = r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_GEO_SRID = r"\s*(?:SRID\s*=\s*4326\s*;)?\s*"
_GEO_POINT_RE = re.compile(
    _GEO_SRID + rf"POINT\s*\(\s*({_GEO_NUMBER})\s+({_GEO_NUMBER})\s*\)\s*", re.ASCII | re.IGNORECASE
)
_GEO_POLYGON_RE = re.compile(_GEO_SRID + r"POLYGON\s*\(\s*\(([^()]*)\)\s*\)\s*", re.ASCII | re.IGNORECASE)
_GEO_LONLAT_RE = re.compile(rf"\s*({_GEO_NUMBER})\s+({_GEO_NUMBER})\s*", re.ASCII)


# --------------------------------------------------------------------------- public API


def parse_filter(text: str) -> Expr:
    """Parse a ``$filter`` expression into an :data:`Expr` tree."""
    parser = _Parser(text, "$filter")
    expr = parser.parse_or()
    parser.expect_end("'and', 'or'")
    return expr


def parse_orderby(text: str) -> list[OrderByClause]:
    """Parse ``$orderby``: comma-separated ``(field_path | geo.distance(...) | search.score()) [asc|desc]``.

    Empty or blank text gives an empty list.
    """
    parser = _Parser(text, "$orderby")
    if parser.peek().kind == "eof":
        return []
    clauses: list[OrderByClause] = []
    while True:
        start = parser.peek()
        if len(clauses) == MAX_ORDERBY_CLAUSES:
            parser.fail(
                start.pos,
                f"$orderby cannot contain more than {MAX_ORDERBY_CLAUSES} clauses.",
            )
        clauses.append(parser.parse_orderby_clause())
        if not parser.accept_punct(","):
            break
    parser.expect_end("',', 'asc', 'desc'")
    return clauses


def parse_select(text: str) -> list[FieldPath] | None:
    """Parse ``$select``: ``*`` (or blank) -> None, else a list of comma-separated field paths."""
    parser = _Parser(text, "$select")
    tok = parser.peek()
    if tok.kind == "eof":
        return None
    if tok.is_punct("*"):
        parser.advance()
        parser.expect_end("end of input after '*'", plain=True)
        return None
    paths = [parser.parse_field_path("at the start of $select")]
    while parser.accept_punct(","):
        paths.append(parser.parse_field_path("after ','"))
    parser.expect_end("','")
    return paths


def split_search_in_values(values: str, delimiters: str = DEFAULT_SEARCH_IN_DELIMITERS) -> tuple[str, ...]:
    """Split the value list of ``search.in`` on any of the delimiter characters, dropping empty pieces.

    With no delimiters at all the whole string is one value.
    """
    if not delimiters:
        return (values,) if values else ()
    pieces: list[str] = []
    current: list[str] = []
    for ch in values:
        if ch in delimiters:
            if current:
                pieces.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        pieces.append("".join(current))
    return tuple(pieces)


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    """One lexical token.

    kind: 'ident' (plain identifier, including keywords), 'func' (dotted name like ``search.in``),
    'string' (value: decoded str), 'const' (value: Constant for numbers, date-times, geography),
    'punct' (value: the character), 'eof'.
    """

    kind: str
    value: object
    pos: int
    end: int

    def is_punct(self, ch: str) -> bool:
        return self.kind == "punct" and self.value == ch

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and self.value in words


class _Lexer:
    """Lazy tokenizer: produces the token at a given offset on demand."""

    def __init__(self, text: str, fail: Callable[..., NoReturn], fail_char: Callable[[int], NoReturn]):
        self.text = text
        self._fail = fail
        self._fail_char = fail_char

    def token_at(self, pos: int) -> _Token:
        text = self.text
        n = len(text)
        while pos < n and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= n:
            return _Token("eof", None, n, n)
        ch = text[pos]
        if ch in _PUNCTUATION:
            return _Token("punct", ch, pos, pos + 1)
        if ch == "'":
            value, end = self._string_body(pos)
            return _Token("string", value, pos, end)
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            return self._name(pos)
        if ch.isascii() and ch.isdigit():
            return self._number_or_datetime(pos)
        if ch in "+-" and pos + 1 < n:
            nxt = text[pos + 1]
            if nxt.isascii() and nxt.isdigit():
                return self._number_or_datetime(pos)
            if ch == "-" and text.startswith("INF", pos + 1) and not self._ident_char_at(pos + 4):
                return _Token("const", Constant("float", -math.inf), pos, pos + 4)
        self._fail_char(pos)

    # -- helpers

    def _ident_char_at(self, pos: int) -> bool:
        return pos < len(self.text) and self.text[pos] in _IDENT_CHARS

    def _string_body(self, start: int) -> tuple[str, int]:
        """Decode the quoted string opening at ``start``; returns (value, offset after closing quote)."""
        text = self.text
        parts: list[str] = []
        i = start + 1
        while True:
            close = text.find("'", i)
            if close < 0:
                self._fail(start, "Unterminated string literal; expected a closing quote (')")
            parts.append(text[i:close])
            if text.startswith("''", close):
                parts.append("'")
                i = close + 2
            else:
                return "".join(parts), close + 1

    def _name(self, pos: int) -> _Token:
        m = _NAME_RE.match(self.text, pos)
        assert m is not None
        name = m.group()
        end = m.end()
        if "." in name:
            return _Token("func", name, pos, end)
        if name == "geography" and self.text.startswith("'", end):
            body, body_end = self._string_body(end)
            return _Token("const", self._geography(body, pos), pos, body_end)
        return _Token("ident", name, pos, end)

    def _check_literal_end(self, end: int) -> None:
        """A numeric or date-time literal must not run straight into a name or another dot."""
        if end < len(self.text) and (self.text[end] in _IDENT_CHARS or self.text[end] == "."):
            self._fail_char(end)

    def _number_or_datetime(self, pos: int) -> _Token:
        text = self.text
        if text[pos].isdigit() and _DATE_PREFIX_RE.match(text, pos):
            return self._datetime(pos)
        m = _NUMBER_RE.match(text, pos)
        assert m is not None
        self._check_literal_end(m.end())
        raw = m.group()
        if m.group(1) is None and m.group(2) is None:
            try:
                value: int | float = int(raw)
            except ValueError:  # longer than Python's int/str conversion limit
                self._fail(pos, "Integer literal is too long")
            return _Token("const", Constant("int", value), pos, m.end())
        value = float(raw)
        if math.isinf(value):
            self._fail(pos, f"Floating-point literal '{raw}' is out of range")
        return _Token("const", Constant("float", value), pos, m.end())

    def _datetime(self, pos: int) -> _Token:
        m = _DATETIME_RE.match(self.text, pos)
        expected = "Invalid date-time literal; expected a form like 2015-01-01T00:00:00Z or 2015-01-01T00:00:00.123-08:00"
        if m is None:
            self._fail(pos, expected)
        self._check_literal_end(m.end())
        g = m.groupdict()
        try:
            if g["utc"]:
                tz = dt.timezone.utc
            else:
                tz_hour, tz_minute = int(g["tzhour"]), int(g["tzminute"])
                if tz_hour > 23 or tz_minute > 59:
                    raise ValueError("time zone offset out of range")
                offset = dt.timedelta(hours=tz_hour, minutes=tz_minute)
                tz = dt.timezone(-offset if g["sign"] == "-" else offset)
            fraction = g["fraction"] or ""
            value = dt.datetime(
                int(g["year"]),
                int(g["month"]),
                int(g["day"]),
                int(g["hour"]),
                int(g["minute"]),
                int(g["second"] or 0),
                int(fraction[:6].ljust(6, "0")) if fraction else 0,
                tzinfo=tz,
            )
        except ValueError:
            self._fail(pos, f"Invalid date-time literal '{m.group()}'")
        return _Token("const", Constant("datetime", value), pos, m.end())

    def _geography(self, body: str, pos: int) -> Constant:
        m = _GEO_POINT_RE.fullmatch(body)
        if m is not None:
            return Constant("point", self._lon_lat(m.group(1), m.group(2), pos))
        m = _GEO_POLYGON_RE.fullmatch(body)
        if m is not None:
            points = []
            for piece in m.group(1).split(","):
                pm = _GEO_LONLAT_RE.fullmatch(piece)
                if pm is None:
                    self._fail(pos, "Invalid geography literal; polygon points must be written as 'lon lat'")
                points.append(self._lon_lat(pm.group(1), pm.group(2), pos))
            if len(points) < 4:
                self._fail(pos, "Invalid geography literal; a polygon needs at least 4 points")
            if points[0] != points[-1]:
                self._fail(pos, "Invalid geography literal; the last point of a polygon must repeat the first")
            return Constant("polygon", tuple(points))
        self._fail(
            pos,
            "Invalid geography literal; expected geography'POINT(lon lat)' or "
            "geography'POLYGON((lon lat, lon lat, ...))'",
        )

    def _lon_lat(self, lon_text: str, lat_text: str, pos: int) -> tuple[float, float]:
        lon, lat = float(lon_text), float(lat_text)
        if not (-180.0 <= lon <= 180.0) or not (-90.0 <= lat <= 90.0):
            self._fail(
                pos,
                "Invalid geography literal; longitude must be within [-180, 180] and latitude within [-90, 90]",
            )
        return (lon, lat)


# --------------------------------------------------------------------------- parser


def _balanced(make: Callable[[Expr, Expr], Expr], items: Sequence[Expr]) -> Expr:
    """Combine ``items`` with a binary operator as a balanced tree (left-heavy for odd counts)."""
    if len(items) == 1:
        return items[0]
    split = (len(items) + 1) // 2
    return make(_balanced(make, items[:split]), _balanced(make, items[split:]))


def _describe(tok: _Token) -> str:
    if tok.kind == "eof":
        return "end of input"
    if tok.kind == "string":
        return "a string literal"
    if tok.kind == "const":
        kind = tok.value.kind  # type: ignore[union-attr]
        return {
            "int": "an integer literal",
            "float": "a floating-point literal",
            "datetime": "a date-time literal",
            "point": "a geography point",
            "polygon": "a geography polygon",
        }.get(kind, f"a {kind} literal")
    if tok.kind == "func":
        return f"function '{tok.value}'"
    return f"'{tok.value}'"


Operand = FieldPath | RangeVariable | GeoDistance


class _Parser:
    def __init__(self, text: str, parameter: str):
        self.text = text
        self.parameter = parameter
        self.lexer = _Lexer(text, self.fail, self.fail_char)
        self._offset = 0  # where the next token starts (before whitespace)
        self._peeked: _Token | None = None
        self._depth = 0
        self._scope: list[str] = []  # range variables of the enclosing lambdas, innermost last

    # -- errors

    def fail(self, pos: int, detail: str | None = None) -> NoReturn:
        message = f"Invalid expression: Syntax error at position {pos} in '{self.text}'."
        if detail:
            message += " " + detail.rstrip(".") + "."
        raise QuerySyntaxError(message, text=self.text, position=pos, parameter=self.parameter)

    def fail_char(self, pos: int) -> NoReturn:
        ch = self.text[pos]
        message = (
            f"Invalid expression: Syntax error: character '{ch}' is not valid at position {pos} in '{self.text}'."
        )
        raise QuerySyntaxError(message, text=self.text, position=pos, parameter=self.parameter)

    def fail_expected(self, tok: _Token, expected: str) -> NoReturn:
        self.fail(tok.pos, f"Expected {expected} but found {_describe(tok)}")

    # -- token stream

    def peek(self) -> _Token:
        if self._peeked is None:
            self._peeked = self.lexer.token_at(self._offset)
        return self._peeked

    def advance(self) -> _Token:
        tok = self.peek()
        self._peeked = None
        self._offset = tok.end
        return tok

    def accept_punct(self, ch: str) -> bool:
        if self.peek().is_punct(ch):
            self.advance()
            return True
        return False

    def expect_punct(self, ch: str, context: str) -> _Token:
        tok = self.peek()
        if not tok.is_punct(ch):
            self.fail_expected(tok, f"'{ch}' {context}")
        return self.advance()

    def expect_end(self, alternatives: str, *, plain: bool = False) -> None:
        tok = self.peek()
        if tok.kind != "eof":
            expected = alternatives if plain else f"{alternatives} or end of input"
            self.fail_expected(tok, expected)

    def _enter(self, pos: int) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            self.fail(pos, f"The expression is too deeply nested (more than {MAX_DEPTH} levels)")

    def _leave(self) -> None:
        self._depth -= 1

    # -- boolean structure

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while self.peek().is_word("or"):
            self.advance()
            items.append(self.parse_and())
        return _balanced(Or, items)

    def parse_and(self) -> Expr:
        items = [self.parse_unary()]
        while self.peek().is_word("and"):
            self.advance()
            items.append(self.parse_unary())
        return _balanced(And, items)

    def parse_unary(self) -> Expr:
        tok = self.peek()
        if tok.is_word("not"):
            self.advance()
            self._enter(tok.pos)
            if self.peek().kind == "eof":
                self.fail_expected(self.peek(), "an expression after 'not'")
            operand = self.parse_unary()
            self._leave()
            return Not(operand)
        return self.parse_primary()

    def parse_primary(self) -> Expr:
        tok = self.peek()
        if tok.is_punct("("):
            self.advance()
            self._enter(tok.pos)
            expr = self.parse_or()
            self.expect_punct(")", f"to close the '(' at position {tok.pos}")
            self._leave()
            self._reject_comparison("a parenthesized expression")
            return expr
        if tok.kind == "func":
            return self._parse_function_primary(tok)
        constant = self._constant_token(tok)
        if constant is not None:
            return self._parse_constant_first(tok, constant)
        if tok.kind == "ident":
            if tok.value in _FILTER_KEYWORDS:
                self.fail_expected(tok, "an expression")
            return self._parse_path_primary()
        self.fail_expected(tok, "an expression")

    def _reject_comparison(self, what: str) -> None:
        tok = self.peek()
        if tok.kind == "ident" and tok.value in COMPARISON_OPS:
            self.fail(tok.pos, f"The result of {what} cannot be compared with '{tok.value}'")

    # -- comparisons

    def _constant_token(self, tok: _Token) -> Constant | None:
        if tok.kind == "string":
            return Constant("string", tok.value)
        if tok.kind == "const":
            return tok.value  # type: ignore[return-value]
        if tok.kind == "ident" and tok.value in _NAMED_CONSTANTS:
            # A fresh object each time so NaN constants don't share identity.
            named = _NAMED_CONSTANTS[tok.value]  # type: ignore[index]
            return Constant(named.kind, named.value)
        return None

    def _parse_constant_first(self, tok: _Token, constant: Constant) -> Expr:
        self.advance()
        op_tok = self.peek()
        if op_tok.kind == "ident" and op_tok.value in COMPARISON_OPS:
            self._check_comparable(tok, constant)
            self.advance()
            right = self.peek()
            operand = self._parse_operand_or_none()
            if operand is None:
                if self._constant_token(right) is not None:
                    self.fail(
                        right.pos,
                        f"Expected a field path or geo.distance after '{op_tok.value}' but found {_describe(right)};"
                        " comparing two constants is not supported",
                    )
                self.fail_expected(right, f"a field path or geo.distance after '{op_tok.value}'")
            return Comparison(_MIRRORED_OP[op_tok.value], operand, constant)  # type: ignore[arg-type,index]
        if constant.kind == "bool":
            return BoolConstant(bool(constant.value))
        self.fail_expected(op_tok, f"a comparison operator after {_describe(tok)}")

    def _check_comparable(self, tok: _Token, constant: Constant) -> None:
        if constant.kind in ("point", "polygon"):
            self.fail(
                tok.pos,
                "Geography literals can only be used as arguments of geo.distance and geo.intersects",
            )

    def _parse_comparison_rest(self, left: Operand) -> Expr | None:
        """After an operand: ``op constant`` -> Comparison, else None (nothing consumed)."""
        op_tok = self.peek()
        if not (op_tok.kind == "ident" and op_tok.value in COMPARISON_OPS):
            return None
        self.advance()
        right = self.peek()
        constant = self._constant_token(right)
        if constant is None:
            if right.kind == "ident" or (right.kind == "func" and right.value == "geo.distance"):
                self.fail(
                    right.pos,
                    f"Expected a constant after '{op_tok.value}' but found {_describe(right)};"
                    " comparing two fields is not supported",
                )
            self.fail_expected(right, f"a constant after '{op_tok.value}'")
        self._check_comparable(right, constant)
        self.advance()
        return Comparison(op_tok.value, left, constant)  # type: ignore[arg-type]

    def _parse_operand_or_none(self) -> Operand | None:
        """A field path, range variable or geo.distance call; None (nothing consumed) if none starts here."""
        tok = self.peek()
        if tok.kind == "func" and tok.value == "geo.distance":
            self.advance()
            return self._parse_geo_distance()
        if tok.kind == "ident" and tok.value not in _FILTER_KEYWORDS and tok.value not in _NAMED_CONSTANTS:
            target = self._parse_variable()
            if self.peek().is_punct("("):
                self._fail_call_on_path(target, tok)
            return target
        return None

    # -- paths, range variables, lambdas

    def _read_path(self, *, stop_at_lambda: bool = True) -> tuple[int, list[str]]:
        """Read ``ident ('/' ident)*``; the current token must be an identifier.

        With ``stop_at_lambda`` reading stops after an ``any``/``all`` segment followed by ``(``.
        """
        first = self.advance()
        parts = [str(first.value)]
        while self.peek().is_punct("/"):
            slash = self.advance()
            seg = self.peek()
            if seg.kind != "ident":
                self.fail_expected(seg, f"a field name after '/' at position {slash.pos}")
            parts.append(str(self.advance().value))
            if stop_at_lambda and parts[-1] in ("any", "all") and self.peek().is_punct("("):
                break
        return first.pos, parts

    def _make_target(self, pos: int, parts: Sequence[str]) -> FieldPath | RangeVariable:
        if parts[0] in self._scope:
            return RangeVariable(parts[0], tuple(parts[1:]))
        return FieldPath(tuple(parts), pos)

    def _parse_variable(self) -> FieldPath | RangeVariable:
        pos, parts = self._read_path()
        return self._make_target(pos, parts)

    def _fail_call_on_path(self, target: FieldPath | RangeVariable, tok: _Token) -> NoReturn:
        paren = self.peek()
        if isinstance(target, FieldPath) and len(target.parts) == 1:
            self.fail(tok.pos, f"Unknown function '{target.parts[0]}'")
        last = target.parts[-1] if target.parts else ""
        if last in ("any", "all"):
            self.fail(paren.pos, f"A lambda expression ({last}()) cannot be used here; it is only valid as a predicate")
        self.fail(paren.pos, "Unexpected '('; only any() and all() can be applied to a field path")

    def _parse_path_primary(self) -> Expr:
        first = self.peek()
        pos, parts = self._read_path()
        if self.peek().is_punct("(") and len(parts) >= 2 and parts[-1] in ("any", "all"):
            collection = self._make_target(pos, parts[:-1])
            return self._parse_lambda(parts[-1], collection)
        target = self._make_target(pos, parts)
        if self.peek().is_punct("("):
            self._fail_call_on_path(target, first)
        comparison = self._parse_comparison_rest(target)
        return comparison if comparison is not None else BoolField(target)

    def _parse_lambda(self, kind: str, collection: FieldPath | RangeVariable) -> Expr:
        open_tok = self.advance()  # '('
        self._enter(open_tok.pos)
        if kind == "any" and self.accept_punct(")"):
            self._leave()
            self._reject_comparison("any()")
            return Lambda("any", collection, None, None)
        var_tok = self.peek()
        if var_tok.kind != "ident" or var_tok.value in _FILTER_KEYWORDS or var_tok.value in _NAMED_CONSTANTS:
            self.fail_expected(var_tok, f"a range variable name in {kind}()")
        name = str(var_tok.value)
        if name in self._scope:
            self.fail(var_tok.pos, f"Range variable '{name}' is already defined by an enclosing lambda")
        self.advance()
        self.expect_punct(":", f"after range variable '{name}'")
        if self.peek().kind == "eof" or self.peek().is_punct(")"):
            self.fail_expected(self.peek(), f"a lambda expression after '{name}:'")
        self._scope.append(name)
        predicate = self.parse_or()
        self._scope.pop()
        self.expect_punct(")", f"to close {kind}() at position {open_tok.pos}")
        self._leave()
        self._reject_comparison(f"{kind}()")
        return Lambda(kind, collection, name, predicate)  # type: ignore[arg-type]

    def parse_field_path(self, context: str) -> FieldPath:
        """A plain field path (used by $select and $orderby; no range variables, no lambdas)."""
        tok = self.peek()
        if tok.kind != "ident":
            self.fail_expected(tok, f"a field path {context}".rstrip())
        pos, parts = self._read_path(stop_at_lambda=False)
        return FieldPath(tuple(parts), pos)

    # -- functions

    def _parse_function_primary(self, tok: _Token) -> Expr:
        name = str(tok.value)
        if name == "geo.distance":
            self.advance()
            distance = self._parse_geo_distance()
            comparison = self._parse_comparison_rest(distance)
            if comparison is None:
                self.fail_expected(self.peek(), "a comparison operator after geo.distance(...)")
            return comparison
        if name == "search.score":
            self.fail(tok.pos, "search.score() can only be used in $orderby")
        if name not in _PREDICATE_FUNCTIONS:
            self.fail(tok.pos, f"Unknown function '{name}'")
        self.advance()
        open_tok = self.expect_punct("(", f"after '{name}'")
        self._enter(open_tok.pos)
        if name == "search.in":
            expr: Expr = self._parse_search_in_args()
        elif name == "geo.intersects":
            expr = self._parse_geo_intersects_args()
        else:
            if self._scope:
                self.fail(tok.pos, f"{name} cannot be used inside a lambda expression")
            expr = self._parse_ismatch_args(name == "search.ismatchscoring")
        self.expect_punct(")", f"to close {name}(")
        self._leave()
        self._reject_comparison(f"{name}()")
        return expr

    def _parse_target_arg(self, function: str) -> FieldPath | RangeVariable:
        tok = self.peek()
        if tok.kind != "ident" or tok.value in _FILTER_KEYWORDS or tok.value in _NAMED_CONSTANTS:
            self.fail_expected(tok, f"a field path as the first argument of {function}")
        target = self._parse_variable()
        if self.peek().is_punct("("):
            self._fail_call_on_path(target, tok)
        return target

    def _parse_string_arg(self, what: str) -> tuple[str, _Token]:
        tok = self.peek()
        if tok.kind != "string":
            self.fail_expected(tok, what)
        self.advance()
        return str(tok.value), tok

    def _parse_search_in_args(self) -> SearchIn:
        target = self._parse_target_arg("search.in")
        self.expect_punct(",", "after the first argument of search.in")
        values, _ = self._parse_string_arg("a string literal with the values of search.in")
        delimiters = DEFAULT_SEARCH_IN_DELIMITERS
        if self.accept_punct(","):
            delimiters, delim_tok = self._parse_string_arg("a string literal with the delimiters of search.in")
            if not delimiters:
                self.fail(delim_tok.pos, "The delimiters argument of search.in must not be empty")
        return SearchIn(target, split_search_in_values(values, delimiters))

    def _parse_ismatch_args(self, scoring: bool) -> IsMatch:
        function = "search.ismatchscoring" if scoring else "search.ismatch"
        query, _ = self._parse_string_arg(f"a query string as the first argument of {function}")
        fields: tuple[str, ...] | None = None
        query_type: str | None = None
        search_mode: str | None = None
        if self.accept_punct(","):
            fields_text, _ = self._parse_string_arg(f"a string literal with the fields of {function}")
            fields = tuple(f.strip() for f in fields_text.split(",") if f.strip()) or None
            if self.accept_punct(","):
                qt, qt_tok = self._parse_string_arg(f"the query type ('simple' or 'full') of {function}")
                query_type = qt.lower()
                if query_type not in ("simple", "full"):
                    self.fail(qt_tok.pos, f"Invalid query type '{qt}'; expected 'simple' or 'full'")
                self.expect_punct(",", f"and a search mode ('any' or 'all') after the query type of {function}")
                sm, sm_tok = self._parse_string_arg(f"the search mode ('any' or 'all') of {function}")
                search_mode = sm.lower()
                if search_mode not in ("any", "all"):
                    self.fail(sm_tok.pos, f"Invalid search mode '{sm}'; expected 'any' or 'all'")
        return IsMatch(query, fields, query_type, search_mode, scoring)

    def _parse_geo_literal_arg(self, kind: str, what: str) -> Constant:
        tok = self.peek()
        if not (tok.kind == "const" and tok.value.kind == kind):  # type: ignore[union-attr]
            self.fail_expected(tok, what)
        self.advance()
        return tok.value  # type: ignore[return-value]

    def _parse_geo_intersects_args(self) -> GeoIntersects:
        target = self._parse_target_arg("geo.intersects")
        self.expect_punct(",", "after the first argument of geo.intersects")
        polygon = self._parse_geo_literal_arg(
            "polygon", "geography'POLYGON((lon lat, ...))' as the second argument of geo.intersects"
        )
        return GeoIntersects(target, polygon.value)  # type: ignore[arg-type]

    def _parse_geo_distance(self) -> GeoDistance:
        """Arguments of geo.distance; the name token has been consumed."""
        open_tok = self.expect_punct("(", "after 'geo.distance'")
        self._enter(open_tok.pos)
        first = self.peek()
        point_text = "geography'POINT(lon lat)'"
        if first.kind == "const" and first.value.kind == "point":  # type: ignore[union-attr]
            self.advance()
            point = first.value.value  # type: ignore[union-attr]
            self.expect_punct(",", "after the first argument of geo.distance")
            target = self._parse_target_arg("geo.distance")
        else:
            if first.kind != "ident" or first.value in _FILTER_KEYWORDS or first.value in _NAMED_CONSTANTS:
                self.fail_expected(first, f"a field path or {point_text} as the first argument of geo.distance")
            target = self._parse_target_arg("geo.distance")
            self.expect_punct(",", "after the first argument of geo.distance")
            point = self._parse_geo_literal_arg("point", f"{point_text} as the second argument of geo.distance").value
        self.expect_punct(")", "to close geo.distance(")
        self._leave()
        return GeoDistance(target, point)  # type: ignore[arg-type]

    # -- $orderby

    def parse_orderby_clause(self) -> OrderByClause:
        tok = self.peek()
        target: FieldPath | GeoDistance | SearchScore
        if tok.kind == "func":
            if tok.value == "geo.distance":
                self.advance()
                target = self._parse_geo_distance()
            elif tok.value == "search.score":
                self.advance()
                self.expect_punct("(", "after 'search.score'")
                self.expect_punct(")", "after 'search.score(' (search.score takes no arguments)")
                target = SearchScore()
            else:
                self.fail(
                    tok.pos,
                    f"Unknown function '{tok.value}'; only geo.distance and search.score() can be used in $orderby",
                )
        elif tok.kind == "ident":
            target = self.parse_field_path("")
            if self.peek().is_punct("("):
                self.fail(self.peek().pos, "Unexpected '('; only geo.distance and search.score() can be called in $orderby")
        else:
            self.fail_expected(tok, "a field path, geo.distance(...) or search.score()")
        descending = False
        direction = self.peek()
        if direction.is_word("asc", "desc"):
            self.advance()
            descending = direction.value == "desc"
        return OrderByClause(target, descending)
