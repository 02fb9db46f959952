"""Preview retrieve (`api-version=2025-11-01-preview`): conversations, query planning and answer synthesis.

Request members beyond GA's: `messages` (`[{role: user|assistant, content: [{type: text, text}]}]`),
`retrievalReasoningEffort` (`{kind: minimal|low|medium}`, else the knowledge base's, else `low` when `messages` are
sent), `outputMode` (`extractiveData` | `answerSynthesis`, else the knowledge base's, else `extractiveData`) and
`maxOutputSize` (GA's `maxOutputSizeInTokens`, which the preview refuses, as GA refuses these).

* `minimal`: no model; `intents` are the queries. `messages` with `minimal` are a 400, as Azure documents
  ("`messages` work only with `low` or `medium` effort; `minimal` uses `intents`").
* `low` / `medium` with `messages`: the chat model plans sub-queries (`weft.retrieval.planning`, passes and sub-query
  counts per effort there), each run against the sources it selected (all when it selected none; a source whose
  `knowledgeSourceParams` say `alwaysQuerySource: true` always) as a hybrid query — text plus a text vector query on
  the fields that have a vectorizer — reranked semantically where the source's index has a semantic configuration,
  text-only otherwise. Hits are merged per (source, document key), keeping the best reranker score, ordered by it.
  `intents` sent with `messages` run as given, besides the planned queries.
* `answerSynthesis`: the chat model writes the answer from the references that fit `maxOutputSize`, citing them as
  `[ref_id:N]`; the answer is the response's text and `max_tokens` is `maxOutputSize`.
* Activity, in Azure's shapes: `modelQueryPlanning` (`inputTokens`, `outputTokens` from the model's `usage`,
  `elapsedMs`), one `searchIndex` per sub-query and source, `agenticReasoning` (`reasoningTokens`: the planning
  calls' total tokens, or the model's reported reasoning tokens when it reports them; `retrievalReasoningEffort`),
  `modelAnswerSynthesis` (tokens, `elapsedMs`).
* A model that fails, times out or answers an unusable plan does not fail the request: as Azure answers a source
  or model step that failed (206, "the errors then sit in activity"), the step's activity entry carries
  `error: {code, message}` and the answer is a **206**; failed planning falls back to the last user message as the
  one query; failed synthesis returns the extractive data. With no model at all (none on the base, none
  configured) the request is a 400 that says so.
"""
from __future__ import annotations

import json
import time
from typing import Any

from weft.errors import InvalidInput, WeftError
from weft.retrieval import planning
from weft.retrieval import references as references_of
from weft.retrieval.chat_model import ModelFailure, resolve

PREVIEW_REQUEST_MEMBERS = {"intents", "messages", "retrievalReasoningEffort", "outputMode", "maxOutputSize", "maxRuntimeInSeconds",
                           "includeActivity", "knowledgeSourceParams"}
EFFORTS = ("minimal", "low", "medium")
OUTPUT_MODES = ("extractiveData", "answerSynthesis")
MAX_MESSAGES = 100
CHARS_PER_TOKEN = 4
_CONFIGURED: dict[str, str | None] = {}


def configure(llm_base_url: str | None, llm_api_key: str | None, llm_model: str | None) -> None:
    """weft's configured chat endpoint ([models]), used by knowledge bases without `models` (set by the wiring)."""
    _CONFIGURED.update(llm_base_url=llm_base_url, llm_api_key=llm_api_key, llm_model=llm_model)
    if llm_base_url:
        from weft.search.endpoints import POLICY

        POLICY.allow(llm_base_url)  # the operator's own endpoint


def parse_preview(body: dict) -> dict:
    messages = body.get("messages")
    if messages is not None:
        if not isinstance(messages, list) or not messages or len(messages) > MAX_MESSAGES:
            raise InvalidInput(f"'messages' must be a non-empty array of at most {MAX_MESSAGES} messages.")
        for i, m in enumerate(messages):
            content = m.get("content") if isinstance(m, dict) else None
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant") or not isinstance(content, list) or not content:
                raise InvalidInput(f"messages[{i}] must be {{\"role\": \"user\"|\"assistant\", \"content\": [{{\"type\": \"text\", \"text\": ...}}]}}.")
            extra = set(m) - {"role", "content"}
            if extra:
                raise InvalidInput(f"messages[{i}] has an unknown member '{sorted(extra)[0]}'.")
            for j, c in enumerate(content):
                if not isinstance(c, dict) or c.get("type") != "text" or not isinstance(c.get("text"), str) or set(c) - {"type", "text"}:
                    raise InvalidInput(f"messages[{i}].content[{j}] must be {{\"type\": \"text\", \"text\": \"...\"}} "
                                       "(weft's knowledge bases do not take images).")
        if not planning.last_user_text(messages):
            raise InvalidInput("'messages' need a user message with text.")
    effort = body.get("retrievalReasoningEffort")
    kind = None
    if effort is not None:
        kind = effort.get("kind") if isinstance(effort, dict) and set(effort) <= {"kind"} else None
        if kind not in EFFORTS:
            raise InvalidInput("retrievalReasoningEffort must be {\"kind\": \"minimal\"|\"low\"|\"medium\"}.")
    mode = body.get("outputMode")
    if mode is not None and mode not in OUTPUT_MODES:
        raise InvalidInput("outputMode must be 'extractiveData' or 'answerSynthesis'.")
    return {"messages": messages or [], "effort": kind, "outputMode": mode}


