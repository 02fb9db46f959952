"""Tests of the ``search`` parameter parsers (weft.search.query): exact ASTs, errors, limits, properties."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weft.errors import InvalidInput, QuerySyntaxError
from weft.search.query import MAX_CLAUSES, MAX_DEPTH, MAX_QUERY_LENGTH, parse_search
from weft.search.query_ast import Boolean, Fuzzy, MatchAll, Node, Phrase, Prefix, Regex, Term, Wildcard

T = Term
ALL = MatchAll()


def B(must=(), should=(), must_not=(), boost: float = 1.0) -> Boolean:
    return Boolean(must=tuple(must), should=tuple(should), must_not=tuple(must_not), boost=boost)


def NEG(node: Node) -> Boolean:
    """Simple syntax's "documents without node"."""
    return B(must=[ALL], must_not=[node])


def simple(text: str, mode: str = "any") -> Node:
    return parse_search(text, "simple", mode)


def full(text: str, mode: str = "any") -> Node:
    return parse_search(text, "full", mode)


def full_error(text: str, mode: str = "any") -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as info:
        full(text, mode)
    return info.value


# --------------------------------------------------------------------------------------------
# Arguments and trivial queries
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query_type", ["simple", "full"])
@pytest.mark.parametrize("mode", ["any", "all"])
@pytest.mark.parametrize("text", [None, "", "   ", "\t\n", "*", "  *  "])
def test_empty_and_star_are_match_all(text, query_type, mode):
    assert parse_search(text, query_type, mode) == MatchAll()


def test_defaults_are_simple_and_any():
    assert parse_search("a b") == B(should=[T("a"), T("b")])
    assert parse_search("a b") == parse_search("a b", "simple", "any")


def test_arguments_are_case_insensitive():
    assert parse_search("a AND b", "Full", "ALL") == B(must=[T("a"), T("b")])


@pytest.mark.parametrize("query_type, mode", [("semantic", "any"), ("lucene", "any"), ("simple", "most"), ("full", "")])
def test_bad_arguments_raise_invalid_input(query_type, mode):
    with pytest.raises(InvalidInput) as info:
        parse_search("a", query_type, mode)
    assert not isinstance(info.value, QuerySyntaxError)


# --------------------------------------------------------------------------------------------
# Simple syntax
# --------------------------------------------------------------------------------------------

