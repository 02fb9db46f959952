"""Common grams and dictionary decompounding (Lucene's CommonGramsFilter / CommonGramsQueryFilter and
DictionaryCompoundWordTokenFilter, as Azure's CommonGramTokenFilter and DictionaryDecompounderTokenFilter
configure them). Behaviour checked against Lucene 8.7 (tests/search/analysis/test_compound_phonetic.py)."""
from __future__ import annotations

from weft.search.analysis.tokens import Tok, TokenFilter


def common_grams(words: frozenset[str], ignore_case: bool = False, query_mode: bool = False) -> TokenFilter:
    """Each token, plus ``a_b`` at ``a``'s position wherever ``a`` or the next token ``b`` is a common word. In
    query mode a unigram that starts a bigram is left out (the bigram stands for it), which keeps phrase queries on
    common words fast, as Lucene's CommonGramsQueryFilter does."""
    common = frozenset(w.lower() for w in words) if ignore_case else words

    def is_common(term: str) -> bool:
        return (term.lower() if ignore_case else term) in common

    def run(toks: list[Tok]) -> list[Tok]:
        stream: list[tuple[Tok, bool]] = []  # (token, is a bigram)
        for i, t in enumerate(toks):
            stream.append((t, False))
            if i + 1 < len(toks):
                nxt = toks[i + 1]
                if is_common(t.term) or is_common(nxt.term):
                    stream.append((Tok(f"{t.term}_{nxt.term}", t.start, nxt.end, t.pos), True))
        if not query_mode:
            return [t for t, _ in stream]
        # as Lucene's CommonGramsQueryFilter: a token is left out when a bigram follows it (the bigram replaces
        # it), and the last token is left out when it directly follows a bigram
        out = []
        last = len(stream) - 1
        for k, (t, _) in enumerate(stream):
            if k < last and stream[k + 1][1]:
                continue
            if k == last and k > 0 and stream[k - 1][1]:
                continue
            out.append(t)
        return out

    return run


def dictionary_decompounder(words: frozenset[str], min_word: int = 5, min_sub: int = 2, max_sub: int = 15,
                            only_longest: bool = False) -> TokenFilter:
    """After each token of at least ``min_word`` characters, every dictionary word found inside it (``min_sub`` to
    ``max_sub`` characters; with ``only_longest`` the longest one starting at each character), at the token's
    position and with its offsets."""

    def run(toks: list[Tok]) -> list[Tok]:
        out: list[Tok] = []
        for t in toks:
            out.append(t)
            term = t.term
            n = len(term)
            if n < min_word:
                continue
            for i in range(0, n - min_sub + 1):
                longest = None
                for j in range(min_sub, max_sub + 1):
                    if i + j > n:
                        break
                    part = term[i : i + j]
                    if part in words:
                        if only_longest:
                            longest = part
                        else:
                            out.append(Tok(part, t.start, t.end, t.pos))
                if longest is not None:
                    out.append(Tok(longest, t.start, t.end, t.pos))
        return out

    return run
