"""Where an indexer's documents go: the local :class:`SearchService` (through ``apply_batch``, the one
write path) or a remote Azure AI Search–compatible endpoint (the same REST batch API over httpx).

Both return only after the batch is durable: ``apply_batch`` answers after the engine commit, and a
remote service answers 200/207 after its own commit (Azure and weft both do).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from weft.errors import InvalidInput, NotFound, Unavailable
from weft.search.schema import IndexDefinition, parse_index_definition

REMOTE_API_VERSION = "2024-07-01"


@dataclass
class ItemOutcome:
    key: str
    ok: bool
    status_code: int
    message: str | None


class Target(Protocol):
    def definition(self) -> IndexDefinition: ...

    def apply(self, actions: list[dict[str, Any]]) -> list[ItemOutcome]: ...

    def close(self) -> None: ...


class LocalTarget:
    def __init__(self, search, index_name: str):
        self.search = search
        self.index_name = index_name

    def definition(self) -> IndexDefinition:
        return self.search.definition(self.index_name)

    def apply(self, actions: list[dict[str, Any]]) -> list[ItemOutcome]:
        results = self.search.apply_batch(self.index_name, {"value": actions})
        return [ItemOutcome(r.key, r.status, r.status_code, r.error_message) for r in results]

    def close(self) -> None:
        return None


class RemoteTarget:
    def __init__(self, endpoint: str, api_key: str, index_name: str, *, timeout: float = 60.0, transport: Any = None):
        self.index_name = index_name
        self.client = httpx.Client(base_url=endpoint.rstrip("/"), headers={"api-key": api_key}, timeout=timeout, transport=transport)
        self._definition: IndexDefinition | None = None

    def _url(self, path: str) -> str:
        return f"{path}?api-version={REMOTE_API_VERSION}"

    def definition(self) -> IndexDefinition:
        if self._definition is None:
            try:
                r = self.client.get(self._url(f"/indexes('{self.index_name}')"))
            except httpx.HTTPError as exc:
                raise Unavailable(f"The remote search service is unreachable: {exc}")
            if r.status_code == 404:
                raise NotFound(f"The index '{self.index_name}' was not found on the remote search service.")
            if r.status_code != 200:
                raise Unavailable(f"The remote search service answered {r.status_code} to GET index: {r.text[:300]}")
            body = r.json()
            body.pop("@odata.context", None)
            self._definition = parse_index_definition(body)
        return self._definition

    def apply(self, actions: list[dict[str, Any]]) -> list[ItemOutcome]:
        try:
            r = self.client.post(self._url(f"/indexes('{self.index_name}')/docs/search.index"), json={"value": actions})
        except httpx.HTTPError as exc:
            raise Unavailable(f"The remote search service is unreachable: {exc}")
        if r.status_code in (200, 207):
            return [ItemOutcome(i["key"], bool(i["status"]), int(i["statusCode"]), i.get("errorMessage")) for i in r.json()["value"]]
        if r.status_code == 400:
            raise InvalidInput(f"The remote search service rejected the batch: {r.text[:500]}")
        raise Unavailable(f"The remote search service answered {r.status_code}: {r.text[:300]}")

    def close(self) -> None:
        self.client.close()
