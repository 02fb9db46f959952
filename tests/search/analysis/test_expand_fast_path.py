"""n-gram chains (standard tokenizer, lower case, term maps and (edge) n-gram filters) run on the fast path (tantivy
tokenizes, one cached function per distinct word gives its grams) and give exactly the Python path's tokens:
terms, offsets and positions (every gram at its word's position, as Lucene's (Edge)NGramTokenFilter), in the
Analyze API's tokens and in the pre-tokenized text the index gets."""
from __future__ import annotations

import random

import pytest

from weft.search.analysis.custom import Components
from weft.search.analysis.tokens import Analyzer

P = "#Microsoft.Azure.Search."

FILTERS = [
    {"name": "edge", "@odata.type": P + "EdgeNGramTokenFilterV2", "minGram": 2, "maxGram": 10},
    {"name": "back", "@odata.type": P + "EdgeNGramTokenFilterV2", "minGram": 1, "maxGram": 3, "side": "back"},
    {"name": "tri", "@odata.type": P + "NGramTokenFilterV2", "minGram": 2, "maxGram": 3},
]
CHAINS = {
    "edge": ["lowercase", "edge"],
    "edge_folded": ["lowercase", "asciifolding", "edge"],
    "back": ["lowercase", "back"],
    "tri": ["lowercase", "tri"],
    "stop_edge_stem": ["lowercase", "stopwords", "edge", "porter_stem"],
    "edge_then_tri": ["lowercase", "edge", "tri"],
}

TEXTS = [
    "Hotel Sea View, the quick brown fox's den.",
    "Café au lait à l'hôtel: 3.14 and 1,000 guests; bar.com a_b",
    "ΣΟΦΊΑ Straße İstanbul 東京タワー 서울",
    "a b c",
    "",
    "x" * 300 + " tail " + "é" * 400 + " " + "界" * 30,
    "word " * 70,
]


def analyzers() -> dict[str, Analyzer]:
    c = Components({"analyzers": [{"name": "c_" + n, "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2", "tokenFilters": f}
                                  for n, f in CHAINS.items()], "tokenFilters": FILTERS})
    return {n[2:]: a for n, a in c.analyzers.items()}


def python_path(a: Analyzer) -> Analyzer:
    twin = Analyzer(a.name, a.tokenizer, a.filters, a.char_filters)
    twin._fast = None
    return twin


def _random_texts(n: int) -> list[str]:
    rng = random.Random(7)
    words = ["Hotel", "sea", "the", "fox's", "ÉCOLE", "naïve", "3.14", "1,000", "a_b", "x", "Zürich", "東京", "running", "runs", "OK"]
    return [" ".join(rng.choice(words) + rng.choice(["", ",", ".", "!", " -"]) for _ in range(rng.randint(0, 30))) for _ in range(n)]


@pytest.mark.parametrize("name", list(CHAINS))
def test_fast_path_equals_python_path(name):
    a = analyzers()[name]
    assert a.path == "fast"
    ref = python_path(a)
    assert ref.path == "python"
    for text in TEXTS + _random_texts(150):
        want = [(t.term, t.start, t.end, t.pos) for t in ref.tokens(text)]
        assert [(t.term, t.start, t.end, t.pos) for t in a.tokens(text)] == want, text
        assert [(t.text, t.position) for t in a.pre_tokenized(text).tokens] == [(t, p) for t, _, _, p in want], text


def test_edge_grams_share_the_word_position():
    a = analyzers()["edge"]
    toks = a.tokens("Hotel Sea")
    assert [(t.term, t.pos) for t in toks] == [("ho", 0), ("hot", 0), ("hote", 0), ("hotel", 0), ("se", 1), ("sea", 1)]
    assert [(t.start, t.end) for t in toks] == [(0, 5)] * 4 + [(6, 9)] * 2


def test_long_token_is_split_as_lucene_does():
    # a 300-character word is two tokens (255 + 45 characters) for the standard tokenizer: grams of each piece
    a = analyzers()["edge"]
    toks = a.tokens("y" * 300)
    assert [(t.term, t.pos, t.start) for t in toks if len(t.term) == 2] == [("yy", 0, 0), ("yy", 1, 255)]
