"""Index aliases (``/aliases``): a second name for one index, kept in the search catalog.

An alias maps to exactly one index. Document operations (search, suggest, autocomplete, lookup, count, the
index batch) and reading or updating the index definition accept the alias wherever they accept the index
name; deleting an index, Analyze, an indexer's ``targetIndexName`` and knowledge sources take only index names
(``../shared/reference/azure-relevance.md`` §7.1, after Azure's "Create an index alias" how-to). Repointing an
alias is immediate (Azure documents up to 10 s). An index that an alias maps to cannot be deleted (400) until the
alias is deleted or repointed. Aliases and indexes share one namespace: an alias cannot take the name of an
index, nor an index the name of an alias, so a name in a URL always means one thing.

The state lives in the catalog (the definitions seam): a cluster mode gives the catalog another implementation
and this module stays as it is.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from weft.errors import InvalidInput, NotFound, PreconditionFailed
from weft.etags import check_preconditions, new_etag, retried, selected
from weft.search.schema import INDEX_NAME_RE

# Azure: services created after October 2022 get twice the index limit (S3 HD: 6,000). weft has no index limit;
# it bounds aliases at the largest Azure quota.
MAX_ALIASES = 6000
_MEMBERS = ("name", "indexes", "@odata.etag", "@odata.context")


def _not_found(name: str) -> NotFound:
    return NotFound(f"No alias with the name '{name}' was found in service 'weft'.")


class AliasService:
    """``index_exists(name)``: whether an index of that name may be aliased (exists and is not one of weft's own).
    ``lock``: the lock index creation and deletion hold, so a name cannot become an index and an alias at once."""

    def __init__(self, catalog, index_exists: Callable[[str], bool], lock: threading.RLock | None = None):
        self.catalog = catalog
        self._index_exists = index_exists
        self._lock = lock or threading.RLock()
        self._aliases: dict[str, dict] = {}
        self.reload()

    def reload(self) -> None:
        """Reads the aliases from the catalog again (cluster mode: another node changed them)."""
        aliases = {name: {"name": name, "indexes": list(body.get("indexes") or []), "@odata.etag": etag}
                   for name, body, etag in self.catalog.list_aliases()}
        with self._lock:
            self._aliases = aliases

    # ---- parsing ---------------------------------------------------------------------------------------
    def _parse(self, body: Any, name_from_path: str | None = None) -> dict:
        if not isinstance(body, dict):
            raise InvalidInput("The request body must be a JSON object describing the alias.")
        unknown = [k for k in body if k not in _MEMBERS]
        if unknown:
            raise InvalidInput(f"The alias has the unknown member '{unknown[0]}'.")
        name = body.get("name", name_from_path)
        if name_from_path is not None and name != name_from_path:
            raise InvalidInput(f"The alias name '{name}' in the request body does not match the name '{name_from_path}' in the URL.")
        if not isinstance(name, str) or not (2 <= len(name) <= 128) or not INDEX_NAME_RE.fullmatch(name):
            raise InvalidInput(
                f"Invalid alias name '{name}'. Alias names follow the index name rules: 2 to 128 characters of lowercase letters, "
                "digits, dashes or underscores, starting with a letter or digit, with no consecutive dashes or underscores."
            )
        from weft.search.public import is_reserved_name  # late: public imports the service, which imports this module

        if is_reserved_name(name):
            raise InvalidInput(f"The alias name '{name}' is in the namespace weft reserves for its own indexes "
                               "('conversations-...-<12 hex digits>'); choose another name.")
        indexes = body.get("indexes")
        if not isinstance(indexes, list) or not all(isinstance(i, str) for i in indexes):
            raise InvalidInput("The alias needs 'indexes': an array holding the name of the one index it maps to.")
        if len(indexes) != 1:
            raise InvalidInput(f"An alias maps to exactly one index; 'indexes' names {len(indexes)}.")
        return {"name": name, "indexes": list(indexes)}

    def _check_target(self, alias: dict) -> None:
        target = alias["indexes"][0]
        if not self._index_exists(target):
            raise InvalidInput(f"The index '{target}' that the alias '{alias['name']}' maps to was not found.")

    def _check_name_free(self, name: str) -> None:
        if self._index_exists(name):
            raise InvalidInput(f"The name '{name}' is already used by an index; an alias cannot have the name of an index.",
                               code="ResourceNameAlreadyInUse")

    def _store(self, alias: dict) -> dict:
        etag = new_etag()
        current = self._aliases.get(alias["name"])  # what this change was decided on
        with self.catalog.guard("aliases", alias["name"], current["@odata.etag"] if current else None):
            self.catalog.put_alias(alias["name"], {"indexes": alias["indexes"]}, etag)
        stored = dict(alias, **{"@odata.etag": etag})
        self._aliases[alias["name"]] = stored
        return self._render(stored)

    @staticmethod
    def _render(stored: dict) -> dict:
        return {"@odata.etag": stored["@odata.etag"], "name": stored["name"], "indexes": list(stored["indexes"])}

    # ---- CRUD ------------------------------------------------------------------------------------------
    def create(self, body: Any) -> dict:
        return self._retried(lambda: self._create(body))

    def _create(self, body: Any) -> dict:
        alias = self._parse(body)
        with self._lock:
            if alias["name"] in self._aliases:
                raise InvalidInput(f"Cannot create alias '{alias['name']}' because it already exists.", code="ResourceNameAlreadyInUse")
            self._check_name_free(alias["name"])
            if len(self._aliases) >= MAX_ALIASES:
                raise InvalidInput(f"The service already has {MAX_ALIASES} aliases, the most it allows.", code="QuotaExceeded")
            self._check_target(alias)
            return self._store(alias)

    def create_or_update(self, name: str, body: Any, *, if_match: str | None = None, if_none_match: str | None = None) -> tuple[dict, bool]:
        return self._retried(lambda: self._create_or_update(name, body, if_match, if_none_match))

    def _create_or_update(self, name: str, body: Any, if_match: str | None, if_none_match: str | None) -> tuple[dict, bool]:
        alias = self._parse(body, name_from_path=name)
        with self._lock:
            existing = self._aliases.get(name)
            check_preconditions(existing["@odata.etag"] if existing else None, if_match, if_none_match)
            if existing is None:
                self._check_name_free(name)
                if len(self._aliases) >= MAX_ALIASES:
                    raise InvalidInput(f"The service already has {MAX_ALIASES} aliases, the most it allows.", code="QuotaExceeded")
            self._check_target(alias)
            return self._store(alias), existing is None

    def get(self, name: str) -> dict:
        stored = self._aliases.get(name)
        if stored is None:
            raise _not_found(name)
        return self._render(stored)

    def list(self, select: str | None = None) -> list[dict]:
        return selected([self._render(a) for _, a in sorted(self._aliases.items())], select,
                        {"name", "indexes", "@odata.etag"}, "an alias")

    def delete(self, name: str, *, if_match: str | None = None, if_none_match: str | None = None) -> None:
        """Deleting an alias never touches its index."""
        self._retried(lambda: self._delete(name, if_match, if_none_match))

    def _retried(self, operation):
        """Decides a change again on a reloaded view when another node changed the catalog since (cluster mode)."""
        return retried(operation, reload=self.reload)

    def _delete(self, name: str, if_match: str | None, if_none_match: str | None) -> None:
        with self._lock:
            existing = self._aliases.get(name)
            if existing is None:
                if if_match is not None:
                    raise PreconditionFailed("The alias does not exist, so the If-Match precondition failed.")
                raise _not_found(name)
            check_preconditions(existing["@odata.etag"], if_match, if_none_match)
            with self.catalog.guard("aliases", name, existing["@odata.etag"]):
                self.catalog.delete_alias(name)
            del self._aliases[name]

    def count(self) -> int:
        return len(self._aliases)

    # ---- use by the index operations ------------------------------------------------------------------------
    def resolve(self, name: str) -> str | None:
        """The index an alias maps to; None when `name` is not an alias."""
        stored = self._aliases.get(name)
        return stored["indexes"][0] if stored else None

    def exists(self, name: str) -> bool:
        return name in self._aliases

    def aliases_of(self, index: str) -> list[str]:
        return sorted(n for n, a in self._aliases.items() if index in a["indexes"])

    def check_index_name(self, name: str) -> None:
        """Index creation: the name must not be an alias's."""
        if name in self._aliases:
            raise InvalidInput(f"The name '{name}' is already used by an alias; an index cannot have the name of an alias.",
                               code="ResourceNameAlreadyInUse")

    def check_index_deletable(self, index: str) -> None:
        names = self.aliases_of(index)
        if names:
            listed = ", ".join(f"'{n}'" for n in names)
            raise InvalidInput(f"The index '{index}' cannot be deleted because the alias {listed} maps to it. "
                               "Delete the alias or map it to another index first.", code="CannotDeleteIndexWithAlias")
