"""Index-definition checks for text analysis: field analyzers, normalizers and synonym map references, and
the index's custom analysis sections (built by :mod:`weft.search.analysis.custom`)."""
from __future__ import annotations

from typing import Any

from weft.errors import InvalidInput


def _check_field_analysis(raw: dict, full: str, type_name: str, searchable: bool, filterable: bool, sortable: bool, facetable: bool) -> None:
    normalizer = raw.get("normalizer")
    if normalizer is not None:
        if not isinstance(normalizer, str) or not normalizer:
            raise InvalidInput(f"The 'normalizer' of field '{full}' must be a normalizer name.")
        if type_name not in ("Edm.String", "Collection(Edm.String)"):
            raise InvalidInput(f"The field '{full}' of type '{type_name}' cannot have a normalizer; only string fields can.")
        if not (filterable or sortable or facetable):
            raise InvalidInput(f"The field '{full}' has a normalizer but is not filterable, sortable or facetable.")
    maps = raw.get("synonymMaps")
    if maps is not None and maps != []:
        if not isinstance(maps, list) or not all(isinstance(m, str) and m for m in maps):
            raise InvalidInput(f"The 'synonymMaps' of field '{full}' must be an array of synonym map names.")
        if len(maps) > 1:
            raise InvalidInput(f"The field '{full}' refers to {len(maps)} synonym maps; a field can have at most one.")
        if not searchable:
            raise InvalidInput(f"The field '{full}' is not searchable and cannot have synonym maps.")


def validate_analysis(definition: Any) -> None:
    """Build the custom components (a 400 for anything invalid or unsupported) and resolve every name a field
    uses."""
    from weft.search import analysis
    from weft.search.analysis import predefined

    analysis.components(definition)
    for leaf in definition.leaves():
        f = leaf.field
        for attribute, value in (("analyzer", f.analyzer), ("searchAnalyzer", f.search_analyzer), ("indexAnalyzer", f.index_analyzer)):
            if value is None:
                continue
            analysis.resolve(definition, value)
            if attribute != "analyzer" and predefined.canonical(value) in predefined.LANGUAGE_ANALYZERS:
                raise InvalidInput(
                    f"The field '{leaf.path}' uses the language analyzer '{value}' as its {attribute}; language analyzers "
                    "can only be set as 'analyzer'."
                )
        normalizer = f.extra.get("normalizer")
        if normalizer is not None:
            analysis.resolve_normalizer(definition, normalizer)
    # Suggester source fields: standard.lucene or a language analyzer only (prefixes are built at indexing).
    for s in definition.members.get("suggesters") or []:
        for src in (s.get("sourceFields") or []) if isinstance(s, dict) else []:
            leaf = definition.leaf(src) if isinstance(src, str) else None
            if leaf is None:
                continue
            name = leaf.field.effective_analyzer
            canonical = predefined.canonical(name)
            if canonical != "standard.lucene" and canonical not in predefined.LANGUAGE_ANALYZERS:
                raise InvalidInput(
                    f"The suggester '{s.get('name')}' uses the field '{src}', whose analyzer '{name}' is neither "
                    "'standard.lucene' nor a language analyzer; suggester fields cannot use other analyzers."
                )


_SECTIONS = ("analyzers", "tokenizers", "tokenFilters", "charFilters", "normalizers")
DOWNTIME_MESSAGE = (
    "Index update not allowed because it would cause downtime. In order to add new analyzers, tokenizers, token filters, "
    "or character filters to an existing index, set the 'allowIndexDowntime' query parameter to 'true' in the index "
    "update request. Note that this operation will put your index offline for at least a few seconds, causing your "
    "indexing and query requests to fail."
)


def _components(definition: Any) -> dict[tuple[str, str], Any]:
    out = {}
    for section in _SECTIONS:
        for item in definition.members.get(section) or []:
            out[(section, item["name"])] = item
    return out


def check_analysis_update(old: Any, new: Any, allow_downtime: bool) -> bool:
    """Azure's rules for analysis changes on an existing index: adding (or changing) analyzers, tokenizers,
    token filters, char filters or normalizers takes the index offline, so it needs ``allowIndexDowntime=true``.
    Returns True when the change needs the index rebuilt from its documents."""
    before, after = _components(old), _components(new)
    added = [k for k in after if k not in before]
    changed = [k for k in after if k in before and after[k] != before[k]]
    if (added or changed) and not allow_downtime:
        raise InvalidInput(DOWNTIME_MESSAGE, code="OperationNotAllowed")
    return bool(changed)


def analysis_signature(definition: Any) -> tuple:
    """What, besides the fields, decides the indexed tokens: the custom components' definitions."""
    import json

    return tuple(sorted((s, n, json.dumps(v, sort_keys=True)) for (s, n), v in _components(definition).items()))
