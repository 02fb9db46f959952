"""Char filters: text to text, with a function mapping output offsets back to input offsets."""
from __future__ import annotations

import bisect
import html
from typing import Callable

import regex


class _Builder:
    """Builds the output string and the anchors (output offset, input offset) where they start to differ."""

    def __init__(self):
        self.parts: list[str] = []
        self.out_len = 0
        self.anchors_out: list[int] = [0]
        self.anchors_in: list[int] = [0]

    def keep(self, text: str, in_pos: int) -> None:
        self._anchor(in_pos)
        self.parts.append(text)
        self.out_len += len(text)

    def replace(self, replacement: str, in_start: int, in_end: int) -> None:
        self._anchor(in_start)
        self.parts.append(replacement)
        self.out_len += len(replacement)
        self._anchor(in_end)

    def _anchor(self, in_pos: int) -> None:
        if self.anchors_out[-1] == self.out_len:
            self.anchors_in[-1] = in_pos if len(self.anchors_out) > 1 or self.out_len else in_pos
        else:
            self.anchors_out.append(self.out_len)
            self.anchors_in.append(in_pos)

    def result(self) -> tuple[str, Callable[[int], int]]:
        outs, ins = self.anchors_out, self.anchors_in

        def correct(offset: int) -> int:
            i = bisect.bisect_right(outs, offset) - 1
            return ins[i] + (offset - outs[i])

        return "".join(self.parts), correct


def mapping(rules: dict[str, str]):
    """Lucene's MappingCharFilter: greedy longest match of the rule keys."""
    keys = sorted(rules, key=len, reverse=True)
    pattern = regex.compile("|".join(regex.escape(k) for k in keys)) if keys else None

    def run(text: str):
        if pattern is None:
            return text, lambda i: i
        b = _Builder()
        pos = 0
        for m in pattern.finditer(text):
            if m.start() > pos:
                b.keep(text[pos : m.start()], pos)
            b.replace(rules[m.group(0)], m.start(), m.end())
            pos = m.end()
        if pos < len(text):
            b.keep(text[pos:], pos)
        return b.result()

    return run


def pattern_replace(compiled: regex.Pattern, replacement: str):
    def run(text: str):
        b = _Builder()
        pos = 0
        for m in compiled.finditer(text):
            if m.start() > pos:
                b.keep(text[pos : m.start()], pos)
            b.replace(m.expand(replacement), m.start(), m.end())
            pos = m.end()
        if pos < len(text):
            b.keep(text[pos:], pos)
        return b.result()

    return run


_HTML = regex.compile(r"(?is)<!--.*?-->|<(script|style)\b[^>]*>.*?</\1\s*>|</?[A-Za-z][^>]*>|&(?:#\d+|#x[0-9a-f]+|[a-z]+);?")
_BLOCK = regex.compile(r"(?i)</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer|blockquote|pre)\b")


def html_strip(text: str):
    """Lucene's HTMLStripCharFilter: tags, comments, scripts and styles removed, entities decoded; block-level
    tags become a line break."""
    if "<" not in text and "&" not in text:
        return text, lambda i: i
    b = _Builder()
    pos = 0
    for m in _HTML.finditer(text):
        if m.start() > pos:
            b.keep(text[pos : m.start()], pos)
        token = m.group(0)
        if token.startswith("&"):
            decoded = html.unescape(token if token.endswith(";") else token + ";")
            b.replace(decoded if decoded != token + ";" else token, m.start(), m.end())
        else:
            b.replace("\n" if _BLOCK.match(token) else "", m.start(), m.end())
        pos = m.end()
    if pos < len(text):
        b.keep(text[pos:], pos)
    return b.result()
