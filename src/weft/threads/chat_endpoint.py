"""The configured OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, a local server)."""
from __future__ import annotations

import json
import logging
from typing import Iterator

import httpx

from weft import observability
from weft.errors import InvalidInput, Unavailable


log = logging.getLogger("weft.threads.upstream")
GENERIC = "The chat endpoint did not answer usably; the server log has the details."


class UpstreamError(Unavailable):
    """What the caller sees of an upstream failure: one message whatever happened (the detail is logged)."""

    default_code = "upstream_error"

    def __init__(self, detail: str):
        log.warning("chat endpoint: %s", detail)
        super().__init__(GENERIC)


class EmptyAnswer(Unavailable):
    """The model ended its answer with nothing in it: no text, no tool call (a stream closed before any content,
    a completion with an empty message). OpenAI never answers so; weft treats it as a broken upstream: the
    response or run ends ``failed`` with ``server_error`` and no empty assistant message is stored."""

    default_code = "server_error"

    def __init__(self, detail: str = "no content and no tool call",
                 message: str = "The model's answer was empty: the chat endpoint ended it without any content or tool call."):
        log.warning("chat endpoint: a broken answer (%s)", detail)
        super().__init__(message)


def require_answer(has_output: bool, finish_reason: str | None) -> None:
    """Raises EmptyAnswer for an answer with no text and no tool call, unless the model said why it stopped short
    (``length``: the output limit, ``content_filter``): those end ``incomplete``, as OpenAI's do."""
    if not has_output and finish_reason not in ("length", "content_filter"):
        raise EmptyAnswer(f"finish_reason {finish_reason!r}")


class ChatEndpoint:
    def __init__(self, base_url: str | None, api_key: str | None, *, timeout: float = 120.0):
        self.base_url = base_url.rstrip("/") if base_url else None
        self.api_key = api_key
        self._client = httpx.Client(timeout=timeout)

    def _url(self) -> str:
        if not self.base_url:
            raise InvalidInput("No chat endpoint is configured (WEFT_LLM_BASE_URL).", code="model_not_configured")
        return f"{self.base_url}/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
            headers["api-key"] = self.api_key  # Azure OpenAI reads this one
        return headers

    def complete(self, payload: dict) -> dict:
        try:
            with observability.model_call("chat"):
                response = self._client.post(self._url(), json={**payload, "stream": False}, headers=self._headers())
        except httpx.HTTPError as exc:
            raise UpstreamError(f"The chat endpoint could not be reached: {exc}.") from exc
        if response.status_code >= 400:
            raise UpstreamError(f"The chat endpoint answered {response.status_code}: {response.text[:500]}")
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(f"The chat endpoint answered a body that is not JSON: {response.text[:500]}")

    def stream(self, payload: dict) -> Iterator[dict]:
        """Chunks of a streamed chat completion (``data:`` lines of the SSE stream). A stream that ends with neither
        ``[DONE]`` nor a chunk with a ``finish_reason`` was cut short: EmptyAnswer (``server_error``), never a
        partial answer taken for a whole one."""
        body = {**payload, "stream": True, "stream_options": {"include_usage": True}}
        try:
            with self._client.stream("POST", self._url(), json=body, headers=self._headers()) as response:
                if response.status_code >= 400:
                    response.read()
                    raise UpstreamError(f"The chat endpoint answered {response.status_code}: {response.text[:500]}")
                finished = False
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    try:
                        chunk = json.loads(data)
                    except ValueError:
                        raise UpstreamError(f"The chat endpoint streamed a chunk that is not JSON: {data[:500]}")
                    choices = chunk.get("choices") if isinstance(chunk, dict) else None
                    finished = finished or any(isinstance(c, dict) and c.get("finish_reason") for c in choices or [])
                    yield chunk
                if not finished:
                    raise EmptyAnswer("the stream ended without [DONE] or a finish_reason",
                                      "The model's answer was cut short: the chat endpoint's stream ended before it finished.")
        except httpx.HTTPError as exc:
            raise UpstreamError(f"The chat endpoint stream failed: {exc}.") from exc

    def close(self) -> None:
        self._client.close()
