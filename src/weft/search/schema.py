"""Index definitions: fields, types, attributes, and Azure's validation rules.

An :class:`IndexDefinition` is parsed from the JSON a client sends (``POST /indexes``)
and rendered back in Azure's shape with every attribute filled in, as Azure returns it.
Validation messages follow Azure's wording where it is known.
"""
from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from weft.search.schema_analysis import _check_field_analysis, validate_analysis
from weft.errors import InvalidInput
from weft.search.cors_options import check_cors_options
from weft.search.ranking.semantic_config import parse_semantic
from weft.search.ranking.scoring_profiles import parse_profiles
from weft.search.ranking.similarity import check_similarity
from weft.search.vectorizers import LOCAL_MODELS, local_model_name
from weft.search import vectorizer_models
from weft.search import vector_options

PRIMITIVE_TYPES = (
    "Edm.String",
    "Edm.Int32",
    "Edm.Int64",
    "Edm.Double",
    "Edm.Boolean",
    "Edm.DateTimeOffset",
    "Edm.GeographyPoint",
)
COMPLEX_TYPE = "Edm.ComplexType"
DEFAULT_ANALYZER = "standard.lucene"

INDEX_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|[-_](?![-_]))*$")
FIELD_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_FIELDS = 1000

# Index-level members Azure returns. Each is effective or refused (weft.search.members; checked by weft.search.strict).
_INDEX_MEMBERS = (
    "description",
    "defaultScoringProfile",
    "scoringProfiles",
    "corsOptions",
    "suggesters",
    "analyzers",
    "tokenizers",
    "tokenFilters",
    "charFilters",
    "normalizers",
    "encryptionKey",
    "similarity",
    "semantic",
    "vectorSearch",
)
_LIST_MEMBERS = ("scoringProfiles", "suggesters", "analyzers", "tokenizers", "tokenFilters", "charFilters", "normalizers")
_FIELD_ATTRIBUTES = ("key", "retrievable", "stored", "searchable", "filterable", "sortable", "facetable")


def element_type(type_name: str) -> str:
    """``Collection(Edm.String)`` -> ``Edm.String``; other types unchanged."""
    if type_name.startswith("Collection(") and type_name.endswith(")"):
        return type_name[len("Collection(") : -1]
    return type_name


def is_collection(type_name: str) -> bool:
    return type_name.startswith("Collection(")


@dataclass
class Field:
    name: str
    type: str
    key: bool = False
    retrievable: bool = True
    searchable: bool = False
    filterable: bool = False
    sortable: bool = False
    facetable: bool = False
    analyzer: str | None = None
    search_analyzer: str | None = None
    index_analyzer: str | None = None
    fields: list["Field"] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # normalizer, synonymMaps, vector properties

    @functools.cached_property
    def element_type(self) -> str:
        return element_type(self.type)

    @functools.cached_property
    def is_collection(self) -> bool:
        return is_collection(self.type)

    @functools.cached_property
    def is_complex(self) -> bool:
        return self.element_type == COMPLEX_TYPE

    @functools.cached_property
    def is_vector(self) -> bool:
        return self.type in vector_options.VECTOR_TYPES

    @property
    def dimensions(self) -> int | None:
        return self.extra.get("dimensions")

    @property
    def effective_analyzer(self) -> str:
        return self.analyzer or self.index_analyzer or DEFAULT_ANALYZER

    @property
    def effective_search_analyzer(self) -> str:
        return self.analyzer or self.search_analyzer or DEFAULT_ANALYZER

    def to_json(self) -> dict[str, Any]:
        if self.is_complex:
            return {"name": self.name, "type": self.type, "fields": [f.to_json() for f in self.fields]}
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "searchable": self.searchable,
            "filterable": self.filterable,
            "retrievable": self.retrievable,
            "stored": self.extra.get("stored", True),
            "sortable": self.sortable,
            "facetable": self.facetable,
            "key": self.key,
            "indexAnalyzer": self.index_analyzer,
            "searchAnalyzer": self.search_analyzer,
            "analyzer": self.analyzer,
            "normalizer": self.extra.get("normalizer"),
            "dimensions": self.extra.get("dimensions"),
            "vectorSearchProfile": self.extra.get("vectorSearchProfile"),
            "vectorEncoding": self.extra.get("vectorEncoding"),
            "synonymMaps": self.extra.get("synonymMaps") or [],
        }
        return out


