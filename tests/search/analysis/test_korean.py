"""ko.lucene as Lucene's KoreanAnalyzer (Nori), over MeCab + mecab-ko-dic (weft.search.analysis.korean).

data/lucene_korean.jsonl holds what Lucene 8.7's own KoreanAnalyzer gave for 20 sentences.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from weft.search import analysis
from weft.search.service import SearchService

ROWS = [json.loads(line) for line in (Path(__file__).parent / "data" / "lucene_korean.jsonl").read_text(encoding="utf-8").splitlines()[1:]]
# the dictionaries differ (Nori ships mecab-ko-dic 2.0.3, python-mecab-ko-dic is 2.1.1): Nori reads 저는 as 제+는
KNOWN = {"저는 어제 친구와 함께 영화를 봤어요."}


def _weft(text):
    return [[t.term, t.pos, t.start, t.end] for t in analysis.get("ko.lucene").tokens(text)]


@pytest.mark.parametrize("row", ROWS, ids=[r["text"][:10] for r in ROWS])
def test_tokens_are_noris(row):
    if row["text"] in KNOWN:
        assert _weft(row["text"]) != row["tokens"]  # when this passes, take it out of KNOWN
        assert _weft(row["text"])[1:] == row["tokens"][1:]
    else:
        assert _weft(row["text"]) == row["tokens"]


def test_morphemes_compounds_and_inflections():
    assert analysis.get("ko.lucene").terms("한국어를 공부합니다.") == ["한국", "어", "공부"]
    assert analysis.get("ko.lucene").terms("가곡역에서 만나요") == ["가곡", "역", "만나"]
    assert analysis.get("ko.microsoft").terms("영화를 봤어요") == ["영화", "보"]


def test_a_word_inside_a_sentence_is_found(tmp_path):
    service = SearchService(tmp_path)
    try:
        service.create_index({"name": "koidx", "fields": [
            {"name": "id", "type": "Edm.String", "key": True},
            {"name": "body", "type": "Edm.String", "searchable": True, "analyzer": "ko.lucene"}]})
        service.apply_batch("koidx", {"value": [
            {"id": "1", "body": "서울은 대한민국의 수도입니다."},
            {"id": "2", "body": "도서관에서 책을 빌려 왔다."}]})

        def ids(q):
            return sorted(d["id"] for d in service.search("koidx", {"search": q})["value"])

        assert ids("민국") == ["1"]  # a part of the compound 대한민국
        assert ids("도서관") == ["2"]  # 도서 and 관, as in the document
        assert ids("빌리다") == ["2"]  # the dictionary form finds 빌려: both are the stem 빌리 and an ending
        assert ids("왔다") == ["2"]
        tokens = service.analyze("koidx", {"text": "한국어를 공부합니다", "analyzer": "ko.lucene"})["tokens"]
        assert [(t["token"], t["position"]) for t in tokens] == [("한국", 0), ("어", 1), ("공부", 3)]
    finally:
        service.close()
