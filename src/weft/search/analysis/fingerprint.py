"""What an index's analysis does, as one short hash, so that an index written by an earlier weft whose analyzers
made other tokens is noticed when it is opened and re-analyzed from its stored documents.

An index keeps the terms its analyzers made when each document was written; queries are analyzed by the code that
runs now. When a release changes an analyzer's output (a tokenizer grammar, a stemmer rule, a dictionary), an index
written before keeps the old terms and a query analyzed the new way misses documents it should find. weft therefore
stamps each index directory with the fingerprint of its index-time analysis: every searchable field's index
analyzer and every normalizer run over a fixed probe text covering the scripts and the cases analysis changes touch
(elision, stemming, compounds, CJK, Thai, emoji, URLs, numbers, long tokens...). A stamp that differs on open means
the index is re-analyzed (``TantivyEngine.open_index``).

The probes cannot show every possible change; ``EPOCH`` forces a re-analysis of every index when a release changes
analysis in a way the probes do not see (bump it with such a change and say so in docs/analysis.md). How a field's
terms are laid out in tantivy is part of the print too where it changes their positions (``gram_values``).
"""
from __future__ import annotations

import hashlib
from typing import Iterable

from weft.search import analysis
from weft.search.analysis import gram_values, predefined

EPOCH = 1
_PREDEFINED: dict[str, str] = {}  # a predefined analyzer's digest, computed once per process

PROBES: tuple[str, ...] = (
    "The QUICK brown foxes' houses were jumping over the lazy dogs, and the running man's bikes didn't stop.",
    "O'Neil's e-mail: jane.doe+tag@example.com, see https://example.org/a/b?c=1#frag or www.test.co.uk/x.",
    "Version 3.14, 1,000,000 units at $9.99 — call 555-0100; wi-fi_router XML-HTTP iPhone 12Pro x² CH₃OH.",
    "L'été d'Hélène: qu'il aille à l'hôtel; les étudiantes chantaient. Dell'arte, dell'uomo, c'è l'amico.",
    "Die Straße, Häuser und Mädchen; Fußballweltmeisterschaft. Ærø, Øresund, Ångström, Señor Piñata, İstanbul.",
    "col·lecció, l'aigua; An t-éan, d'fhág sé. Δημοσιεύσεις ΣΟΦΟΣ σοφός; Москва, ёлки, Україна, їжак.",
    "السَّلامُ عَلَيْكُم والكتابات؛ خانه‌ها و کتاب‌ها؛ नमस्ते दुनिया, किताबें; বাংলা ভাষা; שָׁלוֹם צה\"ל ו'.",
    "ภาษาไทยง่ายนิดเดียว สวัสดีครับ; ພາສາລາວ; ខ្មែរ; မြန်မာ. 中华人民共和国成立了。北京大学生在学习。",
    "関西国際空港から東京都へ行きました。すもももももももものうち。カタカナ ｶﾀｶﾅ ＦＵＬＬ１２３.",
    "저는 학교에 갑니다. 빌려 주세요; 한국어 형태소 분석기. 👍🏽 👨‍👩‍👧 🇫🇷 ☕ :) #hashtag @user",
    "soft\u00adhyphen zero\u200bwidth combin\u0301ing e\u0301te\u0301; ﬁne ligatures; ½ ⅓; ①②; 𝐁𝐨𝐥𝐝; 😀😀.",
    "x" * 300 + " " + "abcdefghij" * 3 + " running runs ran easily fairly generously happiness",
)


def index_fingerprint(definition) -> str:
    """The fingerprint of ``definition``'s index-time analysis (searchable fields' index analyzers, normalizers)."""
    parts: list[str] = [f"epoch:{EPOCH}"]
    seen: dict[int, str] = {}
    for leaf in definition.leaves():
        f = leaf.field
        if f.is_vector:
            continue
        if f.searchable:
            name = f.effective_analyzer
            if analysis.components(definition).analyzers.get(name) is None:  # predefined: the same in every index
                canonical = predefined.canonical(name) or name
                if canonical not in _PREDEFINED:
                    _PREDEFINED[canonical] = _digest(_tokens_of(predefined.get(canonical), PROBES))
                digest = _PREDEFINED[canonical]
            else:
                chain = analysis.resolve(definition, name)
                digest = _analyzer_digest(chain, seen)
                if gram_values.plan(chain) is not None:  # its terms reach tantivy as words, at twice the positions
                    digest += f":grams{gram_values.STRIDE}"
            parts.append(f"a:{leaf.path}:{digest}")
        if f.extra.get("normalizer"):
            normalizer = analysis.resolve_normalizer(definition, f.extra["normalizer"])
            parts.append(f"n:{leaf.path}:{_normalizer_digest(normalizer, seen)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _analyzer_digest(analyzer, seen: dict[int, str]) -> str:
    key = id(analyzer)
    if key not in seen:
        seen[key] = _digest(_tokens_of(analyzer, PROBES))
    return seen[key]


def _normalizer_digest(normalizer, seen: dict[int, str]) -> str:
    key = id(normalizer)
    if key not in seen:
        from weft.search.analysis.normalizers import normalize

        seen[key] = _digest([normalize(normalizer, p) for p in PROBES])
    return seen[key]


def _tokens_of(analyzer, texts: Iterable[str]) -> list:
    out: list = []
    for text in texts:
        try:
            out.append([(t.term, t.pos) for t in analyzer.tokens(text)])
        except Exception as exc:  # an analyzer that fails on a probe fails the same way each time: part of its print
            out.append(f"error:{type(exc).__name__}")
    return out


def _digest(value) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]