@dataclass(frozen=True)
class LeafField:
    """A primitive field reached by a path through complex fields (``address/city``)."""

    path: str  # "address/city"
    field: Field
    in_collection: bool  # the value may be several (a collection itself, or inside a complex collection)
    complex_collection: str | None  # path of the nearest enclosing complex collection, if any

    @property
    def type(self) -> str:
        return self.field.element_type


@dataclass
class IndexDefinition:
    name: str
    fields: list[Field]
    members: dict[str, Any] = field(default_factory=dict)
    etag: str | None = None
    # weft's own indexes only (never settable through the API): top-level fields that are indexed (searchable,
    # filterable) but left out of the stored document, so their text is not kept in the index files
    index_only: tuple[str, ...] = ()
    # weft's own indexes only: the tenant whose data key seals the index-only fields (and vectors) of the documents
    # of record in cluster mode (weft.cluster.sealing); None: nothing sealed
    sealed_for: str | None = None

    # ---- navigation -------------------------------------------------------------
    @property
    def key_field(self) -> Field:
        return next(f for f in self.fields if f.key)

    def top_level_field(self, name: str) -> Field | None:
        by_name = self.__dict__.get("_by_name")
        if by_name is None:
            by_name = self.__dict__["_by_name"] = {f.name: f for f in self.fields}
        return by_name.get(name)

    def leaves(self) -> Iterator[LeafField]:
        return iter(self.leaf_map().values())

    def leaf_map(self) -> dict[str, LeafField]:
        """Every primitive field by path, in definition order. Computed once per definition (a changed definition is
        a new object, as for ``top_level_field``): every search walked the fields several times. Do not modify."""
        by_path = self.__dict__.get("_leaf_map")
        if by_path is None:
            def walk(fields: list[Field], prefix: str, in_coll: bool, cc: str | None) -> Iterator[LeafField]:
                for f in fields:
                    path = f"{prefix}{f.name}"
                    if f.is_complex:
                        yield from walk(f.fields, path + "/", in_coll or f.is_collection, path if f.is_collection else cc)
                    else:
                        yield LeafField(path, f, in_coll or f.is_collection, cc)

            by_path = self.__dict__["_leaf_map"] = {leaf.path: leaf for leaf in walk(self.fields, "", False, None)}
        return by_path

    def leaf(self, path: str) -> LeafField | None:
        return self.leaf_map().get(path)

    def field_at(self, path: str) -> Field | None:
        """Any field (complex or primitive) by slash path."""
        fields = self.fields
        found: Field | None = None
        for part in path.split("/"):
            found = next((f for f in fields if f.name == part), None)
            if found is None:
                return None
            fields = found.fields
        return found

    def searchable_leaves(self) -> list[LeafField]:
        cached = self.__dict__.get("_searchable_leaves")
        if cached is None:
            cached = self.__dict__["_searchable_leaves"] = tuple(
                leaf for leaf in self.leaves() if leaf.field.searchable and not leaf.field.is_vector)
        return list(cached)

    def vector_fields(self) -> list[Field]:
        return [f for f in self.fields if f.is_vector]

    def vector_settings(self, field_name: str) -> dict[str, Any]:
        """Algorithm kind, metric, parameters and vectorizer of a vector field, from its profile."""
        f = self.field_at(field_name)
        assert f is not None and f.is_vector
        config = self.members.get("vectorSearch") or {}
        profile = next(p for p in config.get("profiles") or [] if p["name"] == f.extra["vectorSearchProfile"])
        algorithm = next(a for a in config.get("algorithms") or [] if a["name"] == profile["algorithm"])
        kind = algorithm["kind"]
        params = dict(algorithm.get("hnswParameters" if kind == "hnsw" else "exhaustiveKnnParameters") or {})
        vectorizer = None
        if profile.get("vectorizer"):
            vectorizer = next(v for v in config.get("vectorizers") or [] if v["name"] == profile["vectorizer"])
        return {
            "kind": kind,
            "metric": params.get("metric") or "cosine",
            "m": params.get("m") or 4,
            "efConstruction": params.get("efConstruction") or 400,
            "efSearch": params.get("efSearch") or 500,
            "vectorizer": vectorizer,
            "dimensions": f.dimensions,
            "storage": vector_options.storage_of(f, profile, config),
        }

    def suggesters(self) -> list[dict[str, Any]]:
        return self.members.get("suggesters") or []

    # ---- JSON ---------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.etag:
            out["@odata.etag"] = self.etag
        out["name"] = self.name
        out["description"] = self.members.get("description")
        out["defaultScoringProfile"] = self.members.get("defaultScoringProfile")
        out["fields"] = [f.to_json() for f in self.fields]
        for member in _INDEX_MEMBERS:
            if member in ("description", "defaultScoringProfile"):
                continue
            value = self.members.get(member)
            if value is None and member in _LIST_MEMBERS:
                value = []
            if member == "similarity" and value is None:
                value = {"@odata.type": "#Microsoft.Azure.Search.BM25Similarity", "k1": None, "b": None}
            out[member] = copy.deepcopy(value)
        return out


