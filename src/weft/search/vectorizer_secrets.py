"""Vectorizer API keys in index definitions: sealed at rest, never rendered, kept across updates.

Azure returns secrets as ``null`` (as it does for data source connection strings), so GET /indexes shows
``"apiKey": null``, and the SDK's get -> change -> update round trip sends that ``null`` back. An update that
leaves out (or nulls) the key of a vectorizer keeps the stored key, as long as the vectorizer keeps its name,
kind and endpoint; a key is never carried to a changed endpoint (that update must send the key: a 400 names
the member otherwise), so a stored key cannot be redirected to another server.
"""
from __future__ import annotations

import copy
from typing import Any, Iterator

from weft.errors import InvalidInput
from weft.secretbox import SecretBox

# parameters object -> its secret member, per vectorizer kind
SECRET_MEMBERS = {
    "azureOpenAIParameters": "apiKey",
    "openAICompatibleParameters": "apiKey",
    "aiServicesVisionParameters": "apiKey",
    "amlParameters": "key",
}
SEALED = "@weft.sealed"


def _secrets(body: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """(vectorizer name, member path, parameters object, secret name) for each secret slot in a definition."""
    config = body.get("vectorSearch")
    if not isinstance(config, dict):
        return
    for i, vectorizer in enumerate(config.get("vectorizers") or []):
        if not isinstance(vectorizer, dict):
            continue
        for params_name, secret in SECRET_MEMBERS.items():
            params = vectorizer.get(params_name)
            if isinstance(params, dict):
                yield str(vectorizer.get("name")), f"vectorSearch.vectorizers[{i}].{params_name}.{secret}", params, secret


def redact(rendered: dict[str, Any]) -> dict[str, Any]:
    """A definition as clients see it: every vectorizer secret ``null``."""
    out = copy.deepcopy(rendered)
    for _, _, params, secret in _secrets(out):
        if secret in params:
            params[secret] = None
    return out


def seal(rendered: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    """A definition as the catalog stores it: each secret replaced by ``{"@weft.sealed": token}``."""
    out = copy.deepcopy(rendered)
    for _, _, params, secret in _secrets(out):
        value = params.get(secret)
        if isinstance(value, str):
            params[secret] = {SEALED: box.seal(value).decode()}
    return out


def unseal(stored: dict[str, Any], box: SecretBox) -> tuple[dict[str, Any], bool]:
    """The stored definition with its secrets opened; the flag says whether a secret was stored in clear
    (a catalog written before sealing: the caller re-stores it sealed)."""
    out = copy.deepcopy(stored)
    legacy = False
    for _, _, params, secret in _secrets(out):
        value = params.get(secret)
        if isinstance(value, dict) and isinstance(value.get(SEALED), str):
            params[secret] = box.open(value[SEALED].encode())
        elif isinstance(value, str):
            legacy = True
    return out, legacy


ENDPOINT_MEMBERS = ("resourceUri", "baseUrl", "uri", "url", "endpoint", "scoringUri")


def carry_over(new: dict[str, Any], old: dict[str, Any]) -> None:
    """Fill each secret an update leaves out from the stored vectorizer of the same name, kind and endpoint."""
    stored = {(name, path.rsplit(".", 2)[-2]): params for name, path, params, secret in _secrets(old) if params.get(secret)}
    for name, path, params, secret in _secrets(new):
        if params.get(secret):
            continue
        previous = stored.get((name, path.rsplit(".", 2)[-2]))
        if previous is None:
            continue
        if any(params.get(m) != previous.get(m) for m in ENDPOINT_MEMBERS):
            raise InvalidInput(f"'{path}' is required: the endpoint of the vectorizer '{name}' changed, and its stored key is "
                               "never sent to another endpoint.")
        params[secret] = previous[secret]
