"""What the Azure search API may reach: :class:`PublicSearch`, a facade over :class:`SearchService`.

weft keeps some indexes of its own in the same service (the per-tenant conversation-search indexes,
``weft.threads.search_index``). They are marked internal in the catalog (a property of the index), and
through this facade they do not exist for any key: lookups, searches, counts, writes, statistics and
deletes of them are 404 exactly as for a name that was never created, listings and service statistics
leave them out, and a name in the reserved namespace cannot be created (400), so no one can squat a
tenant's future index name. Conversation content is served only by the tenant-authorised /v1 routes.

It also applies what an index definition sent through the API must respect: vectorizer endpoints from the
operator's allow-list (``weft.search.endpoints``).
"""
from __future__ import annotations

import re
from typing import Any

from weft.errors import InvalidInput, NotFound
from weft.search.endpoints import check_definition_endpoints
from weft.search.service import SearchService

# The namespace of weft's own indexes: ``conversations-<slug>-<12 hex>`` / ``conversations-<12 hex>``
# (weft.threads.search_index.index_name_for). Reserved whether or not such an index exists.
INTERNAL_NAMESPACE = re.compile(r"^conversations-(?:[a-z0-9-]+-)?[0-9a-f]{12}$")


def is_reserved_name(name: Any) -> bool:
    return isinstance(name, str) and bool(INTERNAL_NAMESPACE.match(name))


class PublicSearch:
    """The operations of the search API, with weft's internal indexes out of reach.

    Each method names the index it reaches, so a new SearchService operation the routes need must be added here
    (an AttributeError otherwise, which tests/http/test_auth_matrix.py reports); no blanket forwarding."""

    def __init__(self, service: SearchService):
        self.service = service

    def _hidden(self, name: Any) -> bool:
        return self.service.is_internal(name) or is_reserved_name(name)

    def _visible(self, name: str) -> str:
        if self._hidden(name):
            raise NotFound(f"The index '{name}' for service 'weft' was not found.")
        return name

    def _target(self, name: str) -> str:
        """An index name, or an alias resolved to its index (weft.search.aliases): what document operations and
        reading or updating a definition accept."""
        return self._visible(self.service.aliases.resolve(name) or name)

    def _creatable(self, body: Any, name: Any) -> None:
        if is_reserved_name(name):
            raise InvalidInput(f"The index name '{name}' is in the namespace weft reserves for its own indexes "
                               "('conversations-...-<12 hex digits>'); choose another name.")
        check_definition_endpoints(body)

    @property
    def synonym_maps(self):
        """Synonym maps belong to the service, not to an index: nothing internal to hide."""
        return self.service.synonym_maps

    @property
    def aliases(self):
        """Index aliases (they map only to indexes this facade shows: weft.search.aliases)."""
        return self.service.aliases

    def cors_options(self, name: str) -> dict | None:
        """The ``corsOptions`` of an index or of an alias's index; None when it has none or does not exist here."""
        try:
            return self.service.definition(self._target(name)).members.get("corsOptions")
        except NotFound:
            return None

    @property
    def reranker(self):
        """What semantic queries rerank with (knowledge bases check it)."""
        return self.service.reranker

    # ---- indexes ---------------------------------------------------------------------------------------
    def index_names(self) -> list[str]:
        return [n for n in self.service.index_names() if not self._hidden(n)]

    def definition(self, name: str):
        return self.service.definition(self._visible(name))

    def list_indexes(self, select: str | None = None, **kwargs) -> list[dict]:
        return [d for d in self.service.list_indexes(select, include_internal=False, **kwargs) if not is_reserved_name(d.get("name"))]

    def get_index(self, name: str, **kwargs) -> dict:
        return self.service.get_index(self._target(name), **kwargs)

    def create_index(self, body: Any, **kwargs) -> dict:
        self._creatable(body, body.get("name") if isinstance(body, dict) else None)
        return self.service.create_index(body, **kwargs)

    def create_or_update_index(self, name: str, body: Any, **kwargs) -> tuple[dict, bool]:
        target = self.service.aliases.resolve(name)
        if target is not None:  # updating an index through its alias: the body names the alias or the index
            self._visible(target)
            if isinstance(body, dict) and body.get("name") in (None, name):
                body = dict(body, name=target)
            name = target
        self._creatable(body, name)  # a body naming another index is refused by the parser
        return self.service.create_or_update_index(name, body, **kwargs)

    def delete_index(self, name: str, **kwargs) -> None:
        return self.service.delete_index(self._visible(name), **kwargs)

    def index_stats(self, name: str, **kwargs) -> dict:
        return self.service.index_stats(self._visible(name), **kwargs)

    def service_stats(self, **kwargs) -> dict:
        return self.service.service_stats(include_internal=False, **kwargs)

    def analyze(self, name: str, body: Any, **kwargs) -> dict:
        return self.service.analyze(self._visible(name), body, **kwargs)

    # ---- documents ---------------------------------------------------------------------------------------
    def apply_batch(self, name: str, body: Any, **kwargs):
        return self.service.apply_batch(self._target(name), body, **kwargs)

    def lookup(self, name: str, key: str, *args, **kwargs) -> dict | None:
        return self.service.lookup(self._target(name), key, *args, **kwargs)

    def count(self, name: str, **kwargs) -> int:
        return self.service.count(self._target(name), **kwargs)

    def search(self, name: str, body: dict, **kwargs) -> dict:
        return self.service.search(self._target(name), body, **kwargs)

    def suggest(self, name: str, body: dict, **kwargs) -> dict:
        return self.service.suggest(self._target(name), body, **kwargs)

    def autocomplete(self, name: str, body: dict, **kwargs) -> dict:
        return self.service.autocomplete(self._target(name), body, **kwargs)
