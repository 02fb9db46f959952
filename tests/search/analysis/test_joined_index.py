"""Python-path fields reach tantivy as one joined string its whitespace tokenizer splits (``Analyzer.joined``):
the joined tokenizer gives exactly the terms and positions ``pre_tokenized`` gives, and where a string cannot
carry them (terms at one position, whitespace in a term) weft falls back to pre-tokenized text; end to end, the
same matches and scores either way."""
from __future__ import annotations

import random

import pytest

from weft.search import analysis
from weft.search.analysis import native
from weft.search.analysis.custom import Components
from weft.search.analysis.tokens import SKIP, Analyzer, Tok, join_tokens
from weft.search.service import SearchService

P = "#Microsoft.Azure.Search."
PIECES = ["L'été", "qu'il", "d'une", "l'hôtel", "école", "Élèves", "the", "and", "Fox's", "running", "3.14", "1,000",
          "a_b", "bar.com", "東京", "中华人民共和国", "北京", "カタカナ", "ひらがな", "서울", "ไทย", "🙂", "x-y", "(a)",
          "www", "s", "Straße", "İstanbul", "ΣΟΦΟΣ", "naïve", "\u00ad", "，", "。", "a" * 300, "ＡＢＣ", "１２",
          "jusqu'au", "châteaux", "chevaux", "les", "des", "Über", "l·l", "’", "\t", "\n"]
NAMES = ["en.lucene", "fr.lucene", "de.lucene", "zh-Hans.lucene", "zh-Hant.lucene", "ja.lucene", "th.lucene",
         "tr.lucene", "ga.lucene", "keyword", "es.microsoft", "ar.lucene", "it.lucene"]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(PIECES) for _ in range(rng.randint(0, 25))) for _ in range(n)] + ["", " ", "the the the"]


def _pre(a: Analyzer, text: str) -> list[tuple[str, int]]:
    return [(t.text, t.position) for t in a.pre_tokenized(text).tokens]


def _joined(text: str) -> list[tuple[str, int]]:
    return [(t.text, t.position) for t in native.text_analyzer(native.JOINED).pre_tokenize(text).tokens]


@pytest.mark.parametrize("name", NAMES)
def test_joined_gives_the_pre_tokenized_terms(name):
    a = analysis.get(name)
    covered = 0
    for text in _texts(400, sum(map(ord, name))):
        joined = a.joined(text)
        if joined is None:
            continue
        covered += 1
        assert _joined(joined) == _pre(a, text), (name, text, joined)
    assert covered > (10 if name == "keyword" else 200), name  # keyword: a value with a space is one term


def test_fast_and_cjk_paths_join_without_tokens():
    fr = analysis.get("fr.lucene")
    assert fr.path == "fast"
    assert fr.joined("L'été est là, et le château") == f"été est là {SKIP} {SKIP} chateau"
    zh = analysis.get("zh-Hans.lucene")
    assert zh.joined("我爱北京，the 天") == f"我爱 爱北 北京 {SKIP} 天"
    assert _joined(zh.joined("我爱北京，the 天")) == [("我爱", 0), ("爱北", 1), ("北京", 2), ("天", 4)]


def test_what_a_string_cannot_carry_is_refused():
    assert join_tokens([Tok("a", 0, 1, 0), Tok("ab", 0, 2, 0)]) is None  # one position twice
    assert join_tokens([Tok("a", 0, 1, 1), Tok("b", 2, 3, 0)]) is None  # back
    assert join_tokens([Tok("new york", 0, 8, 0)]) is None
    assert join_tokens([Tok("a\tb", 0, 3, 0)]) is None
    assert join_tokens([Tok("", 0, 0, 0), Tok("b", 1, 2, 1)]) is None
    assert join_tokens([Tok(SKIP, 0, 1, 0)]) is None
    assert join_tokens([Tok("a", 0, 1, 2), Tok("b", 2, 3, 3)]) == f"{SKIP} {SKIP} a b"
    assert analysis.get("keyword").joined("New York") is None
    assert analysis.get("keyword").joined("Paris") == "Paris"


def _edge_and_space_components() -> dict:
    return {
        "analyzers": [
            {"name": "prefix", "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2", "tokenFilters": ["lowercase", "edge"]},
            # a term map that puts a space into a term: the joined string cannot carry it
            {"name": "spaced", "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2", "tokenFilters": ["lowercase", "sp"]},
        ],
        "tokenFilters": [
            {"name": "edge", "@odata.type": P + "EdgeNGramTokenFilterV2", "minGram": 2, "maxGram": 5},
            {"name": "sp", "@odata.type": P + "PatternReplaceTokenFilter", "pattern": "o", "replacement": "o o"},
        ],
    }


def test_custom_chains_fall_back_where_needed():
    c = Components(_edge_and_space_components()).analyzers
    assert c["prefix"].joined("hello world") is None  # grams share their word's position
    assert c["spaced"].joined("foo bar") is None
    assert c["spaced"].joined("bar baz") == "bar baz"


def _load_and_query(folder, texts, joined: bool, monkeypatch):
    if not joined:
        monkeypatch.setattr(Analyzer, "joined", lambda self, text: None)
    service = SearchService(folder)
    try:
        fields = [{"name": "id", "type": "Edm.String", "key": True}]
        for i, name in enumerate(["fr.lucene", "zh-Hans.lucene", "en.lucene", "keyword"]):
            fields.append({"name": f"f{i}", "type": "Edm.String", "searchable": True, "analyzer": name,
                           "filterable": False, "sortable": False, "facetable": False})
        fields.append({"name": "tags", "type": "Collection(Edm.String)", "searchable": True, "analyzer": "fr.lucene"})
        fields.append({"name": "sp", "type": "Edm.String", "searchable": True, "analyzer": "spaced"})
        service.create_index({"name": "joinidx", "fields": fields, **_edge_and_space_components()})
        docs = [{"id": str(i), "f0": t, "f1": t, "f2": t, "f3": t[:30], "tags": [t[:40], t[-40:]], "sp": t}
                for i, t in enumerate(texts)]
        for start in range(0, len(docs), 50):
            service.apply_batch("joinidx", {"value": docs[start:start + 50]})
        out = []
        for q, fields_ in [("été", "f0"), ('"hôtel école"', "f0"), ('"été école"', "f0,tags"), ("北京", "f1"),
                           ('"中华人民"', "f1"), ('"running fox"', "f2"), ("run", "f2"), ("the", "f2"), ("chevaux", "tags"),
                           ("foo", "sp"), ("l'hôtel", "f0")]:
            res = service.search("joinidx", {"search": q, "searchFields": fields_, "top": 1000, "count": True})
            out.append((q, res["@odata.count"], sorted((d["id"], round(d["@search.score"], 5)) for d in res["value"])))
        return out
    finally:
        service.close()


def test_same_matches_and_scores_as_pre_tokenized(tmp_path, monkeypatch):
    rng = random.Random(3)
    words = ["l'hôtel", "école", "été", "L'été", "北京", "中华人民共和国", "running", "fox", "the", "chevaux", "foo",
             "hôtel", "Fox's", "les", "東京", "d'une"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(150)]
    with_joined = _load_and_query(tmp_path / "a", texts, True, monkeypatch)
    monkeypatch.undo()
    without = _load_and_query(tmp_path / "b", texts, False, monkeypatch)
    assert with_joined == without
    counts = {q: count for q, count, _ in with_joined}
    assert counts["the"] == 0  # an English stop word
    assert [q for q in counts if q != "the" and counts[q] == 0] == [], counts
