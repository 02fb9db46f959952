"""Analysis in the engine: the native standard tokenizer agrees with the Python UAX#29 one, and an index
written with an older field layout is rebuilt from its documents when opened."""
from __future__ import annotations

import json
import random

import orjson
import pytest
import tantivy

from weft.search import analysis
from weft.search.analysis import native, tokenizers
from weft.search.engine.tantivy_layout import KEY, SOURCE, Layout
from weft.search.schema import parse_index_definition
from weft.search.service import SearchService

SAMPLES = [
    "The Quick-Brown fox's e-mail foo@bar.com 3.14 我是 日本語",
    "l'avion U.S.A. 1,000.5 wi-fi テスト 한국어 x_y a,1",
    "Hotel Montréal: 5-star rooms (2 beds), Wi-Fi & breakfast; check-in 15:00. Price: $129.99!",
    "Ærø straße CAFÉ naïve coöperate 10.5.2023 v2.0 H2O",
]


def _python_standard(text):
    return [(t.term.lower(), t.start, t.end) for t in tokenizers.standard_uax29(text)]


def _native_standard(text):
    return [(t.term, t.start, t.end) for t in analysis.get("standard.lucene").tokens(text)]


def test_native_standard_agrees_with_uax29_on_samples():
    for text in SAMPLES:
        assert _native_standard(text) == _python_standard(text), text


def test_native_standard_agrees_on_random_word_text():
    rng = random.Random(7)
    alphabet = "abcdefghij ÉéàçüñøØ日本テ한,.'-0123456789!?@ "  # '_' next to Katakana differs (docs/analysis.md)
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert [t for t, _, _ in _native_standard(text)] == [t for t, _, _ in _python_standard(text)], text


def test_native_and_python_paths_are_reported():
    assert analysis.get("standard.lucene").path == "native"
    assert analysis.get("en.lucene").path == "fast"
    assert analysis.get("zh-Hans.lucene").path == "python"


# the en.lucene field as weft laid it out before analysis ran in Python (a tantivy tokenizer of its own), and as it
# did before Python-path terms reached tantivy as joined strings (pre-tokenized, on the raw tokenizer)
@pytest.mark.parametrize("old_tokenizer", ["weft_en_lucene", "raw"])
def test_index_with_an_older_layout_is_rebuilt_on_open(tmp_path, old_tokenizer):
    index = {"name": "old", "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                       {"name": "body", "type": "Edm.String", "searchable": True, "analyzer": "en.lucene"}]}
    definition = parse_index_definition(index)
    # lay the index out as weft did before analysis ran in Python: the en.lucene field named a tantivy tokenizer
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(KEY, stored=False, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_bytes_field(SOURCE, stored=True, indexed=False, fast=False)
    layout = Layout(definition)
    for path, leaf in layout.leaves.items():
        if leaf.text:
            builder.add_text_field(leaf.text, stored=False, tokenizer_name=old_tokenizer, index_option="position")
        if leaf.raw:
            builder.add_text_field(leaf.raw, stored=False, fast=True, tokenizer_name="raw", index_option="basic")
    data = tmp_path / "search"
    (data / "indexes" / "old").mkdir(parents=True)
    old = tantivy.Index(builder.build(), path=str(data / "indexes" / "old"))
    from weft.search.analysis.legacy import register_legacy

    register_legacy(old)
    writer = old.writer(15_000_000, 1)
    doc = tantivy.Document()
    doc.add_text(KEY, "1")
    doc.add_bytes(SOURCE, orjson.dumps({"id": "1", "body": "The dogs were running"}))
    writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    del writer, old
    service = SearchService(data)
    service.catalog.put("old", json.loads(json.dumps(definition.to_json())), '"0x1"')
    service.close()
    service = SearchService(data)  # opens the old directory: schema mismatch, rebuilt from _source
    try:
        hits = service.search("old", {"search": "run"})["value"]
        assert [h["id"] for h in hits] == ["1"]
    finally:
        service.close()
