"""A small client of weft's own HTTP API, bound to one api-key (and so to that key's permissions)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

API_VERSION = "2026-04-01"


class WeftApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def segment(value: Any) -> str:
    """One URL path segment: every character that could end it or climb out of it (``/``, ``?``, ``#``, ``'``,
    ``.``-only segments, ``%``) is percent-encoded, so a tool argument never reaches another path."""
    text = str(value)
    if text in ("", ".", ".."):
        raise WeftApiError(400, f"'{text}' is not a valid name or key.")
    return quote(text, safe="")


class WeftApi:
    def __init__(self, endpoint: str, api_key: str, timeout: float = 30.0):
        self.endpoint = endpoint.rstrip("/")
        self.client = httpx.Client(base_url=self.endpoint, headers={"api-key": api_key}, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except Exception:
                message = response.text or response.reason_phrase
            raise WeftApiError(response.status_code, message)
        if not response.content:
            return None
        return response.json()

    # ---- search -------------------------------------------------------------------------
    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._check(self.client.post(f"/indexes/{segment(index)}/docs/search", params={"api-version": API_VERSION}, json=body))

    def get_document(self, index: str, key: str, select: str | None = None) -> dict[str, Any] | None:
        params = {"api-version": API_VERSION}
        if select:
            params["$select"] = select
        response = self.client.get(f"/indexes/{segment(index)}/docs/{segment(key)}", params=params)
        if response.status_code == 404 and not response.content:
            return None
        return self._check(response)

    def retrieve(self, knowledge_base: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /knowledgebases/{name}/retrieve` (agentic retrieval, GA shape)."""
        return self._check(self.client.post(f"/knowledgebases/{segment(knowledge_base)}/retrieve", params={"api-version": API_VERSION}, json=body))

    # ---- conversations (OpenAI Conversations API) ------------------------------------------
    def conversation_items(self, conversation_id: str, limit: int = 20, order: str = "desc") -> dict[str, Any]:
        return self._check(self.client.get(f"/v1/conversations/{segment(conversation_id)}/items", params={"limit": limit, "order": order}))

    def append_message(self, conversation_id: str, role: str, text: str) -> dict[str, Any]:
        content_type = "output_text" if role == "assistant" else "input_text"
        item = {"type": "message", "role": role, "content": [{"type": content_type, "text": text}]}
        return self._check(self.client.post(f"/v1/conversations/{segment(conversation_id)}/items", json={"items": [item]}))

    def search_conversations(self, query: str, *, mode: str | None = None, top: int = 10, conversation_id: str | None = None,
                             role: str | None = None) -> dict[str, Any]:
        """`POST /v1/conversations/search` over the key's tenant's past conversations."""
        body: dict[str, Any] = {"query": query, "top": top}
        for name, value in (("mode", mode), ("conversation_id", conversation_id), ("role", role)):
            if value:
                body[name] = value
        return self._check(self.client.post("/v1/conversations/search", json=body))
