"""SearchService: the operations the HTTP layer, the CLI and the indexers call.

Plain Python, no HTTP. Requests and results use Azure AI Search's JSON shapes (the
product's data model), so a library user sees the same documents and search pages a
REST client does. The one write path for documents is :meth:`SearchService.apply_batch`.
"""
from __future__ import annotations

import asyncio
import copy
import threading
import time
from pathlib import Path
from typing import Any

from weft import deadline
from weft.errors import InvalidInput, NotFound, PreconditionFailed, QuerySyntaxError
from weft.search.ranking import semantic
from weft.search.ranking.scoring import scoring_for
from weft.search import filter_ast as fa
from weft.search import query_ast as qa
from weft.search import strict, vectorizer_secrets
from weft.etags import retried, check_preconditions as _check_preconditions, new_etag
from weft.search.catalog import Catalog
from weft.secretbox import SecretBox
from weft.search.synonyms_service import SynonymMapService
from weft.search.aliases import MAX_ALIASES, AliasService
from weft.search.schema_analysis import check_analysis_update
from weft.search.documents import ItemResult, parse_batch, render_document
from weft.search.engine.base import Engine, SearchQuery
from weft.search.engine.tantivy_engine import TantivyEngine
from weft.search.filter_check import ExpressionChecker
from weft.search.analysis import resolve as resolve_analyzer
from weft.search.highlight import collect_terms, highlight_field
from weft.search.odata import parse_filter, parse_orderby
from weft.search.query import parse_search
from weft.search.search_request import (
    DEFAULT_PAGE, MAX_FACETS, MAX_ORDERBY, MAX_SKIP, MAX_TOP, as_list, check_fielded, facet_param, filter_param, int_param, joined,
    orderby_param, select_param, vector_queries_param, with_parameter,
)
from weft.search.schema import IndexDefinition, check_compatible_update, parse_index_definition

ARRIVAL_WAIT_SECONDS = 5.0  # how long a request waits for an index another node created (cluster mode)
INDEX_ONLY = "@weft.indexOnlyFields"  # catalog member of weft's own indexes: fields indexed but not stored
SEALED_FOR = "@weft.sealedFor"  # catalog member of weft's own indexes: the tenant whose key seals them (cluster mode)