SIMPLE_CASES = [
    # terms and default operators
    ("wifi", "any", T("wifi")),
    ("WiFi", "any", T("WiFi")),
    ("wifi pool", "any", B(should=[T("wifi"), T("pool")])),
    ("wifi pool", "all", B(must=[T("wifi"), T("pool")])),
    ("a b c", "any", B(should=[T("a"), T("b"), T("c")])),
    # explicit operators
    ("wifi + pool", "any", B(must=[T("wifi"), T("pool")])),
    ("wifi+pool", "any", B(must=[T("wifi"), T("pool")])),
    ("wifi | pool", "all", B(should=[T("wifi"), T("pool")])),
    ("wifi|pool", "all", B(should=[T("wifi"), T("pool")])),
    ("a | b | c", "all", B(should=[T("a"), T("b"), T("c")])),
    ("a b + c", "all", B(must=[T("a"), T("b"), T("c")])),
    # left to right, a change of operator closes the group so far
    ("a | b + c", "any", B(must=[B(should=[T("a"), T("b")]), T("c")])),
    ("a + b | c", "any", B(should=[B(must=[T("a"), T("b")]), T("c")])),
    ("a + b c", "any", B(should=[B(must=[T("a"), T("b")]), T("c")])),
    ("a b + c", "any", B(must=[B(should=[T("a"), T("b")]), T("c")])),
    # stray and repeated operators are ignored
    ("+wifi", "any", T("wifi")),
    ("| wifi |", "any", T("wifi")),
    ("a + | b", "any", B(must=[T("a"), T("b")])),
    ("a | + b", "any", B(should=[T("a"), T("b")])),
    # negation
    ("wifi -luxury", "any", B(should=[T("wifi"), NEG(T("luxury"))])),
    ("wifi -luxury", "all", B(must=[T("wifi")], must_not=[T("luxury")])),
    ("wifi + -luxury", "any", B(must=[T("wifi")], must_not=[T("luxury")])),
    ("-luxury", "any", NEG(T("luxury"))),
    ("-luxury", "all", NEG(T("luxury"))),
    ("-luxury wifi", "all", B(must=[T("wifi")], must_not=[T("luxury")])),
    ("-a -b", "all", B(must=[ALL], must_not=[T("a"), T("b")])),
    ("-a -b", "any", B(should=[NEG(T("a")), NEG(T("b"))])),
    ("wifi | -luxury", "all", B(should=[T("wifi"), NEG(T("luxury"))])),
    ("--luxury", "any", T("luxury")),
    ("---luxury", "any", NEG(T("luxury"))),
    ("- luxury", "any", T("luxury")),  # '-' must touch its clause
    ('-"a b"', "any", NEG(Phrase("a b"))),
    ("-(a b)", "any", NEG(B(should=[T("a"), T("b")]))),
    ('"a b"-c', "any", B(should=[Phrase("a b"), NEG(T("c"))])),
    # '-' inside a term is a character
    ("wi-fi", "any", T("wi-fi")),
    ("wifi-", "any", T("wifi-")),
    ("-wi-fi", "any", NEG(T("wi-fi"))),
    # phrases
    ('"hotel pool"', "any", Phrase("hotel pool")),
    ('"Hotel Pool" spa', "all", B(must=[Phrase("Hotel Pool"), T("spa")])),
    ('"say \\"hi\\""', "any", Phrase('say "hi"')),
    ('a"b c"d', "any", B(should=[T("a"), Phrase("b c"), T("d")])),
    ('"a b"~2', "any", B(should=[Phrase("a b"), T("~2")])),  # no slop in simple syntax
    # prefix
    ("lux*", "any", Prefix("lux")),
    ("Lux*", "any", Prefix("lux")),
    ("wi-fi*", "any", Prefix("wi-fi")),
    ("lu*x", "any", T("lu*x")),
    ("lux\\*", "any", T("lux*")),
    ("lux\\**", "any", Prefix("lux*")),
    ("*lux", "any", T("*lux")),
    ("wifi *", "any", B(should=[T("wifi"), ALL])),
    ("wifi -luxury *", "all", B(must=[T("wifi"), ALL], must_not=[T("luxury")])),
    ("**", "any", ALL),
    ("\\*", "any", T("*")),
    # grouping
    ("(a | b) + c", "any", B(must=[B(should=[T("a"), T("b")]), T("c")])),
    ("c + (a | b)", "any", B(must=[T("c"), B(should=[T("a"), T("b")])])),
    ("((a))", "any", T("a")),
    ("(a b) (c d)", "all", B(must=[B(must=[T("a"), T("b")]), B(must=[T("c"), T("d")])])),
    ("a () b", "all", B(must=[T("a"), T("b")])),
    ("a + () b", "any", B(should=[T("a"), T("b")])),  # '()' cancels the '+'
    ("(a\\) b)", "any", B(should=[T("a)"), T("b")])),
    # escapes
    ("\\+wifi", "any", T("+wifi")),
    ("\\-wifi", "any", T("-wifi")),
    ("a\\|b", "any", T("a|b")),
    ("\\(a\\)", "any", T("(a)")),
    ('\\"a', "any", T('"a')),
    ("it\\'s", "any", T("it's")),
    ("a\\\\b", "any", T("a\\b")),
    ("a\\ b", "any", T("a b")),
    ("wifi\\", "any", T("wifi")),
    # characters that only the full syntax knows
    ("a AND b", "any", B(should=[T("a"), T("AND"), T("b")])),
    ("title:hotel", "any", T("title:hotel")),
    ("hotel~1", "any", T("hotel~1")),
    ("hotel^2", "any", T("hotel^2")),
    ("te?t", "any", T("te?t")),
    ("/[mh]otel/", "any", T("/[mh]otel/")),
    ("a&&b", "any", T("a&&b")),
    ("a\u3000b", "any", T("a\u3000b")),
    # lenient handling of broken syntax
    ('"unterminated phrase', "any", B(should=[T("unterminated"), T("phrase")])),
    ("(a b", "any", B(should=[T("a"), T("b")])),
    ("a b)", "any", B(should=[T("a"), T("b")])),
    ("a) (b", "all", B(must=[T("a"), T("b")])),
    ('("a)" b)', "any", B(should=[T("a"), T("b")])),
    ("+", "any", Boolean()),
    ("()", "any", Boolean()),
    ('""', "any", Boolean()),
    ("-", "any", Boolean()),
    ("| + -", "all", Boolean()),
]


