"""Autocomplete (``docs/search.post.autocomplete`` and the GET form): Azure's three modes, fuzzy, filter,
searchFields, highlight tags, minimumCoverage and top (``../shared/reference/azure-relevance.md`` §6.3).

* ``oneTerm`` completes the last term: ``washington medic`` gives ``medicaid`` (``queryPlusText``
  ``washington medicaid``).
* ``twoTerms`` completes the last term and adds the term that follows it in the documents: ``medic`` gives
  ``medicare coverage``.
* ``oneTermWithContext`` completes the last term where the term before it precedes it in the documents:
  ``washington medic`` gives ``washington medicaid``. With one term it is ``oneTerm``.

Completions are index terms (analysed forms, as Azure's are: ``mot`` gives ``motel``), ranked by the number
of documents holding them in the searched suggester fields, then alphabetically. ``fuzzy`` accepts terms whose
beginning is one edit (insertion, deletion, substitution, or transposition of neighbours) from the typed prefix;
``$filter`` restricts the documents that contribute terms.

Where the answer comes from: ``oneTerm`` without ``fuzzy`` reads tantivy's term dictionary, with the filter as
tantivy's filter query when there is one — exact over the whole index, no documents read. The other cases read
*every* document the query matches (:mod:`weft.search.engine.tantivy_autocomplete`, in chunks of 1,000), tokenised
by the field's analyzer with positions, so "follows" and "precedes" mean adjacent positions. That reading has a
time budget (``TIME_BUDGET_SECONDS``); when it runs out first, the answer covers the documents read and says so in
``@search.coverage`` (the percentage of matching documents read), and when that is below ``minimumCoverage``
(Azure's default 80) the request is a 503, as Azure answers a query that cannot reach its minimum coverage. The pure
parts (parameters, matching, counting, rendering) are plain functions with their own tests.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from weft.errors import InvalidInput, Unavailable
from weft.search.search_request import filter_param

PARAMS = frozenset({"search", "suggesterName", "autocompleteMode", "filter", "fuzzy", "highlightPreTag", "highlightPostTag",
                    "minimumCoverage", "searchFields", "top"})
MODES = ("oneTerm", "twoTerms", "oneTermWithContext")
DEFAULT_TOP = 5
MAX_TOP = 100
MAX_SCAN_DOCUMENTS = 1000  # another engine than tantivy's: the documents read at most
TIME_BUDGET_SECONDS = 5.0  # reading the matching documents (twoTerms, oneTermWithContext, fuzzy)
DEFAULT_MINIMUM_COVERAGE = 80.0  # Azure's default minimumCoverage
MAX_TERM_CANDIDATES = 1000  # per field, from the term dictionary, before the fields' counts are summed


def _p(name: str) -> str:
    return f"\r\nParameter name: {name}"


@dataclass(frozen=True)
class AutocompleteRequest:
    words: tuple[str, ...]  # the search text's words; the last is the partial term
    mode: str
    fields: tuple[str, ...]
    fuzzy: bool
    filter: str | None
    pre_tag: str | None
    post_tag: str | None
    coverage: float | None
    top: int

    @property
    def partial(self) -> str:
        return self.words[-1].lower()

    @property
    def context(self) -> str | None:
        """The term before the partial one, for oneTermWithContext."""
        return self.words[-2] if self.mode == "oneTermWithContext" and len(self.words) >= 2 else None


def parse_request(body: Any, suggester_fields: Sequence[str]) -> AutocompleteRequest:
    """Validates everything but the suggester name and the filter (the service checks those against the index)."""
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object of autocomplete parameters.")
    unknown = sorted(set(body) - PARAMS)
    if unknown:
        raise InvalidInput(f"The parameter '{unknown[0]}' is not a valid autocomplete parameter." + _p(unknown[0]))
    text = body.get("search")
    if not isinstance(text, str) or not 1 <= len(text) <= 100:
        raise InvalidInput("The search text of an autocomplete request must be 1 to 100 characters." + _p("search"))
    words = tuple(text.split())
    if not words:
        raise InvalidInput("The search text of an autocomplete request must contain a term to complete." + _p("search"))
    mode = body.get("autocompleteMode")
    mode = "oneTerm" if mode is None else mode
    if mode not in MODES:
        raise InvalidInput(f"Invalid autocompleteMode '{mode}'; use oneTerm, twoTerms or oneTermWithContext." + _p("autocompleteMode"))
    raw_fields = body.get("searchFields")
    if raw_fields is None:
        fields = tuple(suggester_fields)
    else:
        if isinstance(raw_fields, str):
            fields = tuple(f.strip() for f in raw_fields.split(",") if f.strip())
        elif isinstance(raw_fields, list) and all(isinstance(f, str) for f in raw_fields):
            fields = tuple(f.strip() for f in raw_fields if f.strip())
        else:
            raise InvalidInput("'searchFields' must be a comma-separated string or an array of field names." + _p("searchFields"))
        for f in fields:
            if f not in suggester_fields:
                raise InvalidInput(f"The field '{f}' in searchFields is not a source field of the suggester; use some of "
                                   f"{', '.join(suggester_fields)}." + _p("searchFields"))
        fields = fields or tuple(suggester_fields)
    fuzzy = body.get("fuzzy")
    if fuzzy is not None and not isinstance(fuzzy, bool):
        raise InvalidInput("'fuzzy' must be true or false." + _p("fuzzy"))
    filter_text = body.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise InvalidInput("'filter' must be a string." + _p("$filter"))
    pre, post = body.get("highlightPreTag"), body.get("highlightPostTag")
    for name, tag in (("highlightPreTag", pre), ("highlightPostTag", post)):
        if tag is not None and not isinstance(tag, str):
            raise InvalidInput(f"'{name}' must be a string." + _p(name))
    if (pre is None) != (post is None):
        raise InvalidInput("highlightPreTag and highlightPostTag must be given together." + _p("highlightPreTag" if pre is None else "highlightPostTag"))
    coverage = body.get("minimumCoverage")
    if coverage is not None and (isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not math.isfinite(coverage)
                                 or not 0 <= coverage <= 100):
        raise InvalidInput("minimumCoverage must be a number between 0 and 100." + _p("minimumCoverage"))
    top = body.get("top")
    if top is None:
        top = DEFAULT_TOP
    elif isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise InvalidInput(f"The value {top!r} of 'top' is out of range; it must be an integer between 1 and {MAX_TOP}." + _p("$top"))
    return AutocompleteRequest(words, mode, fields, bool(fuzzy), filter_text or None, pre, post,
                               None if coverage is None else float(coverage), top)


def prefix_within_one_edit(term: str, prefix: str) -> bool:
    """Whether some beginning of `term` is at most one edit (Damerau: neighbours swapped count one) from `prefix`."""
    if term.startswith(prefix):
        return True
    n = len(prefix)
    if n == 0:
        return True
    # optimal-string-alignment distance of `prefix` against every beginning of `term`; keep the last rows
    previous2: list[int] | None = None
    previous = list(range(n + 1))  # term beginning of length 0
    best = previous[n]
    for i in range(1, len(term) + 1):
        row = [i] + [0] * n
        for j in range(1, n + 1):
            cost = 0 if term[i - 1] == prefix[j - 1] else 1
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and term[i - 1] == prefix[j - 2] and term[i - 2] == prefix[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        best = min(best, row[n])
        if min(row) > 1 and min(previous) > 1:  # every longer beginning is further still (a swap reaches back one row)
            break
        previous2, previous = previous, row
    return best <= 1


def term_matches(term: str, partial: str, fuzzy: bool) -> bool:
    return term.startswith(partial) or (fuzzy and prefix_within_one_edit(term, partial))


def count_candidates(documents: Iterable[Iterable[Sequence[tuple[str, int]]]], mode: str, partial: str, fuzzy: bool,
                     context: str | None) -> Counter:
    """`documents`: per document, its token streams (one per field value) as (term, position) pairs. Counts, per
    candidate completion, the documents holding it. `context`: the analysed term the completion must follow."""
    counts: Counter = Counter()
    matching: dict[str, bool] = {}  # per distinct term (the fuzzy test is an edit-distance walk)
    for streams in documents:
        found: set[str] = set()
        for tokens in streams:
            at = {pos: term for term, pos in tokens}
            for term, pos in tokens:
                hit = matching.get(term)
                if hit is None:
                    hit = matching[term] = term_matches(term, partial, fuzzy)
                if not hit:
                    continue
                if mode == "twoTerms":
                    following = at.get(pos + 1)
                    if following is not None:
                        found.add(f"{term} {following}")
                elif context is not None:
                    if at.get(pos - 1) == context:
                        found.add(f"{context} {term}")
                else:
                    found.add(term)
        counts.update(found)
    return counts


def ranked(counts: Counter, top: int) -> list[str]:
    return sorted(counts, key=lambda t: (-counts[t], t))[:top]


def render(request: AutocompleteRequest, completions: list[str]) -> list[dict]:
    """Azure's items: `text` (never tagged) and `queryPlusText`, the search text with its last term (for
    oneTermWithContext: its last two) replaced, the completed part wrapped in the highlight tags when given."""
    kept = request.words[:-2] if request.context is not None else request.words[:-1]
    out = []
    for completion in completions:
        if request.context is not None:
            before, _, completed = completion.partition(" ")
            shown = f"{before} {_tag(request, completed)}"
        else:
            shown = _tag(request, completion)
        out.append({"text": completion, "queryPlusText": " ".join((*kept, shown))})
    return out


def _tag(request: AutocompleteRequest, text: str) -> str:
    return f"{request.pre_tag}{text}{request.post_tag}" if request.pre_tag is not None else text


def response(request: AutocompleteRequest, completions: list[str]) -> dict:
    return {"@search.coverage": 100.0 if request.coverage is not None else None, "value": render(request, completions)}


# ---- against the index (the service hands its engine and checks in) ----------------------------------------------
def run(service, definition, body: Any) -> dict:
    """`service`: the SearchService (its engine, filter parser and suggester lookup)."""
    from weft.search.engine import tantivy_autocomplete as engine_side
    from weft.search.engine.base import SearchQuery

    suggester = service._suggester(definition, body.get("suggesterName") if isinstance(body, dict) else None)
    request = parse_request(body, list(suggester["sourceFields"]))
    filter_expr = filter_param(definition, request.filter)
    if request.mode == "oneTerm" and not request.fuzzy:
        # the term dictionary, with the filter as tantivy's filter query when there is one: exact, no documents read
        # one field: its top terms are the answer; several: their counts add up, so take every candidate of each
        limit = MAX_TERM_CANDIDATES if len(request.fields) == 1 else 100_000
        counts: Counter = Counter()
        for f in request.fields:
            if filter_expr is None:
                found = service.engine.suggest_terms(definition, f, request.partial, limit)
            else:
                from weft.search import query_ast as qa

                found = engine_side.filtered_terms(service.engine, definition, f, request.partial,
                                                   SearchQuery(text=qa.MatchAll(), filter=filter_expr, top=1, need_vectors=False), limit)
                if found is None:
                    break  # the filter needs weft's residual check on the documents: read them below
            for term, n in found:
                counts[term] += n
        else:
            return response(request, ranked(counts, request.top))
    from weft.search import query_ast as qa
    from weft.search.analysis import resolve as resolve_analyzer

    analyzers = {f: resolve_analyzer(definition, definition.leaf(f).field.effective_analyzer) for f in request.fields}
    plain = {f for f in request.fields if definition.leaf(f).field.effective_analyzer in ("standard.lucene", "standard")}
    context = None
    last: qa.Node = qa.Fuzzy(request.partial, 1, prefix=True) if request.fuzzy else qa.Prefix(request.partial)
    clauses: tuple = (last,)
    if request.context is not None:
        analysed = [t.term for t in analyzers[request.fields[0]].tokens(request.context)]
        context = analysed[-1] if analysed else request.context.lower()
        clauses = (qa.Term(request.context), last)
    query = SearchQuery(text=qa.Boolean(must=clauses), search_fields=request.fields, filter=filter_expr, top=MAX_SCAN_DOCUMENTS,
                        need_vectors=False)

    def streams(document: dict):
        for f in request.fields:
            for value in _values(document, f.split("/")):
                # with the standard analyzer (lower-casing only), a value that does not hold the typed prefix holds no
                # term beginning with it: skip tokenising it
                if isinstance(value, str) and (request.fuzzy or f not in plain or request.partial in value.lower()):
                    yield [(t.term, t.pos) for t in analyzers[f].tokens(value)]

    matches = engine_side.matching_sources(service.engine, definition, query)
    if matches is None:  # another engine: its first MAX_SCAN_DOCUMENTS matches
        hits = service.engine.search(definition, query).hits
        counts = count_candidates((streams(h.document) for h in hits), request.mode, request.partial, request.fuzzy, context)
        return response(request, ranked(counts, request.top))
    counts = Counter()
    read = 0
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    for chunk in matches.chunks():
        counts += count_candidates((streams(d) for d in chunk if d is not None), request.mode, request.partial, request.fuzzy, context)
        read += len(chunk)
        if read < matches.total and time.monotonic() > deadline:
            break
    if read >= matches.total:
        return response(request, ranked(counts, request.top))
    # The budget ran out: the answer covers the documents read, and says so as Azure does (@search.coverage).
    coverage = 100.0 * read / matches.total
    wanted = DEFAULT_MINIMUM_COVERAGE if request.coverage is None else request.coverage
    if coverage < wanted:
        raise Unavailable(f"Autocomplete read {read:,} of the {matches.total:,} matching documents ({coverage:.1f}%) within its "
                          f"{TIME_BUDGET_SECONDS:g} s budget, below the minimumCoverage of {wanted:g}; type a longer prefix, add a "
                          "filter, or lower minimumCoverage to accept a partial answer.")
    return {"@search.coverage": round(coverage, 2), "value": render(request, ranked(counts, request.top))}


def _values(value: Any, parts: list[str]):
    if isinstance(value, list):
        for item in value:
            yield from _values(item, parts)
        return
    if not parts:
        if value is not None:
            yield value
        return
    if isinstance(value, dict):
        yield from _values(value.get(parts[0]), parts[1:])
