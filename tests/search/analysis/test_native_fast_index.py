"""The standard analyzers' indexing fast path (pre-tokenized simple tokens for plain ASCII text) indexes exactly
what tantivy's regex tokenizer would: the same tokens, and the same matches and scores end to end."""
from __future__ import annotations

import random
import re
import string

import pytest

from weft.search.analysis import native
from weft.search.engine import tantivy_layout
from weft.search.service import SearchService

WORDS = ["fox", "Dog's", "3.14", "1,000", "a_b", "bar.com", "U.S.A", "café", "naïve", "東京", "カタカナ", "ไทย",
         "end.", "Next", "x-y", "(paren)", "e-mail", "über", "Straße", "x:y", "9;9", "’quote’", "rock'n'roll", "a" * 1100,
         "quick", "brown", "jumps", "over", "the", "lazy", "ÉCOLE", "İstanbul", "ǅemal", "🙂", "mid.dle", "7'8"]


def _corpus(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    plain = ["quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "end.", "Next", "x-y", "42", "(a)"]
    texts = []
    for i in range(n):
        pool = WORDS if i % 3 == 0 else plain  # two thirds plain ASCII (fast path), one third anything
        texts.append(" ".join(rng.choice(pool) for _ in range(rng.randint(1, 30))))
    return texts


def _toks(tokens):
    return [(t.text, t.position, t.char_offset_from, t.char_offset_to) for t in tokens]


@pytest.mark.parametrize("name", ["standard.lucene", "standardasciifolding.lucene"])
def test_indexable_gives_the_regex_tokenizers_tokens(name):
    fast = 0
    for text in _corpus(3000, 1):
        value = native.indexable(name, text)
        slow = _toks(native.text_analyzer(name).pre_tokenize(text).tokens)
        if value is text:
            assert not native.simple_suffices(text)
        else:
            fast += 1
            assert value.text == text
            assert _toks(value.tokens) == slow, text
    assert fast > 1000


def test_other_native_analyzers_keep_their_tokenizer():
    for name in ("simple", "stop", "whitespace", "pattern"):
        assert native.indexable(name, "plain words") == "plain words"


def test_simple_suffices_is_the_joiner_rule():
    rule = re.compile(r"_|[A-Za-z][.:'][A-Za-z]|[0-9][.,;'][0-9]")
    rng = random.Random(7)
    alphabet = "aZq09_.:,;' -é"
    for _ in range(50_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert native.simple_suffices(text) == (text.isascii() and rule.search(text) is None), text


def _load_and_query(folder, texts, queries, batch=100):
    service = SearchService(folder)
    try:
        service.create_index({"name": "fastidx", "fields": [
            {"name": "id", "type": "Edm.String", "key": True},
            {"name": "body", "type": "Edm.String", "searchable": True},
            {"name": "tags", "type": "Collection(Edm.String)", "searchable": True, "analyzer": "standardasciifolding.lucene"}]})
        for start in range(0, len(texts), batch):
            service.apply_batch("fastidx", {"value": [
                {"id": str(i), "body": t, "tags": [t[:20], "next value " + t[-15:]]} for i, t in enumerate(texts[start:start + batch], start)]})
        out = []
        for q in queries:
            res = service.search("fastidx", {"search": q, "top": 1000, "count": True, "queryType": "full"})
            out.append((res["@odata.count"], sorted((d["id"], round(d["@search.score"], 5)) for d in res["value"])))  # ties: any order
        return out
    finally:
        service.close()


def _blocks(n_blocks: int, seed: int, size: int = 100) -> list[str]:
    """Blocks of mostly plain ASCII text (the writer registers the simple tokenizer for them) alternating with blocks
    of mostly other text (the standard pattern's tokenizer), so the writer switches tokenizers between commits."""
    rng = random.Random(seed)
    plain = ["quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "end.", "Next", "x-y", "42", "(a)"]
    texts = []
    for b in range(n_blocks):
        for i in range(size):
            pool = (WORDS if i % 4 == 0 else plain) if b % 2 == 0 else (plain if i % 4 == 0 else WORDS)
            text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 30)))
            texts.append(text + " U.S.A" if b % 2 and i % 4 else text)  # a joined token: not for the simple tokenizer
    return texts


QUERIES = ["fox", "quick brown", '"quick brown"', '"lazy dog"', "dog's", "3.14", "end", "next", "x", "42",
           "café", "東京", "tags:\"value end\"", "tags:next", '"jumps over the"', "bar.com", "a_b", "straße", "rock'n'roll", "u.s.a"]


def _reference(tmp_path, monkeypatch, texts):
    """Every value given to tantivy as text, tokenized by the analyzer's own (regex) pipeline."""
    with monkeypatch.context() as m:
        m.setattr(tantivy_layout, "simple_suffices", lambda text: False)
        m.setattr(tantivy_layout.Layout, "choose_simple", lambda self, values: False)
        return _load_and_query(tmp_path / "slow", texts, QUERIES)


def test_same_matches_and_scores_as_the_regex_tokenizer(tmp_path, monkeypatch):
    texts = _corpus(600, 3)
    fast = _load_and_query(tmp_path / "fast", texts, QUERIES)
    assert fast == _reference(tmp_path, monkeypatch, texts)
    assert sum(count for count, _ in fast) > 500  # the queries do match


def test_switching_tokenizers_between_commits_keeps_every_token(tmp_path, monkeypatch):
    from weft.search.engine import tantivy_writer

    texts = _blocks(8, 5)
    modes = []
    real = tantivy_writer.register_simple
    monkeypatch.setattr(tantivy_writer, "register_simple", lambda index, simple: (modes.append(simple), real(index, simple)))
    fast = _load_and_query(tmp_path / "fast", texts, QUERIES)
    assert modes == [True, False] * 4  # one switch per block: each commit group wrote with the other tokenizer
    monkeypatch.setattr(tantivy_writer, "register_simple", real)
    assert fast == _reference(tmp_path, monkeypatch, texts)
    assert sum(count for count, _ in fast) > 500