def _effort(request: dict, base: dict) -> str:
    extras = request["preview"]
    explicit = extras["effort"] or (base.get("retrievalReasoningEffort") or {}).get("kind")
    return explicit or ("low" if extras["messages"] else "minimal")


def _mode(request: dict, base: dict) -> str:
    return request["preview"]["outputMode"] or base.get("outputMode") or "extractiveData"


def takes_over(request: dict, base: dict) -> bool:
    """Whether this request needs the preview path (else GA's intents path serves it unchanged)."""
    extras = request["preview"]
    effort = _effort(request, base)
    if extras["messages"] and effort == "minimal":
        raise InvalidInput("'messages' work only with retrievalReasoningEffort 'low' or 'medium'; with 'minimal' send 'intents'.")
    if extras["effort"] in ("low", "medium") and not extras["messages"]:
        raise InvalidInput(f"retrievalReasoningEffort '{extras['effort']}' plans queries from the conversation: send 'messages'.")
    return bool(extras["messages"]) or _mode(request, base) == "answerSynthesis"


def text_vector_queries(definition, text: str) -> dict:
    """`vectorQueries` (kind text) over the index's vector fields that have a vectorizer; {} when there are none."""
    fields = []
    for f in definition.vector_fields():
        try:
            if definition.vector_settings(f.name).get("vectorizer"):
                fields.append(f.name)
        except (StopIteration, KeyError, AssertionError):
            continue
    if not fields:
        return {}
    return {"vectorQueries": [{"kind": "text", "text": text, "fields": ",".join(fields), "k": 50}]}


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def retrieve(service, name: str, request: dict) -> tuple[dict, int]:
    found = service.store.get("base", name)
    base, secret = found[0], found[1]
    extras = request["preview"]
    effort, mode = _effort(request, base), _mode(request, base)
    planned = bool(extras["messages"])
    chat = None
    if planned or mode == "answerSynthesis":
        keys = json.loads(service.secrets.open(secret) or "{}") if secret else {}
        chat = resolve(base, keys, _CONFIGURED)
    source_names = [s["name"] for s in base["knowledgeSources"]]
    sources = []
    for n in source_names:
        stored = service.store.get("source", n)
        sources.append({"name": n, "description": (stored[0].get("description") if stored else None)})
    params = {p["knowledgeSourceName"]: p for p in request["knowledgeSourceParams"]}
    for n in params:
        if n not in source_names:
            raise InvalidInput(f"knowledgeSourceParams names '{n}', which is not a knowledge source of the knowledge base '{name}'.")
    deadline = time.monotonic() + request["maxRuntimeInSeconds"]
    run = _Run(service, source_names, params, deadline)

    reasoning_tokens, reported_reasoning = 0, 0
    queries = [{"search": i["search"], "sources": None} for i in request["intents"]]
    if planned:
        plan = run.plan(chat, effort, extras["messages"], sources, base.get("retrievalInstructions"), None)
        if plan is None:
            queries.append({"search": planning.last_user_text(extras["messages"]), "sources": None})
        else:
            queries += plan[0]
            reasoning_tokens += plan[1]
            reported_reasoning += plan[2]
    run.search(queries)
    if planned and effort == "medium" and not run.failed_planning:
        for _ in range(planning.PASSES["medium"] - 1):
            plan = run.plan(chat, effort, extras["messages"], sources, base.get("retrievalInstructions"), planning.plan_summary(run.ordered()))
            if plan is None:
                break
            reasoning_tokens += plan[1]
            reported_reasoning += plan[2]
            run.search([q for q in plan[0] if q not in run.asked])
    if planned:
        run.activity.append({"type": "agenticReasoning", "id": len(run.activity), "reasoningTokens": reported_reasoning or reasoning_tokens,
                             "retrievalReasoningEffort": {"kind": effort}})
    chunks, references = run.references(request["maxOutputSizeInTokens"] * CHARS_PER_TOKEN)
    text = json.dumps(chunks, ensure_ascii=False)
    if mode == "answerSynthesis":
        answer = run.synthesize(chat, extras["messages"] or [{"role": "user", "content": [{"type": "text", "text": q["search"]}]}
                                                             for q in queries], chunks, base.get("answerInstructions"),
                                request["maxOutputSizeInTokens"])
        if answer is not None:
            text = answer
    response: dict[str, Any] = {"response": [{"role": "assistant", "content": [{"type": "text", "text": text}]}], "references": references}
    if request["includeActivity"]:
        response["activity"] = run.activity
    return response, 206 if run.partial else 200


