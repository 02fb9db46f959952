"""Fields whose chain ends in an (edge) n-gram filter reach tantivy as words, one value each, that tantivy's
NgramTokenizer splits (analysis/gram_values.py): the same grams at twice the pre-tokenized positions, and end to end
the same matches and BM25 scores for terms, phrases and proximity as the pre-tokenized layout; an index written with
that layout is rebuilt when opened."""
from __future__ import annotations

import random

import pytest
import tantivy

from weft.search.analysis import fingerprint, gram_values
from weft.search.analysis.custom import Components
from weft.search.engine import tantivy_engine
from weft.search.engine.tantivy_engine import ANALYSIS_STAMP
from weft.search.service import SearchService

P = "#Microsoft.Azure.Search."
COMPONENTS = {
    "analyzers": [
        {"name": "prefix", "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2", "tokenFilters": ["lowercase", "edge"]},
        {"name": "stopprefix", "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2",
         "tokenFilters": ["lowercase", "stopwords", "edge"]},
        {"name": "grams", "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2", "tokenFilters": ["lowercase", "ng"]},
        # no fast path upstream (whitespace tokenizer, no lower case): the upstream chain runs in Python
        {"name": "wsprefix", "@odata.type": P + "CustomAnalyzer", "tokenizer": "whitespace", "tokenFilters": ["edge3"]},
        # a char filter: the upstream chain runs in Python
        {"name": "mapprefix", "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2", "tokenFilters": ["lowercase", "edge"],
         "charFilters": ["map"]},
        # back edge grams and a filter after the grams: the pre-tokenized layout, as before
        {"name": "back", "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2", "tokenFilters": ["lowercase", "backedge"]},
        {"name": "after", "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2", "tokenFilters": ["edge", "lowercase"]},
    ],
    "charFilters": [{"name": "map", "@odata.type": P + "MappingCharFilter", "mappings": ["ß=>ss", "o=>", "x=>a b"]}],
    "tokenFilters": [
        {"name": "edge", "@odata.type": P + "EdgeNGramTokenFilterV2", "minGram": 2, "maxGram": 10},
        {"name": "edge3", "@odata.type": P + "EdgeNGramTokenFilterV2", "minGram": 3, "maxGram": 4},
        {"name": "ng", "@odata.type": P + "NGramTokenFilterV2", "minGram": 1, "maxGram": 3},
        {"name": "backedge", "@odata.type": P + "EdgeNGramTokenFilterV2", "minGram": 2, "maxGram": 4, "side": "back"},
    ],
}
WORDS = ["the", "Quick", "brown", "fox", "a", "I", "jumps", "over", "lazy", "dog", "été", "Élève", "İstanbul", "straße",
         "東京都", "😀x", "naïve", "of", "and", "to", "fox's", "3.14", "o", "quickly", "brownish", "dogs", "x" * 300]


def _analyzers() -> dict:
    return Components(COMPONENTS).analyzers


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS[:-1] if rng.random() < 0.9 else WORDS) for _ in range(rng.randint(0, 14))) for _ in range(n)] + ["", "the", "a I o"]


def _tantivy_positions(g: gram_values.GramValues, values: list) -> list[tuple[str, int]]:
    """Where tantivy puts the terms of these values of one field: a value's tokens start one position after the end
    of the previous value's (checked against tantivy by ``test_the_position_model_is_tantivys``)."""
    out, start, tokenizer = [], 0, g.build()
    for v in values:
        if isinstance(v, str):
            grams = tokenizer.analyze(v)
            out += [(t, start) for t in grams]
            end = start + 1 if grams else start
        else:
            out += [(t.text, start + t.position) for t in v.tokens]
            end = start + max(t.position for t in v.tokens) + 1 if v.tokens else start
        start = end + 1
    return sorted(out)


def _values_of(g: gram_values.GramValues, texts: list[str]) -> list:
    """What ``GramValues.add`` gives tantivy for these values of a field."""
    out: list = []
    for text in texts:
        values = g.values(text)
        if values is None:
            pre = g.doubled(text)
            out += ([pre] if pre is not None else []) + ["", ""]
        else:
            out += values
    return out


def _pre_tokenized_positions(a, texts: list[str]) -> list[tuple[str, int]]:
    """The pre-tokenized layout (one PreTokenizedString per value), positions doubled."""
    out, start = [], 0
    for text in texts:
        toks = a.pre_tokenized(text).tokens
        out += [(t.text, 2 * (start + t.position)) for t in toks]
        start = (start + max(t.position for t in toks) + 1 if toks else start) + 1
    return sorted(out)


@pytest.mark.parametrize("name", ["prefix", "stopprefix", "grams", "wsprefix", "mapprefix"])
def test_values_give_the_pre_tokenized_terms_at_twice_their_positions(name):
    a = _analyzers()[name]
    g = gram_values.plan(a)
    assert g is not None
    texts = _texts(300, sum(map(ord, name)))
    rng = random.Random(5)
    for i in range(0, len(texts), 3):
        group = texts[i:i + rng.randint(1, 3)]  # the values of a collection
        assert _tantivy_positions(g, _values_of(g, group)) == _pre_tokenized_positions(a, group), (name, group)


