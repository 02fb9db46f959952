"""Analyzers tantivy runs natively (measured about 3x faster than the Python path; docs/analysis.md).

``standard.lucene`` and its relatives use a tantivy regex tokenizer that reproduces Lucene's StandardTokenizer
(UAX #29 word boundaries) on the cases that matter: words keep inner apostrophes and periods between letters
(``fox's``, ``bar.com``, ``U.S.A``), numbers keep inner ``.`` and ``,`` between digits (``3.14``, ``1,000.5``),
``_`` joins, each Han and Hiragana character is a token, Katakana, Hangul and Southeast Asian runs stay whole.
The registered names are those weft used before, so indexes written then still open.
"""
from __future__ import annotations

import functools

import tantivy

from weft.search.analysis.stopwords import load as stopwords
from weft.search.analysis.tokens import SKIP

JOINED = "joined"

# Lucene's StandardTokenizer grammar (StandardTokenizerImpl.jflex, UAX #29 word-break rules) over the Word_Break
# classes, as one leftmost-first regex: each class may carry trailing Extend/Format/ZWJ characters (WB4); a word is
# units of letters (ALetter, Hebrew_Letter), numbers (Numeric, full-width digits) or Katakana, joined by
# ExtendNumLet (WB13a/b), letters across MidLetter/MidNumLet/Single_Quote (WB6/7: ``l·l``, ``fox's``, ``bar.com``),
# numbers across MidNum/MidNumLet/Single_Quote (WB11/12: ``1,000.5``), letters and numbers directly (WB9/10);
# Hebrew letters take a following ' or "+letter (WB7a-c). Each Han and Hiragana character is a token, runs of
# Southeast Asian letters (Line_Break=Complex_Context, which the regex engine lacks: their scripts' letters and
# marks) are one. Anything else (punctuation, symbols, sub- and superscript digits such as ``₃``) separates.
# (the emoji skin-tone modifiers are Extend since Unicode 11; Lucene 8.7's grammar is Unicode 9, where they are not)
_EXTEND = r"[[\p{WB=Extend}\p{WB=Format}\p{WB=ZWJ}]--[\x{1F3FB}-\x{1F3FF}]]"
_SEA_SCRIPTS = r"\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tai_Le}\p{New_Tai_Lue}\p{Tai_Tham}\p{Tai_Viet}\p{Ahom}"


def _grammar(full: bool) -> str:
    """The pattern; ``full=False`` leaves out the Extend/Format/ZWJ and Hebrew rules, which change nothing in text
    that has none of those characters (``lean_suffices``) and cost the regex engine about half its speed."""
    x = f"{_EXTEND}*" if full else ""
    a = rf"[\p{{WB=ALetter}}\p{{WB=Hebrew_Letter}}]{x}"
    n = rf"[\p{{WB=Numeric}}\x{{FF10}}-\x{{FF19}}]{x}"
    k = rf"\p{{WB=Katakana}}{x}"
    e = rf"\p{{WB=ExtendNumLet}}{x}"
    ml = rf"[\p{{WB=MidLetter}}\p{{WB=MidNumLet}}\p{{WB=Single_Quote}}]{x}"
    mn = rf"[\p{{WB=MidNum}}\p{{WB=MidNumLet}}\p{{WB=Single_Quote}}]{x}"
    # letters joined across MidLetter; a chain (or a lone Hebrew letter) whose last letter is Hebrew may take a
    # following ' (WB7a), and a Hebrew letter joins another across " (WB7b/c), as Lucene's grammar has it
    chain = rf"{a}(?:(?:(?:{e})*|{ml}){a})*"
    if full:
        hl, sq, dq = rf"\p{{WB=Hebrew_Letter}}{x}", rf"\p{{WB=Single_Quote}}{x}", rf"\p{{WB=Double_Quote}}{x}"
        chain = rf"(?:{chain}(?:{e})*)?{hl}(?:{sq}|{dq}{hl})|{chain}"
    units = rf"(?:{k}(?:(?:{e})*{k})*|(?:{n}(?:(?:(?:{e})*|{mn}){n})*|{chain})+)"
    sea = rf"[[{_SEA_SCRIPTS}]&&[\p{{L}}\p{{M}}]]{x}"
    emoji, wordish = _emoji(full)
    return (rf"{wordish}(?:{e})*{units}(?:(?:{e})+{units})*(?:{e})*|{sea}(?:{sea})*|\p{{Han}}{x}|\p{{Hiragana}}{x}"
            rf"|{emoji}")