class _Run:
    def __init__(self, service, source_names: list[str], params: dict, deadline: float):
        self.service, self.source_names, self.params, self.deadline = service, source_names, params, deadline
        self.activity: list[dict] = []
        self.merged: dict[tuple[str, str], dict] = {}
        self.partial = False
        self.failed_planning = False
        self.asked: list[dict] = []

    def _model_error(self, entry: dict, exc: ModelFailure) -> None:
        entry["error"] = {"code": exc.code, "message": exc.message}
        self.partial = True

    def plan(self, chat, effort, messages, sources, instructions, found) -> tuple[list[dict], int, int] | None:
        entry: dict[str, Any] = {"type": "modelQueryPlanning", "id": len(self.activity), "inputTokens": 0, "outputTokens": 0}
        self.activity.append(entry)
        started = time.perf_counter()
        try:
            completion = chat.complete(planning.planning_messages(effort, messages, sources, instructions, found), deadline=self.deadline,
                                       json_mode=True)
            entry.update(inputTokens=completion.input_tokens, outputTokens=completion.output_tokens)
            queries = planning.parse_plan(completion.text, effort, self.source_names, allow_empty=found is not None)
        except ModelFailure as exc:
            entry["elapsedMs"] = int((time.perf_counter() - started) * 1000)
            self._model_error(entry, exc)
            self.failed_planning = True
            return None
        entry["elapsedMs"] = completion.elapsed_ms
        return queries, completion.input_tokens + completion.output_tokens, completion.reasoning_tokens

    def search(self, queries: list[dict]) -> None:
        for q in queries:
            self.asked.append(q)
            targets = [n for n in self.source_names if q["sources"] is None or n in q["sources"] or self.params.get(n, {}).get("alwaysQuerySource")]
            for source_name in targets:
                options = self.params.get(source_name, {})
                entry: dict[str, Any] = {"type": "searchIndex", "id": len(self.activity), "knowledgeSourceName": source_name, "queryTime": _stamp()}
                self.activity.append(entry)
                if time.monotonic() > self.deadline:
                    entry.update(count=0, error={"code": "Timeout", "message": "maxRuntimeInSeconds was reached before this query ran."})
                    self.partial = True
                    continue
                started = time.perf_counter()
                try:
                    hits, arguments = self.service._query_source(source_name, q["search"], options, hybrid=True)
                except WeftError as exc:
                    entry.update(count=0, elapsedMs=int((time.perf_counter() - started) * 1000),
                                 error={"code": exc.code or type(exc).__name__, "message": exc.message})
                    self.partial = True
                    continue
                entry.update(count=len(hits), elapsedMs=int((time.perf_counter() - started) * 1000), searchIndexArguments=arguments)
                for hit in hits:
                    references_of.keep_best(self.merged, source_name, hit, entry["id"], options)

    def ordered(self) -> list[dict]:
        return references_of.ordered(self.merged)

    def references(self, budget: int) -> tuple[list[dict], list[dict]]:
        return references_of.within_budget(self.ordered(), budget)

    def synthesize(self, chat, messages, chunks, instructions, max_tokens) -> str | None:
        entry: dict[str, Any] = {"type": "modelAnswerSynthesis", "id": len(self.activity), "inputTokens": 0, "outputTokens": 0}
        self.activity.append(entry)
        started = time.perf_counter()
        try:
            completion = chat.complete(planning.synthesis_messages(messages, chunks, instructions), deadline=self.deadline, max_tokens=max_tokens)
        except ModelFailure as exc:
            entry["elapsedMs"] = int((time.perf_counter() - started) * 1000)
            self._model_error(entry, exc)
            return None
        entry.update(inputTokens=completion.input_tokens, outputTokens=completion.output_tokens, elapsedMs=completion.elapsed_ms)
        if not completion.text.strip():
            self._model_error(entry, ModelFailure("InvalidModelResponse", "The chat model answered an empty answer."))
            return None
        return completion.text[:max_tokens * CHARS_PER_TOKEN]