@pytest.mark.parametrize("text, mode, expected", SIMPLE_CASES)
def test_simple_syntax(text, mode, expected):
    assert simple(text, mode) == expected


# --------------------------------------------------------------------------------------------
# Full syntax
# --------------------------------------------------------------------------------------------

FULL_CASES = [
    # terms and default operators
    ("wifi", "any", T("wifi")),
    ("WiFi", "any", T("WiFi")),
    ("wifi pool", "any", B(should=[T("wifi"), T("pool")])),
    ("wifi pool", "all", B(must=[T("wifi"), T("pool")])),
    # word and symbol operators
    ("a AND b", "any", B(must=[T("a"), T("b")])),
    ("a && b", "any", B(must=[T("a"), T("b")])),
    ("a OR b", "any", B(should=[T("a"), T("b")])),
    ("a || b", "any", B(should=[T("a"), T("b")])),
    ("a OR b", "all", B(should=[T("a"), T("b")])),
    ("a AND b", "all", B(must=[T("a"), T("b")])),
    ("+a b", "any", B(must=[T("a")], should=[T("b")])),
    ("+a +b", "any", B(must=[T("a"), T("b")])),
    ("+a", "any", T("a")),
    # operators are case-sensitive words; a bare '|' or '&' is a term
    ("a and b", "any", B(should=[T("a"), T("and"), T("b")])),
    ("a or b", "all", B(must=[T("a"), T("or"), T("b")])),
    ("a | b", "any", B(should=[T("a"), T("|"), T("b")])),
    ("a & b", "any", B(should=[T("a"), T("&"), T("b")])),
    ("a|b", "any", T("a|b")),
    ("a&&b", "any", T("a&&b")),
    ("ANDROID", "any", T("ANDROID")),
    ("NOTE OR ORB", "any", B(should=[T("NOTE"), T("ORB")])),
    ("a + b", "any", B(should=[T("a"), T("+"), T("b")])),  # '+ ' is a term, as in Lucene
    # Lucene precedence
    ("a AND b OR c", "any", B(must=[T("a"), T("b")], should=[T("c")])),
    ("a AND b OR c", "all", B(must=[T("a")], should=[T("b"), T("c")])),
    ("a OR b AND c", "any", B(must=[T("b"), T("c")], should=[T("a")])),
    ("a OR b AND c", "all", B(must=[T("b"), T("c")], should=[T("a")])),
    ("a b OR c", "all", B(must=[T("a")], should=[T("b"), T("c")])),
    ("a OR b c", "all", B(must=[T("c")], should=[T("a"), T("b")])),
    ("(a OR b) AND c", "any", B(must=[B(should=[T("a"), T("b")]), T("c")])),
    ("a AND (b OR c)", "all", B(must=[T("a"), B(should=[T("b"), T("c")])])),
    # negation is always ANDed
    ("wifi -luxury", "any", B(should=[T("wifi")], must_not=[T("luxury")])),
    ("wifi -luxury", "all", B(must=[T("wifi")], must_not=[T("luxury")])),
    ("wifi NOT luxury", "any", B(should=[T("wifi")], must_not=[T("luxury")])),
    ("wifi !luxury", "any", B(should=[T("wifi")], must_not=[T("luxury")])),
    ("wifi!luxury", "any", B(should=[T("wifi")], must_not=[T("luxury")])),
    ("wifi AND NOT luxury", "any", B(must=[T("wifi")], must_not=[T("luxury")])),
    ("wifi OR NOT luxury", "any", B(should=[T("wifi")], must_not=[T("luxury")])),
    ("wifi OR -luxury", "all", B(should=[T("wifi")], must_not=[T("luxury")])),
    ("-luxury AND wifi", "any", B(must=[T("wifi")], must_not=[T("luxury")])),
    ("-luxury", "any", B(must_not=[T("luxury")])),
    ("-luxury", "all", B(must_not=[T("luxury")])),
    ("NOT luxury", "any", B(must_not=[T("luxury")])),
    ("-a -b", "any", B(must_not=[T("a"), T("b")])),
    ("-luxury *", "any", B(should=[ALL], must_not=[T("luxury")])),
    ("-(a b)", "any", B(must_not=[B(should=[T("a"), T("b")])])),
    ("a (-b)", "any", B(should=[T("a"), B(must_not=[T("b")])])),
    ("wi-fi", "any", T("wi-fi")),
    ("c++", "any", T("c++")),
    # fields
    ("title:hotel", "any", T("hotel", field="title")),
    ("Title_2:Hotel", "any", T("Hotel", field="Title_2")),
    ("title : hotel", "any", T("hotel", field="title")),
    ('title:"hotel pool"', "any", Phrase("hotel pool", field="title")),
    ("title:(a b)", "any", B(should=[T("a", field="title"), T("b", field="title")])),
    ("title:(a OR (b -c))", "all",
     B(should=[T("a", field="title"), B(must=[T("b", field="title")], must_not=[T("c", field="title")])])),
    ("title:(a desc:b)", "any", B(should=[T("a", field="title"), T("b", field="desc")])),
    ("title:a b", "any", B(should=[T("a", field="title"), T("b")])),
    ("address/city:seattle", "any", T("seattle", field="address/city")),
    ("rooms/type/name:(a b)", "any", B(should=[T("a", field="rooms/type/name"), T("b", field="rooms/type/name")])),
    ("+title:a -desc:b", "any", B(must=[T("a", field="title")], must_not=[T("b", field="desc")])),
    ("title:(a)^2", "any", T("a", field="title", boost=2.0)),
    ("ti\\tle:a", "any", T("a", field="title")),
    ("*:*", "any", ALL),
    ("*:hotel", "any", T("hotel")),
    ("title:*", "any", Wildcard("*", field="title")),
    ("title:te*", "any", Prefix("te", field="title")),
    ("title:te?t", "any", Wildcard("te?t", field="title")),
    ("title:/h.*/", "any", Regex("h.*", field="title")),
    ("title:hotel~1", "any", Fuzzy("hotel", 1, field="title")),
    # fuzzy
    ("hotel~", "any", Fuzzy("hotel", 2)),
    ("Hotel~1", "any", Fuzzy("hotel", 1)),
    ("hotel~0", "any", Fuzzy("hotel", 0)),
    ("hotel~2.0", "any", Fuzzy("hotel", 2)),
    ("hotel~0.5", "any", Fuzzy("hotel", 2)),  # legacy similarity: (1 - 0.5) * 5 letters, at most 2
    ("hotel~0.9", "any", Fuzzy("hotel", 0)),
    ("te*~1", "any", Prefix("te")),  # Lucene ignores '~' after a wildcard term
    # proximity
    ('"hotel pool"~5', "any", Phrase("hotel pool", slop=5)),
    ('"hotel pool"~', "any", Phrase("hotel pool")),
    ('"hotel pool"~2.7', "any", Phrase("hotel pool", slop=2)),
    ('"Hotel \\"Pool\\""', "any", Phrase('Hotel "Pool"')),
    ('""', "any", Phrase("")),
    # boosts
    ("hotel^2", "any", T("hotel", boost=2.0)),
    ("hotel^ 2", "any", T("hotel", boost=2.0)),
    ("hotel^0.5 pool", "any", B(should=[T("hotel", boost=0.5), T("pool")])),
    ('"hotel pool"^2.5', "any", Phrase("hotel pool", boost=2.5)),
    ('"hotel pool"~3^2', "any", Phrase("hotel pool", slop=3, boost=2.0)),
    ("hotel~1^3", "any", Fuzzy("hotel", 1, boost=3.0)),
    ("hotel^3~1", "any", Fuzzy("hotel", 1, boost=3.0)),
    ("te*^2", "any", Prefix("te", boost=2.0)),
    ("/a.c/^2", "any", Regex("a.c", boost=2.0)),
    ("(a b)^2", "any", B(should=[T("a"), T("b")], boost=2.0)),
    ("(a)^2", "any", T("a", boost=2.0)),
    ("(a^3)^2", "any", T("a", boost=6.0)),
    ("((a b)^2)^3", "any", B(should=[T("a"), T("b")], boost=6.0)),
    ("*^2", "any", B(must=[ALL], boost=2.0)),
    ("a^2.5 b^3", "all", B(must=[T("a", boost=2.5), T("b", boost=3.0)])),
    # wildcards and prefixes
    ("te?t", "any", Wildcard("te?t")),
    ("t*st", "any", Wildcard("t*st")),
    ("*est", "any", Wildcard("*est")),
    ("?", "any", Wildcard("?")),
    ("**", "any", Wildcard("**")),
    ("TE?T", "any", Wildcard("te?t")),
    ("te*", "any", Prefix("te")),
    ("Te*", "any", Prefix("te")),
    ("wi-fi*", "any", Prefix("wi-fi")),
    ("te**", "any", Wildcard("te**")),
    ("te\\*", "any", T("te*")),
    ("te\\**", "any", Prefix("te*")),
    ("te\\*?", "any", Wildcard("te\\*?")),
    ("a\\:b*?", "any", Wildcard("a:b*?")),
    ("wifi *", "any", B(should=[T("wifi"), ALL])),
    # regular expressions
    ("/[mh]otel/", "any", Regex("[mh]otel")),
    ("/Motel/", "any", Regex("motel")),
    ("/a\\/b/", "any", Regex("a\\/b")),
    ("/a b/ c", "any", B(should=[Regex("a b"), T("c")])),
    ("//", "any", Regex("")),
    # escapes
    ("\\+wifi", "any", T("+wifi")),
    ("\\-wifi", "any", T("-wifi")),
    ("\\!wifi", "any", T("!wifi")),
    ("a\\:b", "any", T("a:b")),
    ("\\(x\\)", "any", T("(x)")),
    ("\\[x\\] \\{y\\}", "any", B(should=[T("[x]"), T("{y}")])),
    ("a\\^2", "any", T("a^2")),
    ("a\\~1", "any", T("a~1")),
    ("a\\ b", "any", T("a b")),
    ("\\/a\\/", "any", T("/a/")),
    ("a\\\\b", "any", T("a\\b")),
    ('\\"a', "any", T('"a')),
    ("\\AND", "any", T("AND")),
    ("\\&\\&", "any", T("&&")),
    # nesting
    ("((a))", "any", T("a")),
    ("(((a b)))", "any", B(should=[T("a"), T("b")])),
    ("(a (b (c d)))", "all", B(must=[T("a"), B(must=[T("b"), B(must=[T("c"), T("d")])])])),
    ("a\u3000b", "any", B(should=[T("a"), T("b")])),
    ("a\nAND\tb", "any", B(must=[T("a"), T("b")])),
]


