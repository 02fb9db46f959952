"""The chat model a knowledge base plans queries and writes answers with (preview `2025-11-01-preview`).

Which model: the knowledge base's first `models[]` entry (`azureOpenAI`: `resourceUri`, `deploymentId`, the sealed
`apiKey`), called at `<resourceUri>/openai/deployments/<deploymentId>/chat/completions?api-version=2024-10-21` with
the `api-key` header; without one, weft's own configured chat endpoint (`[models] llm_base_url`, `llm_api_key`,
`llm_model` — the one `/v1/responses` uses), at `<llm_base_url>/chat/completions` with a bearer token.

A knowledge base's `resourceUri` must be in the operator's allow-list (`server.allowed_model_endpoints`), checked when
the base is created or updated and again before each call, as vectorizer endpoints are; the configured endpoint is
the operator's own. Calls run in the bounded pool semantic reranking uses (`weft.search.ranking.semantic._POOL`),
waited on for at most the time left of `maxRuntimeInSeconds`. Every failure (unreachable, an HTTP error, a body that
is not a chat completion, the deadline) is a `ModelFailure` whose message is safe to show; the detail is logged.
"""
from __future__ import annotations

import concurrent.futures
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from weft import observability
from weft.errors import InvalidInput

log = logging.getLogger("weft.retrieval.model")
AZURE_OPENAI_API_VERSION = "2024-10-21"


class ModelFailure(Exception):
    def __init__(self, code: str, message: str, detail: str = ""):
        super().__init__(message)
        self.code, self.message = code, message
        if detail:
            log.warning("knowledge base chat model: %s: %s", code, detail)


@dataclass
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    elapsed_ms: int


@dataclass
class ChatModel:
    url: str
    headers: dict[str, str]
    model: str | None  # sent as `model` (OpenAI-compatible endpoints); Azure deployments ignore it
    checked_url: str | None  # the URL the allow-list is checked against before each call (None: the operator's)
    member: str = "models[0].azureOpenAIParameters.resourceUri"

    def complete(self, messages: list[dict], *, deadline: float, max_tokens: int | None = None, json_mode: bool = False) -> Completion:
        from weft.search.endpoints import POLICY
        from weft.search.ranking.semantic import _POOL

        if self.checked_url is not None and not POLICY.allows(self.checked_url):
            raise ModelFailure("ModelEndpointNotAllowed", f"'{self.member}' names an endpoint that is not in this server's allowed model "
                                                          "endpoints (WEFT_ALLOWED_MODEL_ENDPOINTS).")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ModelFailure("Timeout", "maxRuntimeInSeconds was reached before the chat model was called.")
        payload: dict[str, Any] = {"messages": messages, "stream": False, "temperature": 0}
        if self.model:
            payload["model"] = self.model
        if max_tokens:
            payload["max_tokens"] = max_tokens
        if json_mode:
            payload["response_format"] = {"type": "json_object"}
        started = time.perf_counter()
        future = _POOL.submit(self._post, payload, remaining)
        try:
            body = future.result(timeout=remaining + 0.5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ModelFailure("Timeout", "The chat model did not answer within maxRuntimeInSeconds.")
        except ModelFailure:
            raise
        except Exception as exc:  # anything else the HTTP client raises (a malformed URL, say): never a 500
            raise ModelFailure("ModelUnavailable", "The chat model could not be called.", repr(exc))
        elapsed = int((time.perf_counter() - started) * 1000)
        try:
            text = body["choices"][0]["message"]["content"]
            usage = body.get("usage") or {}
            details = usage.get("completion_tokens_details") or {}
            if not isinstance(text, str):
                raise TypeError("content is not text")
            return Completion(text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                              int(details.get("reasoning_tokens") or 0), elapsed)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFailure("InvalidModelResponse", "The chat model's answer is not a chat completion.", f"{exc}: {str(body)[:300]}")

    def _post(self, payload: dict, timeout: float) -> Any:
        try:
            with observability.model_call("chat"):
                response = httpx.post(self.url, json=payload, headers=self.headers, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise ModelFailure("Timeout", "The chat model did not answer within maxRuntimeInSeconds.", str(exc))
        except httpx.HTTPError as exc:
            raise ModelFailure("ModelUnavailable", "The chat model could not be reached.", str(exc))
        if response.status_code >= 400:
            raise ModelFailure("ModelUnavailable", f"The chat model answered HTTP {response.status_code}.", response.text[:500])
        try:
            return response.json()
        except ValueError:
            raise ModelFailure("InvalidModelResponse", "The chat model's answer is not JSON.", response.text[:300])


def check_model_endpoints(base: dict) -> None:
    """At create/update: every model endpoint a knowledge base names must be in the operator's allow-list."""
    from weft.search.endpoints import POLICY

    for i, m in enumerate(base.get("models") or []):
        params = m.get("azureOpenAIParameters") or {}
        POLICY.check(params.get("resourceUri"), f"models[{i}].azureOpenAIParameters.resourceUri")


def resolve(base: dict, api_keys: dict[str, str], configured: dict[str, str | None]) -> ChatModel:
    """The knowledge base's model, else the configured chat endpoint; a 400 when there is neither."""
    models = base.get("models") or []
    if models:
        params = models[0].get("azureOpenAIParameters") or {}
        resource = params["resourceUri"].rstrip("/")
        deployment = quote(params["deploymentId"], safe="")  # no climbing out of the allowed resourceUri
        url = f"{resource}/openai/deployments/{deployment}/chat/completions?api-version={AZURE_OPENAI_API_VERSION}"
        headers = {"content-type": "application/json"}
        if api_keys.get("0"):
            headers["api-key"] = api_keys["0"]
        return ChatModel(url, headers, params.get("modelName") or params["deploymentId"], params["resourceUri"])
    base_url = configured.get("llm_base_url")
    if not base_url:
        raise InvalidInput("This request needs a chat model (query planning with retrievalReasoningEffort low or medium, or outputMode "
                           "answerSynthesis), but the knowledge base has no 'models' and no chat model is configured on this server "
                           "([models] llm_base_url, WEFT_LLM_BASE_URL).")
    headers = {"content-type": "application/json"}
    if configured.get("llm_api_key"):
        headers["authorization"] = f"Bearer {configured['llm_api_key']}"
    return ChatModel(f"{base_url.rstrip('/')}/chat/completions", headers, configured.get("llm_model"), None)