# ---- parsing & validation -------------------------------------------------------------


def _bool(value: Any, name: str, attribute: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    raise InvalidInput(f"The value of attribute '{attribute}' of field '{name}' must be a boolean.")


def _parse_field(raw: Any, *, top_level: bool, path: str) -> Field:
    if not isinstance(raw, dict):
        raise InvalidInput("Each field definition must be a JSON object.")
    name = raw.get("name")
    if not isinstance(name, str) or not FIELD_NAME_RE.fullmatch(name) or len(name) > 128:
        raise InvalidInput(
            f"Invalid field name '{name}'. Field names must start with a letter and contain only letters, digits and underscores (at most 128 characters)."
        )
    if name.lower().startswith("azuresearch"):
        raise InvalidInput(f"Invalid field name '{name}'. Field names cannot start with 'azureSearch'.")
    full = f"{path}{name}"
    type_name = raw.get("type")
    if not isinstance(type_name, str):
        raise InvalidInput(f"The field '{full}' must have a type.")
    elem = element_type(type_name)
    if elem in vector_options.ELEMENT_DTYPES:
        return _parse_vector_field(raw, name, full, type_name, top_level)
    if elem not in PRIMITIVE_TYPES and elem != COMPLEX_TYPE:
        raise InvalidInput(f"The field '{full}' has an invalid type '{type_name}'.")
    if is_collection(type_name) and is_collection(elem):
        raise InvalidInput(f"The field '{full}' has an invalid type '{type_name}'.")

    if elem == COMPLEX_TYPE:
        for attribute in _FIELD_ATTRIBUTES + ("analyzer", "searchAnalyzer", "indexAnalyzer"):
            value = raw.get(attribute)
            if value in (None, False) or (attribute == "retrievable" and value is True):
                continue
            raise InvalidInput(
                f"The field '{full}' is of type '{type_name}' and cannot have the attribute '{attribute}' set; set it on its sub-fields."
            )
        subfields_raw = raw.get("fields")
        if not isinstance(subfields_raw, list) or not subfields_raw:
            raise InvalidInput(f"The complex field '{full}' must have at least one sub-field.")
        subfields = [_parse_field(s, top_level=False, path=full + "/") for s in subfields_raw]
        _check_unique([s.name for s in subfields], f"complex field '{full}'")
        return Field(name=name, type=type_name, retrievable=True, fields=subfields)

    if raw.get("fields"):
        raise InvalidInput(f"The field '{full}' of type '{type_name}' cannot have sub-fields.")
    collection = is_collection(type_name)
    vector_options.check_stored_attribute(raw, full)
    key = bool(_bool(raw.get("key"), full, "key"))
    hidden = _bool(raw.get("hidden"), full, "hidden")
    retrievable = _bool(raw.get("retrievable"), full, "retrievable")
    if retrievable is None:
        retrievable = not hidden if hidden is not None else True
    searchable = _bool(raw.get("searchable"), full, "searchable")
    filterable = _bool(raw.get("filterable"), full, "filterable")
    sortable = _bool(raw.get("sortable"), full, "sortable")
    facetable = _bool(raw.get("facetable"), full, "facetable")
    # Azure's REST defaults: every applicable attribute is on unless turned off.
    is_string = elem == "Edm.String"
    if searchable is None:
        searchable = is_string
    if filterable is None:
        filterable = True
    if sortable is None:
        sortable = not collection
    if facetable is None:
        facetable = elem != "Edm.GeographyPoint"

    if searchable and not is_string:
        raise InvalidInput(f"The field '{full}' of type '{type_name}' cannot be searchable. Only fields of type Edm.String or Collection(Edm.String) can be searchable.")
    if sortable and collection:
        raise InvalidInput(f"The field '{full}' of type '{type_name}' cannot be sortable. Collection fields cannot be sortable.")
    if facetable and elem == "Edm.GeographyPoint":
        raise InvalidInput(f"The field '{full}' of type '{type_name}' cannot be facetable.")
    analyzer = raw.get("analyzer")
    search_analyzer = raw.get("searchAnalyzer")
    index_analyzer = raw.get("indexAnalyzer")
    for attribute, value in (("analyzer", analyzer), ("searchAnalyzer", search_analyzer), ("indexAnalyzer", index_analyzer)):
        if value is None:
            continue
        if not searchable:
            raise InvalidInput(f"The field '{full}' is not searchable and cannot have an {attribute}.")
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"The '{attribute}' of field '{full}' must be an analyzer name.")
    if analyzer is not None and (search_analyzer is not None or index_analyzer is not None):
        raise InvalidInput(f"The field '{full}' cannot set 'analyzer' together with 'searchAnalyzer' or 'indexAnalyzer'.")
    if (search_analyzer is None) != (index_analyzer is None):
        raise InvalidInput(f"The field '{full}' must set both 'searchAnalyzer' and 'indexAnalyzer', or neither.")
    if key:
        if not top_level:
            raise InvalidInput(f"The field '{full}' cannot be a key field: sub-fields of complex fields cannot be keys.")
        if type_name != "Edm.String":
            raise InvalidInput(f"The key field '{full}' must be of type Edm.String.")
        if not retrievable:
            raise InvalidInput(f"The key field '{full}' must be retrievable.")
    extra = {k: raw.get(k) for k in ("normalizer", "synonymMaps") if raw.get(k) is not None}
    _check_field_analysis(raw, full, type_name, searchable, filterable, sortable, facetable)
    return Field(
        name=name,
        type=type_name,
        key=key,
        retrievable=retrievable,
        searchable=searchable,
        filterable=filterable,
        sortable=sortable,
        facetable=facetable,
        analyzer=analyzer,
        search_analyzer=search_analyzer,
        index_analyzer=index_analyzer,
        extra=extra,
    )


