"""The index's custom analysis sections: ``analyzers``, ``tokenizers``, ``tokenFilters``, ``charFilters``,
``normalizers``. Each definition is checked (kind, parameters, limits, references) and turned into the
functions of :mod:`.tokenizers`, :mod:`.filters` and :mod:`.charfilters`. A kind or predefined name weft does not
implement is refused with a 400 naming it, so nothing is accepted and then ignored.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import regex

from weft.errors import InvalidInput
from weft.search.analysis import brazilian
from weft.search.analysis import charfilters as C
from weft.search.analysis import compound
from weft.search.analysis import filters as F
from weft.search.analysis import greek
from weft.search.analysis import hindi
from weft.search.analysis import indonesian
from weft.search.analysis import phonetic
from weft.search.analysis import predefined
from weft.search.analysis import portuguese
from weft.search.analysis import rslp
from weft.search.analysis import snowball_lucene as SL
from weft.search.analysis import stemmers as S
from weft.search.analysis import stemmers_extra as X
from weft.search.analysis import tokenizers as T
from weft.search.analysis.params import Params, regex_flags
from weft.search.analysis.stopwords import available as _available_lists, load as _stopwords
from weft.search.analysis.tokens import Analyzer

NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 _-]{0,126}[A-Za-z0-9])?$")
PREFIX = "#Microsoft.Azure.Search."
SECTIONS = ("analyzers", "tokenizers", "tokenFilters", "charFilters", "normalizers")

# ---- predefined component names -------------------------------------------------------------------
PREDEFINED_TOKENIZERS: dict[str, Callable] = {
    "classic": T.classic,
    "edgeNGram": T.ngram(1, 2, [], edge=True),
    "keyword_v2": T.keyword,
    "letter": T.letter,
    "lowercase": T.lowercase,
    "microsoft_language_tokenizer": T.standard,
    "microsoft_language_stemming_tokenizer": T.standard,
    "nGram": T.ngram(1, 2, []),
    "path_hierarchy_v2": T.path_hierarchy(),
    "pattern": T.pattern(regex.compile(r"\W+", regex.ASCII)),
    "standard_v2": T.standard,
    "uax_url_email": T.uax_url_email,
    "whitespace": T.whitespace,
}


def _keyword_repeat(toks):
    out = []
    for t in toks:
        k = t.with_term(t.term)
        k.keyword = True
        out.append(k)
        out.append(t)
    return out


def _classic_filter(toks):
    for t in toks:
        term = t.term
        if term.endswith(("'s", "'S")):
            t.term = term[:-2]
        elif regex.fullmatch(r"(?:\p{L}\.)+", term):
            t.term = term.replace(".", "")
    return toks


PREDEFINED_FILTERS: dict[str, Callable] = {
    "arabic_normalization": F.stem_with(S.arabic_normalize),
    "apostrophe": F.apostrophe,
    "asciifolding": F.asciifolding(),
    "cjk_bigram": F.cjk_bigram(),
    "cjk_width": F.cjk_width,
    "classic": _classic_filter,
    "edgeNGram_v2": F.ngram_filter(1, 2, edge=True),
    "elision": F.elision(predefined.FRENCH_ARTICLES),
    "german_normalization": F.stem_with(S.german_normalize),
    "hindi_normalization": F.term_map(hindi.hindi_normalize),
    "indic_normalization": F.term_map(hindi.indic_normalize),
    "keyword_repeat": _keyword_repeat,
    "length": F.length(0, 300),
    "limit": F.limit(1),
    "lowercase": F.lowercase,
    "nGram_v2": F.ngram_filter(1, 2),
    "persian_normalization": F.stem_with(S.persian_normalize),
    "phonetic": phonetic.phonetic_filter("metaphone"),
    "porter_stem": F.snowball("porter"),
    "reverse": F.reverse,
    "scandinavian_normalization": F.stem_with(S.scandinavian_normalize),
    "scandinavian_folding": F.stem_with(S.scandinavian_fold),
    "shingle": F.shingle(),
    "stopwords": F.stop(_stopwords("english")),
    "trim": F.trim,
    "truncate": F.truncate(300),
    "unique": F.unique(False),
    "uppercase": F.uppercase,
    "word_delimiter": F.word_delimiter(),
}
# Predefined names Azure has and weft refuses (with the reason in the 400).
UNSUPPORTED_FILTERS = {
    "common_grams": "needs a word list",
    "kstem": "the KStem stemmer is not implemented",
    "snowball": "a Snowball filter needs a language: define a SnowballTokenFilter",
    "stemmer": "a stemmer filter needs a language: define a StemmerTokenFilter",
    "sorani_normalization": "Sorani normalization is not implemented",
}
PREDEFINED_CHAR_FILTERS = {"html_strip": C.html_strip}

# Filters a normalizer may use (they never split or multiply tokens).
NORMALIZER_FILTERS = frozenset(
    "arabic_normalization asciifolding cjk_width elision german_normalization hindi_normalization indic_normalization "
    "persian_normalization scandinavian_normalization scandinavian_folding sorani_normalization lowercase uppercase".split()
)
NORMALIZER_FILTER_KINDS = frozenset({"AsciiFoldingTokenFilter", "ElisionTokenFilter"})

SNOWBALL = {
    "armenian": "armenian", "basque": "basque", "catalan": "catalan", "danish": "danish", "dutch": "dutch_porter",
    "english": "english", "finnish": "finnish", "french": "french", "german": "german", "german2": "german",
    "hungarian": "hungarian", "italian": "italian", "norwegian": "norwegian", "porter": "porter",
    "portuguese": "portuguese", "romanian": "romanian", "russian": "russian", "spanish": "spanish",
    "swedish": "swedish", "turkish": "turkish",
}
SNOWBALL_UNSUPPORTED = ("kp", "lovins")


def _minimal_english(s: str) -> str:
    if len(s) < 3 or s[-1] != "s":
        return s
    if s[-2] in "us":
        return s
    if s[-2] == "e":
        if len(s) > 3 and s[-3] == "i" and s[-4] not in "ae":
            return s[:-3] + "y"
        if s[-3] in "iaoe":
            return s
    return s[:-1]


def _minimal_french(s: str) -> str:
    if len(s) < 6:
        return s
    if s[-1] == "x":
        if s[-3] == "a" and s[-2] == "u":
            return s[:-2] + "l"
        return s[:-1]
    for ch in "sre":
        if s and s[-1] == ch:
            s = s[:-1]
    if s and s[-1] == "é":
        s = s[:-1]
    if len(s) > 1 and s[-1] == s[-2]:
        s = s[:-1]
    return s


def _stemmer_filter(language: str):
    snow = {
        "arabic": None, "armenian": "armenian", "basque": "basque", "catalan": "catalan", "czech": "czech",
        "danish": "danish", "dutch": "dutch_porter", "dutchKp": "dutch", "english": "porter", "porter2": "english",
        "finnish": "finnish", "french": "french", "german": "german", "german2": "german",
        "hungarian": "hungarian", "irish": "irish", "italian": "italian",
        "norwegian": "norwegian", "portuguese": "portuguese", "romanian": "romanian", "russian": "russian",
        "spanish": "spanish", "swedish": "swedish", "turkish": "turkish",
    }
    functions = {
        "arabic": S.arabic_light, "lightFrench": S.french_light, "lightGerman": S.german_light,
        "lightSpanish": S.spanish_light, "lightItalian": S.italian_light, "minimalEnglish": _minimal_english,
        "minimalFrench": _minimal_french, "greek": greek.stem, "hindi": hindi.stem,
        "indonesian": indonesian.stem, "brazilian": brazilian.stem, "bulgarian": X.bulgarian, "czech": X.czech,
        "latvian": X.latvian, "galician": rslp.galician,
        "minimalGalician": rslp.galician_minimal, "portugueseRslp": rslp.portuguese,
        "minimalPortuguese": rslp.portuguese_minimal, "lightPortuguese": portuguese.light,
    }
    if language == "possessiveEnglish":
        return F.english_possessive
    if language in functions:
        return F.stem_with(functions[language])
    if snow.get(language) in SL.ALGORITHMS:  # as Lucene 8.7's Snowball / Porter classes (snowball_lucene.py)
        return F.stem_with(SL.ALGORITHMS[snow[language]])
    if snow.get(language):
        return F.snowball(snow[language])
    return None


STEMMER_LANGUAGES = (
    "arabic armenian basque brazilian bulgarian catalan czech danish dutch dutchKp english lightEnglish minimalEnglish "
    "possessiveEnglish porter2 lovins finnish lightFinnish french lightFrench minimalFrench galician minimalGalician "
    "german german2 lightGerman minimalGerman greek hindi hungarian lightHungarian indonesian irish italian lightItalian "
    "sorani latvian norwegian lightNorwegian minimalNorwegian lightNynorsk minimalNynorsk portuguese lightPortuguese "
    "minimalPortuguese portugueseRslp romanian russian lightRussian spanish lightSpanish swedish lightSwedish turkish"
).split()
STOPWORD_LISTS = (
    "arabic armenian basque brazilian bulgarian catalan czech danish dutch english finnish french galician german greek "
    "hindi hungarian indonesian irish italian latvian norwegian persian portuguese romanian russian sorani spanish "
    "swedish thai turkish"
).split()
TOKEN_CHARS = ("letter", "digit", "whitespace", "punctuation", "symbol")
CJK_SCRIPTS = ("han", "hiragana", "katakana", "hangul")


def _unsupported(what: str, name: str, why: str) -> InvalidInput:
    return InvalidInput(f"The {what} '{name}' is not supported by weft: {why}.")


# ---- factories by kind ------------------------------------------------------------------------------
def _tokenizer(kind: str, p: Params):
    if kind == "ClassicTokenizer":
        n = p.int("maxTokenLength", 255, 1, 300)
        return lambda text: T.classic(text, n)
    if kind in ("StandardTokenizer", "StandardTokenizerV2"):
        n = p.int("maxTokenLength", 255, 1, 300 if kind.endswith("V2") else 10**6)
        return lambda text: T.standard(text, n)
    if kind == "UaxUrlEmailTokenizer":
        n = p.int("maxTokenLength", 255, 1, 300)
        return lambda text: T.uax_url_email(text, n)
    if kind == "KeywordTokenizer":
        n = p.int("bufferSize", 256, 1, 10**6)
        return lambda text: T.keyword(text, n)
    if kind == "KeywordTokenizerV2":
        n = p.int("maxTokenLength", 256, 1, 300)
        return lambda text: T.keyword(text, n)
    if kind in ("EdgeNGramTokenizer", "NGramTokenizer"):
        lo = p.int("minGram", 1, 1, 300)
        hi = p.int("maxGram", 2, 1, 300)
        p.check(lo <= hi, "minGram", "must not be greater than maxGram")
        chars = p.enum_list("tokenChars", TOKEN_CHARS)
        return T.ngram(lo, hi, chars, edge=kind.startswith("Edge"))
    if kind == "PathHierarchyTokenizerV2":
        delim = p.char("delimiter", "/")
        repl = p.char("replacement", "/")
        n = p.int("maxTokenLength", 300, 1, 300)
        return T.path_hierarchy(delim, repl, n, p.bool("reverse", False), p.int("skip", 0, 0, 10**6))
    if kind == "PatternTokenizer":
        compiled = p.regex("pattern", r"\W+", p.str("flags", None))
        return T.pattern(compiled, p.int("group", -1, -1, 10**6))
    if kind in ("MicrosoftLanguageTokenizer", "MicrosoftLanguageStemmingTokenizer"):
        n = p.int("maxTokenLength", 255, 1, 300)
        p.bool("isSearchTokenizer", False)
        p.str("language", None)
        return lambda text: T.standard(text, n)
    return None


def _token_filter(kind: str, p: Params):
    if kind == "AsciiFoldingTokenFilter":
        return F.asciifolding(p.bool("preserveOriginal", False))
    if kind == "CjkBigramTokenFilter":
        return F.cjk_bigram(frozenset(p.enum_list("ignoreScripts", CJK_SCRIPTS)), p.bool("outputUnigrams", False))
    if kind in ("EdgeNGramTokenFilter", "EdgeNGramTokenFilterV2", "NGramTokenFilter", "NGramTokenFilterV2"):
        limit = 300 if kind.endswith("V2") else 10**6
        lo = p.int("minGram", 1, 0 if not kind.endswith("V2") else 1, limit)
        hi = p.int("maxGram", 2, 1, limit)
        p.check(lo <= hi, "minGram", "must not be greater than maxGram")
        side = p.enum("side", "front", ("front", "back")) if kind.startswith("Edge") else "front"
        return F.ngram_filter(max(lo, 1), hi, edge=kind.startswith("Edge"), back=side == "back")
    if kind == "ElisionTokenFilter":
        articles = p.str_list("articles")
        return F.elision(frozenset(a.lower() for a in articles) if articles else predefined.FRENCH_ARTICLES)
    if kind == "KeepTokenFilter":
        words = p.str_list("keepWords", required=True)
        lower = p.bool("keepWordsCase", False)
        keep = frozenset(w.lower() for w in words) if lower else frozenset(words)
        return lambda toks: [t for t in toks if (t.term.lower() if lower else t.term) in keep]
    if kind == "KeywordMarkerTokenFilter":
        return F.keyword_marker(frozenset(p.str_list("keywords", required=True)), p.bool("ignoreCase", False))
    if kind == "LengthTokenFilter":
        lo = p.int("min", 0, 0, 300)
        hi = p.int("max", 300, 0, 300)
        p.check(lo <= hi, "min", "must not be greater than max")
        return F.length(lo, hi)
    if kind == "LimitTokenFilter":
        p.bool("consumeAllTokens", False)
        return F.limit(p.int("maxTokenCount", 1, 1, 10**9))
    if kind == "PatternCaptureTokenFilter":
        patterns = [p.compile_value("patterns", s) for s in p.str_list("patterns", required=True)]
        return F.pattern_capture(patterns, p.bool("preserveOriginal", True))
    if kind == "PatternReplaceTokenFilter":
        return F.pattern_replace(p.regex("pattern", None, None, required=True), p.str("replacement", "", required=True))
    if kind == "ShingleTokenFilter":
        hi = p.int("maxShingleSize", 2, 2, 100)
        lo = p.int("minShingleSize", 2, 2, 100)
        p.check(lo <= hi, "minShingleSize", "must not be greater than maxShingleSize")
        return F.shingle(lo, hi, p.bool("outputUnigrams", True), p.bool("outputUnigramsIfNoShingles", False),
                         p.str("tokenSeparator", " "), p.str("filterToken", "_"))
    if kind == "SnowballTokenFilter":
        lang = p.enum("language", None, tuple(SNOWBALL) + SNOWBALL_UNSUPPORTED, required=True)
        if lang in SNOWBALL_UNSUPPORTED:
            raise _unsupported("Snowball language", lang, "PyStemmer has no such algorithm")
        return F.snowball(SNOWBALL[lang])
    if kind == "StemmerTokenFilter":
        lang = p.enum("language", None, tuple(STEMMER_LANGUAGES), required=True)
        f = _stemmer_filter(lang)
        if f is None:
            raise _unsupported("stemmer language", lang, "this stemmer is not implemented")
        return f
    if kind == "StemmerOverrideTokenFilter":
        rules = {}
        for rule in p.str_list("rules", required=True):
            left, sep, right = rule.partition("=>")
            if not sep or not right.strip() or not left.strip():
                raise InvalidInput(f"Invalid stemmer override rule '{rule}'; rules are 'word => stem'.")
            for word in left.split(","):
                rules[word.strip()] = right.strip()
        return F.stemmer_override(rules)
    if kind == "StopwordsTokenFilter":
        words = p.str_list("stopwords")
        listname = p.enum("stopwordsList", None, tuple(STOPWORD_LISTS))
        p.check(not (words and listname), "stopwords", "cannot be set together with stopwordsList")
        ignore = p.bool("ignoreCase", False)
        p.bool("removeTrailing", True)
        if not words:
            listname = listname or "english"
            if listname not in _available_lists():
                raise _unsupported("stop word list", listname, "weft has no copy of that list; give the words in 'stopwords'")
            return F.stop(_stopwords(listname), ignore)
        return F.stop(frozenset(words), ignore)
    if kind == "SynonymTokenFilter":
        from weft.search.analysis.synonyms import parse_rules, synonym_filter

        rules = p.str_list("synonyms", required=True)
        ignore = p.bool("ignoreCase", False)
        expand = p.bool("expand", True)
        return synonym_filter(parse_rules("\n".join(rules), expand=expand), ignore_case=ignore)
    if kind == "TruncateTokenFilter":
        return F.truncate(p.int("length", 300, 1, 300))
    if kind == "UniqueTokenFilter":
        return F.unique(p.bool("onlyOnSamePosition", False))
    if kind == "WordDelimiterTokenFilter":
        return F.word_delimiter(
            p.bool("generateWordParts", True), p.bool("generateNumberParts", True), p.bool("catenateWords", False),
            p.bool("catenateNumbers", False), p.bool("catenateAll", False), p.bool("splitOnCaseChange", True),
            p.bool("preserveOriginal", False), p.bool("splitOnNumerics", True), p.bool("stemEnglishPossessive", True),
            frozenset(p.str_list("protectedWords")),
        )
    if kind == "CommonGramTokenFilter":
        words = frozenset(p.str_list("commonWords", required=True))
        return compound.common_grams(words, p.bool("ignoreCase", False), p.bool("queryMode", False))
    if kind == "DictionaryDecompounderTokenFilter":
        words = frozenset(p.str_list("wordList", required=True))
        min_word = p.int("minWordSize", 5, 0, 300)
        min_sub = p.int("minSubwordSize", 2, 0, 300)
        max_sub = p.int("maxSubwordSize", 15, 0, 300)
        p.check(min_sub <= max_sub, "minSubwordSize", "must not be greater than maxSubwordSize")
        return compound.dictionary_decompounder(words, min_word, max(min_sub, 1), max_sub, p.bool("onlyLongestMatch", False))
    if kind == "PhoneticTokenFilter":
        encoder = p.enum("encoder", "metaphone", phonetic.NAMES + phonetic.NOT_IMPLEMENTED)
        if encoder in phonetic.NOT_IMPLEMENTED:
            raise _unsupported("phonetic encoder", encoder, "implemented encoders: " + ", ".join(phonetic.NAMES))
        return phonetic.phonetic_filter(encoder, p.bool("replace", True))
    return None


def _char_filter(kind: str, p: Params):
    if kind == "MappingCharFilter":
        rules = {}
        for m in p.str_list("mappings", required=True):
            left, sep, right = m.partition("=>")
            if not sep or not left:
                raise InvalidInput(f"Invalid mapping '{m}' in char filter '{p.name}'; mappings are 'a=>b'.")
            rules[_unescape(left)] = _unescape(right)
        return C.mapping(rules)
    if kind == "PatternReplaceCharFilter":
        compiled = p.regex("pattern", None, None, required=True)
        return C.pattern_replace(compiled, F.java_replacement(p.str("replacement", "", required=True)))
    return None


def _unescape(s: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), s)


# ---- the whole definition ---------------------------------------------------------------------------
class Components:
    """The resolved custom components of one index."""

    def __init__(self, members: dict[str, Any]):
        self.tokenizers: dict[str, Callable] = {}
        self.filters: dict[str, Callable] = {}
        self.filter_kinds: dict[str, str] = {}
        self.char_filters: dict[str, Callable] = {}
        self.analyzers: dict[str, Analyzer] = {}
        self.normalizers: dict[str, Analyzer] = {}
        seen: set[str] = set()
        for section in SECTIONS:
            items = members.get(section)
            if items is None:
                continue
            if not isinstance(items, list):
                raise InvalidInput(f"'{section}' must be an array.")
            for item in items:
                name = self._check_item(section, item, seen)
                kind = item["@odata.type"][len(PREFIX):]
                p = Params(item, name, section)
                if section == "tokenizers":
                    made = _tokenizer(kind, p)
                    target = self.tokenizers
                elif section == "tokenFilters":
                    made = _token_filter(kind, p)
                    target = self.filters
                    self.filter_kinds[name] = kind
                elif section == "charFilters":
                    made = _char_filter(kind, p)
                    target = self.char_filters
                else:
                    continue  # analyzers and normalizers reference the others: resolved below
                if made is None:
                    raise InvalidInput(f"The {section[:-1]} '{name}' has an unknown '@odata.type' '{item['@odata.type']}'.")
                p.finish()
                target[name] = made
        for item in members.get("analyzers") or []:
            self.analyzers[item["name"]] = self._analyzer(item)
        for item in members.get("normalizers") or []:
            self.normalizers[item["name"]] = self._normalizer(item)

    @staticmethod
    def _check_item(section: str, item: Any, seen: set[str]) -> str:
        if not isinstance(item, dict):
            raise InvalidInput(f"Each entry of '{section}' must be an object.")
        name = item.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InvalidInput(
                f"Invalid name '{name}' in '{section}'. Names must be 1 to 128 letters, digits, spaces, dashes or underscores, "
                "and start and end with a letter or digit."
            )
        if _is_predefined(name):
            raise InvalidInput(f"The name '{name}' in '{section}' is the name of a predefined analyzer, tokenizer, token filter, char filter or normalizer.")
        if name in seen:
            raise InvalidInput(f"The name '{name}' is defined more than once in the index's analysis sections.")
        seen.add(name)
        odata = item.get("@odata.type")
        if not isinstance(odata, str) or not odata.startswith(PREFIX):
            raise InvalidInput(f"The {section[:-1]} '{name}' needs an '@odata.type'.")
        return name

    def tokenizer(self, name: Any, owner: str) -> Callable:
        if name in self.tokenizers:
            return self.tokenizers[name]
        if name in PREDEFINED_TOKENIZERS:
            return PREDEFINED_TOKENIZERS[name]
        raise InvalidInput(f"The analyzer '{owner}' refers to the tokenizer '{name}', which is neither predefined nor defined in the index.")

    def token_filter(self, name: Any, owner: str) -> Callable:
        if name in self.filters:
            return self.filters[name]
        if name in PREDEFINED_FILTERS:
            return PREDEFINED_FILTERS[name]
        if name in UNSUPPORTED_FILTERS:
            raise _unsupported("token filter", name, UNSUPPORTED_FILTERS[name])
        raise InvalidInput(f"'{owner}' refers to the token filter '{name}', which is neither predefined nor defined in the index.")

    def char_filter(self, name: Any, owner: str) -> Callable:
        if name in self.char_filters:
            return self.char_filters[name]
        if name in PREDEFINED_CHAR_FILTERS:
            return PREDEFINED_CHAR_FILTERS[name]
        raise InvalidInput(f"'{owner}' refers to the char filter '{name}', which is neither predefined nor defined in the index.")

    def _analyzer(self, item: dict) -> Analyzer:
        name = item["name"]
        kind = item["@odata.type"][len(PREFIX):]
        p = Params(item, name, "analyzers")
        if kind == "CustomAnalyzer":
            tok_name = p.str("tokenizer", None, required=True)
            tok = self.tokenizer(tok_name, name)
            filters = [self.token_filter(f, name) for f in p.str_list("tokenFilters")]
            chars = [self.char_filter(c, name) for c in p.str_list("charFilters")]
            p.finish()
            return Analyzer(name, tok, filters, chars)
        if kind == "StandardAnalyzer":
            n = p.int("maxTokenLength", 255, 1, 300)
            words = p.str_list("stopwords")
            p.finish()
            chain = [F.lowercase] + ([F.stop(frozenset(words))] if words else [])
            return Analyzer(name, lambda text: T.standard(text, n), chain)
        if kind == "PatternAnalyzer":
            compiled = p.regex("pattern", r"\W+", p.str("flags", None))
            lower = p.bool("lowercase", True)
            words = p.str_list("stopwords")
            p.finish()
            chain = ([F.lowercase] if lower else []) + ([F.stop(frozenset(words))] if words else [])
            return Analyzer(name, T.pattern(compiled), chain)
        if kind == "StopAnalyzer":
            words = p.str_list("stopwords")
            p.finish()
            return Analyzer(name, T.letter, [F.lowercase, F.stop(frozenset(words) if words else _stopwords("english"))])
        raise InvalidInput(f"The analyzer '{name}' has an unknown '@odata.type' '{item['@odata.type']}'.")

    def _normalizer(self, item: dict) -> Analyzer:
        name = item["name"]
        kind = item["@odata.type"][len(PREFIX):]
        if kind != "CustomNormalizer":
            raise InvalidInput(f"The normalizer '{name}' has an unknown '@odata.type' '{item['@odata.type']}'.")
        p = Params(item, name, "normalizers")
        filters = []
        for f in p.str_list("tokenFilters"):
            allowed = f in NORMALIZER_FILTERS or self.filter_kinds.get(f) in NORMALIZER_FILTER_KINDS
            if not allowed:
                raise InvalidInput(f"The normalizer '{name}' cannot use the token filter '{f}': normalizers take only filters that keep one token per value.")
            filters.append(self.token_filter(f, name))
        chars = []
        for c in p.str_list("charFilters"):
            if c not in self.char_filters:
                raise InvalidInput(f"The normalizer '{name}' refers to the char filter '{c}', which is not defined in the index (normalizers take mapping and pattern_replace char filters).")
            chars.append(self.char_filters[c])
        p.finish()
        return Analyzer(name, T.keyword_whole, filters, chars)


def _is_predefined(name: str) -> bool:
    from weft.search.analysis.normalizers import PREDEFINED as PREDEFINED_NORMALIZERS

    return (
        predefined.canonical(name) is not None
        or name in PREDEFINED_TOKENIZERS
        or name in PREDEFINED_FILTERS
        or name in UNSUPPORTED_FILTERS
        or name in PREDEFINED_CHAR_FILTERS
        or name in PREDEFINED_NORMALIZERS
    )


del regex_flags