@pytest.mark.parametrize("text, mode, expected", FULL_CASES)
def test_full_syntax(text, mode, expected):
    assert full(text, mode) == expected


FULL_ERRORS = [
    # dangling operators
    ("a AND", 5),
    ("a OR", 4),
    ("a &&", 4),
    ("NOT", 3),
    ("a -", 3),
    ("--a", 1),
    ("+-a", 1),
    ("a AND OR b", 6),
    ("AND a", 0),
    # parentheses
    ("(a b", 0),
    ("a (b", 2),
    ("(((a", 2),
    ("a)", 1),
    (")", 0),
    ("()", 1),
    ("a () b", 3),
    ("(a b))", 5),
    # fields
    ("title:", 6),
    ("title:)", 6),
    ("title: AND", 7),
    ("foo-bar:baz", 0),
    ("9lives:cat", 0),
    ("a:b:c", 3),
    ("title:address/city:x", 6),
    # phrases, regexes, escapes
    ('"abc', 0),
    ('a "abc', 2),
    ('a "abc\\"', 2),
    ("/abc", 0),
    ("a /abc", 2),
    ("a\\", 1),
    # boosts
    ("a^x", 2),
    ("a^", 2),
    ("a^ ", 3),
    ("a^-1", 2),
    ("a^2^3", 3),
    ('"a b"^2~3', 7),
    ("(a b)^", 6),
    # fuzzy and slop
    ("a~3", 1),
    ("a~10", 1),
    ("a~1.5", 1),
    ("a~x", 1),
    ("a~-1", 1),
    ('"a b"~x', 5),
    ("~1", 0),
    # unsupported or stray characters
    ("[a TO b]", 0),
    ("{a TO b}", 0),
    ("a]", 1),
    ("a}", 1),
    ("^2", 0),
    (":a", 0),
]


