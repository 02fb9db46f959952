"""ja.lucene as Lucene's JapaneseAnalyzer (Kuromoji, search mode), over MeCab + IPADIC (weft.search.analysis.japanese).

data/lucene_japanese.jsonl holds what Lucene 8.7's own JapaneseAnalyzer gave for 60 sentences: term, position and
offsets of each token, compounds (関西国際空港 beside 関西 国際 空港) included.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from weft.search import analysis
from weft.search.service import SearchService

ROWS = [json.loads(line) for line in (Path(__file__).parent / "data" / "lucene_japanese.jsonl").read_text(encoding="utf-8").splitlines()[1:]]
# MeCab re-segments a long word without the words around it, Kuromoji within the sentence: this one splits
# 大学院生 differently (docs/analysis.md, "Japanese and Korean")
KNOWN = {"自然言語処理の研究をしている大学院生です。"}


def _weft(text):
    return [[t.term, t.pos, t.start, t.end] for t in analysis.get("ja.lucene").tokens(text)]


@pytest.mark.parametrize("row", ROWS, ids=[r["text"][:12] for r in ROWS])
def test_tokens_are_kuromojis(row):
    if row["text"] in KNOWN:
        assert _weft(row["text"]) != row["tokens"]  # when this passes, take it out of KNOWN
    else:
        assert _weft(row["text"]) == row["tokens"]


def test_morphology_base_forms_and_compounds():
    terms = analysis.get("ja.lucene").terms("関西国際空港から飛行機で行きました。")
    assert terms == ["関西", "関西国際空港", "国際", "空港", "飛行機", "行く"]
    assert analysis.get("ja.microsoft").terms("東京都に住んでいます") == ["東京", "都", "住む"]
    assert analysis.get("ja.lucene").terms("コンピューター") == ["コンピュータ"]  # the Katakana stem
    assert analysis.get("ja.lucene").path == "python"


def test_a_word_inside_a_sentence_is_found(tmp_path):
    service = SearchService(tmp_path)
    try:
        service.create_index({"name": "jaidx", "fields": [
            {"name": "id", "type": "Edm.String", "key": True},
            {"name": "body", "type": "Edm.String", "searchable": True, "analyzer": "ja.lucene"}]})
        service.apply_batch("jaidx", {"value": [
            {"id": "1", "body": "関西国際空港から飛行機で大阪へ行きました。"},
            {"id": "2", "body": "東京都に住んでいます。"},
            {"id": "3", "body": "京都の寺院を訪れる観光客が増えている。"}]})

        def ids(q, **extra):
            return sorted(d["id"] for d in service.search("jaidx", {"search": q, **extra})["value"])

        assert ids("空港") == ["1"]  # a part of a compound
        assert ids("住む") == ["2"]  # the base form of 住んで
        assert ids("京都") == ["3"]  # not inside 東京都 (CJK bigrams matched 京都 there)
        assert ids('"飛行機で大阪"') == ["1"]  # a phrase across a removed particle
        # only the matched part of a run without spaces is highlighted (the analyzer's own offsets)
        hl = service.search("jaidx", {"search": "空港", "highlight": "body"})["value"][0]["@search.highlights"]["body"]
        assert hl == ["関西国際<em>空港</em>から飛行機で大阪へ行きました。"]
        tokens = service.analyze("jaidx", {"text": "東京都に住んでいます", "analyzer": "ja.lucene"})["tokens"]
        assert [(t["token"], t["position"], t["startOffset"], t["endOffset"]) for t in tokens] == [
            ("東京", 0, 0, 2), ("都", 1, 2, 3), ("住む", 3, 4, 6)]
    finally:
        service.close()
