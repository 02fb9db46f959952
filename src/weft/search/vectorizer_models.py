"""``modelName`` of an ``azureOpenAI`` vectorizer, with the effect Azure gives it (pure).

Azure's ``AzureOpenAIVectorizerParameters.modelName`` names the embedding model deployed at ``deploymentId``:
``text-embedding-ada-002``, ``text-embedding-3-small`` or ``text-embedding-3-large``. It is checked when the index
is created — another name is a 400, and a vector field whose profile uses the vectorizer must fit the model
(ada-002: exactly 1536 dimensions; 3-small: at most 1536; 3-large: at most 3072) — and for the text-embedding-3
models, whose vectors can be shortened, each embeddings request carries ``dimensions`` (the field's) when the
field is narrower than the model's full size, so the vectors the deployment returns fit the field. Without a
``modelName`` weft sends no ``dimensions`` and checks the returned length at query time, as before.
"""
from __future__ import annotations

from typing import Any

from weft.errors import InvalidInput

# model -> (full dimensions, whether shorter vectors can be requested)
MODELS: dict[str, tuple[int, bool]] = {
    "text-embedding-ada-002": (1536, False),
    "text-embedding-3-small": (1536, True),
    "text-embedding-3-large": (3072, True),
}
_P = "\r\nParameter name: "


def _parameters(vectorizer: dict[str, Any]) -> dict[str, Any]:
    params = vectorizer.get("azureOpenAIParameters")
    return params if isinstance(params, dict) else {}


def model_name(vectorizer: dict[str, Any]) -> str | None:
    """The checked ``modelName`` of an azureOpenAI vectorizer (None: not given, or another kind)."""
    if vectorizer.get("kind") != "azureOpenAI":
        return None
    name = _parameters(vectorizer).get("modelName")
    if name is None:
        return None
    if name not in MODELS:
        raise InvalidInput(f"The vectorizer '{vectorizer.get('name')}' has modelName {name!r}; use one of "
                           f"{', '.join(MODELS)}.{_P}modelName")
    return name


def check_field(field_name: str, dimensions: int | None, vectorizer: dict[str, Any]) -> None:
    """A vector field of ``dimensions`` whose profile uses ``vectorizer``: a 400 when the model cannot fill it."""
    name = model_name(vectorizer)
    if name is None or dimensions is None:
        return
    full, shortens = MODELS[name]
    if dimensions == full or (shortens and dimensions < full):
        return
    rule = f"at most {full}" if shortens else f"exactly {full}"
    raise InvalidInput(f"The vector field '{field_name}' has {dimensions} dimensions, but its vectorizer "
                       f"'{vectorizer.get('name')}' uses {name}, whose vectors have {rule} dimensions.{_P}dimensions")


def request_dimensions(vectorizer: dict[str, Any], dimensions: int | None) -> int | None:
    """The ``dimensions`` to send in an embeddings request for a field of ``dimensions`` (None: send none)."""
    if dimensions is None:
        return None
    try:
        name = model_name(vectorizer)
    except InvalidInput:
        return None
    if name is None:
        return None
    full, shortens = MODELS[name]
    return dimensions if shortens and dimensions < full else None
