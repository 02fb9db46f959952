"""Strict definitions and queries: walk a request body with the table of :mod:`weft.search.members`.

* A property the table does not know is a 400 in Azure's words for an unknown property ("The request is invalid.
  Details: <where> : The property 'x' does not exist on type 'SearchField'. Make sure to only use property names
  that are defined by the type." — the OData reader's message, as Azure returns it: Azure/azure-sdk-for-net#2092).
* A refused member with a value other than null (or one of its "off" values) is a 400 with the table's reason.
* A value of the wrong JSON type (a string where an object belongs) is a 400 naming the member, never a 500.
* Dangling references the other checks do not cover (a vector profile's ``compression``) are a 400 at creation;
  analyzers, normalizers, synonym maps, scoring and vector profiles, algorithms, vectorizers and the semantic
  default configuration are checked where they are parsed.

The walk runs on what a client sends (index, data source, indexer, knowledge source and knowledge base create/update,
search, suggest, autocomplete), never on a definition
read back from weft's own catalog, so a member refused today cannot stop a server from opening old data.
"""
from __future__ import annotations

from typing import Any, Mapping

from weft.errors import InvalidInput
from weft.search.members import MODELS, POLYMORPHIC, REFUSED, REFUSED_HEADERS, Member

P = "\r\nParameter name: "

_SHAPES = {
    "string": (lambda v: isinstance(v, str), "a string"),
    "boolean": (lambda v: isinstance(v, bool), "true or false"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "object": (lambda v: isinstance(v, dict), "a JSON object"),
    "array": (lambda v: isinstance(v, list), "an array"),
    "strings": (lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
                "a comma-separated string or an array of strings"),
    "any": (lambda v: True, "any value"),
}


def unknown_property(name: str, model: str, where: str) -> InvalidInput:
    return InvalidInput(
        f"The request is invalid. Details: {where} : The property '{name}' does not exist on type '{model}'. "
        "Make sure to only use property names that are defined by the type." + P + name
    )


def _same(value: Any, allowed: Any) -> bool:
    return type(value) is type(allowed) and value == allowed


def _resolve(value: Any, model: str, where: str) -> str:
    poly = POLYMORPHIC.get(model)
    if poly is None:
        return model
    if not isinstance(value, dict):
        raise InvalidInput(f"'{where}' must be a JSON object.{P}{where}")
    kind = value.get(poly.discriminator)
    if isinstance(kind, str) and kind in poly.refused:
        raise InvalidInput(poly.refused[kind] + P + f"{where}.{poly.discriminator}")
    if isinstance(kind, str) and kind in poly.models:
        return poly.models[kind]
    if kind is None and poly.default is not None:
        return poly.default
    choices = ", ".join(sorted(poly.models))
    raise InvalidInput(f"'{where}.{poly.discriminator}' is '{kind}'; use one of {choices}.{P}{where}.{poly.discriminator}")


def check_object(value: Any, model: str, where: str) -> None:
    """Raises InvalidInput for the first unknown, refused or mistyped member of ``value`` (a ``model`` object)."""
    model = _resolve(value, model, where)
    if not isinstance(value, dict):
        raise InvalidInput(f"'{where}' must be a JSON object.{P}{where}")
    table: Mapping[str, Member] = MODELS[model]
    for name, item in value.items():
        member = table.get(name)
        path = f"{where}.{name}"
        if member is None:
            raise unknown_property(name, model, where)
        if item is None:
            continue
        if member.status == REFUSED:
            if any(_same(item, off) for off in member.off):
                continue
            raise InvalidInput(member.note + P + path)
        test, expected = _SHAPES[member.shape]
        if not test(item):
            raise InvalidInput(f"'{path}' must be {expected}.{P}{path}")
        if isinstance(item, (str, int, float)) and item in member.refused_values:
            raise InvalidInput(member.refused_values[item] + P + path)
        if member.model is not None:
            if isinstance(item, list):
                for i, element in enumerate(item):
                    check_object(element, member.model, f"{path}[{i}]")
            else:
                check_object(item, member.model, path)


# ---- index definitions -----------------------------------------------------------------------------------------
_VECTOR_TYPES = ("Collection(Edm.Single)", "Collection(Edm.Half)", "Collection(Edm.Int16)", "Collection(Edm.SByte)",
                 "Collection(Edm.Byte)")


def _check_fields(fields: list, where: str) -> None:
    for i, f in enumerate(fields):
        path = f"{where}[{i}]"
        # Azure: 'stored' must be true or unset for non-vector fields (and null for complex ones); false is for
        # vector fields only.
        if isinstance(f, dict) and f.get("stored") is False and f.get("type") not in _VECTOR_TYPES:
            raise InvalidInput(f"The field '{f.get('name')}' sets 'stored' to false; only vector fields can be unstored "
                               f"(other fields are always stored; use retrievable=false to leave them out of results).{P}{path}.stored")
        if isinstance(f, dict) and isinstance(f.get("fields"), list):
            _check_fields(f["fields"], f"{path}.fields")


def _check_vector_references(config: Any) -> None:
    if not isinstance(config, dict):
        return
    compressions = {c.get("name") for c in config.get("compressions") or [] if isinstance(c, dict)}
    for i, p in enumerate(config.get("profiles") or []):
        if isinstance(p, dict) and p.get("compression") is not None and p["compression"] not in compressions:
            raise InvalidInput(f"The vector search profile '{p.get('name')}' refers to the unknown compression "
                               f"'{p['compression']}'.{P}vectorSearch.profiles[{i}].compression")


def check_index_body(body: Any) -> None:
    """The strict checks of an index definition a client sends (create, create-or-update)."""
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object describing the index.")
    check_object(body, "SearchIndex", "definition")
    if isinstance(body.get("fields"), list):
        _check_fields(body["fields"], "definition.fields")
    _check_vector_references(body.get("vectorSearch"))


# ---- data sources, indexers, knowledge sources and bases ---------------------------------------------------------
_DEFINITION_WORDS = {"datasource": "data source", "indexer": "indexer", "knowledgesource": "knowledge source",
                     "knowledgebase": "knowledge base"}


def check_definition(body: Any, kind: str) -> None:
    """The strict walk of a definition a client sends: ``kind`` is datasource, indexer, knowledgesource or
    knowledgebase (:data:`weft.search.members_resources.DEFINITIONS`). The services' own parsing checks the values."""
    from weft.search.members_resources import DEFINITIONS

    if not isinstance(body, dict):
        raise InvalidInput(f"The request body must be a JSON object describing the {_DEFINITION_WORDS[kind]}.")
    check_object(body, DEFINITIONS[kind], "definition")


# ---- queries ---------------------------------------------------------------------------------------------------
def check_request(body: Any, model: str) -> None:
    """``model``: SearchRequest, SuggestRequest or AutocompleteRequest."""
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object of search parameters.")
    check_object(body, model, "parameters")
    session = body.get("sessionId")
    if isinstance(session, str) and session.startswith("_"):
        raise InvalidInput(f"The sessionId '{session}' is invalid: it cannot start with '_'.{P}sessionId")


def check_headers(headers: Mapping[str, str]) -> None:
    """Query headers Azure defines that weft does not implement: a 400 naming them."""
    for name, reason in REFUSED_HEADERS.items():
        if headers.get(name):
            raise InvalidInput(f"{reason} (The request sends the '{name}' header.)")