# Emoji sequences, as Lucene 8.7's grammar has them (its <EMOJI> tokens, UTS #51 sequences; checked against Lucene,
# tests/search/analysis/data/lucene_emoji_tokens.jsonl): an element is an emoji character (Extended_Pictographic)
# with trailing Extend/Format/ZWJ (but not the presentation selectors FE0E/FE0F, and not the skin-tone modifiers)
# and an optional FE0F, or a skin-tone modifier after an optional modifier base; elements join across ZWJ, or one
# element takes a tag sequence (the subdivision flags); a keycap ([0-9#*], FE0F?, U+20E3) and a pair of regional
# indicators (a flag) are tokens too. Lucene's modifier bases are Emoji 11's (106 characters, fewer than today's).
# The alternatives come last in the leftmost-first pattern, where jflex takes the longest match: words and numbers
# that start with the same characters (``1⃣``, ``ℹ``) give the same text either way, except an emoji that is also a
# letter (ℹ Ⓜ 🅰 🅱 🅾 🅿) followed by a ZWJ sequence, which the first alternative of the whole pattern takes.
_EMOJI_MODIFIER_BASES = (
    r"\x{261D}\x{26F9}\x{270A}-\x{270D}\x{1F385}\x{1F3C2}-\x{1F3C4}\x{1F3C7}\x{1F3CA}-\x{1F3CC}\x{1F442}-\x{1F443}"
    r"\x{1F446}-\x{1F450}\x{1F466}-\x{1F469}\x{1F46E}\x{1F470}-\x{1F478}\x{1F47C}\x{1F481}-\x{1F483}\x{1F485}-\x{1F487}"
    r"\x{1F4AA}\x{1F574}-\x{1F575}\x{1F57A}\x{1F590}\x{1F595}-\x{1F596}\x{1F645}-\x{1F647}\x{1F64B}-\x{1F64F}\x{1F6A3}"
    r"\x{1F6B4}-\x{1F6B6}\x{1F6C0}\x{1F6CC}\x{1F918}-\x{1F91C}\x{1F91E}-\x{1F91F}\x{1F926}\x{1F930}-\x{1F939}"
    r"\x{1F93D}-\x{1F93E}\x{1F9B5}-\x{1F9B6}\x{1F9B8}-\x{1F9B9}\x{1F9D1}-\x{1F9DD}"
)
_WORDISH_EMOJI = r"\x{2139}\x{24C2}\x{1F170}\x{1F171}\x{1F17E}\x{1F17F}"


def _emoji(full: bool) -> tuple[str, str]:
    """The emoji alternatives and the (full pattern only) leading alternative for letter-emoji ZWJ sequences."""
    if not full:  # no Extend/Format/ZWJ in the text: lone emoji characters and flags only
        return r"\p{Extended_Pictographic}|\p{Regional_Indicator}\p{Regional_Indicator}", ""
    # w: Extend/Format/ZWJ but the presentation selectors and the modifiers (Lucene's ExtFmtZwjSansPresSel). Lucene
    # takes the longest match, this engine the first alternative that matches: so a sequence is written as units
    # each followed by its gap to the next core (greedy, and a unit that cannot be followed is given back), then a
    # last unit with its tail; an emoji core's gap and tail may hold one FE0F after its w, a modifier's may not
    w = r"[[\p{WB=Extend}\p{WB=Format}\p{WB=ZWJ}]--[\x{FE0E}\x{FE0F}\x{1F3FB}-\x{1F3FF}]]*"
    mod = rf"(?:\x{{200D}}*[{_EMOJI_MODIFIER_BASES}]{w})?[\x{{1F3FB}}-\x{{1F3FF}}]"
    ec = r"\x{200D}*\p{Extended_Pictographic}"
    gap_e, gap_m = rf"{w}\x{{FE0F}}?\x{{200D}}", rf"{w}\x{{200D}}"
    tail_e = rf"(?:{w}\x{{FE0F}}(?:[\x{{E0020}}-\x{{E007E}}]+\x{{E007F}})?|{w})"
    units = rf"(?:{mod}{gap_m}|{ec}{gap_e})*(?:{mod}{w}|{ec}{tail_e})"
    seq = units
    keycap = rf"[0-9#*]{w}\x{{FE0F}}?\x{{20E3}}{w}"
    flag = rf"\p{{Regional_Indicator}}{_EXTEND}*\p{{Regional_Indicator}}{_EXTEND}*"
    wordish = rf"\x{{200D}}*[{_WORDISH_EMOJI}]{gap_e}{units}|"
    return f"{seq}|{keycap}|{flag}", wordish


