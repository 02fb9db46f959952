"""The index's `semantic` section: configurations of prioritized fields, validated at definition time.

```json
"semantic": {"defaultConfiguration": "sem1",
  "configurations": [{"name": "sem1", "rankingOrder": "BoostedRerankerScore",
    "prioritizedFields": {"titleField": {"fieldName": "title"},
      "prioritizedContentFields": [{"fieldName": "content"}],
      "prioritizedKeywordsFields": [{"fieldName": "tags"}]}}]}
```
Every named field must exist and be a string (or a string collection for keywords). `rankingOrder` is accepted in
either spelling (`BoostedRerankerScore`, `boostedRerankerScore`), case-insensitively.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weft.errors import InvalidInput

RANKING_ORDERS = {"boostedrerankerscore": "BoostedRerankerScore", "rerankerscore": "RerankerScore"}
MAX_CONFIGURATIONS = 100


@dataclass(frozen=True)
class SemanticConfiguration:
    name: str
    title: str | None
    content: tuple[str, ...]
    keywords: tuple[str, ...]
    ranking_order: str = "BoostedRerankerScore"

    @property
    def fields(self) -> tuple[str, ...]:
        return ((self.title,) if self.title else ()) + self.content + self.keywords


def _field_name(entry: Any, where: str) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("fieldName"), str) or not entry["fieldName"]:
        raise InvalidInput(f"{where} must be an object with a 'fieldName'.")
    return entry["fieldName"]


def parse_semantic(section: Any, definition) -> dict[str, SemanticConfiguration]:
    """The configurations by name; raises InvalidInput naming the member at fault."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise InvalidInput("'semantic' must be an object with 'configurations'.")
    unknown = set(section) - {"defaultConfiguration", "configurations"}
    if unknown:
        raise InvalidInput(f"The semantic section has an unknown member '{sorted(unknown)[0]}'.")
    raw = section.get("configurations") or []
    if not isinstance(raw, list):
        raise InvalidInput("'semantic.configurations' must be an array.")
    if len(raw) > MAX_CONFIGURATIONS:
        raise InvalidInput(f"An index can have at most {MAX_CONFIGURATIONS} semantic configurations.")
    configs: dict[str, SemanticConfiguration] = {}
    for i, item in enumerate(raw):
        where = f"semantic.configurations[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise InvalidInput(f"{where} needs a name.")
        name = item["name"]
        if name in configs:
            raise InvalidInput(f"The semantic configuration name '{name}' is used twice.")
        extra = set(item) - {"name", "prioritizedFields", "rankingOrder", "flightingOptIn"}
        if extra:
            raise InvalidInput(f"The semantic configuration '{name}' has an unknown member '{sorted(extra)[0]}'.")
        order_raw = item.get("rankingOrder") or "BoostedRerankerScore"
        order = RANKING_ORDERS.get(str(order_raw).lower()) if isinstance(order_raw, str) else None
        if order is None:
            raise InvalidInput(f"The semantic configuration '{name}' has rankingOrder '{order_raw}'; use BoostedRerankerScore or RerankerScore.")
        fields = item.get("prioritizedFields")
        if not isinstance(fields, dict):
            raise InvalidInput(f"The semantic configuration '{name}' needs 'prioritizedFields'.")
        extra = set(fields) - {"titleField", "prioritizedContentFields", "prioritizedKeywordsFields"}
        if extra:
            raise InvalidInput(f"The prioritizedFields of '{name}' have an unknown member '{sorted(extra)[0]}'.")
        title = _field_name(fields["titleField"], f"{where}.prioritizedFields.titleField") if fields.get("titleField") is not None else None
        content, keywords = [], []
        for member, out in (("prioritizedContentFields", content), ("prioritizedKeywordsFields", keywords)):
            entries = fields.get(member) or []
            if not isinstance(entries, list):
                raise InvalidInput(f"{where}.prioritizedFields.{member} must be an array.")
            out.extend(_field_name(e, f"{where}.prioritizedFields.{member}[{j}]") for j, e in enumerate(entries))
        if not title and not content and not keywords:
            raise InvalidInput(f"The semantic configuration '{name}' must name at least one title, content or keywords field.")
        for field_name, role in [(title, "titleField")] * bool(title) + [(f, "prioritizedContentFields") for f in content] + \
                [(f, "prioritizedKeywordsFields") for f in keywords]:
            leaf = definition.leaf(field_name)
            allowed = ("Edm.String", "Collection(Edm.String)") if role != "titleField" else ("Edm.String",)
            if leaf is None:
                raise InvalidInput(f"The semantic configuration '{name}' refers to the unknown field '{field_name}' in {role}.")
            if leaf.field.type not in allowed:
                raise InvalidInput(f"The field '{field_name}' in {role} of the semantic configuration '{name}' must be of type "
                                   f"{' or '.join(allowed)}, not {leaf.field.type}.")
        configs[name] = SemanticConfiguration(name, title, tuple(content), tuple(keywords), order)
    default = section.get("defaultConfiguration")
    if default is not None and default not in configs:
        raise InvalidInput(f"The semantic defaultConfiguration '{default}' is not one of the index's semantic configurations.")
    return configs


def configuration_for(definition, requested: str | None) -> SemanticConfiguration:
    """The configuration a semantic query uses: the one it names, else the index's default (else its only one)."""
    section = definition.members.get("semantic") or {}
    configs = parse_semantic(section or None, definition)
    if not configs:
        raise InvalidInput(f"The index '{definition.name}' has no semantic configuration, so queryType 'semantic' cannot be used."
                           "\r\nParameter name: semanticConfiguration")
    name = requested or section.get("defaultConfiguration")
    if name is None:
        if len(configs) == 1:
            return next(iter(configs.values()))
        raise InvalidInput("The index has several semantic configurations and no defaultConfiguration: name one with "
                           "'semanticConfiguration'.\r\nParameter name: semanticConfiguration")
    if name not in configs:
        raise InvalidInput(f"The semantic configuration '{name}' does not exist in the index '{definition.name}'."
                           "\r\nParameter name: semanticConfiguration")
    return configs[name]