@pytest.mark.parametrize("text, position", FULL_ERRORS)
def test_full_syntax_error_positions(text, position):
    error = full_error(text)
    assert error.position == position
    assert error.text == text
    assert error.parameter == "search"
    assert error.message.startswith(
        f"Failed to parse query string at line 1, column {position + 1}. "
        "See https://aka.ms/azure-search-full-query for supported syntax."
    )


def test_full_syntax_error_reason_follows_azure_message():
    error = full_error("hotel AND")
    assert error.message == (
        "Failed to parse query string at line 1, column 10. "
        "See https://aka.ms/azure-search-full-query for supported syntax. "
        "Expected a search term but found the end of the query."
    )
    assert str(error) == error.message
    assert error.status == 400


def test_full_syntax_error_line_and_column():
    error = full_error("wifi\npool AND\n  )")
    assert error.position == 16
    assert "at line 3, column 3." in error.message


@pytest.mark.parametrize(
    "text, reason",
    [
        ('"a b"^2~3', "Unexpected '~3'."),
        ("a~3", "The fuzzy edit distance must be between 0 and 2."),
        ("a~x", "'~x' is not a valid fuzzy edit distance."),
        ("(a b", "The '(' is never closed."),
        ("[a TO b]", "Range queries are not supported; use $filter."),
        ("foo-bar:baz", "'foo-bar' is not a valid field name."),
    ],
)
def test_full_syntax_error_reasons(text, reason):
    assert full_error(text).message.endswith(" " + reason)


