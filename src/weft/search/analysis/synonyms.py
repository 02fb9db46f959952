"""Synonym rules in Solr format (Azure's only synonym map format), and their use.

One rule per line; blank lines and lines starting with ``#`` are ignored.

* ``a, b, c``: equivalent terms. With ``expand`` (the default) each maps to all of them; without, to the first.
* ``a, b => c, d``: explicit mapping; ``a`` and ``b`` are replaced by ``c`` and ``d``.
* A backslash escapes the next character (``WA\\, USA``, ``a\\=>b``); entries may be several words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from weft.errors import InvalidInput

MAX_RULES = 20000
MAX_EXPANSIONS = 20


@dataclass
class Rules:
    # left side (words, as written) -> alternatives (each a tuple of words); the original is an alternative only
    # when the rule says so (equivalence rules)
    mapping: dict[tuple[str, ...], list[tuple[str, ...]]] = field(default_factory=dict)
    count: int = 0

    def add(self, left: tuple[str, ...], right: list[tuple[str, ...]]) -> None:
        have = self.mapping.setdefault(left, [])
        for r in right:
            if r not in have:
                have.append(r)


def _split(line: str, sep: str) -> list[str]:
    """Split on ``sep`` where it is not escaped; keep escapes for the next stage."""
    parts, cur, i = [], [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            cur.append(line[i : i + 2])
            i += 2
            continue
        if line.startswith(sep, i):
            parts.append("".join(cur))
            cur = []
            i += len(sep)
            continue
        cur.append(line[i])
        i += 1
    parts.append("".join(cur))
    return parts


def _words(entry: str) -> tuple[str, ...]:
    """An entry's words: split on unescaped whitespace, escapes removed."""
    words, cur, i = [], [], 0
    while i < len(entry):
        ch = entry[i]
        if ch == "\\" and i + 1 < len(entry):
            cur.append(entry[i + 1])
            i += 2
            continue
        if ch.isspace():
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        i += 1
    if cur:
        words.append("".join(cur))
    return tuple(words)


def parse_rules(text: str, expand: bool = True) -> Rules:
    """Parse Solr rules; an invalid rule is a 400 naming its line."""
    rules = Rules()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        rules.count += 1
        if rules.count > MAX_RULES:
            raise InvalidInput(f"A synonym map can have at most {MAX_RULES} rules.")
        sides = _split(line, "=>")
        if len(sides) > 2:
            raise InvalidInput(f"Invalid synonym rule on line {number}: '{raw}' has more than one '=>'.")
        groups = [[w for w in (_words(e) for e in _split(side, ",")) if w] for side in sides]
        if len(sides) == 2:
            left, right = groups
            if not right:
                raise InvalidInput(f"Invalid synonym rule on line {number}: '{raw}' has nothing after '=>'.")
            if not left:
                continue  # "=> b": Lucene's parser ignores it
            if len(right) > MAX_EXPANSIONS:
                raise InvalidInput(f"Invalid synonym rule on line {number}: at most {MAX_EXPANSIONS} expansions per rule.")
            for l in left:
                rules.add(l, right)
        else:
            (group,) = groups
            if len(group) > MAX_EXPANSIONS + 1:
                raise InvalidInput(f"Invalid synonym rule on line {number}: at most {MAX_EXPANSIONS} expansions per rule.")
            for term in group:
                rules.add(term, list(group) if expand else [group[0]])
    return rules


def analyzed(rules: Rules, analyze: Callable[[str], list[str]]) -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """The rules with every side run through a field's analyzer (sides that analyze to nothing are dropped)."""
    out: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for left, rights in rules.mapping.items():
        l = tuple(analyze(" ".join(left)))
        if not l:
            continue
        have = out.setdefault(l, [])
        for r in rights:
            a = tuple(analyze(" ".join(r)))
            if a and a not in have:
                have.append(a)
    return out


def synonym_filter(rules: Rules, ignore_case: bool = False):
    """A SynonymTokenFilter: rewrites token sequences matching a left side (longest first) into the
    alternatives, each starting at the position of the first matched token."""
    mapping = {tuple(w.lower() for w in k) if ignore_case else k: v for k, v in rules.mapping.items()}
    longest = max((len(k) for k in mapping), default=0)

    def run(toks):
        from weft.search.analysis.tokens import Tok

        out, i = [], 0
        while i < len(toks):
            matched = None
            for n in range(min(longest, len(toks) - i), 0, -1):
                key = tuple((t.term.lower() if ignore_case else t.term) for t in toks[i : i + n])
                if key in mapping:
                    matched = (n, mapping[key])
                    break
            if matched is None:
                out.append(toks[i])
                i += 1
                continue
            n, alternatives = matched
            first, last = toks[i], toks[i + n - 1]
            for alt in alternatives:
                for k, word in enumerate(alt):
                    out.append(Tok(word, first.start, last.end, first.pos + k))
            i += n
        out.sort(key=lambda t: t.pos)
        return out

    return run


def _analyzed_cached(rules: Rules, analyzer) -> dict:
    cache = rules.__dict__.setdefault("_by_analyzer", {})
    key = id(analyzer)
    if key not in cache:
        cache[key] = (analyzer, analyzed(rules, analyzer.terms))
    return cache[key][1]


def expansions(rules: Rules, analyzer, terms: list[str]) -> list[tuple[str, ...]] | None:
    """The alternatives a query clause (its analyzed terms) expands to, or None if no rule applies.

    A plain term expands when it is a left side. A quoted phrase expands where a left side occurs in it (longest
    first, left to right; multi-word left sides trigger only inside phrases, as Azure documents): every
    combination of the alternatives, at most ``MAX_COMBINATIONS`` of them."""
    mapping = _analyzed_cached(rules, analyzer)
    if not mapping:
        return None
    whole = mapping.get(tuple(terms))
    if whole:
        return list(whole)
    if len(terms) < 2:
        return None
    longest = rules.__dict__.get("_longest")
    if longest is None:
        longest = rules.__dict__["_longest"] = max(len(k) for k in mapping)
    pieces: list[list[tuple[str, ...]]] = []
    i, matched = 0, False
    while i < len(terms):
        for n in range(min(longest, len(terms) - i), 0, -1):
            alts = mapping.get(tuple(terms[i : i + n]))
            if alts:
                pieces.append(alts)
                i += n
                matched = True
                break
        else:
            pieces.append([(terms[i],)])
            i += 1
    if not matched:
        return None
    import itertools

    combos = itertools.islice(itertools.product(*pieces), MAX_COMBINATIONS)
    return [tuple(w for part in combo for w in part) for combo in combos]


MAX_COMBINATIONS = 64
