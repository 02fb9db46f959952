"""The status of every member Azure AI Search defines, in one table: each one is *effective* in weft or *refused*.

"Nothing accepted and ignored": an index member, a field property, a vector or semantic model property, or a
search / suggest / autocomplete parameter either has its effect in weft, or a request that uses it is refused
with a 400 naming it. A property the table does not know is refused too, in Azure's words for an unknown
property (see :func:`weft.search.strict.unknown_property`). :mod:`weft.search.strict` walks request bodies with
this table; ``tests/search/test_members_sdk.py`` walks the azure-search-documents models and fails on any SDK
property missing from it; ``docs/compatibility.md`` lists the refused members and why.

Reading a row:

* ``Member.status`` is ``EFFECTIVE`` or ``REFUSED``.
* ``note``: what the member does in weft (effective), or the reason given in the 400 (refused).
* ``shape``: the JSON type a value must have (``object``, ``array``, ``string``, ``boolean``, ``number``,
  ``integer``, ``strings`` = a comma-separated string or an array of strings, ``any``); a value of another type
  is a 400, never a 500. ``null`` always means "not given".
* ``model``: the table model of a nested object (or of each element of an array); a ``Polymorphic`` entry picks
  the model by a discriminator (``kind``, ``type``, ``@odata.type``).
* ``off``: values of a refused member that mean "off" (``"disabled"``, ``false``) and are accepted, since they
  ask for nothing weft lacks.
* ``refused_values``: values of an effective member that weft refuses (with the reason).
* ``owner``: work in progress on another branch (ranking, aliases, vectors) that makes the member effective.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from weft import encryption_keys as _encryption_keys
from weft.search.ranking import semantic as _semantic

EFFECTIVE = "effective"
REFUSED = "refused"

ENCRYPTION_KEY = _encryption_keys.MESSAGE
PERMISSION_FILTER = (
    "Document-level access control (the preview 'permissionFilter' field property, the index "
    "'permissionFilterOption' and the 'x-ms-query-source-authorization' header) is not implemented by weft; trim "
    "results with a security filter instead: a filterable string collection of user or group ids and "
    "$filter=ids/any(g: search.in(g, 'group1,group2'))."
)
PREVIEW = "is a preview feature that weft does not implement"


@dataclass(frozen=True)
class Member:
    status: str
    note: str
    shape: str = "any"
    model: str | None = None
    off: tuple[Any, ...] = ()
    refused_values: dict[Any, str] = field(default_factory=dict)
    owner: str | None = None

    @property
    def effective(self) -> bool:
        return self.status == EFFECTIVE


@dataclass(frozen=True)
class Polymorphic:
    """An object whose model is chosen by ``discriminator``; ``refused`` maps values weft does not implement to the
    reason. ``default`` is the model used when the discriminator is absent (None: the discriminator is required)."""

    discriminator: str
    models: dict[str, str]
    refused: dict[str, str] = field(default_factory=dict)
    default: str | None = None


def e(note: str, shape: str = "any", model: str | None = None, *, owner: str | None = None,
      refused_values: dict[Any, str] | None = None) -> Member:
    return Member(EFFECTIVE, note, shape, model, refused_values=refused_values or {}, owner=owner)


def r(note: str, shape: str = "any", *, off: tuple[Any, ...] = ()) -> Member:
    return Member(REFUSED, note, shape, off=off)


RANKING, ALIASES, VECTORS = "ranking", "aliases", "vectors"  # the branches making these members effective

_WEB_API = ("The vectorizer kind 'customWebApi' is not supported by weft: it calls azureOpenAI, openAICompatible "
            "(any OpenAI-compatible /embeddings endpoint) and local vectorizers.")
_AML = ("The vectorizer kind 'aml' (Azure Machine Learning / Foundry catalog) is not supported by weft: use "
        "openAICompatible with the model's OpenAI-compatible endpoint, azureOpenAI or local.")
_VISION = ("The vectorizer kind 'aiServicesVision' (multimodal embeddings) is not supported by weft: weft embeds text "
           "only (azureOpenAI, openAICompatible, local).")
_IMAGE_QUERY = "Image vector queries (kinds 'imageUrl' and 'imageBinary') are not supported: weft has no image vectorizer."
_MANAGED_IDENTITY = ("'authIdentity' (a managed identity for the vectorizer) is not supported: weft has no Azure "
                     "identity of its own; give the vectorizer an 'apiKey'.")

MODELS: dict[str, dict[str, Member]] = {
    # ---- index ---------------------------------------------------------------------------------------------------
    "SearchIndex": {
        "name": e("the index name (Azure's naming rules)", "string"),
        "description": e("stored and returned", "string"),
        "fields": e("the fields", "array", "SearchField"),
        "scoringProfiles": e("text weights and scoring functions applied to the BM25 score", "array", "ScoringProfile", owner=RANKING),
        "defaultScoringProfile": e("the profile a query without scoringProfile uses", "string", owner=RANKING),
        "corsOptions": e("CORS headers on the index's query routes", "object", "CorsOptions", owner=ALIASES),
        "suggesters": e("prefix structures for suggest and autocomplete", "array", "SearchSuggester"),
        "analyzers": e("custom analyzers (weft.search.analysis.custom: every kind and parameter checked)", "array"),
        "tokenizers": e("custom tokenizers (weft.search.analysis.custom)", "array"),
        "tokenFilters": e("custom token filters (weft.search.analysis.custom)", "array"),
        "charFilters": e("custom char filters (weft.search.analysis.custom)", "array"),
        "normalizers": e("custom normalizers (weft.search.analysis.custom)", "array"),
        "encryptionKey": r(ENCRYPTION_KEY, "object"),
        "similarity": e("BM25 k1 and b", "object", "Similarity", owner=RANKING),
        "semantic": e("semantic configurations for queryType=semantic", "object", "SemanticSearch"),
        "vectorSearch": e("vector profiles, algorithms, vectorizers and compressions", "object", "VectorSearch"),
        "@odata.etag": e("the definition's ETag (returned; preconditions use If-Match / If-None-Match)", "string"),
        "@odata.context": e("response annotation, accepted back on a round trip", "string"),
        # preview (2025-05-01-preview and later)
        "permissionFilterOption": r(PERMISSION_FILTER, "string", off=("disabled",)),
        "purviewEnabled": r("'purviewEnabled' (Microsoft Purview sensitivity labels) " + PREVIEW + ".", "boolean", off=(False,)),
    },
    "SearchField": {
        "name": e("the field name", "string"),
        "type": e("the EDM type (primitive, collection, complex, Collection(Edm.Single) vectors)", "string"),
        "key": e("the document key", "boolean"),
        "retrievable": e("returned in results", "boolean"),
        "hidden": e("the legacy inverse of 'retrievable' (api-version 2019-05-06 and earlier)", "boolean"),
        "stored": e("vector fields: stored=false keeps the vector only in the ANN index", "boolean", owner=VECTORS),
        "searchable": e("full-text searchable (vector fields: vector-searchable)", "boolean"),
        "filterable": e("usable in $filter", "boolean"),
        "sortable": e("usable in $orderby", "boolean"),
        "facetable": e("usable in facets", "boolean"),
        "analyzer": e("the analyzer for indexing and search", "string"),
        "searchAnalyzer": e("the analyzer at query time", "string"),
        "indexAnalyzer": e("the analyzer at indexing time", "string"),
        "normalizer": e("the normalizer for filters, sorting and facets", "string"),
        "dimensions": e("the vector length", "integer"),
        "vectorSearchProfile": e("the vector search profile", "string"),
        "vectorEncoding": e("packedBit vectors (Collection(Edm.Byte))", "string", owner=VECTORS),
        "synonymMaps": e("the synonym map expanding query terms", "array"),
        "fields": e("the sub-fields of a complex field", "array", "SearchField"),
        # preview
        "permissionFilter": r(PERMISSION_FILTER, "string"),
        "sensitivityLabel": r("'sensitivityLabel' (Microsoft Purview sensitivity labels) " + PREVIEW + ".", "boolean", off=(False,)),
    },
    # ---- scoring profiles ----------------------------------------------------------------------------------------
    "ScoringProfile": {
        "name": e("the profile name", "string", owner=RANKING),
        "text": e("per-field weights", "object", "TextWeights", owner=RANKING),
        "functions": e("scoring functions", "array", "ScoringFunctions", owner=RANKING),
        "functionAggregation": e("how function boosts combine", "string", owner=RANKING),
    },
    "TextWeights": {"weights": e("field -> weight multiplying that field's BM25 score", "object", owner=RANKING)},
    "ScoringFunction": {
        "fieldName": e("the field the function reads", "string", owner=RANKING),
        "boost": e("the largest multiplier", "number", owner=RANKING),
        "interpolation": e("linear, constant, quadratic or logarithmic", "string", owner=RANKING),
        "type": e("freshness, magnitude, distance or tag", "string", owner=RANKING),
    },
    "FreshnessScoringParameters": {"boostingDuration": e("the period boosted, an ISO 8601 duration", "string", owner=RANKING)},
    "MagnitudeScoringParameters": {
        "boostingRangeStart": e("start of the boosted range", "number", owner=RANKING),
        "boostingRangeEnd": e("end of the boosted range", "number", owner=RANKING),
        "constantBoostBeyondRange": e("keep the full boost past the range's end", "boolean", owner=RANKING),
    },
    "DistanceScoringParameters": {
        "referencePointParameter": e("the scoring parameter giving the reference point", "string", owner=RANKING),
        "boostingDistance": e("the distance in km over which the boost falls", "number", owner=RANKING),
    },
    "TagScoringParameters": {"tagsParameter": e("the scoring parameter listing the tags", "string", owner=RANKING)},
    "CorsOptions": {
        "allowedOrigins": e("origins allowed (or '*')", "array", owner=ALIASES),
        "maxAgeInSeconds": e("Access-Control-Max-Age", "integer", owner=ALIASES),
    },
    "SearchSuggester": {
        "name": e("the suggester name", "string"),
        "searchMode": e("analyzingInfixMatching (the only mode)", "string"),
        "sourceFields": e("the fields suggestions come from", "array"),
    },
    "SimilarityAlgorithm": {"@odata.type": e("the similarity kind", "string")},
    "BM25SimilarityAlgorithm": {
        "@odata.type": e("#Microsoft.Azure.Search.BM25Similarity", "string"),
        "k1": e("BM25 term-frequency saturation", "number", owner=RANKING),
        "b": e("BM25 length normalization", "number", owner=RANKING),
    },
    "ClassicSimilarityAlgorithm": {
        "@odata.type": r("'#Microsoft.Azure.Search.ClassicSimilarity' (TF-IDF) is not implemented: weft scores with BM25.", "string"),
    },
    # ---- encryption keys (refused wherever they appear) ------------------------------------------------------------
    "SearchResourceEncryptionKey": {
        "keyVaultKeyName": r(ENCRYPTION_KEY), "keyVaultKeyVersion": r(ENCRYPTION_KEY), "keyVaultUri": r(ENCRYPTION_KEY),
        "accessCredentials": r(ENCRYPTION_KEY), "identity": r(ENCRYPTION_KEY),
    },
    "AzureActiveDirectoryApplicationCredentials": {"applicationId": r(ENCRYPTION_KEY), "applicationSecret": r(ENCRYPTION_KEY)},
    # ---- semantic -------------------------------------------------------------------------------------------------
    "SemanticSearch": {
        "defaultConfiguration": e("the configuration a semantic query uses by default", "string"),
        "configurations": e("semantic configurations", "array", "SemanticConfiguration"),
    },
    "SemanticConfiguration": {
        "name": e("the configuration name", "string"),
        "prioritizedFields": e("the fields the reranker reads", "object", "SemanticPrioritizedFields"),
        "rankingOrder": e("BoostedRerankerScore or RerankerScore", "string"),
        "flightingOptIn": r("'flightingOptIn' (preview model flighting) " + PREVIEW + ".", "boolean", off=(False,)),
    },
    "SemanticPrioritizedFields": {
        "titleField": e("the title field", "object", "SemanticField"),
        "prioritizedContentFields": e("content fields, in order", "array", "SemanticField"),
        "prioritizedKeywordsFields": e("keyword fields, in order", "array", "SemanticField"),
    },
    "SemanticField": {"fieldName": e("a field name", "string")},
    # ---- vector search --------------------------------------------------------------------------------------------
    "VectorSearch": {
        "profiles": e("vector search profiles", "array", "VectorSearchProfile"),
        "algorithms": e("HNSW and exhaustive KNN configurations", "array", "Algorithms"),
        "vectorizers": e("vectorizers for text vector queries", "array", "Vectorizers"),
        "compressions": e("scalar and binary quantization", "array", "Compressions", owner=VECTORS),
    },
    "VectorSearchProfile": {
        "name": e("the profile name", "string"),
        "algorithm": e("the algorithm configuration", "string"),
        "vectorizer": e("the vectorizer for text queries", "string"),
        "compression": e("the compression", "string", owner=VECTORS),
    },
    "VectorSearchAlgorithmConfiguration": {"name": e("the configuration name", "string"), "kind": e("hnsw or exhaustiveKnn", "string")},
    "HnswAlgorithmConfiguration": {
        "name": e("the configuration name", "string"), "kind": e("hnsw", "string"),
        "hnswParameters": e("HNSW parameters", "object", "HnswParameters"),
    },
    "HnswParameters": {
        "m": e("links per node (usearch connectivity m, at least 8)", "integer"),
        "efConstruction": e("build-time candidate list (usearch expansion_add)", "integer"),
        "efSearch": e("query-time candidate list (usearch expansion_search)", "integer"),
        "metric": e("cosine, dotProduct or euclidean", "string"),
    },
    "ExhaustiveKnnAlgorithmConfiguration": {
        "name": e("the configuration name", "string"), "kind": e("exhaustiveKnn", "string"),
        "exhaustiveKnnParameters": e("exhaustive KNN parameters", "object", "ExhaustiveKnnParameters"),
    },
    "ExhaustiveKnnParameters": {"metric": e("cosine, dotProduct or euclidean", "string")},
    "VectorSearchCompression": {
        "name": e("the compression name", "string", owner=VECTORS), "kind": e("scalarQuantization or binaryQuantization", "string", owner=VECTORS),
        "rescoringOptions": e("rescoring with full-precision vectors", "object", "RescoringOptions", owner=VECTORS),
        "truncationDimension": e("MRL truncation before quantization", "integer", owner=VECTORS),
        # 2024-07-01 spellings, replaced by rescoringOptions
        "rerankWithOriginalVectors": e("2024-07-01 form of rescoringOptions.enableRescoring", "boolean", owner=VECTORS),
        "defaultOversampling": e("2024-07-01 form of rescoringOptions.defaultOversampling", "number", owner=VECTORS),
    },
    "RescoringOptions": {
        "enableRescoring": e("rescore the quantized candidates", "boolean", owner=VECTORS),
        "defaultOversampling": e("candidates = k x oversampling", "number", owner=VECTORS),
        "rescoreStorageMethod": e("preserveOriginals or discardOriginals", "string", owner=VECTORS),
    },
    "ScalarQuantizationParameters": {"quantizedDataType": e("int8", "string", owner=VECTORS)},
    "VectorSearchVectorizer": {"name": e("the vectorizer name", "string"), "kind": e("the vectorizer kind", "string")},
    "AzureOpenAIVectorizer": {
        "name": e("the vectorizer name", "string"), "kind": e("azureOpenAI", "string"),
        "azureOpenAIParameters": e("the Azure OpenAI deployment", "object", "AzureOpenAIVectorizerParameters"),
    },
    "AzureOpenAIVectorizerParameters": {
        "resourceUri": e("the Azure OpenAI resource (checked against WEFT_ALLOWED_MODEL_ENDPOINTS)", "string"),
        "deploymentId": e("the embedding deployment called", "string"),
        "apiKey": e("the key sent as api-key (sealed at rest, returned as null)", "string"),
        "modelName": e("text-embedding-ada-002, -3-small or -3-large: the field's dimensions are checked against the "
                       "model, and text-embedding-3 requests carry 'dimensions' for narrower fields", "string"),
        "authIdentity": r(_MANAGED_IDENTITY, "object"),
        "resourceUrl": e("older preview spelling of resourceUri", "string"),
        "deploymentName": e("older spelling of deploymentId", "string"),
    },
    "OpenAICompatibleVectorizer": {  # weft's own kind
        "name": e("the vectorizer name", "string"), "kind": e("openAICompatible (weft's)", "string"),
        "openAICompatibleParameters": e("an OpenAI-compatible /embeddings endpoint", "object", "OpenAICompatibleParameters"),
    },
    "OpenAICompatibleParameters": {
        "baseUrl": e("the endpoint base URL (checked against WEFT_ALLOWED_MODEL_ENDPOINTS)", "string"),
        "apiKey": e("the Bearer key (sealed at rest, returned as null)", "string"),
        "model": e("the model name sent", "string"),
    },
    "LocalVectorizer": {  # weft's own kind
        "name": e("the vectorizer name", "string"), "kind": e("local (weft's in-process model)", "string"),
        "localParameters": e("the local model", "object", "LocalParameters"),
    },
    "LocalParameters": {"model": e("the in-process embedding model", "string")},
    "WebApiVectorizer": {"name": r(_WEB_API), "kind": r(_WEB_API), "customWebApiParameters": r(_WEB_API)},
    "WebApiVectorizerParameters": {k: r(_WEB_API) for k in ("uri", "httpHeaders", "httpMethod", "timeout", "authResourceId", "authIdentity")},
    "AzureMachineLearningVectorizer": {"name": r(_AML), "kind": r(_AML), "amlParameters": r(_AML)},
    "AzureMachineLearningParameters": {k: r(_AML) for k in ("uri", "key", "resourceId", "timeout", "region", "modelName")},
    "AIServicesVisionVectorizer": {"name": r(_VISION), "kind": r(_VISION), "aiServicesVisionParameters": r(_VISION)},
    # ---- query requests -------------------------------------------------------------------------------------------
    "SearchRequest": {
        "search": e("the query text", "string"),
        "queryType": e("simple, full (Lucene) or semantic", "string"),
        "searchMode": e("any or all", "string"),
        "searchFields": e("the fields searched", "strings"),
        "filter": e("the OData $filter", "string"),
        "orderby": e("the OData $orderby", "strings"),
        "select": e("the fields returned", "strings"),
        "top": e("page size", "any"),
        "skip": e("results skipped", "any"),
        "count": e("@odata.count", "boolean"),
        "facets": e("facet expressions", "array"),
        "highlight": e("fields highlighted", "strings"),
        "highlightPreTag": e("highlight opening tag", "string"),
        "highlightPostTag": e("highlight closing tag", "string"),
        "minimumCoverage": e("@search.coverage (always 100: one replica holds every document)", "number"),
        "scoringProfile": e("the scoring profile applied", "string", owner=RANKING),
        "scoringParameters": e("values for the profile's functions ('name-value,value')", "array", owner=RANKING),
        "scoringStatistics": e("local or global (the same in weft: one shard)", "string", owner=RANKING),
        "sessionId": e("session stickiness: every query sees the same single replica (must not start with '_')", "string"),
        "vectorQueries": e("vector queries, fused with the text query by RRF", "array", "VectorQueries"),
        "vectorFilterMode": e("preFilter or postFilter", "string", refused_values={
            "strictPostFilter": "vectorFilterMode 'strictPostFilter' " + PREVIEW + "; use preFilter or postFilter."}),
        "semanticConfiguration": e("the semantic configuration", "string"),
        "semanticQuery": e("the text the reranker scores against", "string"),
        "semanticErrorHandling": e("partial or fail", "string"),
        "semanticMaxWaitInMilliseconds": e("the reranker's time budget", "any"),
        "answers": e("extractive answers", "string"),
        "captions": e("extractive captions", "string"),
        "debug": r("The parameter 'debug' is not supported by this service: weft returns no debug information (only 'disabled').",
                   "string", off=("disabled",)),
    },
    "VectorQuery": {
        "kind": e("vector or text", "string", refused_values={"imageUrl": _IMAGE_QUERY, "imageBinary": _IMAGE_QUERY}),
        "k": e("nearest neighbours returned", "integer"),
        "kNearestNeighbors": e("older spelling of k", "integer"),
        "fields": e("the vector fields searched", "strings"),
        "exhaustive": e("exact search instead of HNSW", "boolean"),
        "oversampling": e("candidates = k x oversampling before rescoring", "number", owner=VECTORS),
        "weight": e("the query's weight in RRF", "number"),
        # preview (2024-11-01-preview and later; not in 2026-04-01)
        "threshold": r("'threshold' on a vector query " + PREVIEW + ".", "object"),
        "filterOverride": r("'filterOverride' on a vector query " + PREVIEW + "; use the top-level filter.", "string"),
        "perDocumentVectorLimit": r("'perDocumentVectorLimit' on a vector query " + PREVIEW + ".", "integer", off=(0,)),
    },
    "VectorizedQuery": {"vector": e("the query vector", "array")},
    "VectorizableTextQuery": {
        "text": e("text embedded by the field's vectorizer", "string"),
        "queryRewrites": r("'queryRewrites' on a vector query (generative query rewriting) " + PREVIEW + ".", "string", off=("none",)),
    },
    "VectorizableImageUrlQuery": {"url": r(_IMAGE_QUERY, "string")},
    "VectorizableImageBinaryQuery": {"base64Image": r(_IMAGE_QUERY, "string")},
    "SuggestRequest": {
        "search": e("the partial query (1-100 characters)", "string"),
        "suggesterName": e("the suggester", "string"),
        "filter": e("the OData $filter", "string"),
        "fuzzy": e("fuzzy matching of the last term", "boolean"),
        "highlightPreTag": e("highlight opening tag", "string"),
        "highlightPostTag": e("highlight closing tag", "string"),
        "minimumCoverage": e("@search.coverage (always 100)", "number"),
        "orderby": e("the OData $orderby", "strings"),
        "searchFields": e("the suggester fields searched", "strings"),
        "select": e("the fields returned", "strings"),
        "top": e("suggestions returned (1-100)", "any"),
    },
    "AutocompleteRequest": {
        "search": e("the partial query", "string"),
        "suggesterName": e("the suggester", "string"),
        "autocompleteMode": e("oneTerm, twoTerms or oneTermWithContext", "string", owner=ALIASES),
        "filter": e("the OData $filter", "string", owner=ALIASES),
        "fuzzy": e("fuzzy matching", "boolean", owner=ALIASES),
        "highlightPreTag": e("highlight opening tag", "string", owner=ALIASES),
        "highlightPostTag": e("highlight closing tag", "string", owner=ALIASES),
        "minimumCoverage": e("@search.coverage (always 100)", "number", owner=ALIASES),
        "searchFields": e("the suggester fields used", "strings", owner=ALIASES),
        "top": e("terms returned (1-100)", "any", owner=ALIASES),
    },
}

# Derived models: a subclass's members are its base's plus its own.
_INHERITS = {
    "FreshnessScoringFunction": ("ScoringFunction", {"freshness": e("freshness parameters", "object", "FreshnessScoringParameters", owner=RANKING)}),
    "MagnitudeScoringFunction": ("ScoringFunction", {"magnitude": e("magnitude parameters", "object", "MagnitudeScoringParameters", owner=RANKING)}),
    "DistanceScoringFunction": ("ScoringFunction", {"distance": e("distance parameters", "object", "DistanceScoringParameters", owner=RANKING)}),
    "TagScoringFunction": ("ScoringFunction", {"tag": e("tag parameters", "object", "TagScoringParameters", owner=RANKING)}),
    "ScalarQuantizationCompression": ("VectorSearchCompression", {
        "scalarQuantizationParameters": e("scalar quantization parameters", "object", "ScalarQuantizationParameters", owner=VECTORS)}),
    "BinaryQuantizationCompression": ("VectorSearchCompression", {}),
}
# Preview parameters the 2026-04-01 GA API removed, or that weft does not implement (the reasons live with the
# semantic ranking code, which refuses them too).
for _param, _what in _semantic.REFUSED_PARAMS.items():
    MODELS["SearchRequest"][_param] = r(
        f"The parameter '{_param}' is not supported by this service: weft does not implement {_what}.", off=("none", "None", False))
for _name, (_base, _own) in _INHERITS.items():
    MODELS[_name] = {**MODELS[_base], **_own}
for _name in ("VectorizedQuery", "VectorizableTextQuery", "VectorizableImageUrlQuery", "VectorizableImageBinaryQuery"):
    MODELS[_name] = {**MODELS["VectorQuery"], **MODELS[_name]}

POLYMORPHIC: dict[str, Polymorphic] = {
    "ScoringFunctions": Polymorphic("type", {
        "freshness": "FreshnessScoringFunction", "magnitude": "MagnitudeScoringFunction",
        "distance": "DistanceScoringFunction", "tag": "TagScoringFunction"}),
    "Similarity": Polymorphic("@odata.type", {
        "#Microsoft.Azure.Search.BM25Similarity": "BM25SimilarityAlgorithm",
        "#Microsoft.Azure.Search.ClassicSimilarity": "ClassicSimilarityAlgorithm"}),
    "Algorithms": Polymorphic("kind", {"hnsw": "HnswAlgorithmConfiguration", "exhaustiveKnn": "ExhaustiveKnnAlgorithmConfiguration"}),
    "Compressions": Polymorphic("kind", {
        "scalarQuantization": "ScalarQuantizationCompression", "binaryQuantization": "BinaryQuantizationCompression"}),
    "Vectorizers": Polymorphic("kind", {
        "azureOpenAI": "AzureOpenAIVectorizer", "openAICompatible": "OpenAICompatibleVectorizer", "local": "LocalVectorizer"},
        refused={"customWebApi": _WEB_API, "aml": _AML, "aiServicesVision": _VISION}),
    "VectorQueries": Polymorphic("kind", {"vector": "VectorizedQuery", "text": "VectorizableTextQuery"},
                                 refused={"imageUrl": _IMAGE_QUERY, "imageBinary": _IMAGE_QUERY}),
}

# Request headers Azure defines for queries that weft does not implement (refused, never dropped).
REFUSED_HEADERS: dict[str, str] = {
    "x-ms-query-source-authorization": PERMISSION_FILTER,
    "x-ms-enable-elevated-read": "The 'x-ms-enable-elevated-read' header (reading past document-level permissions) " + PREVIEW + ".",
}

# Data sources, indexers, knowledge sources and bases: their own module, one table.
from weft.search import members_resources as _resources  # noqa: E402

MODELS.update(_resources.MODELS)
POLYMORPHIC.update(_resources.POLYMORPHIC)


def members(model: str) -> dict[str, Member]:
    return MODELS[model]


def rows() -> list[tuple[str, str, Member]]:
    """(model, member, Member) for every row, in table order (for docs and tests)."""
    return [(model, name, member) for model, table in MODELS.items() for name, member in table.items()]