def test_first_error_in_reading_order_is_reported():
    # The stray ')' comes before the unterminated phrase, so it is the one reported.
    assert full_error('a AND ) "abc').position == 6
    assert full_error('a AND "abc )').position == 6


@pytest.mark.parametrize("text", ["a AND b", "(a", '"a', "a~3"])
def test_simple_syntax_never_raises_on_full_syntax_errors(text):
    simple(text)


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------


def test_length_limit():
    longest = "a" * MAX_QUERY_LENGTH
    assert simple(longest) == T(longest)
    assert full(longest) == T(longest)
    with pytest.raises(InvalidInput) as info:
        simple(longest + "a")
    assert not isinstance(info.value, QuerySyntaxError)
    error = full_error(longest + "a")
    assert error.position == MAX_QUERY_LENGTH


def test_clause_limit():
    words = ["w%d" % i for i in range(MAX_CLAUSES)]
    assert simple(" ".join(words)) == B(should=[T(w) for w in words])
    assert full(" ".join(words)) == B(should=[T(w) for w in words])
    too_many = " ".join(words + ["extra"])
    with pytest.raises(InvalidInput) as info:
        simple(too_many)
    assert not isinstance(info.value, QuerySyntaxError)
    error = full_error(too_many)
    assert error.position == too_many.index("extra")