MAX_VECTOR_DIMENSIONS = 4096


def _parse_vector_field(raw: dict, name: str, full: str, type_name: str, top_level: bool) -> Field:
    if type_name not in vector_options.VECTOR_TYPES:
        raise InvalidInput(f"The field '{full}' has type '{type_name}'; vector fields are collections ({', '.join(sorted(vector_options.VECTOR_TYPES))}).")
    if not top_level:
        raise InvalidInput(f"The vector field '{full}' must be a top-level field.")
    dims = raw.get("dimensions")
    if isinstance(dims, bool) or not isinstance(dims, int) or not 2 <= dims <= MAX_VECTOR_DIMENSIONS:
        raise InvalidInput(f"The vector field '{full}' needs 'dimensions' between 2 and {MAX_VECTOR_DIMENSIONS}.")
    profile = raw.get("vectorSearchProfile")
    if not isinstance(profile, str) or not profile:
        raise InvalidInput(f"The vector field '{full}' needs a 'vectorSearchProfile'.")
    if raw.get("searchable") is False:
        raise InvalidInput(f"The vector field '{full}' must be searchable.")
    for attribute in ("filterable", "sortable", "facetable", "key"):
        if raw.get(attribute):
            raise InvalidInput(f"The vector field '{full}' cannot be {attribute}.")
    for attribute in ("analyzer", "searchAnalyzer", "indexAnalyzer"):
        if raw.get(attribute):
            raise InvalidInput(f"The vector field '{full}' cannot have an {attribute}.")
    hidden = _bool(raw.get("hidden"), full, "hidden")
    retrievable = _bool(raw.get("retrievable"), full, "retrievable")
    if retrievable is None:
        retrievable = not hidden if hidden is not None else True
    extra = {"dimensions": dims, "vectorSearchProfile": profile}
    extra.update(vector_options.parse_vector_storage(raw, full, type_name, retrievable))
    return Field(name=name, type=type_name, retrievable=retrievable, searchable=True, extra=extra)


