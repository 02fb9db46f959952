"""``encryptionKey`` (customer-managed keys in Azure Key Vault) on indexes, synonym maps, data sources, indexers,
knowledge sources and knowledge bases: refused with a 400 that says what weft does instead.

weft cannot reach Azure Key Vault, and wrapping its own keys under a key it never sees would be a promise it
cannot keep; so a definition that asks for a customer-managed key is refused rather than stored unencrypted
under a name that says otherwise. ``null`` (what a GET returns, and what the SDK sends back) is accepted.
What weft encrypts at rest, with its own keys, is in docs/compatibility.md ("Encryption keys").

:func:`redact` is for definitions stored before the refusal: ``accessCredentials.applicationSecret`` is never
returned by a GET, as Azure never returns it.
"""
from __future__ import annotations

import copy
from typing import Any

from weft.errors import InvalidInput

MESSAGE = (
    "'encryptionKey' (customer-managed keys in Azure Key Vault) is not supported: weft does not call Azure Key Vault. "
    "weft encrypts what it keeps secret with its own keys instead: connection strings and vectorizer API keys are "
    "sealed in its catalogs (Fernet, key file <data-dir>/*/secret.key, mode 0600), conversation content is "
    "envelope-encrypted under WEFT_MASTER_KEY, and index files rely on the file system's encryption. Omit "
    "'encryptionKey' or send null."
)


def refuse(body: Any, what: str) -> None:
    """A 400 when a definition (of ``what``: "index", "data source", ...) sets ``encryptionKey``."""
    if isinstance(body, dict) and body.get("encryptionKey") is not None:
        raise InvalidInput(f"{MESSAGE} (The {what} sets 'encryptionKey'.)\r\nParameter name: encryptionKey")


def redact(key: Any) -> Any:
    """An encryption key as a GET returns it: ``accessCredentials.applicationSecret`` is null."""
    if not isinstance(key, dict):
        return key
    out = copy.deepcopy(key)
    credentials = out.get("accessCredentials")
    if isinstance(credentials, dict) and "applicationSecret" in credentials:
        credentials["applicationSecret"] = None
    return out
