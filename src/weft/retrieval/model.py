"""Knowledge sources and knowledge bases as Azure AI Search shapes them (agentic retrieval), validated.

GA (`2026-04-01`): a knowledge source of kind `searchIndex` over a weft index; a knowledge base lists sources and,
optionally, `models`. The kinds that need Azure-hosted resources (`azureBlob`, `indexedOneLake`, `web`,
SharePoint) are refused with a 400 that says so. Preview members of a knowledge base (`retrievalReasoningEffort`,
`outputMode`, `answerInstructions`, `retrievalInstructions`) are a 400 on the GA api-version, as Azure answers
removed fields; on the preview they are stored and used by `weft.retrieval.preview` (planning and synthesis with the
base's `models[0]` or the configured chat model).
"""
from __future__ import annotations

import copy
from typing import Any

from weft import encryption_keys
from weft.errors import InvalidInput
from weft.search.strict import check_definition

HOSTED_KINDS = {
    "azureBlob": "Azure Blob Storage",
    "indexedOneLake": "Microsoft OneLake",
    "web": "Bing web grounding",
    "remoteSharePoint": "SharePoint (remote)",
    "indexedSharePoint": "SharePoint (indexed)",
    "workIQ": "Work IQ",
}
SOURCE_MEMBERS = {"name", "description", "kind", "@odata.etag", "encryptionKey", "searchIndexParameters", "@odata.context"}
SEARCH_INDEX_MEMBERS = {"searchIndexName", "sourceDataFields", "searchFields", "semanticConfigurationName"}
BASE_MEMBERS = {"name", "description", "knowledgeSources", "models", "@odata.etag", "encryptionKey", "@odata.context"}
PREVIEW_BASE_MEMBERS = {"retrievalReasoningEffort", "outputMode", "answerInstructions", "retrievalInstructions"}
MODEL_KINDS = ("azureOpenAI",)


def is_preview(api_version: str | None) -> bool:
    return bool(api_version) and api_version.endswith("-preview")


def _name(body: dict, name_from_path: str | None, what: str) -> str:
    name = body.get("name")
    if name_from_path is not None:
        if name is None:
            name = name_from_path
        elif name != name_from_path:
            raise InvalidInput(f"The {what} name '{name}' in the request body does not match the name '{name_from_path}' in the URL.")
    if not isinstance(name, str) or not name or len(name) > 128 or not all(c.isalnum() or c in "-_" for c in name) \
            or not name[0].isalnum():
        raise InvalidInput(f"The {what} name {name!r} is invalid: use 1 to 128 letters, digits, '-' or '_', starting with a letter or digit.")
    return name


def _field_list(raw: Any, where: str) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(f, dict) and isinstance(f.get("name"), str) and f["name"] for f in raw):
        raise InvalidInput(f"'{where}' must be an array of objects with a 'name'.")
    return [{"name": f["name"]} for f in raw]


def parse_source(body: Any, *, name_from_path: str | None = None) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object describing the knowledge source.")
    check_definition(body, "knowledgesource")  # unknown and refused members (weft.search.members_resources)
    name = _name(body, name_from_path, "knowledge source")
    kind = body.get("kind")
    if kind in HOSTED_KINDS:
        raise InvalidInput(f"Knowledge sources of kind '{kind}' need {HOSTED_KINDS[kind]}, which a self-hosted weft cannot reach; "
                           "use kind 'searchIndex' over a weft index.")
    if kind != "searchIndex":
        raise InvalidInput(f"Unknown knowledge source kind {kind!r}; weft serves 'searchIndex'.")
    unknown = set(body) - SOURCE_MEMBERS
    if unknown:
        raise InvalidInput(f"The knowledge source has an unknown member '{sorted(unknown)[0]}'.")
    encryption_keys.refuse(body, "knowledge source")
    params = body.get("searchIndexParameters")
    if not isinstance(params, dict) or not isinstance(params.get("searchIndexName"), str) or not params["searchIndexName"]:
        raise InvalidInput("A 'searchIndex' knowledge source needs searchIndexParameters.searchIndexName.")
    unknown = set(params) - SEARCH_INDEX_MEMBERS
    if unknown:
        raise InvalidInput(f"searchIndexParameters has an unknown member '{sorted(unknown)[0]}'.")
    semantic = params.get("semanticConfigurationName")
    if semantic is not None and not isinstance(semantic, str):
        raise InvalidInput("searchIndexParameters.semanticConfigurationName must be a string.")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidInput("'description' must be a string.")
    return {
        "name": name, "kind": "searchIndex", "description": description,
        "searchIndexParameters": {
            "searchIndexName": params["searchIndexName"],
            "sourceDataFields": _field_list(params.get("sourceDataFields"), "sourceDataFields"),
            "searchFields": _field_list(params.get("searchFields"), "searchFields"),
            "semanticConfigurationName": semantic,
        },
        "encryptionKey": None,
    }