def test_clause_limit_counts_nested_clauses():
    grouped = " ".join("(a%d b%d)" % (i, i) for i in range(MAX_CLAUSES // 2 + 1))
    with pytest.raises(InvalidInput):
        simple(grouped)
    with pytest.raises(QuerySyntaxError):
        full(grouped)


def test_full_syntax_nesting_limit():
    ok = "(" * MAX_DEPTH + "a b" + ")" * MAX_DEPTH
    assert full(ok) == B(should=[T("a"), T("b")])
    deep = "(" * 5000 + "a" + ")" * 5000
    error = full_error(deep)
    assert error.position == MAX_DEPTH
    assert full_error("(" * 5000).position == MAX_DEPTH


def test_simple_syntax_handles_deep_parentheses():
    assert simple("(" * 5000 + "a" + ")" * 5000) == T("a")
    assert simple("(" * 5000 + "a b") == B(should=[T("a"), T("b")])
    assert simple(")" * 5000 + "a") == T("a")
    nested = "".join("(a%d " % i for i in range(50)) + "z" + ")" * 50
    node = simple(nested, "all")
    for i in range(50):
        assert node.must[0] == T("a%d" % i)
        node = node.must[1]
    assert node == T("z")


@pytest.mark.parametrize(
    "text",
    [
        "(a " * (MAX_DEPTH + 5) + ")" * (MAX_DEPTH + 5),
        "a" + "".join(" | x%d + y%d" % (i, i) for i in range(MAX_DEPTH)),
    ],
)
def test_simple_syntax_rejects_too_deep_trees_without_recursion_error(text):
    with pytest.raises(InvalidInput) as info:
        simple(text)
    assert not isinstance(info.value, QuerySyntaxError)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

LEAF_TYPES = (MatchAll, Term, Phrase, Prefix, Wildcard, Regex, Fuzzy)


def assert_well_formed(node: Node) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Boolean):
            for part in (current.must, current.should, current.must_not):
                assert isinstance(part, tuple)
                stack.extend(part)
            assert isinstance(current.boost, float)
        else:
            assert isinstance(current, LEAF_TYPES)
            if not isinstance(current, MatchAll):
                text = current.text if isinstance(current, (Term, Phrase, Prefix, Fuzzy)) else current.pattern
                assert isinstance(text, str)
                assert current.field is None or isinstance(current.field, str)
            if isinstance(current, Fuzzy):
                assert 0 <= current.distance <= 2
            if isinstance(current, Phrase):
                assert current.slop >= 0


SYNTAX_PIECES = [
    "a", "B", "hotel", "AND", "OR", "NOT", "and", "&&", "||", "&", "|", "!", "+", "-", "(", ")",
    '"', "*", "?", "~", "~1", "~3", "^", "^2", ":", "title:", "address/city:", "\\", "/", "[", "]",
    "{", "}", " ", " ", "\t", "\n", "\u3000", "é", "0.5", "'",
]
query_texts = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.sampled_from(list("ab AND|&!+-()\"*?~^:\\/[]{}'\t\n")), max_size=80),
    st.lists(st.sampled_from(SYNTAX_PIECES), max_size=30).map("".join),
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(text=query_texts, mode=st.sampled_from(["any", "all"]))
def test_full_syntax_returns_a_node_or_a_syntax_error(text, mode):
    try:
        node = full(text, mode)
    except QuerySyntaxError as error:
        assert error.text == text
        assert error.parameter == "search"
        assert 0 <= error.position <= len(text)
        assert error.message.startswith("Failed to parse query string at line ")
    else:
        assert_well_formed(node)


@FAST
@given(text=query_texts, mode=st.sampled_from(["any", "all"]))
def test_simple_syntax_never_raises(text, mode):
    assert_well_formed(simple(text, mode))


@FAST
@given(words=st.lists(st.text(alphabet="abcXYZ019é", min_size=1, max_size=6), min_size=2, max_size=8))
def test_simple_syntax_plain_words_use_the_search_mode(words):
    text = " ".join(words)
    assert simple(text, "any") == B(should=[T(w) for w in words])
    assert simple(text, "all") == B(must=[T(w) for w in words])
    assert simple(" + ".join(words), "any") == B(must=[T(w) for w in words])
    assert simple(" | ".join(words), "all") == B(should=[T(w) for w in words])


# -- full syntax round trip: generate an AST, render it as Lucene text, parse it back ----------

SPECIAL = set('+-&|!(){}[]^"~*?:\\/')
OPERATOR_WORDS = {"AND", "OR", "NOT"}


def escape(text: str) -> str:
    rendered = "".join("\\" + c if c in SPECIAL or c.isspace() else c for c in text)
    return "\\" + rendered if rendered in OPERATOR_WORDS else rendered


def render_boost(boost: float) -> str:
    return "" if boost == 1.0 else f"^{boost!r}"


