"""Synonym maps (``/synonymmaps``): Solr-format rules kept in the search catalog, applied at query time.

A field refers to at most one map through ``synonymMaps``; the service checks the reference when an index is
created or updated (a missing map is a 400) and hands the parsed rules of the fields a query targets to the
engine, so a changed map applies to the next query without reindexing. A map deleted while a field still
refers to it makes queries on that field a 404, as Azure documents.
"""
from __future__ import annotations

import re
import threading
from typing import Any, Iterable

from weft import encryption_keys
from weft.etags import check_preconditions, new_etag, retried, selected
from weft.errors import InvalidInput, NotFound, PreconditionFailed
from weft.search.analysis.synonyms import Rules, parse_rules

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){0,126}[a-z0-9]$|^[a-z0-9]$")
_MEMBERS = ("name", "format", "synonyms", "encryptionKey", "@odata.etag", "@odata.context")


class SynonymMapService:
    def __init__(self, catalog):
        self.catalog = catalog
        self._lock = threading.Lock()
        self._maps: dict[str, dict] = {}
        self._rules: dict[str, tuple[str, Rules]] = {}  # name -> (etag, parsed rules)
        self.reload()

    def reload(self) -> None:
        """Reads the maps from the catalog again (cluster mode: another node changed them)."""
        with self._lock:  # read under the lock: a listing taken before a change this node makes must not replace it after
            maps = {}
            for name, body, etag in self.catalog.list_synonym_maps():
                body["@odata.etag"] = etag
                maps[name] = body
            self._maps = maps

    # ---- CRUD --------------------------------------------------------------------------------------
    def _parse(self, body: Any, name_from_path: str | None = None) -> dict:
        if not isinstance(body, dict):
            raise InvalidInput("The request body must be a JSON object describing the synonym map.")
        unknown = [k for k in body if k not in _MEMBERS]
        if unknown:
            raise InvalidInput(f"The synonym map has the unknown member '{unknown[0]}'.")
        name = body.get("name", name_from_path)
        if name_from_path is not None and name != name_from_path:
            raise InvalidInput(f"The synonym map name '{name}' in the request body does not match the name '{name_from_path}' in the URL.")
        if not isinstance(name, str) or len(name) > 128 or not NAME_RE.match(name):
            raise InvalidInput(
                f"Invalid synonym map name '{name}'. Names must be 1 to 128 lowercase letters, digits or dashes, start and end "
                "with a letter or digit, and contain no consecutive dashes."
            )
        fmt = body.get("format", "solr")
        if fmt != "solr":
            raise InvalidInput(f"The synonym map format '{fmt}' is not supported; the only format is 'solr'.")
        synonyms = body.get("synonyms")
        if not isinstance(synonyms, str):
            raise InvalidInput("The synonym map needs 'synonyms': the rules, one per line.")
        encryption_keys.refuse(body, "synonym map")
        parse_rules(synonyms)  # a 400 for an invalid rule
        return {"name": name, "format": "solr", "synonyms": synonyms, "encryptionKey": None}

    def _store(self, body: dict) -> dict:
        etag = new_etag()
        current = self._maps.get(body["name"])  # what this change was decided on
        with self.catalog.guard("synonym_maps", body["name"], current["@odata.etag"] if current else None):
            self.catalog.put_synonym_map(body["name"], body, etag)
        stored = dict(body, **{"@odata.etag": etag})
        self._maps[body["name"]] = stored
        return self._render(stored)

    @staticmethod
    def _render(stored: dict) -> dict:
        return {"@odata.etag": stored["@odata.etag"], "name": stored["name"], "format": stored["format"],
                "synonyms": stored["synonyms"], "encryptionKey": encryption_keys.redact(stored.get("encryptionKey"))}

    def create(self, body: Any) -> dict:
        return self._retried(lambda: self._create(body))

    def _create(self, body: Any) -> dict:
        parsed = self._parse(body)
        with self._lock:
            if parsed["name"] in self._maps:
                raise InvalidInput(f"Cannot create synonym map '{parsed['name']}' because it already exists.", code="ResourceNameAlreadyInUse")
            return self._store(parsed)

    def create_or_update(self, name: str, body: Any, *, if_match: str | None = None, if_none_match: str | None = None) -> tuple[dict, bool]:
        return self._retried(lambda: self._create_or_update(name, body, if_match, if_none_match))

    def _create_or_update(self, name: str, body: Any, if_match: str | None, if_none_match: str | None) -> tuple[dict, bool]:
        parsed = self._parse(body, name_from_path=name)
        with self._lock:
            existing = self._maps.get(name)
            check_preconditions(existing["@odata.etag"] if existing else None, if_match, if_none_match)
            return self._store(parsed), existing is None

    def get(self, name: str) -> dict:
        stored = self._maps.get(name)
        if stored is None:
            raise NotFound(f"No synonym map with the name '{name}' was found in service 'weft'.")
        return self._render(stored)

    def list(self, select: str | None = None) -> list[dict]:
        return selected([self._render(m) for _, m in sorted(self._maps.items())], select,
                        {"name", "format", "synonyms", "encryptionKey", "@odata.etag"}, "a synonym map")

    def delete(self, name: str, *, if_match: str | None = None, if_none_match: str | None = None) -> None:
        self._retried(lambda: self._delete(name, if_match, if_none_match))

    def _retried(self, operation):
        """Decides a change again on a reloaded view when another node changed the catalog since (cluster mode)."""
        return retried(operation, reload=self.reload)

    def _delete(self, name: str, if_match: str | None, if_none_match: str | None) -> None:
        with self._lock:
            existing = self._maps.get(name)
            if existing is None:
                if if_match is not None:
                    raise PreconditionFailed("The synonym map does not exist, so the If-Match precondition failed.")
                raise NotFound(f"No synonym map with the name '{name}' was found in service 'weft'.")
            check_preconditions(existing["@odata.etag"], if_match, if_none_match)
            with self.catalog.guard("synonym_maps", name, existing["@odata.etag"]):
                self.catalog.delete_synonym_map(name)
            del self._maps[name]
            self._rules.pop(name, None)

    def count(self) -> int:
        return len(self._maps)

    # ---- use by indexes and queries ----------------------------------------------------------------------
    def check_references(self, definition) -> None:
        for leaf in definition.leaves():
            for name in leaf.field.extra.get("synonymMaps") or []:
                if name not in self._maps:
                    raise InvalidInput(f"The field '{leaf.path}' refers to the synonym map '{name}', which does not exist.")

    def rules(self, name: str) -> Rules:
        stored = self._maps.get(name)
        if stored is None:
            raise NotFound(f"The synonym map '{name}' used by the index was not found.")
        cached = self._rules.get(name)
        if cached is None or cached[0] != stored["@odata.etag"]:
            cached = (stored["@odata.etag"], parse_rules(stored["synonyms"]))
            self._rules[name] = cached
        return cached[1]

    def for_query(self, definition, paths: Iterable[str] | None) -> dict[str, Rules]:
        """The rules of every targeted field that has a synonym map."""
        out: dict[str, Rules] = {}
        wanted = set(paths) if paths else None
        for leaf in definition.searchable_leaves():
            maps = leaf.field.extra.get("synonymMaps") or []
            if maps and (wanted is None or leaf.path in wanted):
                out[leaf.path] = self.rules(maps[0])
        return out