class SearchService:
    def __init__(self, data_dir: Path, engine: Engine | None = None, *, reranker=None, catalog=None):
        """`reranker` (weft.search.ranking.rerankers): what semantic queries rerank with; None turns them off.
        `catalog`: the definitions seam (default: the SQLite catalog in the data dir; cluster mode: weft.cluster.pg_catalog)."""
        self.reranker = reranker
        self.data_dir = Path(data_dir)
        from weft.fsmodes import private_dir

        private_dir(self.data_dir)
        self.catalog = catalog if catalog is not None else Catalog(self.data_dir / "catalog.sqlite3")
        self.engine: Engine = engine or TantivyEngine(self.data_dir / "indexes")
        self._definitions: dict[str, IndexDefinition] = {}
        self._lock = threading.RLock()
        self.secrets = SecretBox(self.data_dir / "secret.key")  # vectorizer API keys in the catalog
        # weft's own indexes (conversation search): a property of the index, kept in the catalog; the search
        # API sees them through weft.search.public.PublicSearch, which hides them.
        self._internal: set[str] = self.catalog.internal_names()
        self.synonym_maps = SynonymMapService(self.catalog)
        self.aliases = AliasService(self.catalog, lambda n: n in self._definitions and n not in self._internal, self._lock)
        for name, raw, etag in self.catalog.list():
            definition, legacy = self._loaded(raw, etag)
            self.engine.open_index(definition)
            self._definitions[name] = definition
            if legacy:  # written before keys were sealed: store it sealed now
                self.catalog.put(name, self._stored(definition), etag, internal=name in self._internal)

    def _loaded(self, raw: dict, etag: str) -> tuple[IndexDefinition, bool]:
        raw, legacy = vectorizer_secrets.unseal(raw, self.secrets)
        index_only = tuple(raw.pop(INDEX_ONLY, None) or ())
        sealed_for = raw.pop(SEALED_FOR, None)
        definition = parse_index_definition(raw)
        definition.index_only = index_only
        definition.sealed_for = sealed_for
        definition.etag = etag
        return definition, legacy

    def sync_catalog(self) -> None:
        """Brings definitions, synonym maps, aliases and the engine to the catalog as it is now (in cluster mode another
        node changed it; weft.cluster.apply calls this in commit order)."""
        with self._lock:
            listed = self.catalog.list()
            names = {name for name, _, _ in listed}
            for name in [n for n in self._definitions if n not in names]:
                del self._definitions[name]
                self.engine.delete_index(name)
            for name, raw, etag in listed:
                current = self._definitions.get(name)
                if current is not None and current.etag == etag:
                    continue
                definition, _ = self._loaded(raw, etag)
                if current is None:
                    self.engine.open_index(definition)
                else:
                    self.engine.update_index(current, definition)
                self._definitions[name] = definition
            self._internal = self.catalog.internal_names()
            self.synonym_maps.reload()
            self.aliases.reload()

    def close(self) -> None:
        self.engine.close()
        self.catalog.close()

    # ---- indexes ------------------------------------------------------------------------------
    def _definition(self, name: str) -> IndexDefinition:
        definition = self._definitions.get(name)
        if definition is None:
            definition = self._arriving(name)
        if definition is None:
            raise NotFound(f"The index '{name}' for service 'weft' was not found.")
        return definition

    def _arriving(self, name: str) -> IndexDefinition | None:
        """An index the catalog of record has and this node's view not yet (cluster mode: created on another node a
        moment ago, behind a load balancer): waits for this node's apply loop to bring it, a bounded time, so a
        client that created an index on one node can use it on the next. In embedded mode the view is the catalog."""
        if self._lock._is_owned() or _on_event_loop() or self.catalog.get(name) is None:
            return None  # the apply loop needs the lock to bring it; the event loop must not wait (a 404 there)
        deadline = time.monotonic() + ARRIVAL_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.01)
            definition = self._definitions.get(name)
            if definition is not None:
                return definition
        return None

    def definition(self, name: str) -> IndexDefinition:
        """The parsed definition of an index (raises NotFound)."""
        return self._definition(name)

    def index_names(self) -> list[str]:
        return sorted(self._definitions)

    def is_internal(self, name: str) -> bool:
        """Whether the index is one of weft's own (created with ``internal=True``)."""
        return name in self._internal

    def mark_internal(self, name: str) -> None:
        """Marks an existing index as one of weft's own (for indexes created before the flag existed)."""
        with self._lock:
            definition = self._definition(name)
            if name not in self._internal:
                self.catalog.put(name, self._stored(definition), definition.etag, internal=True)
                self._internal.add(name)

    def _stored(self, definition: IndexDefinition) -> dict:
        stored = vectorizer_secrets.seal(_stored(definition), self.secrets)
        if definition.index_only:
            stored[INDEX_ONLY] = list(definition.index_only)
        if definition.sealed_for is not None:
            stored[SEALED_FOR] = definition.sealed_for
        return stored

    def needs_reanalysis(self, name: str) -> bool:
        """Whether an index with index-only fields holds terms an earlier weft's analysis wrote: its owner rewrites
        it with ``compact(name, fill)`` (the other indexes are re-analyzed when opened)."""
        return name in getattr(self.engine, "stale_analysis", ())

    def compact(self, name: str, fill=None) -> None:
        """Rewrites an index from its live documents, so deleted ones leave the files (see TantivyEngine.rewrite)."""
        with self._lock:
            self.engine.rewrite(self._definition(name), fill)

    @staticmethod
    def _render(definition: IndexDefinition) -> dict:
        return vectorizer_secrets.redact(definition.to_json())

    def get_index(self, name: str) -> dict:
        return self._render(self._definition(name))

    def list_indexes(self, select: str | None = None, *, include_internal: bool = True) -> list[dict]:
        names = as_list(select, "$select") if select else None
        out = []
        for name in sorted(self._definitions):
            if not include_internal and name in self._internal:
                continue
            rendered = self._render(self._definitions[name])
            if names and names != ["*"]:
                rendered = {k: v for k, v in rendered.items() if k in names or k == "@odata.etag"}
            out.append(rendered)
        return out

    def create_index(self, body: Any, *, internal: bool = False, index_only: tuple[str, ...] = (),
                     sealed_for: str | None = None) -> dict:
        """``internal``, ``index_only`` (fields indexed but not stored) and ``sealed_for`` (the tenant whose data key
        seals those fields in the cluster's documents of record, weft.cluster.sealing) are for weft's own indexes."""
        strict.check_index_body(body)
        definition = parse_index_definition(body)
        definition.index_only = tuple(index_only)
        definition.sealed_for = sealed_for
        self.synonym_maps.check_references(definition)
        return self._retried(lambda: self._create_index(definition, internal))

    def _retried(self, operation):
        """Decides a change again on a reloaded view when another node changed the catalog since (cluster mode)."""
        return retried(operation, reload=self.sync_catalog)

    def _create_index(self, definition: IndexDefinition, internal: bool) -> dict:
        with self._lock:
            if definition.name in self._definitions:
                message = f"Cannot create index '{definition.name}' because it already exists."
                raise InvalidInput(message, code="ResourceNameAlreadyInUse", details=[{"code": "CannotCreateExistingIndex", "message": message}])
            self.aliases.check_index_name(definition.name)
            definition.etag = new_etag()
            with self.catalog.guard("indexes", definition.name, None):
                self.engine.create_index(definition)
                self.catalog.put(definition.name, self._stored(definition), definition.etag, internal=internal)
            self._definitions[definition.name] = definition
            if internal:
                self._internal.add(definition.name)
        return self._render(definition)

    def create_or_update_index(self, name: str, body: Any, *, if_match: str | None = None, if_none_match: str | None = None,
                               allow_index_downtime: bool = False) -> tuple[dict, bool]:
        strict.check_index_body(body)
        self.synonym_maps.check_references(parse_index_definition(body, name_from_path=name))
        return self._retried(lambda: self._create_or_update_index(name, body, if_match, if_none_match, allow_index_downtime))

    def _create_or_update_index(self, name: str, body: Any, if_match: str | None, if_none_match: str | None,
                                allow_index_downtime: bool) -> tuple[dict, bool]:
        definition = parse_index_definition(body, name_from_path=name)  # afresh: a retry must not see the last try's changes
        with self._lock:
            existing = self._definitions.get(name)
            _check_preconditions(existing.etag if existing else None, if_match, if_none_match)
            definition.etag = new_etag()
            if existing is None:
                self.aliases.check_index_name(name)
                with self.catalog.guard("indexes", name, None):
                    self.engine.create_index(definition)
                    self.catalog.put(name, self._stored(definition), definition.etag)
                self._definitions[name] = definition
                return self._render(definition), True
            check_compatible_update(existing, definition)
            definition.index_only = existing.index_only
            definition.sealed_for = existing.sealed_for
            vectorizer_secrets.carry_over({"vectorSearch": definition.members.get("vectorSearch")}, existing.to_json())
            check_analysis_update(existing, definition, allow_index_downtime)
            with self.catalog.guard("indexes", name, existing.etag):
                self.engine.update_index(existing, definition)
                self.catalog.put(name, self._stored(definition), definition.etag, internal=name in self._internal)
            self._definitions[name] = definition
            return self._render(definition), False

    def delete_index(self, name: str, *, if_match: str | None = None, if_none_match: str | None = None) -> None:
        self._retried(lambda: self._delete_index(name, if_match, if_none_match))

    def _delete_index(self, name: str, if_match: str | None, if_none_match: str | None) -> None:
        with self._lock:
            existing = self._definitions.get(name)
            if existing is None:
                if if_match not in (None,):
                    raise PreconditionFailed("The index does not exist, so the If-Match precondition failed.")
                raise NotFound(f"The index '{name}' for service 'weft' was not found.")
            _check_preconditions(existing.etag, if_match, if_none_match)
            self.aliases.check_index_deletable(name)
            with self.catalog.guard("indexes", name, existing.etag):
                self.catalog.delete(name)  # durable first: a crash after this leaves only a stray directory
            del self._definitions[name]
            self._internal.discard(name)
            self.engine.delete_index(name)

    def index_stats(self, name: str) -> dict:
        stats = self.engine.stats(self._definition(name))
        return {"documentCount": stats.document_count, "storageSize": stats.storage_size, "vectorIndexSize": stats.vector_index_size}

    def service_stats(self, *, include_internal: bool = True) -> dict:
        docs = 0
        size = vector_size = 0
        definitions = [d for d in self._definitions.values() if include_internal or d.name not in self._internal]
        for d in definitions:
            s = self.engine.stats(d)
            docs += s.document_count
            size += s.storage_size
            vector_size += s.vector_index_size

        def counter(usage, quota=None):
            return {"usage": usage, "quota": quota}

        return {
            "counters": {
                "aliasesCount": counter(self.aliases.count(), MAX_ALIASES),
                "documentCount": counter(docs),
                "indexesCount": counter(len(definitions)),
                "indexersCount": counter(0),
                "dataSourcesCount": counter(0),
                "storageSize": counter(size),
                "synonymMaps": counter(self.synonym_maps.count()),
                "skillsetCount": counter(0),
                "vectorIndexSize": counter(vector_size),
            },
            "limits": {
                "maxFieldsPerIndex": 1000,
                "maxFieldNestingDepthPerIndex": 10,
                "maxComplexCollectionFieldsPerIndex": 40,
                "maxComplexObjectsInCollectionsPerDocument": 3000,
                "maxStoragePerIndex": None,
                "maxCumulativeIndexerRuntimeSeconds": None,
            },
        }

    # ---- documents -------------------------------------------------------------------------------
    def apply_batch(self, name: str, body: Any, *, body_size: int = 0) -> list[ItemResult]:
        """The one write path: validates the whole batch, then applies it durably and atomically."""
        definition = self._definition(name)
        actions = parse_batch(definition, body, body_size=body_size)
        return self.engine.apply(definition, actions)

    def lookup(self, name: str, key: str, select: str | list | None = None) -> dict | None:
        definition = self._definition(name)
        paths = self._select(definition, select)
        document = self.engine.get(definition, key)
        if document is None:
            return None
        return render_document(definition, document, paths)

    def count(self, name: str) -> int:
        return self.engine.count(self._definition(name))

    @staticmethod
    def _select(definition: IndexDefinition, select: str | list | None) -> list[str] | None:
        return select_param(definition, select)

    # ---- search ------------------------------------------------------------------------------------
    def search(self, name: str, body: dict) -> dict:
        """Run a search given POST-style parameters; returns Azure's response body.

        ``@search.nextPageParameters`` is included when more results remain; the HTTP layer
        adds ``@odata.nextLink``.
        """
        definition = self._definition(name)
        strict.check_request(body, "SearchRequest")  # every parameter effective or refused (weft.search.members)
        checker = ExpressionChecker(definition)
        query_type = body.get("queryType") or "simple"
        semantic.check_parameters(body, query_type == "semantic")
        if query_type == "semantic":
            return semantic.semantic_search(self, definition, name, body, self.reranker)
        if query_type not in ("simple", "full"):
            raise InvalidInput(f"Invalid queryType '{query_type}'; use 'simple' or 'full'.\r\nParameter name: queryType")
        search_mode = body.get("searchMode") or "any"
        if search_mode not in ("any", "all"):
            raise InvalidInput(f"Invalid searchMode '{search_mode}'; use 'any' or 'all'.\r\nParameter name: searchMode")
        search_text = body.get("search")
        if search_text is not None and not isinstance(search_text, str):
            raise InvalidInput("The parameter 'search' must be a string.\r\nParameter name: search")
        try:
            text = parse_search(search_text, query_type, search_mode)
        except QuerySyntaxError as exc:
            raise InvalidInput(exc.message)
        search_fields = as_list(body.get("searchFields"), "searchFields")
        if search_fields:
            checker.check_search_fields(search_fields)
        check_fielded(text, checker)
        filter_expr = None
        filter_text = body.get("filter")
        if filter_text is not None and not isinstance(filter_text, str):
            raise InvalidInput("The parameter 'filter' must be a string.\r\nParameter name: $filter")
        if filter_text and filter_text.strip():
            try:
                filter_expr = parse_filter(filter_text)
            except QuerySyntaxError as exc:
                raise with_parameter(exc, "$filter")
            checker.check_filter(filter_expr)
        orderby: list[fa.OrderByClause] = []
        orderby_text = joined(body.get("orderby"))
        if orderby_text and orderby_text.strip():
            try:
                orderby = parse_orderby(orderby_text)
            except QuerySyntaxError as exc:
                raise with_parameter(exc, "$orderby")
            if len(orderby) > MAX_ORDERBY:
                raise InvalidInput(f"$orderby has {len(orderby)} clauses; the limit is {MAX_ORDERBY}.\r\nParameter name: $orderby")
            checker.check_orderby(orderby)
        select = self._select(definition, body.get("select"))
        top_given = int_param(body, "top", 0, None)
        skip = int_param(body, "skip", 0, MAX_SKIP) or 0
        top = DEFAULT_PAGE if top_given is None else min(top_given, MAX_TOP)
        count = body.get("count", False)
        if not isinstance(count, bool):
            raise InvalidInput("The parameter 'count' must be true or false.\r\nParameter name: $count")
        raw_facets = body.get("facets") or []
        if isinstance(raw_facets, list) and len(raw_facets) > MAX_FACETS:
            raise InvalidInput(f"The query asks for {len(raw_facets)} facets; the limit is {MAX_FACETS} (maxFacets).\r\nParameter name: facets")
        facets = tuple(facet_param(definition, f) for f in raw_facets)
        highlight_fields = as_list(body.get("highlight"), "highlight") or []
        for h in highlight_fields:
            leaf = definition.leaf(h)
            if leaf is None or not leaf.field.searchable:
                raise InvalidInput(f"The field '{h}' cannot be highlighted because it is not searchable.\r\nParameter name: highlight")
        coverage = body.get("minimumCoverage")
        if coverage is not None and (isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not 0 <= coverage <= 100):
            raise InvalidInput("minimumCoverage must be a number between 0 and 100.\r\nParameter name: minimumCoverage")
        weights, scoring = scoring_for(definition, body)
        top_for_k = top
        vector_queries = vector_queries_param(definition, body.get("vectorQueries"), top_for_k, self.vectorize)
        vector_filter_mode = body.get("vectorFilterMode") or "preFilter"
        if vector_filter_mode not in ("preFilter", "postFilter"):
            raise InvalidInput(f"Invalid vectorFilterMode '{vector_filter_mode}'.\r\nParameter name: vectorFilterMode")
        if vector_queries and orderby:
            raise InvalidInput("$orderby is not supported together with vector queries; results are ranked by similarity.\r\nParameter name: $orderby")
        text_given = not isinstance(text, qa.MatchAll)
        query = SearchQuery(
            text=text,
            search_fields=tuple(search_fields) if search_fields else None,
            filter=filter_expr,
            orderby=tuple(orderby),
            skip=skip,
            top=top,
            count=count,
            facets=facets,
            highlight_fields=tuple(highlight_fields),
            highlight_pre_tag=body.get("highlightPreTag") or "<em>",
            highlight_post_tag=body.get("highlightPostTag") or "</em>",
            field_weights=weights,
            scoring=scoring,
            vector_queries=vector_queries,
            vector_filter_mode="preFilter" if vector_filter_mode == "preFilter" else "postFilter",
            text_given=text_given,
            need_vectors=any(f.retrievable and (select is None or f.name in select) for f in definition.vector_fields()),
            keys_only=select is not None and set(select) <= {definition.key_field.name},
            synonyms=self.synonym_maps.for_query(definition, search_fields),
        )
        deadline.check("The search")  # a bounded caller (an agent's search tool) gave up while the query was built
        results = self.engine.search(definition, query)
        response: dict[str, Any] = {}
        if count:
            response["@odata.count"] = results.count
        if coverage is not None:
            response["@search.coverage"] = 100.0
        if facets:
            response["@search.facets"] = results.facets or {}
        values = []
        for hit in results.hits:
            item: dict[str, Any] = {"@search.score": hit.score}
            if hit.highlights is not None and highlight_fields:
                item["@search.highlights"] = hit.highlights
            item.update(render_document(definition, hit.document, select))
            values.append(item)
        # Continuation: no top given and a full default page returned with more to come, or top above the maximum.
        more = False
        if top_given is None:
            more = len(values) == DEFAULT_PAGE and results.has_more
        elif top_given > MAX_TOP and len(values) == MAX_TOP:
            more = results.has_more
        if more:
            next_params = copy.deepcopy(body)
            next_params["skip"] = skip + len(values)
            if top_given is not None:
                next_params["top"] = top_given - len(values)
            if next_params["skip"] <= MAX_SKIP:
                response["@search.nextPageParameters"] = next_params
        response["value"] = values
        return response

    def vectorize(self, vectorizer: dict, text: str, dimensions: int) -> list[float]:
        from weft.search.vectorizers import embed

        deadline.check("The search")
        vector = embed(vectorizer, text, dimensions)
        if len(vector) != dimensions:
            raise InvalidInput(f"The vectorizer '{vectorizer.get('name')}' produced {len(vector)} dimensions; the field has {dimensions}.")
        return vector

    # ---- suggest / autocomplete ----------------------------------------------------------------------
    def _suggester(self, definition: IndexDefinition, name: Any) -> dict:
        for s in definition.suggesters():
            if s.get("name") == name:
                return s
        raise InvalidInput(f"The suggester '{name}' was not found in index '{definition.name}'.\r\nParameter name: suggesterName")

    def suggest(self, name: str, body: dict) -> dict:
        definition = self._definition(name)
        strict.check_request(body, "SuggestRequest")
        suggester = self._suggester(definition, body.get("suggesterName"))
        text = body.get("search")
        if not isinstance(text, str) or not 1 <= len(text) <= 100:
            raise InvalidInput("The search text of a suggest request must be 1 to 100 characters.\r\nParameter name: search")
        fields = as_list(body.get("searchFields"), "searchFields") or list(suggester["sourceFields"])
        for f in fields:  # as autocomplete: only the suggester's own fields (its prefix index)
            if f not in suggester["sourceFields"]:
                raise InvalidInput(f"The field '{f}' in searchFields is not a source field of the suggester; use some of "
                                   f"{', '.join(suggester['sourceFields'])}.\r\nParameter name: searchFields")
        top = int_param(body, "top", 1, 100) or 5
        words = text.split()
        clauses: list[qa.Node] = [qa.Term(w) for w in words[:-1]]
        last = words[-1] if words else text
        clauses.append(qa.Fuzzy(last.lower(), 1) if body.get("fuzzy") else qa.Prefix(last.lower()))
        node = qa.Boolean(must=tuple(clauses))
        query = SearchQuery(
            text=node, search_fields=tuple(fields), filter=filter_param(definition, body.get("filter")),
            orderby=tuple(orderby_param(definition, body.get("orderby"))), top=top,
        )
        results = self.engine.search(definition, query)
        select = self._select(definition, body.get("select"))
        key_name = definition.key_field.name
        pre, post = body.get("highlightPreTag"), body.get("highlightPostTag")
        terms = collect_terms(node)
        out = []
        for hit in results.hits:
            text_value = ""
            for f in fields:
                leaf = definition.leaf(f)
                value = hit.document.get(f) if "/" not in f else None
                chain = resolve_analyzer(definition, leaf.field.effective_search_analyzer)
                if isinstance(value, str) and highlight_field(f, [value], chain, terms, "", ""):
                    text_value = highlight_field(f, [value], chain, terms, pre or "", post or "")[0] if (pre or post) else value
                    break
            item = {"@search.text": text_value}
            rendered = render_document(definition, hit.document, select if select is not None else [key_name])
            item.update(rendered)
            out.append(item)
        response: dict[str, Any] = {"value": out}
        if body.get("minimumCoverage") is not None:
            response["@search.coverage"] = 100.0
        return response

    def autocomplete(self, name: str, body: dict) -> dict:
        """Azure's autocomplete modes, fuzzy, filter and highlighting: weft.search.autocomplete."""
        from weft.search import autocomplete

        definition = self._definition(name)
        strict.check_request(body, "AutocompleteRequest")
        return autocomplete.run(self, definition, body)

    def analyze(self, name: str, body: Any) -> dict:
        from weft.search.analysis.api import analyze_request

        return analyze_request(self._definition(name), body)


def _stored(definition: IndexDefinition) -> dict:
    rendered = definition.to_json()
    rendered.pop("@odata.etag", None)
    return rendered


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
