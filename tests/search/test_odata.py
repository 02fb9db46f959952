"""Tests of the OData parser (weft.search.odata): exact ASTs, errors with positions, and properties."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weft.errors import QuerySyntaxError
from weft.search.filter_ast import (
    And,
    BoolConstant,
    BoolField,
    Comparison,
    Constant,
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
from weft.search.odata import (
    MAX_DEPTH,
    parse_filter,
    parse_orderby,
    parse_select,
    split_search_in_values,
)


def F(*parts: str) -> FieldPath:
    return FieldPath(tuple(parts))


def R(name: str, *parts: str) -> RangeVariable:
    return RangeVariable(name, tuple(parts))


def I(value: int) -> Constant:
    return Constant("int", value)


def S(value: str) -> Constant:
    return Constant("string", value)


def eq(left, right) -> Comparison:
    return Comparison("eq", left, right)


UTC = dt.timezone.utc
POLY = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0))
POLY_TEXT = "geography'POLYGON((0 0, 1 0, 1 1, 0 0))'"


def canon(x):
    """A comparable form of an AST: NaN equal to NaN, datetimes compared with their offsets, positions ignored."""
    if isinstance(x, float):
        return ("nan",) if math.isnan(x) else x
    if isinstance(x, dt.datetime):
        return ("datetime", x, x.utcoffset())
    if dataclasses.is_dataclass(x):
        return (type(x).__name__,) + tuple(
            canon(getattr(x, f.name)) for f in dataclasses.fields(x) if f.name != "position"
        )
    if isinstance(x, (tuple, list)):
        return tuple(canon(item) for item in x)
    return x


def expect_error(parse, text: str, position: int, *fragments: str) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as info:
        parse(text)
    err = info.value
    assert err.position == position, err.message
    assert err.text == text
    assert err.message.startswith("Invalid expression: Syntax error")
    assert f"position {position}" in err.message
    for fragment in fragments:
        assert fragment in err.message
    assert "Parameter name" not in err.message
    return err


# --------------------------------------------------------------------------- constants


@pytest.mark.parametrize(
    "literal, expected",
    [
        ("'abc'", S("abc")),
        ("''", S("")),
        ("'it''s'", S("it's")),
        ("''''", S("'")),
        ("'a''''b'", S("a''b")),
        ("'a b, (c) eq d'", S("a b, (c) eq d")),
        ("'ünïcødé ✓'", S("ünïcødé ✓")),
        ("0", I(0)),
        ("42", I(42)),
        ("-5", I(-5)),
        ("+5", I(5)),
        ("123456789012345678901234567890", I(123456789012345678901234567890)),
        ("1.5", Constant("float", 1.5)),
        ("-2.0e10", Constant("float", -2.0e10)),
        ("1e5", Constant("float", 1e5)),
        ("1E5", Constant("float", 1e5)),
        ("2.5e-3", Constant("float", 2.5e-3)),
        ("3e+2", Constant("float", 300.0)),
        ("INF", Constant("float", math.inf)),
        ("-INF", Constant("float", -math.inf)),
        ("true", Constant("bool", True)),
        ("false", Constant("bool", False)),
        ("null", Constant("null", None)),
        ("2015-01-01T00:00:00Z", Constant("datetime", dt.datetime(2015, 1, 1, tzinfo=UTC))),
        ("2015-01-01T00:00:00.123Z", Constant("datetime", dt.datetime(2015, 1, 1, 0, 0, 0, 123000, tzinfo=UTC))),
        (
            "2015-01-01T00:00:00.1234567Z",  # beyond microseconds: truncated
            Constant("datetime", dt.datetime(2015, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ),
        ("2015-06-30T12:34Z", Constant("datetime", dt.datetime(2015, 6, 30, 12, 34, tzinfo=UTC))),
        ("2015-06-30t12:34:56z", Constant("datetime", dt.datetime(2015, 6, 30, 12, 34, 56, tzinfo=UTC))),
    ],
)
def test_constants(literal, expected):
    assert canon(parse_filter(f"x eq {literal}")) == canon(eq(F("x"), expected))


def test_nan_constant():
    expr = parse_filter("x ne NaN")
    assert isinstance(expr, Comparison) and expr.op == "ne" and expr.left == F("x")
    assert expr.right.kind == "float" and math.isnan(expr.right.value)


@pytest.mark.parametrize(
    "literal, offset",
    [
        ("2015-01-01T00:00:00-08:00", dt.timedelta(hours=-8)),
        ("2015-01-01T00:00:00+05:30", dt.timedelta(hours=5, minutes=30)),
        ("2015-01-01T00:00:00.5+00:00", dt.timedelta(0)),
    ],
)
def test_datetime_offsets(literal, offset):
    expr = parse_filter(f"d lt {literal}")
    value = expr.right.value
    assert expr.right.kind == "datetime"
    assert value.utcoffset() == offset
    assert value.replace(tzinfo=None) == dt.datetime(2015, 1, 1, microsecond=500000 if ".5" in literal else 0)


def test_types_of_values():
    assert type(parse_filter("x eq 1").right.value) is int
    assert type(parse_filter("x eq 1.0").right.value) is float
    assert type(parse_filter("x eq true").right.value) is bool


# --------------------------------------------------------------------------- comparisons and predicates


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "ge", "lt", "le"])
def test_comparison_operators(op):
    assert parse_filter(f"rating {op} 5") == Comparison(op, F("rating"), I(5))


@pytest.mark.parametrize(
    "op, mirrored", [("eq", "eq"), ("ne", "ne"), ("lt", "gt"), ("gt", "lt"), ("le", "ge"), ("ge", "le")]
)
def test_constant_on_the_left_is_mirrored(op, mirrored):
    assert parse_filter(f"5 {op} rating") == Comparison(mirrored, F("rating"), I(5))


def test_constant_on_the_left_with_other_constants():
    assert parse_filter("'x' eq name") == eq(F("name"), S("x"))
    assert parse_filter("null ne a/b") == Comparison("ne", F("a", "b"), Constant("null", None))
    assert parse_filter("true eq flag") == eq(F("flag"), Constant("bool", True))


def test_field_paths():
    assert parse_filter("address/city eq 'x'") == eq(F("address", "city"), S("x"))
    assert parse_filter("a/b/c eq 1") == eq(F("a", "b", "c"), I(1))
    assert parse_filter("_a1/B_2 eq 1") == eq(F("_a1", "B_2"), I(1))
    assert parse_filter("a / b eq 1") == eq(F("a", "b"), I(1))  # whitespace between tokens


def test_field_path_position():
    expr = parse_filter("  x eq 1 and address/city eq 'y'")
    assert expr.left.left.position == 2
    assert expr.right.left.position == 13


def test_keywords_allowed_as_later_path_segments():
    assert parse_filter("a/and eq 1") == eq(F("a", "and"), I(1))
    assert parse_filter("a/any eq 1") == eq(F("a", "any"), I(1))
    assert parse_filter("notable and orders") == And(BoolField(F("notable")), BoolField(F("orders")))


def test_bool_constant_and_field_predicates():
    assert parse_filter("true") == BoolConstant(True)
    assert parse_filter("false") == BoolConstant(False)
    assert parse_filter("inStock") == BoolField(F("inStock"))
    assert parse_filter("not inStock") == Not(BoolField(F("inStock")))
    assert parse_filter("a/b") == BoolField(F("a", "b"))
    assert parse_filter("true and x") == And(BoolConstant(True), BoolField(F("x")))


def test_whitespace_between_tokens():
    expected = And(eq(F("a"), I(1)), Lambda("any", F("t"), "x", eq(R("x"), S("v"))))
    assert parse_filter("a eq 1 and t/any(x:x eq 'v')") == expected
    assert parse_filter("\t a\neq\r\n1  and  t / any ( x : x  eq  'v' ) \n") == expected
    assert parse_filter("(a eq 1)and(t/any(x:x eq 'v'))") == expected


# --------------------------------------------------------------------------- precedence


def test_and_binds_tighter_than_or():
    a, b, c = eq(F("a"), I(1)), eq(F("b"), I(2)), eq(F("c"), I(3))
    assert parse_filter("a eq 1 or b eq 2 and c eq 3") == Or(a, And(b, c))
    assert parse_filter("a eq 1 and b eq 2 or c eq 3") == Or(And(a, b), c)
    assert parse_filter("(a eq 1 or b eq 2) and c eq 3") == And(Or(a, b), c)


def test_not_binds_tighter_than_and():
    assert parse_filter("not a eq 1 and b") == And(Not(eq(F("a"), I(1))), BoolField(F("b")))
    assert parse_filter("not (a eq 1 and b)") == Not(And(eq(F("a"), I(1)), BoolField(F("b"))))
    assert parse_filter("not not a") == Not(Not(BoolField(F("a"))))
    assert parse_filter("a or not b") == Or(BoolField(F("a")), Not(BoolField(F("b"))))


def test_chains_of_three_are_left_associative():
    a, b, c = BoolField(F("a")), BoolField(F("b")), BoolField(F("c"))
    assert parse_filter("a and b and c") == And(And(a, b), c)
    assert parse_filter("a or b or c") == Or(Or(a, b), c)
    assert parse_filter("a and (b and c)") == And(a, And(b, c))


def _depth(expr) -> int:
    if isinstance(expr, (And, Or)):
        return 1 + max(_depth(expr.left), _depth(expr.right))
    if isinstance(expr, Not):
        return 1 + _depth(expr.operand)
    return 1


def _leaves(expr) -> list:
    if isinstance(expr, (And, Or)):
        return _leaves(expr.left) + _leaves(expr.right)
    return [expr]


def test_long_chains_are_balanced_and_keep_order():
    n = 5000
    expr = parse_filter(" or ".join(f"id eq '{i}'" for i in range(n)))
    assert _depth(expr) <= 14
    assert _leaves(expr) == [eq(F("id"), S(str(i))) for i in range(n)]


def test_parentheses():
    assert parse_filter("((a))") == BoolField(F("a"))
    assert parse_filter("(((a eq 1)))") == eq(F("a"), I(1))


# --------------------------------------------------------------------------- lambdas


def test_lambdas():
    assert parse_filter("tags/any(t: t eq 'x')") == Lambda("any", F("tags"), "t", eq(R("t"), S("x")))
    assert parse_filter("rooms/all(r: r/price lt 100)") == Lambda(
        "all", F("rooms"), "r", Comparison("lt", R("r", "price"), I(100))
    )
    assert parse_filter("tags/any()") == Lambda("any", F("tags"), None, None)
    assert parse_filter("tags/any( )") == Lambda("any", F("tags"), None, None)
    assert parse_filter("a/b/any(x: x)") == Lambda("any", F("a", "b"), "x", BoolField(R("x")))


def test_nested_lambdas():
    inner = Lambda("any", R("r", "tags"), "t", eq(R("t"), S("x")))
    assert parse_filter("rooms/any(r: r/tags/any(t: t eq 'x'))") == Lambda("any", F("rooms"), "r", inner)
    assert parse_filter("rooms/any(r: r/any())") == Lambda("any", F("rooms"), "r", Lambda("any", R("r"), None, None))


def test_other_identifiers_inside_lambda_stay_field_paths():
    assert parse_filter("tags/any(t: t eq 'x' and other eq 1)") == Lambda(
        "any", F("tags"), "t", And(eq(R("t"), S("x")), eq(F("other"), I(1)))
    )
    # the variable is not in scope after the lambda
    assert parse_filter("tags/any(t: t) and t") == And(Lambda("any", F("tags"), "t", BoolField(R("t"))), BoolField(F("t")))


def test_functions_inside_lambda():
    assert parse_filter("tags/any(t: search.in(t, 'a,b'))") == Lambda("any", F("tags"), "t", SearchIn(R("t"), ("a", "b")))
    assert parse_filter(
        "locs/any(l: geo.distance(l, geography'POINT(1 2)') lt 5)"
    ) == Lambda("any", F("locs"), "l", Comparison("lt", GeoDistance(R("l"), (1.0, 2.0)), I(5)))
    assert parse_filter(f"locs/all(l: geo.intersects(l, {POLY_TEXT}))") == Lambda(
        "all", F("locs"), "l", GeoIntersects(R("l"), POLY)
    )


# --------------------------------------------------------------------------- functions


def test_search_in():
    assert parse_filter("search.in(f, 'a,b c')") == SearchIn(F("f"), ("a", "b", "c"))
    assert parse_filter("search.in(f, 'a, b,,c ')") == SearchIn(F("f"), ("a", "b", "c"))
    assert parse_filter("search.in(f, 'a b|c d', '|')") == SearchIn(F("f"), ("a b", "c d"))
    assert parse_filter("search.in(a/b, 'x;y|z', ';|')") == SearchIn(F("a", "b"), ("x", "y", "z"))
    assert parse_filter("search.in(f, '')") == SearchIn(F("f"), ())
    assert parse_filter("search.in(f, 'it''s')") == SearchIn(F("f"), ("it's",))
    assert parse_filter("not search.in(f, 'a')") == Not(SearchIn(F("f"), ("a",)))


def test_search_ismatch():
    assert parse_filter("search.ismatch('foo')") == IsMatch("foo")
    assert parse_filter("search.ismatch('foo bar', 'title, description')") == IsMatch(
        "foo bar", ("title", "description")
    )
    assert parse_filter("search.ismatch('x', 'a/b', 'full', 'any')") == IsMatch("x", ("a/b",), "full", "any")
    assert parse_filter("search.ismatch('x', 'a', 'Simple', 'ALL')") == IsMatch("x", ("a",), "simple", "all")
    assert parse_filter("search.ismatch('x', '')") == IsMatch("x", None)
    assert parse_filter("search.ismatchscoring('x')") == IsMatch("x", scoring=True)
    assert parse_filter("search.ismatchscoring('x', 'f', 'simple', 'all')") == IsMatch(
        "x", ("f",), "simple", "all", scoring=True
    )


def test_geo_distance_either_order():
    expected = Comparison("le", GeoDistance(F("loc"), (-122.1, 47.6)), I(10))
    assert parse_filter("geo.distance(loc, geography'POINT(-122.1 47.6)') le 10") == expected
    assert parse_filter("geo.distance(geography'POINT(-122.1 47.6)', loc) le 10") == expected
    assert parse_filter("10 ge geo.distance(loc, geography'POINT(-122.1 47.6)')") == expected
    assert parse_filter("geo.distance(loc,geography'point( -122.1   47.6 )') le 10") == expected
    assert parse_filter("geo.distance(loc, geography'SRID=4326;POINT(-122.1 47.6)') le 10") == expected


def test_geo_distance_with_float_and_sub_path():
    assert parse_filter("geo.distance(a/loc, geography'POINT(1e1 -4.5)') gt 2.5") == Comparison(
        "gt", GeoDistance(F("a", "loc"), (10.0, -4.5)), Constant("float", 2.5)
    )


def test_geo_intersects():
    assert parse_filter(f"geo.intersects(loc, {POLY_TEXT})") == GeoIntersects(F("loc"), POLY)
    assert parse_filter(
        "geo.intersects(loc, geography'POLYGON((-122.031577 47.578581, -122.031577 47.678581,"
        " -122.131577 47.678581, -122.031577 47.578581))')"
    ) == GeoIntersects(
        F("loc"),
        ((-122.031577, 47.578581), (-122.031577, 47.678581), (-122.131577, 47.678581), (-122.031577, 47.578581)),
    )


# --------------------------------------------------------------------------- $filter errors


@pytest.mark.parametrize(
    "text, position, fragments",
    [
        ("", 0, ["Expected an expression", "end of input"]),
        ("   ", 3, ["Expected an expression"]),
        ("rating gt", 9, ["Expected a constant after 'gt'", "end of input"]),
        ("rating gt and", 10, ["Expected a constant after 'gt'"]),
        ("a eq b", 5, ["comparing two fields"]),
        ("a eq geo.distance(x, geography'POINT(1 2)')", 5, ["comparing two fields"]),
        ("1 eq 2", 5, ["comparing two constants"]),
        ("'a' eq 'b'", 7, ["comparing two constants"]),
        ("1 eq", 4, ["Expected a field path or geo.distance after 'eq'"]),
        ("5", 1, ["Expected a comparison operator after an integer literal"]),
        ("'x'", 3, ["Expected a comparison operator"]),
        ("null", 4, ["Expected a comparison operator"]),
        ("a eq 1 eq 2", 7, ["Expected 'and', 'or' or end of input", "'eq'"]),
        ("rating gte 5", 7, ["'gte'"]),
        ("a eq 1)", 6, ["')'"]),
        ("(a eq 1", 7, ["Expected ')' to close the '(' at position 0"]),
        ("((a eq 1)", 9, ["Expected ')' to close the '(' at position 0"]),
        ("()", 1, ["Expected an expression", "')'"]),
        ("a and", 5, ["Expected an expression"]),
        ("a or or b", 5, ["Expected an expression", "'or'"]),
        ("a and or b", 6, ["Expected an expression", "'or'"]),
        ("eq eq 1", 0, ["Expected an expression"]),
        ("not", 3, ["Expected an expression after 'not'"]),
        ("a not b", 2, ["'not'"]),
        ("a eq 'abc", 5, ["Unterminated string literal"]),
        ("a eq 'it''s", 5, ["Unterminated string literal"]),
        ("a eq 2015-01-01", 5, ["Invalid date-time literal"]),
        ("a eq 2015-13-01T00:00:00Z", 5, ["Invalid date-time literal '2015-13-01T00:00:00Z'"]),
        ("a eq 2015-02-30T00:00:00Z", 5, ["Invalid date-time literal"]),
        ("a eq 2015-01-01T24:00:00Z", 5, ["Invalid date-time literal"]),
        ("a eq 2015-01-01T00:00:60Z", 5, ["Invalid date-time literal"]),
        ("a eq 2015-01-01T00:00:00+24:00", 5, ["Invalid date-time literal"]),
        ("a eq 2015-01-01T00:00:00", 5, ["Invalid date-time literal"]),
        ("a eq 1" + "0" * 5000, 5, ["Integer literal is too long"]),
        ("a eq 1e999", 5, ["out of range"]),
        ("a eq 5abc", 6, []),
        ("a eq 1.", 6, []),
        ("a eq 1.5.2", 8, []),
        ("a eq .5", 5, []),
        ("a.b eq 1", 0, ["Unknown function 'a.b'"]),
        ("foo.bar(x)", 0, ["Unknown function 'foo.bar'"]),
        ("foo(x)", 0, ["Unknown function 'foo'"]),
        ("a/b(x)", 3, ["Unexpected '('"]),
        ("search.score() gt 1", 0, ["search.score() can only be used in $orderby"]),
        ("search.in", 9, ["Expected '(' after 'search.in'"]),
        ("search.in(f)", 11, ["Expected ','"]),
        ("search.in(f, 1)", 13, ["Expected a string literal with the values of search.in"]),
        ("search.in('a', 'b')", 10, ["Expected a field path as the first argument of search.in"]),
        ("search.in(f, 'a', '')", 18, ["delimiters argument of search.in must not be empty"]),
        ("search.in(f, 'a', '|', 'x')", 21, ["Expected ')' to close search.in("]),
        ("search.in(f, 'a') eq true", 18, ["cannot be compared"]),
        ("search.ismatch()", 15, ["Expected a query string"]),
        ("search.ismatch('a', 'f', 'bogus', 'any')", 25, ["Invalid query type 'bogus'"]),
        ("search.ismatch('a', 'f', 'full', 'some')", 33, ["Invalid search mode 'some'"]),
        ("search.ismatch('a', 'f', 'full')", 31, ["Expected ','", "search mode"]),
        ("search.ismatch('a', 'f', 'full', 'any', 'x')", 38, ["Expected ')'"]),
        ("tags/any(t: search.ismatch('x'))", 12, ["cannot be used inside a lambda"]),
        ("geo.distance(loc, geography'POINT(1 2)')", 40, ["Expected a comparison operator after geo.distance"]),
        ("geo.distance(loc, loc) lt 1", 18, ["geography'POINT(lon lat)'"]),
        ("geo.distance(geography'POINT(1 2)', geography'POINT(1 2)') lt 1", 36, ["Expected a field path"]),
        ("geo.distance(1, loc) lt 1", 13, ["Expected a field path or geography'POINT(lon lat)'"]),
        (f"geo.distance(loc, {POLY_TEXT}) lt 1", 18, ["geography'POINT(lon lat)'", "geography polygon"]),
        ("geo.intersects(loc, geography'POINT(1 2)')", 20, ["geography'POLYGON"]),
        ("geo.intersects(loc, geography'POLYGON((0 0, 1 0, 0 0))')", 20, ["at least 4 points"]),
        ("geo.intersects(loc, geography'POLYGON((0 0, 1 0, 1 1, 0 1))')", 20, ["must repeat the first"]),
        ("geo.intersects(loc, geography'POLYGON((0 0, 1 0, 1 1, 0))')", 20, ["'lon lat'"]),
        ("geo.distance(loc, geography'POINT(1)') lt 1", 18, ["Invalid geography literal"]),
        ("geo.distance(loc, geography'POINT(181 0)') lt 1", 18, ["longitude must be within"]),
        ("geo.distance(loc, geography'POINT(0 -91)') lt 1", 18, ["latitude within"]),
        ("geo.distance(loc, geography'LINESTRING(0 0, 1 1)') lt 1", 18, ["Invalid geography literal"]),
        ("geo.distance(loc, geography'POINT(1 2)) lt 1", 27, ["Unterminated string literal"]),
        ("loc eq geography'POINT(1 2)'", 7, ["Geography literals can only be used"]),
        ("geography'POINT(1 2)' eq loc", 0, ["Geography literals can only be used"]),
        ("tags/all()", 9, ["Expected a range variable name in all()"]),
        ("tags/any(t t eq 1)", 11, ["Expected ':' after range variable 't'"]),
        ("tags/any(t:)", 11, ["Expected a lambda expression after 't:'"]),
        ("tags/any(1: x)", 9, ["Expected a range variable name"]),
        ("tags/any(t: t eq 1", 18, ["Expected ')' to close any() at position 8"]),
        ("tags/any(t: tags/any(t: t eq 1))", 21, ["Range variable 't' is already defined"]),
        ("tags/any() eq true", 11, ["cannot be compared"]),
        ("any(t: t)", 0, ["Unknown function 'any'"]),
        ("5 eq tags/any(t: t)", 13, ["lambda expression"]),
        ("(a) eq 1", 4, ["cannot be compared"]),
        ("a/", 2, ["Expected a field name after '/'"]),
        ("a/1 eq 1", 2, ["Expected a field name after '/'"]),
        ("*", 0, ["Expected an expression", "'*'"]),
        ("a eq 1 ,", 7, ["','"]),
    ],
)
def test_filter_errors(text, position, fragments):
    err = expect_error(parse_filter, text, position, *fragments)
    assert err.parameter == "$filter"


@pytest.mark.parametrize(
    "text, position, char",
    [
        ("a eq $", 5, "$"),
        ("a eq 1 && b", 7, "&"),
        ("a eq ٣", 5, "٣"),  # non-ASCII digit
        ("ä eq 1", 0, "ä"),
        ("a\u00a0eq 1", 1, "\u00a0"),  # non-breaking space is not whitespace here
        ("a eq -x", 5, "-"),
        ("a eq +", 5, "+"),
        ("a eq \"x\"", 5, '"'),
        ("a. eq 1", 1, "."),
        ("a eq 5abc", 6, "a"),
    ],
)
def test_invalid_characters(text, position, char):
    with pytest.raises(QuerySyntaxError) as info:
        parse_filter(text)
    err = info.value
    assert err.position == position
    assert err.message == (
        f"Invalid expression: Syntax error: character '{char}' is not valid at position {position} in '{text}'."
    )


def test_message_format():
    with pytest.raises(QuerySyntaxError) as info:
        parse_filter("rating gt")
    assert info.value.message == (
        "Invalid expression: Syntax error at position 9 in 'rating gt'. "
        "Expected a constant after 'gt' but found end of input."
    )
    assert str(info.value) == info.value.message
    assert info.value.status == 400


def test_first_error_in_reading_order_wins():
    # the syntax error at 'eq' comes before the invalid character
    expect_error(parse_filter, "a eq eq $", 5, "Expected a constant after 'eq'")


# --------------------------------------------------------------------------- depth


@pytest.mark.parametrize(
    "text",
    [
        "(" * 10_000 + "a" + ")" * 10_000,
        "(" * 10_000,
        "not " * 10_000 + "a",
        "not (" * 5_000 + "a" + ")" * 5_000,
        "t/any(x0: " + "".join(f"x{i}/any(x{i + 1}: " for i in range(3_000)) + "true" + ")" * 3_001,
        "search.in(" * 10_000,
        "geo.distance(" * 10_000,
    ],
)
def test_deep_nesting_is_a_syntax_error(text):
    with pytest.raises(QuerySyntaxError) as info:
        parse_filter(text)
    assert info.value.position is not None and 0 <= info.value.position <= len(text)


def test_nesting_up_to_the_limit_is_fine():
    ok = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse_filter(ok) == BoolField(F("a"))
    assert parse_filter("not " * MAX_DEPTH + "a") is not None
    too_deep = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
    expect_error(parse_filter, too_deep, MAX_DEPTH, "too deeply nested")


# --------------------------------------------------------------------------- $orderby


def test_orderby():
    assert parse_orderby("rating") == [OrderByClause(F("rating"))]
    assert parse_orderby("rating desc") == [OrderByClause(F("rating"), True)]
    assert parse_orderby("rating asc") == [OrderByClause(F("rating"), False)]
    assert parse_orderby("a/b desc, c,search.score() desc, geo.distance(loc, geography'POINT(1 2)')") == [
        OrderByClause(F("a", "b"), True),
        OrderByClause(F("c")),
        OrderByClause(SearchScore(), True),
        OrderByClause(GeoDistance(F("loc"), (1.0, 2.0))),
    ]
    assert parse_orderby("geo.distance(geography'POINT(1 2)', loc) asc") == [
        OrderByClause(GeoDistance(F("loc"), (1.0, 2.0)))
    ]
    assert parse_orderby("search.score( )") == [OrderByClause(SearchScore())]
    assert parse_orderby("") == []
    assert parse_orderby("   ") == []
    assert parse_orderby(",".join(["f"] * 32)) == [OrderByClause(F("f"))] * 32


@pytest.mark.parametrize(
    "text, position, fragments",
    [
        ("a,", 2, ["Expected a field path"]),
        (",a", 0, ["Expected a field path"]),
        ("a asc desc", 6, ["'desc'"]),
        ("a b", 2, ["'b'"]),
        ("a desc b", 7, ["'b'"]),
        ("search.score", 12, ["Expected '(' after 'search.score'"]),
        ("search.score(x)", 13, ["search.score takes no arguments"]),
        ("search.in(a, 'b')", 0, ["Unknown function 'search.in'"]),
        ("foo(a)", 3, ["Unexpected '('"]),
        ("'a'", 0, ["Expected a field path, geo.distance(...) or search.score()"]),
        ("geo.distance(loc, loc)", 18, ["geography'POINT(lon lat)'"]),
        ("a/", 2, ["Expected a field name after '/'"]),
        (",".join(["f"] * 33), 64, ["cannot contain more than 32 clauses"]),
    ],
)
def test_orderby_errors(text, position, fragments):
    err = expect_error(parse_orderby, text, position, *fragments)
    assert err.parameter == "$orderby"


def test_orderby_azure_error_message():
    with pytest.raises(QuerySyntaxError) as info:
        parse_orderby("story_publish_date+desc")
    assert info.value.message == (
        "Invalid expression: Syntax error: character '+' is not valid at position 18 in 'story_publish_date+desc'."
    )
    assert info.value.position == 18
    assert info.value.parameter == "$orderby"


# --------------------------------------------------------------------------- $select


def test_select():
    assert parse_select("*") is None
    assert parse_select("  *  ") is None
    assert parse_select("") is None
    assert parse_select(" \t") is None
    assert parse_select("a") == [F("a")]
    assert parse_select("hotelName, address/city,rooms/type") == [
        F("hotelName"),
        F("address", "city"),
        F("rooms", "type"),
    ]
    assert [p.position for p in parse_select("a, b/c")] == [0, 3]
    assert parse_select("and, eq") == [F("and"), F("eq")]  # no operators in $select


@pytest.mark.parametrize(
    "text, position, fragments",
    [
        ("a,", 2, ["Expected a field path after ','"]),
        ("a,*", 2, ["Expected a field path after ','"]),
        ("*, a", 1, ["Expected end of input after '*'"]),
        ("a b", 2, ["Expected ',' or end of input"]),
        ("a//b", 2, ["Expected a field name after '/'"]),
        ("'a'", 0, ["Expected a field path at the start of $select"]),
    ],
)
def test_select_errors(text, position, fragments):
    err = expect_error(parse_select, text, position, *fragments)
    assert err.parameter == "$select"


def test_select_invalid_character():
    with pytest.raises(QuerySyntaxError) as info:
        parse_select("a;b")
    assert info.value.position == 1
    assert "character ';' is not valid at position 1" in info.value.message


# --------------------------------------------------------------------------- split_search_in_values


@pytest.mark.parametrize(
    "values, delimiters, expected",
    [
        ("a,b c", " ,", ("a", "b", "c")),
        (" a ,, b ", " ,", ("a", "b")),
        ("", " ,", ()),
        (" , ", " ,", ()),
        ("a b|c", "|", ("a b", "c")),
        ("a|b;c", "|;", ("a", "b", "c")),
        ("abc", "", ("abc",)),
        ("", "", ()),
    ],
)
def test_split_search_in_values(values, delimiters, expected):
    assert split_search_in_values(values, delimiters) == expected


def test_split_search_in_values_default_delimiters():
    assert split_search_in_values("x, y z") == ("x", "y", "z")


@given(st.text(max_size=30), st.text(max_size=3))
@settings(max_examples=200, deadline=None)
def test_split_search_in_values_properties(values, delimiters):
    pieces = split_search_in_values(values, delimiters)
    assert all(pieces)
    if delimiters:
        assert all(not any(ch in delimiters for ch in piece) for piece in pieces)
        assert "".join(pieces) == "".join(ch for ch in values if ch not in delimiters)
    else:
        assert pieces == ((values,) if values else ())


# --------------------------------------------------------------------------- property: only QuerySyntaxError


TOKENS = [
    "a", "b/c", "tags", "x", "t", "/", "any", "all", "(", ")", ":", ",", "*",
    "eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "asc", "desc",
    "true", "false", "null", "NaN", "INF", "-INF", "0", "1", "-2.5", "1e5", "+3",
    "'s'", "'it''s'", "''", "'", "'full'", "'any'", "'a,b'",
    "2015-01-01T00:00:00Z", "2015-01-01T00:00:00.5-08:00", "2015-01-01",
    "geography'POINT(1 2)'", POLY_TEXT, "geography'POLYGON((0 0))'", "geography", "geography'",
    "search.in", "search.ismatch", "search.ismatchscoring", "geo.distance", "geo.intersects",
    "search.score", "foo.bar", "$", "+", "-", ".", "ä",
]


def _check_only_syntax_errors(text: str) -> None:
    for parse, parameter in ((parse_filter, "$filter"), (parse_orderby, "$orderby"), (parse_select, "$select")):
        try:
            parse(text)
        except QuerySyntaxError as err:
            assert err.parameter == parameter
            assert err.text == text
            assert isinstance(err.position, int) and 0 <= err.position <= len(text)
            assert f"position {err.position}" in err.message


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_random_text_only_raises_query_syntax_error(text):
    _check_only_syntax_errors(text)


@given(st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(["", " ", " ", "\t"])), max_size=25))
@settings(max_examples=300, deadline=None)
def test_random_token_sequences_only_raise_query_syntax_error(pieces):
    _check_only_syntax_errors("".join(token + sep for token, sep in pieces))


# --------------------------------------------------------------------------- property: render -> parse round trip

KEYWORDS = {"and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "true", "false", "null", "NaN", "INF"}
RANGE_VARIABLES = ["x", "y", "z", "r", "t", "v1"]
MIRROR = {"eq": "eq", "ne": "ne", "gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
first_segments = identifiers.filter(lambda s: s not in KEYWORDS and s not in RANGE_VARIABLES and s != "geography")
later_segments = identifiers | st.sampled_from(sorted(KEYWORDS) + ["any", "all"])
field_paths = st.builds(
    lambda first, rest: FieldPath((first, *rest)), first_segments, st.lists(later_segments, max_size=2)
)
offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
longitudes = st.floats(-180, 180)
latitudes = st.floats(-90, 90)
points = st.tuples(longitudes, latitudes)
polygons = st.lists(points, min_size=3, max_size=6).map(lambda pts: tuple(pts) + (pts[0],))
constants = st.one_of(
    st.text(max_size=8).map(lambda s: Constant("string", s)),
    st.integers().map(lambda n: Constant("int", n)),
    st.floats().map(lambda f: Constant("float", f)),
    st.booleans().map(lambda b: Constant("bool", b)),
    st.just(Constant("null", None)),
    st.datetimes(timezones=offsets).map(lambda d: Constant("datetime", d)),
)


@st.composite
def targets(draw, scope: tuple[str, ...]):
    if scope and draw(st.booleans()):
        return RangeVariable(draw(st.sampled_from(scope)), tuple(draw(st.lists(later_segments, max_size=2))))
    return draw(field_paths)


@st.composite
def operands(draw, scope: tuple[str, ...]):
    if draw(st.integers(0, 3)) == 0:
        return GeoDistance(draw(targets(scope)), draw(points))
    return draw(targets(scope))


@st.composite
def search_ins(draw, scope: tuple[str, ...]):
    delimiters = draw(st.one_of(st.none(), st.text(alphabet="|;#, -", min_size=1, max_size=3)))
    forbidden = delimiters or " ,"
    values = draw(
        st.lists(st.text(min_size=1, max_size=5).filter(lambda v: not any(c in forbidden for c in v)), max_size=4)
    )
    return SearchIn(draw(targets(scope)), tuple(values)), delimiters


@st.composite
def is_matches(draw):
    query = draw(st.text(max_size=10))
    fields = draw(st.one_of(st.none(), st.lists(first_segments, min_size=1, max_size=3).map(tuple)))
    query_type = search_mode = None
    if fields is not None and draw(st.booleans()):
        query_type = draw(st.sampled_from(["simple", "full"]))
        search_mode = draw(st.sampled_from(["any", "all"]))
    return IsMatch(query, fields, query_type, search_mode, draw(st.booleans()))


@st.composite
def exprs(draw, scope: tuple[str, ...] = (), depth: int = 0):
    """Random valid filter ASTs; ``scope`` holds the range variables of enclosing lambdas."""
    kinds = ["comparison", "comparison", "bool_field", "bool_constant", "search_in", "geo_intersects", "any_empty"]
    if not scope:
        kinds.append("is_match")
    if depth < 3:
        kinds += ["and", "or", "not", "lambda", "lambda"]
    kind = draw(st.sampled_from(kinds))
    if kind == "comparison":
        op = draw(st.sampled_from(sorted(MIRROR)))
        return Comparison(op, draw(operands(scope)), draw(constants))
    if kind == "bool_field":
        return BoolField(draw(targets(scope)))
    if kind == "bool_constant":
        return BoolConstant(draw(st.booleans()))
    if kind == "search_in":
        node, delimiters = draw(search_ins(scope))
        return (node, delimiters)  # the renderer needs the delimiters; unwrapped by ``filters`` below
    if kind == "geo_intersects":
        return GeoIntersects(draw(targets(scope)), draw(polygons))
    if kind == "any_empty":
        return Lambda("any", draw(targets(scope)), None, None)
    if kind == "is_match":
        return draw(is_matches())
    if kind in ("and", "or"):
        make = And if kind == "and" else Or
        return make(draw(exprs(scope, depth + 1)), draw(exprs(scope, depth + 1)))
    if kind == "not":
        return Not(draw(exprs(scope, depth + 1)))
    variable = draw(st.sampled_from([v for v in RANGE_VARIABLES if v not in scope]))
    return Lambda(
        draw(st.sampled_from(["any", "all"])),
        draw(targets(scope)),
        variable,
        draw(exprs(scope + (variable,), depth + 1)),
    )


class Renderer:
    """Renders an AST (from ``exprs``) back to $filter text, with random but valid spacing and operand order."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        self.delimiters: dict[int, str | None] = {}

    # spacing: required between words, optional around punctuation
    def sp(self) -> str:
        return self.rnd.choice([" ", " ", "  ", "\t", "\r\n"])

    def opt(self) -> str:
        return self.rnd.choice(["", "", " ", "\n"])

    @staticmethod
    def string(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    @staticmethod
    def number(value: float) -> str:
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        return repr(value)

    def datetime(self, value: dt.datetime) -> str:
        v = value
        text = f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        if value.microsecond:
            text += f".{value.microsecond:06d}"
        minutes = int(value.utcoffset().total_seconds()) // 60
        if minutes == 0 and self.rnd.random() < 0.5:
            return text + "Z"
        sign = "-" if minutes < 0 else "+"
        hours, mins = divmod(abs(minutes), 60)
        return f"{text}{sign}{hours:02d}:{mins:02d}"

    def constant(self, c: Constant) -> str:
        if c.kind == "string":
            return self.string(c.value)
        if c.kind == "int":
            return str(c.value)
        if c.kind == "float":
            return self.number(c.value)
        if c.kind == "bool":
            return "true" if c.value else "false"
        if c.kind == "null":
            return "null"
        if c.kind == "datetime":
            return self.datetime(c.value)
        raise AssertionError(c)

    def point(self, p) -> str:
        return f"geography'POINT({self.number(p[0])} {self.number(p[1])})'"

    def polygon(self, pts) -> str:
        return "geography'POLYGON((" + ", ".join(f"{self.number(x)} {self.number(y)}" for x, y in pts) + "))'"

    def path(self, parts) -> str:
        return (self.opt() + "/" + self.opt()).join(parts)

    def target(self, t) -> str:
        if isinstance(t, FieldPath):
            return self.path(t.parts)
        return self.path((t.name, *t.parts))

    def call(self, name: str, *args: str) -> str:
        sep = self.opt() + "," + self.opt()
        return f"{name}{self.opt()}({self.opt()}{sep.join(args)}{self.opt()})"

    def operand(self, o) -> str:
        if isinstance(o, GeoDistance):
            args = [self.target(o.target), self.point(o.point)]
            if self.rnd.random() < 0.5:
                args.reverse()
            return self.call("geo.distance", *args)
        return self.target(o)

    def paren(self, text: str) -> str:
        return f"({self.opt()}{text}{self.opt()})"

    def expr(self, e) -> str:
        if isinstance(e, Comparison):
            if self.rnd.random() < 0.3:
                return f"{self.constant(e.right)}{self.sp()}{MIRROR[e.op]}{self.sp()}{self.operand(e.left)}"
            return f"{self.operand(e.left)}{self.sp()}{e.op}{self.sp()}{self.constant(e.right)}"
        if isinstance(e, (And, Or)):
            word = "and" if isinstance(e, And) else "or"
            # Same-operator children are parenthesized to pin the tree's shape; 'and' under 'or' is left bare
            # to exercise precedence.
            needs = (And, Or) if isinstance(e, And) else (Or,)
            sides = [self.paren(self.expr(c)) if isinstance(c, needs) else self.expr(c) for c in (e.left, e.right)]
            return f"{sides[0]}{self.sp()}{word}{self.sp()}{sides[1]}"
        if isinstance(e, Not):
            inner = self.expr(e.operand)
            if isinstance(e.operand, (And, Or)) or self.rnd.random() < 0.2:
                return f"not{self.opt()}{self.paren(inner)}"
            return f"not{self.sp()}{inner}"
        if isinstance(e, BoolField):
            return self.target(e.target)
        if isinstance(e, BoolConstant):
            return "true" if e.value else "false"
        if isinstance(e, Lambda):
            head = f"{self.target(e.collection)}{self.opt()}/{self.opt()}{e.kind}{self.opt()}("
            if e.variable is None:
                return head + self.opt() + ")"
            return f"{head}{self.opt()}{e.variable}{self.opt()}:{self.opt()}{self.expr(e.predicate)}{self.opt()})"
        if isinstance(e, SearchIn):
            delimiters = self.delimiters.get(id(e))
            joiner = delimiters[0] if delimiters else self.rnd.choice([" ", ",", ", "])
            args = [self.target(e.target), self.string(joiner.join(e.values))]
            if delimiters is not None:
                args.append(self.string(delimiters))
            return self.call("search.in", *args)
        if isinstance(e, IsMatch):
            args = [self.string(e.query)]
            if e.fields is not None:
                args.append(self.string(",".join(e.fields)))
            if e.query_type is not None:
                args += [self.string(e.query_type), self.string(e.search_mode)]
            return self.call("search.ismatchscoring" if e.scoring else "search.ismatch", *args)
        if isinstance(e, GeoIntersects):
            return self.call("geo.intersects", self.target(e.target), self.polygon(e.polygon))
        raise AssertionError(e)


def _unwrap(node, delimiters: dict[int, str | None]):
    """Replace the (SearchIn, delimiters) pairs produced by ``exprs`` with the nodes, recording the delimiters."""
    if isinstance(node, tuple) and len(node) == 2 and isinstance(node[0], SearchIn):
        delimiters[id(node[0])] = node[1]
        return node[0]
    if isinstance(node, (And, Or)):
        return type(node)(_unwrap(node.left, delimiters), _unwrap(node.right, delimiters))
    if isinstance(node, Not):
        return Not(_unwrap(node.operand, delimiters))
    if isinstance(node, Lambda) and node.predicate is not None:
        return Lambda(node.kind, node.collection, node.variable, _unwrap(node.predicate, delimiters))
    return node


@given(exprs(), st.randoms(use_true_random=False))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_filter_round_trip(raw, rnd):
    renderer = Renderer(rnd)
    ast = _unwrap(raw, renderer.delimiters)
    text = renderer.expr(ast)
    assert canon(parse_filter(text)) == canon(ast), text


orderby_clauses = st.builds(
    OrderByClause,
    st.one_of(field_paths, st.builds(GeoDistance, field_paths, points), st.just(SearchScore())),
    st.booleans(),
)


@given(st.lists(orderby_clauses, min_size=1, max_size=32), st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_orderby_round_trip(clauses, rnd):
    renderer = Renderer(rnd)
    parts = []
    for clause in clauses:
        target = clause.target
        text = "search.score()" if isinstance(target, SearchScore) else renderer.operand(target)
        if clause.descending:
            text += renderer.sp() + "desc"
        elif rnd.random() < 0.5:
            text += renderer.sp() + "asc"
        parts.append(text)
    text = (renderer.opt() + "," + renderer.opt()).join(parts)
    assert canon(parse_orderby(text)) == canon(clauses), text


@given(st.lists(field_paths, min_size=1, max_size=10), st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_select_round_trip(paths, rnd):
    renderer = Renderer(rnd)
    text = (renderer.opt() + "," + renderer.opt()).join(renderer.path(p.parts) for p in paths)
    assert parse_select(text) == paths, text