def _check_unique(names: list[str], where: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise InvalidInput(f"The field name '{n}' is used more than once in {where}.")
        seen.add(n)


def validate_index_name(name: Any) -> str:
    if not isinstance(name, str) or not (2 <= len(name) <= 128) or not INDEX_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"Invalid index name '{name}'. Index names must be 2 to 128 characters of lowercase letters, digits, dashes or underscores, "
            "start with a letter or digit, and contain no consecutive dashes or underscores."
        )
    return name


def parse_index_definition(body: Any, *, name_from_path: str | None = None) -> IndexDefinition:
    """Parse and validate an index definition as a client sends it."""
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object describing the index.")
    name = body.get("name")
    if name_from_path is not None:
        if name is None:
            name = name_from_path
        elif name != name_from_path:
            raise InvalidInput(f"The index name '{name}' in the request body does not match the name '{name_from_path}' in the URL.")
    validate_index_name(name)
    raw_fields = body.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise InvalidInput("The index must have at least one field.")
    fields = [_parse_field(f, top_level=True, path="") for f in raw_fields]
    _check_unique([f.name for f in fields], f"index '{name}'")
    keys = [f for f in fields if f.key]
    if len(keys) != 1:
        raise InvalidInput(f"The index '{name}' must have exactly one key field of type Edm.String; it has {len(keys)}.")
    definition = IndexDefinition(name=name, fields=fields)
    if sum(1 for _ in definition.leaves()) > MAX_FIELDS:
        raise InvalidInput(f"The index '{name}' has more than {MAX_FIELDS} fields.")
    members = {}
    for member in _INDEX_MEMBERS:
        if body.get(member) is not None:
            members[member] = copy.deepcopy(body[member])
    definition.members = members
    validate_analysis(definition)
    _validate_suggesters(definition)
    _validate_scoring_profiles(definition)
    _validate_vector_search(definition)
    check_cors_options(members.get("corsOptions"))
    parse_semantic(members.get("semantic"), definition)
    check_similarity(members.get("similarity"))
    return definition


VECTOR_METRICS = ("cosine", "dotProduct", "euclidean", "hamming")
VECTOR_ALGORITHMS = ("hnsw", "exhaustiveKnn")


def _validate_vector_search(definition: IndexDefinition) -> None:
    config = definition.members.get("vectorSearch") or {}
    if not isinstance(config, dict):
        raise InvalidInput("'vectorSearch' must be an object.")
    algorithms = {}
    for a in config.get("algorithms") or []:
        if not isinstance(a, dict) or not isinstance(a.get("name"), str):
            raise InvalidInput("Each vector search algorithm needs a name.")
        kind = a.get("kind")
        if kind not in VECTOR_ALGORITHMS:
            raise InvalidInput(f"The vector search algorithm '{a['name']}' has kind '{kind}'; use one of {', '.join(VECTOR_ALGORITHMS)}.")
        params = a.get("hnswParameters" if kind == "hnsw" else "exhaustiveKnnParameters") or {}
        metric = params.get("metric") or "cosine"
        if metric not in VECTOR_METRICS:
            raise InvalidInput(f"The vector search algorithm '{a['name']}' has metric '{metric}'; use one of {', '.join(VECTOR_METRICS)}.")
        if kind == "hnsw":
            for pname, lo, hi in (("m", 4, 10), ("efConstruction", 100, 1000), ("efSearch", 100, 1000)):
                value = params.get(pname)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi):
                    raise InvalidInput(f"The hnsw parameter '{pname}' of '{a['name']}' must be an integer between {lo} and {hi}.")
        algorithms[a["name"]] = a
    vectorizers = {}
    for v in config.get("vectorizers") or []:
        if not isinstance(v, dict) or not isinstance(v.get("name"), str):
            raise InvalidInput("Each vectorizer needs a name.")
        if v.get("kind") == "local":
            local_model_name(v)  # weft's in-process model: an unknown model is refused here, not at query time
        vectorizer_models.model_name(v)  # azureOpenAI modelName: one of Azure's embedding models
        vectorizers[v["name"]] = v
    profiles = {}
    for p in config.get("profiles") or []:
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise InvalidInput("Each vector search profile needs a name.")
        if p.get("algorithm") not in algorithms:
            raise InvalidInput(f"The vector search profile '{p['name']}' refers to the unknown algorithm '{p.get('algorithm')}'.")
        if p.get("vectorizer") is not None and p["vectorizer"] not in vectorizers:
            raise InvalidInput(f"The vector search profile '{p['name']}' refers to the unknown vectorizer '{p['vectorizer']}'.")
        profiles[p["name"]] = p
    for f in definition.vector_fields():
        if f.extra["vectorSearchProfile"] not in profiles:
            raise InvalidInput(f"The vector field '{f.name}' refers to the unknown vector search profile '{f.extra['vectorSearchProfile']}'.")
        vectorizer = vectorizers.get(profiles[f.extra["vectorSearchProfile"]].get("vectorizer"))
        if vectorizer is not None:
            vectorizer_models.check_field(f.name, f.dimensions, vectorizer)
        if vectorizer is not None and vectorizer.get("kind") == "local":
            model = local_model_name(vectorizer)
            if f.dimensions != LOCAL_MODELS[model]:
                raise InvalidInput(f"The vector field '{f.name}' has {f.dimensions} dimensions, but its vectorizer "
                                   f"'{vectorizer['name']}' ({model}) produces {LOCAL_MODELS[model]}.")
    vector_options.validate_compressions(config, profiles, algorithms, definition.vector_fields())