def test_only_front_edge_and_plain_ngram_filters_at_the_end_take_the_layout():
    c = _analyzers()
    assert gram_values.plan(c["back"]) is None and gram_values.plan(c["after"]) is None
    g = gram_values.plan(c["prefix"])
    # 'a' makes no gram of 2 (a gap), nor do the emoji and 'x' (the standard tokenizer's two tokens); lower-cased,
    # 'İ' is two code points (i and a combining dot), so one gram
    assert g.values("The a ÉTÉ 😀x İ") == ["the", "", "", "été", "", "", "", "", "i\u0307", "", ""]
    assert g.values("x" * 300) is None  # Lucene splits the run at 255: pre-tokenized, doubled
    assert g.values("x" * 1100) is None and g.values("é" * 300) is None and g.values("a, " * 200 + "b" * 256) is None
    assert g.values("ab " * 200) == ["ab"] * 200 + ["", ""]
    assert [(t.text, t.position) for t in g.doubled("ab " + "x" * 300).tokens][:2] == [("ab", 0), ("xx", 2)]
    assert g.build().analyze("été😀x") == ["ét", "été", "été😀", "été😀x"]  # by code point, as the filter
    assert c["prefix"].filters[-1].fn("été😀x") == ("ét", "été", "été😀", "été😀x")


def test_the_ascii_split_gives_the_standard_terms():
    from weft.search.analysis.latin import standard_terms

    rng = random.Random(8)
    pieces = ["Quick", "fox's", "a.b", "3,5", "x_y", "e-mail", "(OK)", "A1b2", "!!", "'tis", "9.", ".9", "MiXeD", "\t", "\n", "~"]
    texts = ["".join(rng.choice(pieces) + rng.choice(["", " ", "  ", ",", ". "]) for _ in range(rng.randint(0, 30))) for _ in range(2000)]
    texts += ["y" * 1023, "z" * 1024 + " a", "ABC" * 400]
    for text in texts:
        assert gram_values._standard_terms(text) == standard_terms(text), text


def test_the_position_model_is_tantivys():
    g = gram_values.plan(_analyzers()["prefix"])
    groups = [["The quick a fox", "of lazy dogs"], ["", "x" * 300 + " jumps", "over"], ["I", "a o", "brown"], ["the the fox"]]
    for group in groups:
        b = tantivy.SchemaBuilder()
        b.add_text_field("f", stored=False, tokenizer_name=g.tokenizer, index_option="position")
        schema = b.build()
        index = tantivy.Index(schema)
        gram_values.register(index, [g])
        writer = index.writer(15_000_000, 1)
        doc = tantivy.Document()
        g.add(doc, "f", group, schema)
        writer.add_document(doc)
        writer.commit()
        index.reload()
        searcher = index.searcher()
        where = _tantivy_positions(g, _values_of(g, group))
        first = where[0][0]
        starts = [p for t, p in where if t == first]
        for term in {t for t, _ in where}:
            want = {p - q for t, p in where if t == term for q in starts if p >= q}
            found = {k for k in range(0, 2 + max(p for _, p in where))
                     if searcher.search(tantivy.Query.phrase_query(schema, "f", [(0, first), (k, term)]), 1).hits}
            assert found == want, (group, first, term)


def _service(folder, grams: bool, monkeypatch):
    if not grams:
        monkeypatch.setattr(gram_values, "plan", lambda analyzer: None)
    service = SearchService(folder)
    fields = [{"name": "id", "type": "Edm.String", "key": True}]
    for name, search in [("prefix", "standard.lucene"), ("prefix", "prefix"), ("stopprefix", "stop"), ("grams", "grams"),
                         ("wsprefix", "whitespace")]:
        fields.append({"name": f"{name}_{search.replace('.', '_')}", "type": "Edm.String", "searchable": True,
                       "indexAnalyzer": name, "searchAnalyzer": search})
    fields.append({"name": "tags", "type": "Collection(Edm.String)", "searchable": True, "indexAnalyzer": "prefix",
                   "searchAnalyzer": "standard.lucene"})
    service.create_index({"name": "grams", "fields": fields, **COMPONENTS})
    return service, [f["name"] for f in fields[1:]]


QUERIES = ["qu", "fox", "été", "ét", "istanbul", "東京", '"quick brown"', '"quick brown"~1', '"quick fox"~2', '"brown quick"~2',
           '"lazy dog"', '"over lazy"~3', '"the quick"', '"quick the fox"', '"qu br"', '"jumps over the lazy"', "dog OR quick",
           '"x-y fox"', '"fox jumps"~5']


def _load_and_query(folder, texts, grams: bool, monkeypatch):
    service, names = _service(folder, grams, monkeypatch)
    try:
        layout = service.engine._handles["grams"].layout
        assert (layout.leaf("prefix_standard_lucene").grams is not None) == grams
        assert layout.leaf("back_x").grams is None if "back_x" in layout.leaves else True
        rng = random.Random(9)
        docs = [{"id": str(i), **{n: t for n in names if n != "tags"}, "tags": [t[:30], rng.choice(texts)]} for i, t in enumerate(texts)]
        for start in range(0, len(docs), 40):
            service.apply_batch("grams", {"value": docs[start:start + 40]})
        out = []
        for q in QUERIES:
            for field in names:
                res = service.search("grams", {"search": q, "searchFields": field, "queryType": "full", "top": 1000, "count": True})
                out.append((q, field, res["@odata.count"], sorted((d["id"], round(d["@search.score"], 5)) for d in res["value"])))
        return out
    finally:
        service.close()


