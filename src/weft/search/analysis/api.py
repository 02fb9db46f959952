"""The Analyze API (``POST /indexes/{name}/search.analyze``): analyzer, tokenizer + filters, or normalizer."""
from __future__ import annotations

from typing import Any

from weft.errors import InvalidInput
from weft.search import analysis
from weft.search.analysis.normalizers import tokens as normalizer_tokens
from weft.search.analysis.tokens import Analyzer

_ALLOWED = {"text", "analyzer", "tokenizer", "tokenFilters", "charFilters", "normalizer"}


def analyze_request(definition: Any, body: Any) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise InvalidInput("The analyze request needs a 'text' string.\r\nParameter name: text")
    unknown = [k for k in body if k not in _ALLOWED and not k.startswith("@")]
    if unknown:
        raise InvalidInput(f"The analyze request has the unknown member '{unknown[0]}'.")
    text = body["text"]
    analyzer, tokenizer, normalizer = body.get("analyzer"), body.get("tokenizer"), body.get("normalizer")
    filters, chars = body.get("tokenFilters") or [], body.get("charFilters") or []
    given = [n for n, v in (("analyzer", analyzer), ("tokenizer", tokenizer), ("normalizer", normalizer)) if v is not None]
    if len(given) > 1:
        raise InvalidInput(f"The analyze request can set only one of 'analyzer', 'tokenizer' and 'normalizer'; it sets {' and '.join(given)}.")
    if (filters or chars) and tokenizer is None:
        raise InvalidInput("'tokenFilters' and 'charFilters' can be used only together with 'tokenizer'.")
    for member, value in (("analyzer", analyzer), ("tokenizer", tokenizer), ("normalizer", normalizer)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"'{member}' must be a name.")
    for member, value in (("tokenFilters", filters), ("charFilters", chars)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput(f"'{member}' must be an array of names.")
    if normalizer is not None:
        return {"tokens": normalizer_tokens(analysis.resolve_normalizer(definition, normalizer), text)}
    if tokenizer is not None:
        comps = analysis.components(definition)
        chain = Analyzer(
            "analyze",
            comps.tokenizer(tokenizer, "analyze request"),
            [comps.token_filter(f, "analyze request") for f in filters],
            [comps.char_filter(c, "analyze request") for c in chars],
        )
    else:
        chain = analysis.resolve(definition, analyzer or analysis.DEFAULT_ANALYZER)
    return {"tokens": analysis.token_json(text, chain.tokens(text))}
