"""Query planning and answer synthesis prompts for preview retrieve, and the strict reading of a query plan.

Planning asks the chat model (JSON mode) for `{"queries": [{"search": "...", "knowledgeSources": ["..."]}]}` — a
query may be a bare string, `knowledgeSources` (optional) selects sources by name. The reasoning efforts differ as
Azure documents them (`agentic-retrieval-how-to-set-retrieval-reasoning-effort`: `low` is "a single pass of LLM-based
query planning and knowledge source selection"; `medium` "adds deeper search … to maximize completeness"):

| effort | planning passes | sub-queries per pass |
|---|---|---|
| `low` | 1 | at most 3 |
| `medium` | 2 (the second sees what the first found and may ask follow-up queries, or none) | at most 5 |

A plan that is not that JSON, names an unknown source, or has no usable query is a `ModelFailure`
(`InvalidQueryPlan`). The knowledge base's `retrievalInstructions` go into the planner's system prompt,
`answerInstructions` into the synthesizer's.
"""
from __future__ import annotations

import json
from typing import Any

from weft.retrieval.chat_model import ModelFailure

MAX_QUERIES = {"low": 3, "medium": 5}
PASSES = {"low": 1, "medium": 2}
MAX_QUERY_CHARS = 1000


def conversation_text(messages: list[dict]) -> list[tuple[str, str]]:
    out = []
    for m in messages:
        text = " ".join(c["text"] for c in m["content"] if c.get("type") == "text")
        out.append((m["role"], text))
    return out


def last_user_text(messages: list[dict]) -> str:
    for role, text in reversed(conversation_text(messages)):
        if role == "user" and text.strip():
            return text.strip()
    return ""


def planning_messages(effort: str, messages: list[dict], sources: list[dict], instructions: str | None,
                      found: list[str] | None = None) -> list[dict]:
    catalogue = "\n".join(f"- {s['name']}: {s.get('description') or 'no description'}" for s in sources)
    system = (f"You plan search queries for a retrieval system. Read the conversation and write at most {MAX_QUERIES[effort]} "
              "short, self-contained search queries that together find what the user's last message needs (resolve pronouns "
              "from earlier turns). You may pick the knowledge sources each query runs against; without a choice it runs "
              f"against all of them. Knowledge sources:\n{catalogue}\n"
              'Answer with JSON only: {"queries": [{"search": "<query>", "knowledgeSources": ["<source name>"]}]}.')
    if found is not None:
        listing = "\n".join(f"- {t}" for t in found) or "- (nothing)"
        system += ("\nA first round of queries already found these documents:\n" + listing +
                   '\nAsk only follow-up queries for what is still missing, or answer {"queries": []} when nothing is.')
    if instructions:
        system += f"\nRetrieval instructions from the knowledge base: {instructions}"
    transcript = "\n".join(f"{role}: {text}" for role, text in conversation_text(messages))
    return [{"role": "system", "content": system}, {"role": "user", "content": transcript}]


def parse_plan(text: str, effort: str, source_names: list[str], *, allow_empty: bool = False) -> list[dict]:
    """[{"search", "sources": [names] or None}] from the model's answer, or ModelFailure('InvalidQueryPlan')."""
    def bad(why: str) -> ModelFailure:
        return ModelFailure("InvalidQueryPlan", f"The chat model's query plan is not usable: {why}.", text[:300])

    stripped = text.strip()
    if stripped.startswith("```"):  # a fenced block, as some models answer even in JSON mode
        stripped = stripped.strip("`").removeprefix("json").strip()
    try:
        plan = json.loads(stripped)
    except ValueError:
        raise bad("it is not JSON")
    queries = plan.get("queries") if isinstance(plan, dict) else None
    if not isinstance(queries, list):
        raise bad("it has no 'queries' array")
    out: list[dict] = []
    for i, q in enumerate(queries):
        if len(out) == MAX_QUERIES[effort]:
            break
        if isinstance(q, str):
            q = {"search": q}
        if not isinstance(q, dict) or not isinstance(q.get("search"), str) or not q["search"].strip():
            raise bad(f"queries[{i}] has no 'search' text")
        sources = q.get("knowledgeSources")
        if sources is not None:
            if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
                raise bad(f"queries[{i}].knowledgeSources is not an array of names")
            unknown = [s for s in sources if s not in source_names]
            if unknown:
                raise bad(f"queries[{i}] names the knowledge source '{unknown[0]}', which the knowledge base does not have")
        search = q["search"].strip()[:MAX_QUERY_CHARS]
        if all(o["search"] != search or o["sources"] != sources for o in out):
            out.append({"search": search, "sources": sources or None})
    if not out and not allow_empty:
        raise bad("it has no queries")
    return out


def synthesis_messages(messages: list[dict], chunks: list[dict], instructions: str | None) -> list[dict]:
    system = ("Answer the user's last message from the numbered sources below and nothing else. Cite every statement with "
              "the source it comes from as [ref_id:N] (N is the source's ref_id), right after the statement. When the sources "
              "do not contain the answer, say so.")
    if instructions:
        system += f"\nAnswer instructions from the knowledge base: {instructions}"
    system += "\nSources (JSON):\n" + json.dumps(chunks, ensure_ascii=False)
    transcript = [{"role": role if role in ("user", "assistant") else "user", "content": text} for role, text in conversation_text(messages)]
    return [{"role": "system", "content": system}, *transcript]


def cited_ids(answer: str) -> list[int]:
    import re

    return [int(n) for n in re.findall(r"\[ref_id:(\d+)\]", answer)]


def plan_summary(hits: list[dict[str, Any]]) -> list[str]:
    return [(h.get("title") or str(h.get("docKey"))) for h in hits[:20]]
