"""Semantic ranking (`queryType=semantic`): a bounded second phase over the first stage's top 50.

1. The first stage is the same query as `simple` (BM25, vector or hybrid/RRF, with its filter, facets and count),
   asked for its best `RERANK_CANDIDATES` (50, as Azure) results.
2. Each candidate's text is built from the semantic configuration's prioritized fields, in Azure's order
   (title, keywords, content) within a word budget, and scored against `semanticQuery` (or `search`) by the
   configured reranker (0-4, `@search.rerankerScore`); candidates are sorted by it (ties keep the first stage's
   order), then `skip`/`top` page over those 50.
3. Captions (`captions=extractive[|highlight-true|false]`): per returned document, the passage (up to ~40 words
   of whole sentences) of its prioritized content that shares most query terms; with highlights, the query terms
   wrapped in `highlightPreTag`/`highlightPostTag`.
4. Answers (`answers=extractive[|count-N][,threshold-X]`): the caption passages of the best-ranked documents,
   scored by the reranker; those at or above the threshold (0-1, default 0.7, on the reranker's scale / 4),
   best first, at most N (default 1, at most 10), one per document.
5. When the reranker fails or takes longer than `semanticMaxWaitInMilliseconds`: with
   `semanticErrorHandling=partial`, the first stage's results are returned (HTTP 206) with
   `@search.semanticPartialResponseReason` (`transient` / `maxWaitExceeded`) and
   `@search.semanticPartialResponseType: baseResults`; with `fail` (the default), a 503.
`search=*` or an empty query is not reranked (as Azure): the first stage's order is returned without scores.
"""
from __future__ import annotations

import concurrent.futures
import contextvars
import re
from typing import Any

from weft import deadline
from weft.errors import InvalidInput, Unavailable
from weft.search.ranking.semantic_config import SemanticConfiguration, configuration_for
from weft.search.search_request import select_param

RERANK_CANDIDATES = 50
TITLE_WORDS, KEYWORD_WORDS, TOTAL_WORDS = 64, 32, 400
PASSAGE_WORDS = 40
ANSWER_CANDIDATES = 5
SEMANTIC_PARAMS = ("semanticConfiguration", "semanticQuery", "answers", "captions", "semanticErrorHandling",
                   "semanticMaxWaitInMilliseconds")
# Preview parameters that the 2026-04-01 GA API removed, or that weft does not implement: refused, never dropped.
REFUSED_PARAMS = {
    "queryLanguage": "query languages (weft's semantic ranking is language-independent; the analyzers decide tokenization)",
    "speller": "spell correction",
    "queryRewrites": "generative query rewriting",
    "semanticFields": "semanticFields (a preview parameter removed from the GA API; use a semantic configuration)",
    "hybridSearch": "hybridSearch options (maxTextRecallSize, countAndFacetMode)",
}
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="weft-rerank")
_STOP = frozenset("a an and are as at be by for from has have how i in is it its of on or that the this to was were what when "
                  "where which who why will with".split())
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_OPTION_SPLIT = re.compile(r"[|,]")
P = "\r\nParameter name: "


def _wait(max_wait: Any) -> float | None:
    """How long to wait for the reranker: ``semanticMaxWaitInMilliseconds``, and no longer than the caller's deadline."""
    wait = None if max_wait is None else max_wait / 1000.0
    left = deadline.remaining()
    return wait if left is None else deadline.capped(left if wait is None else wait)


def check_parameters(body: dict, semantic: bool) -> None:
    """Semantic-only parameters need queryType=semantic; refused parameters are a 400 naming them."""
    for name, what in REFUSED_PARAMS.items():
        if body.get(name) not in (None, "none", "None", False):
            raise InvalidInput(f"The parameter '{name}' is not supported by this service: weft does not implement {what}.{P}{name}")
    debug = body.get("debug")
    if debug not in (None, "disabled"):
        raise InvalidInput(f"The parameter 'debug' is not supported by this service (only 'disabled').{P}debug")
    if not semantic:
        for name in SEMANTIC_PARAMS:
            if body.get(name) is not None and not (name in ("answers", "captions") and str(body[name]).lower() == "none"):
                raise InvalidInput(f"The parameter '{name}' requires queryType 'semantic'.{P}{name}")


