"""Complexity limits on a parsed ``search`` query (pure: AST in, :class:`InvalidInput` out).

The parsers already bound the text (100,000 characters), the clause count (1024) and the nesting
(100 levels). These bound the work of the clauses that enumerate the term dictionary, which a
short query can make very expensive (the probe of issue 10: 1,000 regex clauses ran 90 s, 1,024
fuzzy clauses 11 s):

* :data:`MAX_PATTERN_LENGTH`: prefix, wildcard and regex patterns of at most 1,000 characters.
  Azure documents 1,000 characters for prefix terms ("Limits on query size", Search Documents
  REST API / service limits page); weft applies the same bound to wildcard and regex patterns.
* :data:`MAX_PATTERN_CLAUSES`: at most 25 regex and wildcard clauses in one query (weft's own
  limit; Azure bounds their cost by expanding each to a limited number of terms instead).
* :data:`MAX_FUZZY_CLAUSES`: at most 50 fuzzy clauses (weft's own; Azure expands each fuzzy term
  to at most 50 terms, which tantivy cannot do, so weft bounds the number of clauses instead).
* :data:`MAX_PHRASE_SLOP`: a proximity ``"a b"~N`` of at most 10,000.

Each refusal names the limit, so a caller knows what to change.
"""
from __future__ import annotations

from weft.errors import InvalidInput
from weft.search.query_ast import Boolean, Fuzzy, Node, Phrase, Prefix, Regex, Wildcard

MAX_QUERY_LENGTH = 100_000
"""Longest accepted ``search`` text, in characters (Azure's documented limit)."""

MAX_CLAUSES = 1024
"""Most leaf clauses (terms, phrases, prefixes, ...) in one query (Azure's documented limit)."""

MAX_DEPTH = 100
"""Deepest accepted nesting of groups (full syntax) or of Boolean nodes (simple syntax)."""

MAX_PATTERN_LENGTH = 1000
MAX_PATTERN_CLAUSES = 25
MAX_FUZZY_CLAUSES = 50
MAX_PHRASE_SLOP = 10_000


def check_query_limits(node: Node) -> Node:
    patterns = fuzzy = 0
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Boolean):
            stack.extend(n.must)
            stack.extend(n.should)
            stack.extend(n.must_not)
        elif isinstance(n, (Prefix, Wildcard, Regex)):
            text = n.text if isinstance(n, Prefix) else n.pattern
            if len(text) > MAX_PATTERN_LENGTH:
                kind = type(n).__name__.lower()
                raise InvalidInput(f"Invalid search query: a {kind} pattern is {len(text)} characters long; the limit is "
                                   f"{MAX_PATTERN_LENGTH} (maxPatternLength).\r\nParameter name: search")
            if not isinstance(n, Prefix):
                patterns += 1
                if patterns > MAX_PATTERN_CLAUSES:
                    raise InvalidInput(f"Invalid search query: it has more than {MAX_PATTERN_CLAUSES} regular expression and wildcard "
                                       f"clauses (maxPatternClauses).\r\nParameter name: search")
        elif isinstance(n, Fuzzy):
            fuzzy += 1
            if fuzzy > MAX_FUZZY_CLAUSES:
                raise InvalidInput(f"Invalid search query: it has more than {MAX_FUZZY_CLAUSES} fuzzy clauses (maxFuzzyClauses)."
                                   "\r\nParameter name: search")
        elif isinstance(n, Phrase) and n.slop > MAX_PHRASE_SLOP:
            raise InvalidInput(f"Invalid search query: the proximity ~{n.slop} is larger than {MAX_PHRASE_SLOP} (maxPhraseSlop)."
                               "\r\nParameter name: search")
    return node


def is_expensive(node: Node) -> bool:
    """Whether the query enumerates the term dictionary (regex, wildcard, fuzzy, prefix)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Boolean):
            stack.extend(n.must + n.should + n.must_not)
        elif isinstance(n, (Prefix, Wildcard, Regex, Fuzzy)):
            return True
    return False