def test_same_matches_and_scores_as_pre_tokenized(tmp_path, monkeypatch):
    rng = random.Random(4)
    texts = [" ".join(rng.choice(WORDS[:-1]) for _ in range(rng.randint(1, 12))) for _ in range(160)]
    texts += ["the quick brown fox", "quick the fox", "quick of fox", "quick a fox", "jumps over the lazy dog"]
    new = _load_and_query(tmp_path / "a", texts, True, monkeypatch)
    old = _load_and_query(tmp_path / "b", texts, False, monkeypatch)
    assert new == old
    counts = {(q, f): c for q, f, c, _ in new}
    assert counts[('"quick the fox"', "stopprefix_stop")] >= 3  # the stop word's gap: quick _ fox
    for f in ("prefix_standard_lucene", "prefix_prefix", "tags"):  # the slop is in the chain's positions
        assert counts[('"quick brown"~1', f)] > counts[('"quick brown"', f)] > 0, f
        assert counts[('"brown quick"~2', f)] > 0, f
    assert counts[('"quick the fox"', "prefix_standard_lucene")] < counts[('"quick the fox"', "stopprefix_stop")]
    assert all(c > 0 for (q, f), c in counts.items() if q in ('"quick brown"', '"lazy dog"', "fox") and not f.startswith("ws")), counts


def test_an_index_written_with_the_pre_tokenized_layout_is_rebuilt(tmp_path, monkeypatch):
    texts = ["the quick brown fox", "quick of fox", "lazy dogs"]
    service, names = _service(tmp_path / "s", False, monkeypatch)
    service.apply_batch("grams", {"value": [{"id": str(i), **{n: t for n in names if n != "tags"}} for i, t in enumerate(texts)]})
    old_stamp = fingerprint.index_fingerprint(service.definition("grams"))
    service.close()
    monkeypatch.undo()
    calls: list = []
    real = tantivy_engine.TantivyEngine._rebuild
    monkeypatch.setattr(tantivy_engine.TantivyEngine, "_rebuild", lambda self, *a, **k: (calls.append(a), real(self, *a, **k)))
    service = SearchService(tmp_path / "s")
    try:
        assert len(calls) == 1
        current = fingerprint.index_fingerprint(service.definition("grams"))
        assert current != old_stamp  # the layout is in the stamp
        [stamp] = (tmp_path / "s").rglob(ANALYSIS_STAMP)
        assert stamp.read_text().strip() == current
        assert service.engine._handles["grams"].layout.leaf("prefix_standard_lucene").grams is not None
        for q, want in [('"quick brown"', ["0"]), ('"quick fox"~1', ["0", "1"]), ("qu", ["0", "1"]), ("dog", ["2"])]:
            res = service.search("grams", {"search": q, "searchFields": "prefix_standard_lucene", "queryType": "full"})
            assert sorted(d["id"] for d in res["value"]) == want, q
    finally:
        service.close()


def _synonym_hits(folder, grams: bool, monkeypatch) -> list:
    if not grams:
        monkeypatch.setattr(gram_values, "plan", lambda analyzer: None)
    service = SearchService(folder)
    try:
        service.synonym_maps.create({"name": "syn", "format": "solr", "synonyms": "usa, united states of america\nfast => quick brown"})
        service.create_index({"name": "syn", "fields": [
            {"name": "id", "type": "Edm.String", "key": True},
            {"name": "t", "type": "Edm.String", "searchable": True, "indexAnalyzer": "prefix", "searchAnalyzer": "standard.lucene",
             "synonymMaps": ["syn"]}], **COMPONENTS})
        assert (service.engine._handles["syn"].layout.leaf("t").grams is not None) == grams
        texts = ["the united states of america", "united states", "usa fox", "a quick brown fox", "quick a brown", "fast fox"]
        service.apply_batch("syn", {"value": [{"id": str(i), "t": t} for i, t in enumerate(texts)]})
        out = []
        for q in ["usa", "fast", '"usa fox"', "united"]:
            res = service.search("syn", {"search": q, "top": 100})
            out.append((q, sorted((d["id"], round(d["@search.score"], 5)) for d in res["value"])))
        return out
    finally:
        service.close()


def test_synonyms_find_the_same_documents(tmp_path, monkeypatch):
    new = _synonym_hits(tmp_path / "a", True, monkeypatch)
    monkeypatch.undo()
    assert new == _synonym_hits(tmp_path / "b", False, monkeypatch)
    hits = {q: [i for i, _ in found] for q, found in new}
    assert hits["usa"] == ["0", "2"] and hits["fast"] == ["3"]  # the phrases 'united states of america', 'quick brown'
