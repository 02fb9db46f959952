"""The tool catalogue: names, descriptions, JSON schemas and what each does.

One definition feeds both faces: the MCP server registers these tools, and `weft tools export`
prints them as OpenAI function-calling schemas. A tool set can be bound to one index (the
product-information tool over the demo `products-index`, say), in which case the `index`
argument disappears from its schema.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from weft.agent_tools.api_client import WeftApi, WeftApiError

MAX_TOP = 50


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments
    run: Callable[[WeftApi, dict[str, Any]], Any]

    def openai_schema(self) -> dict[str, Any]:
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


def _search_tool(bound_index: str | None) -> Tool:
    properties: dict[str, Any] = {
        "query": {"type": "string", "description": "Words to look for (simple query syntax: +, |, -, \"phrase\", prefix*). Use \"*\" for everything."},
        "filter": {"type": "string", "description": "Optional OData filter, e.g. \"category eq 'Outdoors' and price lt 50\"."},
        "top": {"type": "integer", "minimum": 1, "maximum": MAX_TOP, "description": "How many results (default 5)."},
        "select": {"type": "string", "description": "Optional comma-separated fields to return."},
        "semantic": {"type": "boolean", "description": "Rerank the best 50 matches by meaning (semantic ranking; the index needs a "
                                                       "semantic configuration) and return a caption of each."},
    }
    required = ["query"]
    if bound_index is None:
        properties = {"index": {"type": "string", "description": "Name of the search index."}, **properties}
        required = ["index", "query"]

    def run(api: WeftApi, args: dict[str, Any]) -> Any:
        index = bound_index or args["index"]
        top = int(args.get("top") or 5)
        body: dict[str, Any] = {"search": args.get("query") or "*", "top": max(1, min(MAX_TOP, top))}
        if args.get("filter"):
            body["filter"] = args["filter"]
        if args.get("select"):
            body["select"] = args["select"]
        if args.get("semantic"):
            body.update(queryType="semantic", captions="extractive|highlight-false")
        result = api.search(index, body)
        out = []
        for doc in result["value"]:
            item = {k: v for k, v in doc.items() if k not in ("@search.highlights", "@search.captions")}
            if doc.get("@search.captions"):
                item["caption"] = doc["@search.captions"][0]["text"]
            out.append(item)
        return out

    where = f"the '{bound_index}' index" if bound_index else "a search index"
    return Tool(
        name="search_documents",
        description=f"Full-text search with optional filters over {where}. Returns the best matching documents with their relevance score.",
        parameters={"type": "object", "properties": properties, "required": required, "additionalProperties": False},
        run=run,
    )


def _lookup_tool(bound_index: str | None) -> Tool:
    properties: dict[str, Any] = {"key": {"type": "string", "description": "The document key."}}
    required = ["key"]
    if bound_index is None:
        properties = {"index": {"type": "string", "description": "Name of the search index."}, **properties}
        required = ["index", "key"]

    def run(api: WeftApi, args: dict[str, Any]) -> Any:
        document = api.get_document(bound_index or args["index"], args["key"])
        return document if document is not None else {"error": f"No document with key '{args['key']}'."}

    return Tool(
        name="get_document",
        description="Fetch one document by its key.",
        parameters={"type": "object", "properties": properties, "required": required, "additionalProperties": False},
        run=run,
    )


def _conversation_tools() -> list[Tool]:
    def history(api: WeftApi, args: dict[str, Any]) -> Any:
        return api.conversation_items(args["conversation_id"], limit=int(args.get("limit") or 20))

    def append(api: WeftApi, args: dict[str, Any]) -> Any:
        return api.append_message(args["conversation_id"], args.get("role") or "assistant", args["text"])

    return [
        Tool(
            name="get_conversation_history",
            description="The most recent items of a stored conversation, newest first.",
            parameters={"type": "object", "properties": {
                "conversation_id": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100},
            }, "required": ["conversation_id"], "additionalProperties": False},
            run=history,
        ),
        Tool(
            name="append_to_conversation",
            description="Append a message to a stored conversation.",
            parameters={"type": "object", "properties": {
                "conversation_id": {"type": "string"},
                "role": {"type": "string", "enum": ["user", "assistant", "system", "developer"]},
                "text": {"type": "string"},
            }, "required": ["conversation_id", "text"], "additionalProperties": False},
            run=append,
        ),
    ]


def _conversation_search_tool() -> Tool:
    def run(api: WeftApi, args: dict[str, Any]) -> Any:
        top = max(1, min(MAX_TOP, int(args.get("top") or 5)))
        result = api.search_conversations(args["query"], mode=args.get("mode"), top=top,
                                          conversation_id=args.get("conversation_id"), role=args.get("role"))
        return result["data"]

    return Tool(
        name="search_conversations",
        description="Search past conversations (their messages, tool calls and outputs) by words, by meaning or both. "
                    "Returns matching items with their conversation id, role, text and score.",
        parameters={"type": "object", "properties": {
            "query": {"type": "string", "description": "What to look for."},
            "mode": {"type": "string", "enum": ["text", "vector", "hybrid"],
                     "description": "text: words; vector: meaning (embeddings); hybrid: both (the default when embeddings are configured)."},
            "top": {"type": "integer", "minimum": 1, "maximum": MAX_TOP, "description": "How many items (default 5)."},
            "conversation_id": {"type": "string", "description": "Optional: only this conversation."},
            "role": {"type": "string", "enum": ["user", "assistant", "system", "developer", "tool"], "description": "Optional: only items of this role."},
        }, "required": ["query"], "additionalProperties": False},
        run=run,
    )


def _retrieve_tool(knowledge_base: str) -> Tool:
    """Azure's MCP face of a knowledge base names its tool `knowledge_base_retrieve`; so does weft's."""

    def run(api: WeftApi, args: dict[str, Any]) -> Any:
        queries = args.get("queries") or [args["query"]]
        if not isinstance(queries, list) or not all(isinstance(q, str) and q.strip() for q in queries):
            raise ValueError("queries must be a list of non-empty strings")
        result = api.retrieve(knowledge_base, {"intents": [{"type": "semantic", "search": q} for q in queries[:10]],
                                               "includeActivity": False})
        chunks = json.loads(result["response"][0]["content"][0]["text"]) if result.get("response") else []
        refs = {r["id"]: r for r in result.get("references") or []}
        for chunk in chunks:
            ref = refs.get(str(chunk.get("ref_id")))
            if ref is not None:
                chunk["doc_key"], chunk["reranker_score"] = ref.get("docKey"), ref.get("rerankerScore")
        return chunks

    return Tool(
        name="knowledge_base_retrieve",
        description=f"Retrieve grounding passages from the '{knowledge_base}' knowledge base: each query runs against every "
                    "knowledge source, results are reranked by meaning and returned with their document keys.",
        parameters={"type": "object", "properties": {
            "query": {"type": "string", "description": "What to look for."},
            "queries": {"type": "array", "items": {"type": "string"}, "maxItems": 10,
                        "description": "Several sub-queries at once (instead of query)."},
        }, "anyOf": [{"required": ["query"]}, {"required": ["queries"]}], "additionalProperties": False},
        run=run,
    )


def build_tools(index: str | None = None, conversations: bool = False, knowledge_base: str | None = None) -> list[Tool]:
    tools = [_search_tool(index), _lookup_tool(index)]
    if knowledge_base:
        tools.append(_retrieve_tool(knowledge_base))
    if conversations:
        tools.extend(_conversation_tools())
        tools.append(_conversation_search_tool())
    return tools


def call_tool(tools: list[Tool], api: WeftApi, name: str, arguments: dict[str, Any]) -> str:
    """Run a tool and return its result as JSON text (errors as a JSON object with 'error')."""
    tool = next((t for t in tools if t.name == name), None)
    if tool is None:
        return json.dumps({"error": f"Unknown tool '{name}'."})
    unknown = sorted(set(arguments) - set(tool.parameters.get("properties", {})))
    if unknown:  # e.g. an 'index' given to a tool bound to one index: the binding is not negotiable
        return json.dumps({"error": f"Unknown argument '{unknown[0]}' for the tool '{name}'."})
    try:
        return json.dumps(tool.run(api, arguments), ensure_ascii=False)
    except WeftApiError as exc:
        return json.dumps({"error": exc.message, "status": exc.status}, ensure_ascii=False)
    except (KeyError, ValueError, TypeError) as exc:
        return json.dumps({"error": f"Invalid arguments: {exc}"})


def export_openai(tools: list[Tool]) -> list[dict[str, Any]]:
    return [t.openai_schema() for t in tools]