STANDARD_PATTERN = _grammar(True)
LEAN_PATTERN = _grammar(False)
_NEEDS_FULL = __import__("regex").compile(r"[\p{WB=Extend}\p{WB=Format}\p{WB=ZWJ}\p{WB=Hebrew_Letter}]")


def lean_suffices(text: str) -> bool:
    """True when ``LEAN_PATTERN`` gives exactly ``STANDARD_PATTERN``'s tokens for ``text``."""
    return _NEEDS_FULL.search(text) is None


# tantivy drops (rather than splits) over-long tokens; Lucene splits tokens over 255 characters.
MAX_TOKEN_BYTES = 1024


def _standard(fold: bool = False, pattern: str = STANDARD_PATTERN) -> tantivy.TextAnalyzer:
    b = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(pattern)).filter(tantivy.Filter.remove_long(MAX_TOKEN_BYTES))
    b = b.filter(tantivy.Filter.lowercase())
    if fold:
        b = b.filter(tantivy.Filter.ascii_fold())
    return b.build()


def _letters(stop: bool) -> tantivy.TextAnalyzer:
    b = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"\p{L}+")).filter(tantivy.Filter.lowercase())
    if stop:
        b = b.filter(tantivy.Filter.custom_stopword(sorted(stopwords("english"))))
    return b.build()


BUILDERS = {
    "standard.lucene": lambda: _standard(),
    # tantivy's simple tokenizer (split at anything not alphanumeric), long-token removal and lower case: the same
    # tokens as "standard.lucene" for ASCII text with no character the standard pattern joins words with
    # (see ``simple_suffices``), and about ten times cheaper than the regex tokenizer
    "standard_ascii": lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(MAX_TOKEN_BYTES)).filter(tantivy.Filter.lowercase()).build(),
    # the bare tokenizer (no lower case, no length limit) for Python-path chains
    "standard_tokenizer": lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(STANDARD_PATTERN)).build(),
    "standardasciifolding.lucene": lambda: _standard(fold=True),
    # the same three without the Extend/Format/ZWJ and Hebrew rules, for text that ``lean_suffices``
    "standard_lean": lambda: _standard(pattern=LEAN_PATTERN),
    "standard_lean_tokenizer": lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(LEAN_PATTERN)).build(),
    "standardasciifolding_lean": lambda: _standard(fold=True, pattern=LEAN_PATTERN),
    "simple": lambda: _letters(False),
    "stop": lambda: _letters(True),
    "whitespace": lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"\S+")).build(),
    # Lucene's PatternAnalyzer default: split on Java's \W+ (ASCII word characters), lower case
    "pattern": lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"[A-Za-z0-9_]+")).filter(tantivy.Filter.lowercase()).build(),
    # the Python-path fields' tokenizer: the index terms Python computed, joined by spaces, a removed token's
    # position held by SKIP (``tokens.Analyzer.joined``); tantivy's stop filter keeps the others' positions
    JOINED: lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).filter(tantivy.Filter.custom_stopword([SKIP])).build(),
}


def tokenizer_name(analyzer: str) -> str:
    return "weft_" + "".join(c if c.isalnum() else "_" for c in analyzer.lower())


@functools.lru_cache(maxsize=None)
def text_analyzer(name: str) -> tantivy.TextAnalyzer:
    return BUILDERS[name]()


def register(index: tantivy.Index) -> None:
    for name, build in BUILDERS.items():
        index.register_tokenizer(tokenizer_name(name), build())