def render(node: Node, top: bool = True) -> str:
    if isinstance(node, MatchAll):
        return "*"
    if isinstance(node, Boolean):
        parts = [f"+{render(c, False)}" for c in node.must]
        parts += [render(c, False) for c in node.should]
        parts += [f"-{render(c, False)}" for c in node.must_not]
        inner = " ".join(parts)
        if top and node.boost == 1.0:
            return inner
        return f"({inner}){render_boost(node.boost)}"
    if isinstance(node, Term):
        body = escape(node.text)
    elif isinstance(node, Phrase):
        body = '"' + node.text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if node.slop:
            body += f"~{node.slop}"
    elif isinstance(node, Prefix):
        body = escape(node.text) + "*"
    elif isinstance(node, Wildcard):
        body = render_wildcard(node.pattern)
    elif isinstance(node, Regex):
        body = f"/{node.pattern}/"
    else:
        assert isinstance(node, Fuzzy)
        body = f"{escape(node.text)}~{node.distance}"
    prefix = f"{node.field}:" if node.field else ""
    return prefix + body + render_boost(node.boost)


fields = st.sampled_from([None, None, "title", "Desc_2", "address/city"])
boosts = st.sampled_from([1.0, 1.0, 1.0, 0.5, 2.0, 2.5, 10.0, 0.25])
mixed_text = st.text(alphabet=list("aANDORTxé09") + sorted(SPECIAL) + [" ", "\u3000", "'", "."], min_size=1, max_size=8)
lower_text = st.text(alphabet=list("andoré09") + sorted(SPECIAL) + [" ", "'", "."], min_size=1, max_size=8)

terms = st.builds(Term, mixed_text, fields, boosts)
phrases = st.builds(Phrase, st.text(alphabet=list('aB c"\\\'*(:'), max_size=10), fields, st.integers(0, 12), boosts)
prefixes = st.builds(Prefix, lower_text, fields, boosts)
fuzzies = st.builds(Fuzzy, lower_text, st.integers(0, 2), fields, boosts)
regexes = st.builds(Regex, st.text(alphabet=list("abc.*+?[]()|^$ {},0"), max_size=8), fields, boosts)


def render_wildcard(pattern: str) -> str:
    """Keep wildcards and the escapes of literal ``*``, ``?``, ``\\``; escape everything else."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append(c if c in "*?" else escape(c))
        i += 1
    return "".join(out)


@st.composite
def wildcards(draw) -> Wildcard:
    literal = st.sampled_from(["a", "b", "9", "é", "\\*", "\\?", "\\\\", "-", ":", " "])
    pieces = draw(st.lists(st.one_of(st.sampled_from(["*", "?"]), literal), min_size=1, max_size=8))
    wild = [i for i, p in enumerate(pieces) if p in ("*", "?")]
    if not wild or pieces == ["*"] or (wild == [len(pieces) - 1] and pieces[-1] == "*"):
        pieces.append("?")  # make it a wildcard, not a term, a prefix or a lone '*'
    return Wildcard("".join(pieces), draw(fields), draw(boosts))


leaves = st.one_of(terms, phrases, prefixes, fuzzies, regexes, wildcards(), st.just(MatchAll()))


@st.composite
def queries(draw, depth: int = 3) -> Node:
    """A query AST in the canonical form the parser produces (no single positive clause in a Boolean)."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(leaves)
    children = st.lists(queries(depth - 1), max_size=2)
    must, should, must_not = draw(children), draw(children), draw(children)
    positive = len(must) + len(should)
    if positive == 1 or (positive == 0 and not must_not):
        return draw(leaves)  # the parser returns a single positive clause itself
    return Boolean(tuple(must), tuple(should), tuple(must_not), draw(boosts))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(node=queries())
def test_full_syntax_round_trip(node):
    text = render(node)
    assert full(text, "any") == node, text


def test_repeated_queries_share_one_parse_and_errors_are_raised_every_time():
    a = parse_search("wifi hotel", "simple", "all")
    assert parse_search("wifi hotel", "simple", "all") is a  # cached: the AST is immutable
    assert parse_search("wifi hotel", "simple", "any") != a  # the mode is part of the key
    assert parse_search("wifi hotel", "SIMPLE", "ALL") == a
    for _ in range(2):
        with pytest.raises(QuerySyntaxError):
            parse_search("title:(unclosed", "full")
    long_text = " ".join(["w"] * 200)  # past the cached length: parsed each time, same result
    assert parse_search(long_text) == parse_search(long_text)
