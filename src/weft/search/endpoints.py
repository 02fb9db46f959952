"""Which model endpoints weft may call: the operator's allow-list (``WEFT_ALLOWED_MODEL_ENDPOINTS``, or
``weft serve --allowed-model-endpoint``).

A vectorizer in an index definition (service admin through the API) or in a tenant's conversation-search
settings (tenant admin) names a URL weft will POST to; without a list, anyone with such a key could make
the server reach any address (the loopback, the cloud metadata service, the internal network). So every
endpoint a definition names must match an entry of the list, checked when the definition is created or
updated (400 naming the member) and again before each call (a definition stored before the list was set).
The endpoints the operator configures by environment (``WEFT_CONVERSATION_EMBEDDINGS``,
``WEFT_LLM_BASE_URL``) are the operator's and are added to the list by the code reading them.

An entry is a URL prefix (``https://my-openai.openai.azure.com``, ``http://127.0.0.1:11434/v1``) or a bare
host (``my-openai.openai.azure.com``: any scheme, port and path; ``localhost:11434``: that port). Matching is on the parsed
URL: scheme and host exact (case-insensitive), port exact (default ports filled in), path a prefix at a
``/`` boundary. URLs with credentials (``user@host``) are refused. The ``local`` vectorizer calls nothing.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

from weft.errors import InvalidInput

ENV = "WEFT_ALLOWED_MODEL_ENDPOINTS"
# vectorizer parameters object -> the member holding its endpoint
ENDPOINT_MEMBERS = {
    "azureOpenAIParameters": ("resourceUri", "resourceUrl"),
    "openAICompatibleParameters": ("baseUrl",),
    "aiServicesVisionParameters": ("resourceUri",),
    "amlParameters": ("uri", "resourceId"),
    "customWebApiParameters": ("uri",),
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class _Entry:
    scheme: str | None
    host: str
    port: int | None
    path: str

    def matches(self, scheme: str, host: str, port: int, path: str) -> bool:
        if self.scheme is not None and scheme != self.scheme:
            return False
        if host != self.host:
            return False
        if self.port is not None and port != self.port:
            return False
        prefix = self.path.rstrip("/")
        return not prefix or path == prefix or path.startswith(prefix + "/")


def _split(url: str) -> tuple[str, str, int, str] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    from urllib.parse import unquote

    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        return None  # no climbing out of an allowed prefix
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme], parts.path or "/"


def _entry(text: str) -> _Entry:
    text = text.strip()
    if "://" in text:
        split = _split(text)
        if split is None:
            raise InvalidInput(f"'{text}' in {ENV} is not an http(s) URL prefix.")
        scheme, host, port, path = split
        return _Entry(scheme, host, port, path)
    host, _, port = text.partition(":")
    if not host or (port and not port.isdigit()) or "/" in text:
        raise InvalidInput(f"'{text}' in {ENV} is neither a URL prefix nor a host[:port].")
    return _Entry(None, host.lower(), int(port) if port else None, "/")


class EndpointPolicy:
    def __init__(self, allowed: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._entries: tuple[_Entry, ...] = tuple(_entry(a) for a in allowed if a.strip())

    def configure(self, allowed: Iterable[str]) -> None:
        entries = tuple(_entry(a) for a in allowed if a.strip())
        with self._lock:
            self._entries = entries

    def allow(self, url: str) -> None:
        """Adds an endpoint the operator configured (by environment) to the list."""
        entry = _entry(url)
        with self._lock:
            if entry not in self._entries:
                self._entries = (*self._entries, entry)

    def allows(self, url: Any) -> bool:
        split = _split(url) if isinstance(url, str) else None
        return split is not None and any(e.matches(*split) for e in self._entries)

    def check(self, url: Any, member: str) -> None:
        if not self.allows(url):
            raise InvalidInput(f"'{member}' names an endpoint that is not in this server's allowed model endpoints "
                               f"({ENV}); ask the operator to add it.")


def _from_env() -> list[str]:
    return [p for p in os.environ.get(ENV, "").replace("\n", ",").split(",") if p.strip()]


POLICY = EndpointPolicy(_from_env())


def vectorizer_endpoints(vectorizer: dict[str, Any], where: str) -> list[tuple[str, Any]]:
    """(member path, value) of every endpoint a vectorizer names."""
    out = []
    for params_name, members in ENDPOINT_MEMBERS.items():
        params = vectorizer.get(params_name)
        if isinstance(params, dict):
            for member in members:
                if params.get(member) is not None:
                    out.append((f"{where}.{params_name}.{member}", params[member]))
    return out


def check_vectorizer_endpoints(vectorizer: Any, where: str, policy: EndpointPolicy | None = None) -> None:
    if isinstance(vectorizer, dict):
        for member, url in vectorizer_endpoints(vectorizer, where):
            (policy or POLICY).check(url, member)


def check_definition_endpoints(body: Any, policy: EndpointPolicy | None = None) -> None:
    """Every vectorizer endpoint of an index definition (as a client sent it) must be allowed."""
    config = body.get("vectorSearch") if isinstance(body, dict) else None
    if not isinstance(config, dict) or not isinstance(config.get("vectorizers"), list):
        return
    for i, vectorizer in enumerate(config["vectorizers"]):
        check_vectorizer_endpoints(vectorizer, f"vectorSearch.vectorizers[{i}]", policy)