# In ASCII text, the standard pattern differs from "split at non-alphanumerics" only at '_' and where it joins two
# letters across . : ' or two digits across . , ; '
_JOINERS = __import__("re").compile(r"_|[A-Za-z][.:'][A-Za-z]|[0-9][.,;'][0-9]")  # the rule, as one pattern (tests)
def simple_suffices(text: str) -> bool:
    """True when tantivy's simple tokenizer gives exactly the standard tokenizer's tokens for ``text``.

    The same test as ``_JOINERS.search(text) is None`` on ASCII text, about forty times cheaper: ``str.find`` (a
    C memchr-style scan) jumps from one candidate character to the next and Python looks only at their neighbours
    (ASCII ``isalpha`` and ``isdigit`` are exactly ``[A-Za-z]`` and ``[0-9]``). A regex scan for the candidates
    costs several times more on a 900-character description (bench/README.md, bulk loading).
    """
    if not text.isascii() or "_" in text:
        return False
    last = len(text) - 1
    find = text.find
    for c in ".:',;":
        i = find(c)
        while i != -1:
            if 0 < i < last:
                before, after = text[i - 1], text[i + 1]
                if c != "," and c != ";" and before.isalpha() and after.isalpha():
                    return False
                if c != ":" and before.isdigit() and after.isdigit():
                    return False
            i = find(c, i + 1)
    return True


def standard_analyzer_for(text: str) -> tantivy.TextAnalyzer:
    """The cheapest tantivy pipeline that gives "standard.lucene"'s tokens for ``text``."""
    if simple_suffices(text):
        return text_analyzer("standard_ascii")
    return text_analyzer("standard_lean" if lean_suffices(text) else "standard.lucene")


def standard_tokenizer_for(text: str) -> tantivy.TextAnalyzer:
    """The bare standard tokenizer (no lower case, no length limit) for ``text``, lean where that suffices."""
    return text_analyzer("standard_lean_tokenizer" if lean_suffices(text) else "standard_tokenizer")


# Native analyzers whose tokens equal "standard_ascii"'s on text that ``simple_suffices`` (ASCII folding changes
# nothing in ASCII text).
SIMPLE_WHEN_ASCII = frozenset({"standard.lucene", "standardasciifolding.lucene"})
_SIMPLE_WHEN_ASCII = SIMPLE_WHEN_ASCII


def register_simple(index: tantivy.Index, simple: bool) -> None:
    """Registers, under the names of the ``SIMPLE_WHEN_ASCII`` analyzers, either their own pipelines or (``simple``)
    the simple tokenizer's, which gives the same tokens on text that ``simple_suffices`` at a tenth of the cost.
    tantivy looks a field's tokenizer up when it starts a segment (at the first document after a commit), so this is
    called only between a commit and the next document; the writer then gives tantivy the text itself when the
    registered pipeline tokenizes it right and pre-tokenized text otherwise (``weft.search.engine.tantivy_layout``)."""
    for name in SIMPLE_WHEN_ASCII:
        index.register_tokenizer(tokenizer_name(name), BUILDERS["standard_ascii" if simple else name]())


def indexable(native: str, text: str):
    """What to give tantivy for ``text`` in a field whose analyzer tantivy runs as ``native``.

    The text itself (tantivy runs the field's tokenizer), or, for the standard analyzers on text where the simple
    tokenizer gives the same tokens, those tokens pre-tokenized: the regex tokenizer costs about 200 µs for a
    700-character document, the simple one plus the check about 35 (bench/RESULTS.md, "bulk loading").
    """
    if native in _SIMPLE_WHEN_ASCII:
        if simple_suffices(text):
            return text_analyzer("standard_ascii").pre_tokenize(text)
        if lean_suffices(text):
            return text_analyzer(_LEAN[native]).pre_tokenize(text)
    return text


_LEAN = {"standard.lucene": "standard_lean", "standardasciifolding.lucene": "standardasciifolding_lean"}


def analyzer_for(native: str, text: str) -> tantivy.TextAnalyzer:
    """The cheapest tantivy pipeline that gives ``native``'s tokens (terms, offsets, positions) for ``text``: for the
    standard analyzers the simple tokenizer or the lean pattern where they suffice (the same rules as ``indexable``).
    A one-word query in the full standard pattern cost about 100 µs, in the simple tokenizer about 5."""
    if native in _SIMPLE_WHEN_ASCII:
        if simple_suffices(text):
            return text_analyzer("standard_ascii")
        if lean_suffices(text):
            return text_analyzer(_LEAN[native])
    return text_analyzer(native)