def parse_base(body: Any, *, api_version: str | None, name_from_path: str | None = None, existing_models: list | None = None) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object describing the knowledge base.")
    check_definition(body, "knowledgebase")
    name = _name(body, name_from_path, "knowledge base")
    preview = is_preview(api_version)
    unknown = set(body) - BASE_MEMBERS - (PREVIEW_BASE_MEMBERS if preview else set())
    if unknown:
        member = sorted(unknown)[0]
        if member in PREVIEW_BASE_MEMBERS:
            raise InvalidInput(f"'{member}' is a preview member of knowledge bases: it needs api-version 2025-11-01-preview.")
        raise InvalidInput(f"The knowledge base has an unknown member '{member}'.")
    encryption_keys.refuse(body, "knowledge base")
    sources = body.get("knowledgeSources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, dict) and isinstance(s.get("name"), str) for s in sources):
        raise InvalidInput("A knowledge base needs 'knowledgeSources': an array of {\"name\": ...}.")
    models = []
    for i, m in enumerate(body.get("models") or []):
        if not isinstance(m, dict) or m.get("kind") not in MODEL_KINDS:
            raise InvalidInput(f"models[{i}] must have kind 'azureOpenAI'.")
        params = m.get("azureOpenAIParameters")
        if not isinstance(params, dict) or not isinstance(params.get("resourceUri"), str) or not isinstance(params.get("deploymentId"), str):
            raise InvalidInput(f"models[{i}].azureOpenAIParameters needs resourceUri and deploymentId.")
        models.append(copy.deepcopy(m))
    out = {"name": name, "description": body.get("description"), "knowledgeSources": [{"name": s["name"]} for s in sources],
           "models": models, "encryptionKey": None}
    if preview:
        effort = body.get("retrievalReasoningEffort")
        if effort is not None:
            kind = effort.get("kind") if isinstance(effort, dict) and set(effort) <= {"kind"} else None
            if kind not in ("minimal", "low", "medium"):
                raise InvalidInput("retrievalReasoningEffort must be {\"kind\": \"minimal\"|\"low\"|\"medium\"}.")
            out["retrievalReasoningEffort"] = {"kind": kind}
        mode = body.get("outputMode")
        if mode not in (None, "extractiveData", "answerSynthesis"):
            raise InvalidInput(f"outputMode {mode!r} is not 'extractiveData' or 'answerSynthesis'.")
        if mode:
            out["outputMode"] = mode
        for member in ("answerInstructions", "retrievalInstructions"):
            value = body.get(member)
            if value is not None:
                if not isinstance(value, str) or len(value) > 10_000:
                    raise InvalidInput(f"'{member}' must be a string of at most 10000 characters.")
                out[member] = value
    return out


def render_base(stored: dict, etag: str) -> dict:
    """As Azure returns it: secrets (model api keys) never returned."""
    out = copy.deepcopy(stored)
    for m in out.get("models") or []:
        params = m.get("azureOpenAIParameters") or {}
        if "apiKey" in params:
            params["apiKey"] = None
    out["@odata.etag"] = etag
    return out


def render_source(stored: dict, etag: str) -> dict:
    out = copy.deepcopy(stored)
    out["@odata.etag"] = etag
    return out