def parse_answers(value: Any) -> tuple[int, float] | None:
    if value is None or str(value).lower() == "none":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"'answers' must be a string such as 'extractive|count-3,threshold-0.7'.{P}answers")
    kind, *options = _OPTION_SPLIT.split(value)  # the SDK writes "extractive|count-3,threshold-0.7" or "extractive,threshold-0.7"
    if kind.strip().lower() != "extractive":
        raise InvalidInput(f"Invalid answers '{value}': the kind is 'extractive' or 'none'.{P}answers")
    count, threshold = 1, 0.7
    for option in filter(None, (o.strip() for o in options)):
        key, _, number = option.partition("-")
        try:
            if key == "count":
                count = int(number)
                if not 1 <= count <= 10:
                    raise ValueError
            elif key == "threshold":
                threshold = float(number)
                if not 0 <= threshold <= 1:
                    raise ValueError
            elif key == "maxcharlength":
                if int(number) < 1:
                    raise ValueError
            else:
                raise ValueError
        except ValueError:
            raise InvalidInput(f"Invalid answers option '{option}': use count-N (1-10), threshold-X (0-1) or maxcharlength-N.{P}answers")
    return count, threshold


def parse_captions(value: Any) -> bool | None:
    """None without captions, else whether to highlight."""
    if value is None or str(value).lower() == "none":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"'captions' must be a string such as 'extractive|highlight-true'.{P}captions")
    kind, *options = _OPTION_SPLIT.split(value)
    if kind.strip().lower() != "extractive":
        raise InvalidInput(f"Invalid captions '{value}': the kind is 'extractive' or 'none'.{P}captions")
    highlight = True
    for option in filter(None, (o.strip() for o in options)):
        if option.lower() in ("highlight-true", "highlight-false"):
            highlight = option.lower() == "highlight-true"
        elif not re.fullmatch(r"maxcharlength-\d+", option.lower()):
            raise InvalidInput(f"Invalid captions option '{option}': use highlight-true or highlight-false.{P}captions")
    return highlight


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _take(words: list[str], budget: int) -> list[str]:
    return words[:max(0, budget)]


def _get(document: dict, path: str) -> Any:
    value: Any = document
    for part in path.split("/"):
        if isinstance(value, list):
            value = [v.get(part) if isinstance(v, dict) else None for v in value]
            value = [x for v in value for x in (v if isinstance(v, list) else [v]) if x is not None]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def document_text(document: dict, config: SemanticConfiguration) -> str:
    """The text a reranker sees: title, keywords, content, within Azure-like budgets (in words)."""
    words: list[str] = []
    if config.title:
        words += _take(" ".join(_strings(_get(document, config.title))).split(), TITLE_WORDS)
    keywords = " ".join(s for f in config.keywords for s in _strings(_get(document, f))).split()
    words += _take(keywords, KEYWORD_WORDS)
    for f in config.content:
        if len(words) >= TOTAL_WORDS:
            break
        words += _take(" ".join(_strings(_get(document, f))).split(), TOTAL_WORDS - len(words))
    return " ".join(words)


def passages(document: dict, config: SemanticConfiguration) -> list[str]:
    out: list[str] = []
    for f in config.content or ((config.title,) if config.title else ()):
        for text in _strings(_get(document, f)):
            current: list[str] = []
            for sentence in _SENTENCE.split(text.strip()):
                words = sentence.split()
                if current and len(current) + len(words) > PASSAGE_WORDS:
                    out.append(" ".join(current))
                    current = []
                current += words
            if current:
                out.append(" ".join(current))
    return out


def query_terms(query: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(query) if len(w) > 1 and w.lower() not in _STOP}


def best_passage(candidates: list[str], terms: set[str]) -> str | None:
    best, best_hits = None, -1
    for text in candidates:
        hits = sum(1 for w in _WORD.findall(text) if w.lower() in terms)
        if hits > best_hits:
            best, best_hits = text, hits
    return best


def highlight(text: str, terms: set[str], pre: str, post: str) -> str:
    return _WORD.sub(lambda m: f"{pre}{m.group(0)}{post}" if m.group(0).lower() in terms else m.group(0), text)


def _page(values: list[dict], skip: int, top: int) -> list[dict]:
    return values[skip: skip + top]


def _select(item: dict, select: list[str] | None) -> dict:
    if select is None:
        return item
    keep = set(select)
    return {k: v for k, v in item.items() if k.startswith("@search.") or k in keep}