def _validate_suggesters(definition: IndexDefinition) -> None:
    suggesters = definition.members.get("suggesters") or []
    if not isinstance(suggesters, list):
        raise InvalidInput("'suggesters' must be an array.")
    for s in suggesters:
        if not isinstance(s, dict) or not isinstance(s.get("name"), str):
            raise InvalidInput("Each suggester must have a name.")
        sources = s.get("sourceFields")
        if not isinstance(sources, list) or not sources:
            raise InvalidInput(f"The suggester '{s.get('name')}' must have at least one source field.")
        for src in sources:
            leaf = definition.leaf(src) if isinstance(src, str) else None
            if leaf is None or leaf.type != "Edm.String" or not leaf.field.searchable:
                raise InvalidInput(f"The suggester '{s['name']}' refers to '{src}', which is not a searchable string field.")
        s.setdefault("searchMode", "analyzingInfixMatching")


def _validate_scoring_profiles(definition: IndexDefinition) -> None:
    parse_profiles(definition.members, definition.leaf)  # weft.search.ranking.scoring_profiles: every rule, 400s


def check_compatible_update(old: IndexDefinition, new: IndexDefinition) -> None:
    """Azure lets an update add fields; changing or removing existing ones is a 400."""

    def compare(old_fields: list[Field], new_fields: list[Field], prefix: str) -> None:
        by_name = {f.name: f for f in new_fields}
        for of in old_fields:
            nf = by_name.get(of.name)
            path = prefix + of.name
            if nf is None:
                raise InvalidInput(
                    f"Existing field '{path}' cannot be removed from index '{new.name}'. Fields can only be added to an existing index.",
                    code="OperationNotAllowed",
                )
            if of.type != nf.type or of.key != nf.key:
                raise InvalidInput(
                    f"Existing field '{path}' cannot be changed (type or key). Fields can only be added to an existing index.",
                    code="OperationNotAllowed",
                )
            if of.is_complex:
                compare(of.fields, nf.fields, path + "/")
                continue
            if of.is_vector and of.dimensions != nf.dimensions:
                raise InvalidInput(f"Existing vector field '{path}' cannot change its dimensions.", code="OperationNotAllowed")
            if of.is_vector:
                vector_options.check_storage_update(path, old.vector_settings(path)["storage"], new.vector_settings(path)["storage"])
            for attribute in ("searchable", "filterable", "sortable", "facetable"):
                if getattr(of, attribute) != getattr(nf, attribute):
                    raise InvalidInput(
                        f"Existing field '{path}' cannot change its '{attribute}' attribute. Fields can only be added to an existing index.",
                        code="OperationNotAllowed",
                    )
            # Azure: 'analyzer' and 'indexAnalyzer' are fixed once the field exists; 'searchAnalyzer' may change.
            if of.effective_analyzer != nf.effective_analyzer:
                raise InvalidInput(
                    f"Existing field '{path}' cannot change its analyzer.", code="OperationNotAllowed"
                )
            if of.extra.get("normalizer") != nf.extra.get("normalizer"):
                raise InvalidInput(
                    f"Existing field '{path}' cannot change its normalizer.", code="OperationNotAllowed"
                )

    compare(old.fields, new.fields, "")
