"""Hit highlighting: the fragments of a field's text that contain matched terms, tagged."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from weft.search import query_ast as qa
from weft.search.analysis import WORD_RE, analyze, get

# a run of these has no spaces between its words: the analyzer's own token offsets say which part matched
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\uff66-\uff9f]")

MAX_FRAGMENTS = 5
SHORT_TEXT = 200
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*\s*")


@dataclass
class MatchTerms:
    """What a query looks for, per analyzer-independent form: raw words, prefixes, fields they apply to."""

    words: list[tuple[str | None, str]] = field(default_factory=list)  # (field or None, text to analyze)
    prefixes: list[tuple[str | None, str]] = field(default_factory=list)


def collect_terms(node: qa.Node, out: MatchTerms | None = None) -> MatchTerms:
    out = out or MatchTerms()
    if isinstance(node, (qa.Term, qa.Phrase)):
        out.words.append((node.field, node.text))
    elif isinstance(node, qa.Prefix):
        out.prefixes.append((node.field, node.text.lower()))
    elif isinstance(node, qa.Fuzzy):
        out.words.append((node.field, node.text))
    elif isinstance(node, qa.Boolean):
        for sub in (*node.must, *node.should):
            collect_terms(sub, out)
    return out


def highlight_field(path: str, values: list[str], analyzer: str, terms: MatchTerms, pre: str, post: str) -> list[str]:
    wanted: set[str] = set()
    for fld, text in terms.words:
        if fld is None or fld == path:
            wanted.update(analyze(analyzer, text))
    prefixes = [p for fld, p in terms.prefixes if fld is None or fld == path]
    if not wanted and not prefixes:
        return []
    fragments: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        pieces = [value] if len(value) <= SHORT_TEXT else _SENTENCE_RE.findall(value)
        for piece in pieces:
            tagged, hit = _tag(piece, analyzer, wanted, prefixes, pre, post)
            if hit:
                fragments.append(tagged.strip())
                if len(fragments) >= MAX_FRAGMENTS:
                    return fragments
    return fragments


def _tag(text: str, analyzer: str, wanted: set[str], prefixes: list[str], pre: str, post: str) -> tuple[str, bool]:
    out = []
    last = 0
    hit = False
    for m in WORD_RE.finditer(text):
        word = m.group(0)
        if _CJK_RE.search(word):
            spans = _matched_spans(word, analyzer, wanted, prefixes)
            for s, e in spans:
                out.append(text[last : m.start() + s])
                out.append(f"{pre}{word[s:e]}{post}")
                last = m.start() + e
            hit = hit or bool(spans)
            continue
        tokens = analyze(analyzer, word)
        if any(t in wanted for t in tokens) or any(word.lower().startswith(p) for p in prefixes):
            out.append(text[last : m.start()])
            out.append(f"{pre}{word}{post}")
            last = m.end()
            hit = True
    out.append(text[last:])
    return "".join(out), hit


def _matched_spans(word: str, analyzer: str, wanted: set[str], prefixes: list[str]) -> list[tuple[int, int]]:
    """The parts of ``word`` whose tokens match, overlapping ones merged (a compound and its parts)."""
    spans = sorted((t.start, t.end) for t in get(analyzer).tokens(word)
                   if t.term in wanted or any(t.term.startswith(p) for p in prefixes))
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged
