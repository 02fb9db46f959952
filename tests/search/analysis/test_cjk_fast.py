"""The CJK bigram analyzers' sliced index terms (``analysis.cjk_fast``) equal their Python chain's terms and
positions, and the text it does not cover (kana, Hangul, other Han, combining marks) still takes the chain."""
from __future__ import annotations

import random
import time

import pytest

from weft.search import analysis
from weft.search.analysis.tokens import Analyzer


def _chain(a: Analyzer) -> Analyzer:
    return Analyzer(a.name, a.tokenizer, a.filters, a.char_filters)


def _indexed(a: Analyzer, text: str) -> list[tuple[str, int]]:
    return [(t.text, t.position) for t in a.pre_tokenized(text).tokens]


def _reference(a: Analyzer, text: str) -> list[tuple[str, int]]:
    return [(t.term, t.pos) for t in _chain(a).tokens(text)]


@pytest.mark.parametrize("name", ["zh-Hans.lucene", "zh-Hant.lucene", "zh-Hans.microsoft"])
def test_examples(name):
    a = analysis.get(name)
    assert a.index_terms is not None
    for text in ["中华人民共和国", "我爱北京天安门，天安门上太阳升。", "中", "中a国 the s www 1，2 ＡＢＣ１２ l'été 3.14",
                 "北京2008年奥运会", "", "，。", "a" * 30 + "中国", "中" * 400]:
        assert a.index_terms(text) is not None, text
        assert _indexed(a, text) == _reference(a, text), text


@pytest.mark.parametrize("text", ["a" * 300 + "中国", "東京タワー", "ひらがな中国", "서울 中国", "中\u0301国", "々中", "𠀀中", "ｶﾀｶﾅ"])
def test_other_text_takes_the_chain(text):
    a = analysis.get("zh-Hans.lucene")
    assert a.index_terms(text) is None
    assert _indexed(a, text) == _reference(a, text)


def test_random_text_agrees():
    a = analysis.get("zh-Hans.lucene")
    rng = random.Random(5)
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 50)] + ["\u3400", "\u9fff"]
    pieces = han * 3 + ["the", "a", "s", "t", "www", "Fox's", "1", "，", "。", "、", " ", "ＡＢ", "１", ",", ".", "'", "é", "_", "x9", "\u00ad"]
    covered = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        if a.index_terms(text) is not None:
            covered += 1
        assert _indexed(a, text) == _reference(a, text), repr(text)
    assert covered > 1500


def test_punctuation_between_runs_makes_no_token():
    # the joined path skips segments of these characters without tokenizing them
    from weft.search.analysis import native
    from weft.search.analysis.cjk_fast import _PUNCTUATION

    an = native.text_analyzer("standard_tokenizer")
    rng = random.Random(2)
    for _ in range(3000):
        seg = "".join(rng.choice(_PUNCTUATION) for _ in range(rng.randint(1, 6)))
        assert an.analyze("中" + seg + "国") == ["中", "国"], repr(seg)


def test_joined_random_text_agrees():
    from weft.search.analysis import native

    a = analysis.get("zh-Hans.lucene")
    joined_an = native.text_analyzer(native.JOINED)
    rng = random.Random(6)
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 50)]
    pieces = han * 3 + ["the", "a", "s", "www", "Fox's", "1", "，", "。", "、", " ", "ＡＢ", "１", ",", ".", "'", "é",
                        "_", "x9", "「", "」", "！", "1，2", "a：b", "…", "‘"]
    covered = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        joined = a.index_joined(text)
        if joined is None:
            continue
        covered += 1
        assert [(t.text, t.position) for t in joined_an.pre_tokenize(joined).tokens] == _reference(a, text), repr(text)
    assert covered > 2000


def test_joined_leaves_the_same_text_to_the_chain():
    # the joined path looks for the characters that need the chain only between runs of ideographs (and not in
    # punctuation): it refuses exactly the text the sliced terms refuse, and long runs give their bigrams too
    from weft.search.analysis import native

    a = analysis.get("zh-Hans.lucene")
    joined_an = native.text_analyzer(native.JOINED)
    rng = random.Random(7)
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 50)]
    pieces = han * 3 + ["，", "。", " ", "the", "ひ", "カ", "ー", "서", "\u0301", "\u200d", "ｶ", "𠀀", "々", "\u05d0", "é",
                        "中" * 130, "a" * 260]
    refused = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        joined = a.index_joined(text)
        assert (joined is None) == (a.index_terms(text) is None), repr(text)
        if joined is None:
            refused += 1
            continue
        assert [(t.text, t.position) for t in joined_an.pre_tokenize(joined).tokens] == _reference(a, text), repr(text)
    assert 500 < refused < 2500, refused


def test_prose_of_runs_and_punctuation_takes_the_pairs_path_and_agrees():
    # text of runs of ideographs and punctuation only (``_ONLY_PAIRS``) gets its terms from the runs alone; a lone
    # ideograph (a unigram in Lucene) or any other character sends it to the general loop; both agree with the chain
    from weft.search.analysis import native
    from weft.search.analysis.cjk_fast import _ONLY_PAIRS, _PUNCTUATION

    a = analysis.get("zh-Hans.lucene")
    joined_an = native.text_analyzer(native.JOINED)
    rng = random.Random(8)
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 80)] + [chr(0x3400 + c) for c in range(20)]
    taken = refused = 0
    for _ in range(2000):
        parts = []
        for _ in range(rng.randint(0, 8)):
            parts.append("".join(rng.choice(han) for _ in range(rng.choice([1, 2, 2, 3, 5, 9, 140]))))
            parts.append("".join(rng.choice(_PUNCTUATION) for _ in range(rng.randint(1, 3))))
        text = "".join(parts)
        if _ONLY_PAIRS.fullmatch(text) is not None:
            taken += 1
        else:
            refused += 1
        joined = a.index_joined(text)
        assert joined is not None, repr(text)
        assert [(t.text, t.position) for t in joined_an.pre_tokenize(joined).tokens] == _reference(a, text), repr(text)
    assert taken > 300 and refused > 300
    # a long run followed by a character that is not allowed fails at once (no backtracking over the run)
    started = time.perf_counter()
    assert _ONLY_PAIRS.fullmatch("中" * 20000 + "x") is None
    assert time.perf_counter() - started < 0.5