def semantic_search(service, definition, name: str, body: dict, reranker) -> dict:
    """Run a semantic query; returns Azure's response body (with `@search.semanticPartialResponseType` when partial)."""
    if reranker is None:
        raise InvalidInput("Semantic ranking is off on this service (rerankers.kind = 'off').\r\nParameter name: queryType")
    config = configuration_for(definition, body.get("semanticConfiguration"))
    if body.get("orderby"):
        raise InvalidInput(f"$orderby cannot be used with semantic ranking: results are ordered by the reranker.{P}$orderby")
    semantic_query = body.get("semanticQuery")
    if semantic_query is not None and (not isinstance(semantic_query, str) or not semantic_query.strip()):
        raise InvalidInput(f"'semanticQuery' must be a non-empty string.{P}semanticQuery")
    answers = parse_answers(body.get("answers"))
    captions = parse_captions(body.get("captions"))
    mode = body.get("semanticErrorHandling") or "fail"
    if mode not in ("partial", "fail"):
        raise InvalidInput(f"Invalid semanticErrorHandling '{mode}'; use 'partial' or 'fail'.{P}semanticErrorHandling")
    max_wait = body.get("semanticMaxWaitInMilliseconds")
    if max_wait is not None and (isinstance(max_wait, bool) or not isinstance(max_wait, int) or max_wait < 700):
        raise InvalidInput(f"semanticMaxWaitInMilliseconds must be an integer of at least 700.{P}semanticMaxWaitInMilliseconds")
    top, skip = body.get("top"), body.get("skip") or 0
    top = 50 if top is None else top
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise InvalidInput(f"'top' must be a non-negative integer.{P}$top")
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise InvalidInput(f"'skip' must be a non-negative integer.{P}$skip")
    select = body.get("select")
    select_list = None if select in (None, "", "*") else [s.strip() for s in (select.split(",") if isinstance(select, str) else select)]
    first = {k: v for k, v in body.items() if k not in SEMANTIC_PARAMS and k not in ("queryType", "top", "skip", "select")}
    first.update(queryType="simple", top=RERANK_CANDIDATES, skip=0)
    if isinstance(first.get("vectorQueries"), list):  # fill the candidate pool from each vector query too
        first["vectorQueries"] = [dict(q, k=max(q.get("k") or q.get("kNearestNeighbors") or 0, RERANK_CANDIDATES)) if isinstance(q, dict) else q
                                  for q in first["vectorQueries"]]
        for q in first["vectorQueries"]:
            if isinstance(q, dict):
                q.pop("kNearestNeighbors", None)
    if select_list is not None:
        select_param(definition, ",".join(select_list))  # the same checks as a simple query's $select
    base = service.search(name, first)
    base.pop("@search.nextPageParameters", None)
    hits: list[dict] = base["value"]
    query = (semantic_query or body.get("search") or "").strip()
    if not query or query == "*" or not hits:
        base["value"] = [_select(h, select_list) for h in _page(hits, skip, top)]
        return base
    texts = [document_text(h, config) for h in hits]
    future = _POOL.submit(contextvars.copy_context().run, reranker.score, query, texts)  # the caller's deadline with it
    try:
        scores = future.result(timeout=_wait(max_wait))
    except (Unavailable, concurrent.futures.TimeoutError) as exc:
        timed_out = isinstance(exc, concurrent.futures.TimeoutError)
        if mode == "fail":
            raise Unavailable("Semantic ranking did not finish within semanticMaxWaitInMilliseconds." if timed_out
                              else "Semantic ranking is unavailable: the reranker did not answer.")
        base["@search.semanticPartialResponseReason"] = "maxWaitExceeded" if timed_out else "transient"
        base["@search.semanticPartialResponseType"] = "baseResults"
        base["value"] = [_select(h, select_list) for h in _page(hits, skip, top)]
        return base
    ranked = sorted(range(len(hits)), key=lambda i: -scores[i])
    values = []
    for i in ranked:
        item = dict(hits[i])
        item["@search.rerankerScore"] = round(scores[i], 6)
        values.append(item)
    terms = query_terms(query)
    pre, post = body.get("highlightPreTag") or "<em>", body.get("highlightPostTag") or "</em>"
    page = _page(values, skip, top)
    caption_of: dict[int, str | None] = {}
    if captions is not None or answers is not None:
        for position, item in enumerate(values[: max(skip + top, ANSWER_CANDIDATES)]):
            caption_of[position] = best_passage(passages(item, config), terms)
    if captions is not None:
        for offset, item in enumerate(page):
            text = caption_of.get(skip + offset)
            item["@search.captions"] = [] if text is None else [
                {"text": text, "highlights": highlight(text, terms, pre, post) if captions else None}]
    if answers is not None:
        count, threshold = answers
        candidates = [(p, caption_of[p]) for p in range(min(ANSWER_CANDIDATES, len(values))) if caption_of.get(p)]
        found = []
        if candidates:
            try:
                answer_scores = _POOL.submit(contextvars.copy_context().run, reranker.score, query,
                                             [t for _, t in candidates]).result(timeout=_wait(max_wait))
            except (Unavailable, concurrent.futures.TimeoutError):
                answer_scores = []
            for (p, text), s in sorted(zip(candidates, answer_scores), key=lambda c: -c[1]):
                if s / 4.0 >= threshold and len(found) < count:
                    key_field = definition.key_field.name
                    found.append({"key": values[p].get(key_field), "text": text, "highlights": highlight(text, terms, pre, post),
                                  "score": round(s / 4.0, 6)})
        base["@search.answers"] = found
    base["value"] = [_select(item, select_list) for item in page]
    return base
