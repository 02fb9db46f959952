"""The fast path joins its terms per chunk of text between whitespace, cached (``tokens._JoinedChunks``): the result
equals the terms and positions of tantivy's standard pipeline run over the whole text and mapped term by term
(``Analyzer.tokens``), whether a chunk is seen for the first time or comes from the cache, for every kind of
whitespace (U+202F, which joins, included) and for chunks of any script."""
from __future__ import annotations

import random

import pytest

from weft.search import analysis
from weft.search.analysis import native
from weft.search.analysis.tokens import SKIP, _JoinedChunks

# pieces glued into chunks (no separator) or put between them (whitespace, punctuation)
GLUE = ["l'", "été", "L'", "Hôtel", "qu'", "il", "école", "the", "Fox's", "3", ".", "14", ",", "1", "000", "a_b", "bar",
        ".com", "東京", "カタカナ", "ひらがな", "서울", "ไทย", "🙂", "\u200d", "\u0301", "\u00ad", "ß", "İ", "Σ", "ʼ", "’",
        "\u05d0", '"', "-", "(", ")", "«", "»", "…", "x" * 70, "les", "des", "chevaux", "jusqu'", "au", "ＡＢ", "１２"]
SPACES = [" ", " ", " ", "  ", "\n", "\t", "\r\n", "\u00a0", "\u2003", "\u3000", "\u202f", "\x0b", "\x1c", "\u2028", "\x85"]
NAMES = ["fr.lucene", "en.lucene", "de.lucene", "es.microsoft", "it.lucene", "ar.lucene", "ru.lucene"]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        chunks = ["".join(rng.choice(GLUE) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(0, 12))]
        text = ""
        for c in chunks:
            text += c + rng.choice(SPACES)
        out.append(text[: rng.randint(0, len(text))] if rng.random() < 0.2 else text)
    return out + ["", " ", "\u202f", "a\u202fb c", "l'été\u202fl'hôtel le"]


def _from_joined(joined: str) -> list[tuple[str, int]]:
    return [(t.text, t.position) for t in native.text_analyzer(native.JOINED).pre_tokenize(joined).tokens]


def _whole_text(a, text: str) -> list[tuple[str, int]]:
    # Analyzer.tokens on the fast path: tantivy's pipeline over the whole text, then the chain's term maps
    return [(t.term, t.pos) for t in a.tokens(text)]


@pytest.mark.parametrize("name", NAMES)
def test_chunked_join_gives_the_whole_text_terms_and_positions(name):
    a = analysis.get(name)
    assert a.path == "fast" and a._chunks is not None
    texts = _texts(300, sum(map(ord, name)))
    for seen in ("first", "cached"):
        for text in texts:
            joined = a.joined(text)
            assert joined is not None
            assert _from_joined(joined) == _whole_text(a, text), (name, seen, text, joined)
    assert len(a._chunks) > 100


def test_a_chunk_is_its_terms_joined_and_long_chunks_are_not_kept():
    fr = analysis.get("fr.lucene")
    chunks = _JoinedChunks(fr._word)
    assert chunks["L'été,"] == "été" and chunks["(le"] == SKIP and chunks["—"] == "" and chunks["l'hôtel-école"] == "hotel ecol"
    assert set(chunks) == {"L'été,", "(le", "—", "l'hôtel-école"}
    long = "é" * (_JoinedChunks.LONGEST + 1)
    assert chunks[long] == fr._word(long) and long not in chunks
    assert fr.joined("Le  château\n\nde\tl'été.") == f"{SKIP} chateau {SKIP} été"


def test_the_cache_starts_over_when_full(monkeypatch):
    monkeypatch.setattr(_JoinedChunks, "LIMIT", 3)
    chunks = _JoinedChunks(analysis.get("en.lucene")._word)
    for w in ("one", "two", "three", "four"):
        assert chunks[w] == analysis.get("en.lucene").joined(w)
    assert list(chunks) == ["four"]
