"""Foundry agent definitions (`azure-ai-projects` 2.x `/agents/{name}/versions`) and `agent_reference` in a
Responses request.

An agent is a name with numbered, immutable versions; each version holds a `PromptAgentDefinition` (kind
`prompt`: model, instructions, tools in the flat Responses shape, temperature, top_p, tool_choice, text). A
Responses request naming an agent (`agent_reference`, or the pre-2.0.0b4 `agent`) is rewritten before the
responses loop: the agent's model, instructions and tools apply, and the same fields given in the request are
refused (`invalid_payload`, as Foundry does; reference `agents-and-retrieval-api.md` section 2.3)."""
from __future__ import annotations

import re
from typing import Any

from weft.agents.agent_records import AgentRecords
from weft.agents.assistants import check_number
from weft.agents.project_tools import check_definition_tools, render_definition
from weft.agents.response_request import check_text, check_tool_choice
from weft.errors import InvalidInput, NotFound
from weft.threads.items import validate_metadata
from weft.threads.policy import Principal
from weft.threads.service import ThreadService

NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_DEFINITION_FIELDS = ("kind", "model", "instructions", "tools", "temperature", "top_p", "tool_choice", "text")
_UNSUPPORTED = ("reasoning", "structured_inputs", "skills", "harness", "rai_config")
_OVERRIDES = ("instructions", "temperature", "top_p", "tools", "tool_choice")  # refused next to an agent_reference


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput("An agent name is 1-63 letters, digits and hyphens, starting and ending with a letter or digit.",
                           code="invalid_value")
    return name


def check_definition(definition: Any) -> dict:
    if not isinstance(definition, dict):
        raise InvalidInput("definition is required: a PromptAgentDefinition object.", code="invalid_value")
    if definition.get("kind") != "prompt":
        raise InvalidInput(f"definition.kind {definition.get('kind')!r} is not supported: weft runs 'prompt' agents.", code="invalid_value")
    for key in definition:
        if key in _UNSUPPORTED or key not in _DEFINITION_FIELDS:
            raise InvalidInput(f"definition.{key} is not supported.", code="invalid_value")
    if not isinstance(definition.get("model"), str) or not definition["model"]:
        raise InvalidInput("definition.model is required.", code="invalid_value")
    if definition.get("instructions") is not None and not isinstance(definition["instructions"], str):
        raise InvalidInput("definition.instructions must be a string.", code="invalid_value")
    check_number(definition.get("temperature"), "definition.temperature", 0, 2)
    check_number(definition.get("top_p"), "definition.top_p", 0, 1)
    clean = {k: v for k, v in definition.items() if v is not None}
    if definition.get("tools") is not None:  # function, mcp and azure_ai_search; any other type is a 400 naming it
        clean["tools"] = check_definition_tools(definition["tools"])
    # checked now by the rules a response applies to them, so that a version no response can run is never made
    if definition.get("tool_choice") is not None:
        check_tool_choice(definition["tool_choice"], clean.get("tools") or [], "definition.tool_choice", "definition.tools")
    if definition.get("text") is not None:
        try:
            check_text(definition["text"])
        except InvalidInput as exc:
            message = exc.message.replace("'text.", "'definition.text.")
            raise InvalidInput(message if message != exc.message else f"definition.{message}", code=exc.code or "invalid_value") from None
    return clean


class AgentDefinitions:
    def __init__(self, service: ThreadService):
        self.records = AgentRecords(service, "agent")

    def _find(self, principal: Principal, name: str):
        check_name(name)
        page = self.records.list(principal, limit=1, order="asc", tags={"name": name})
        if not page.data:
            raise NotFound(f"Agent '{name}' not found.", code="not_found")
        return page.data[0]

    @staticmethod
    def _version_json(name: str, version: dict) -> dict:
        shown = {**version, "definition": render_definition(version["definition"])}  # MCP secrets stay stored only
        return {"object": "agent.version", "id": f"{name}:{version['version']}", "name": name, **shown}

    def _agent_json(self, name: str, state: dict) -> dict:
        latest = state["versions"][-1]
        return {"object": "agent", "id": name, "name": name, "state": "enabled", "configuration_state": "enabled",
                "versions": {"latest": self._version_json(name, latest)}}

    def create_version(self, principal: Principal, name: str, body: dict) -> dict:
        principal.require("write")
        check_name(name)
        unknown = sorted(set(body) - {"definition", "description", "metadata"})
        if unknown:
            raise InvalidInput(f"Unknown parameter '{unknown[0]}'.", code="unknown_parameter")
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 512):
            raise InvalidInput("description must be a string of at most 512 characters.", code="invalid_value")
        version = {"version": "", "description": description, "created_at": 0, "metadata": validate_metadata(body.get("metadata")),
                   "definition": check_definition(body.get("definition"))}
        try:
            record = self._find(principal, name)
        except NotFound:
            record = None
        now = self.records.service.clock.now_ms() // 1000
        if record is None:
            version.update(version="1", created_at=now)
            mine = self.records.create(principal, {"name": name, "versions": [version], "next": 2}, tags={"name": name})
            first = self._find(principal, name)  # the earliest record of a name is the agent
            if first.id == mine.id:
                return self._version_json(name, version)
            self.records.delete(principal, mine.id)  # another request created the agent first: add a version to it
            record = first

        def add(state: dict) -> dict:
            version.update(version=str(state["next"]), created_at=now)
            state["versions"].append(version)
            state["next"] += 1
            return version

        _, added = self.records.mutate(principal, record.id, add)
        return self._version_json(name, added)

    def get(self, principal: Principal, name: str) -> dict:
        return self._agent_json(name, self._find(principal, name).extra)

    def list(self, principal: Principal, *, limit: int, order: str, after: str | None, before: str | None) -> tuple[list[dict], bool]:
        page = self.records.list(principal, limit=limit, order=order, after=self._cursor(principal, after),
                                 before=self._cursor(principal, before))
        return [self._agent_json(r.extra["name"], r.extra) for r in page.data], page.has_more

    def _cursor(self, principal: Principal, name: str | None) -> str | None:
        return self._find(principal, name).id if name else None

    def versions(self, principal: Principal, name: str, *, limit: int, order: str, after: str | None, before: str | None):
        versions = [self._version_json(name, v) for v in self._find(principal, name).extra["versions"]]
        if order == "desc":
            versions.reverse()
        ids = [v["version"] for v in versions]
        for cursor, keep in ((after, lambda n, at: n > at), (before, lambda n, at: n < at)):
            if cursor:
                if cursor not in ids:
                    raise InvalidInput(f"No version '{cursor}' of agent '{name}'.", code="invalid_value")
                at = ids.index(cursor)
                versions = [v for v in versions if keep(ids.index(v["version"]), at)]
        return versions[:limit], len(versions) > limit

    def version(self, principal: Principal, name: str, version: str) -> dict:
        return self._version_json(name, self._stored_version(principal, name, version))

    def _stored_version(self, principal: Principal, name: str, version: str | None) -> dict:
        """A version as stored (its MCP tools' headers included); the latest without ``version``."""
        state = self._find(principal, name).extra
        if version is None:
            return state["versions"][-1]
        found = next((v for v in state["versions"] if v["version"] == version), None)
        if found is None:
            raise NotFound(f"Version '{version}' of agent '{name}' not found.", code="not_found")
        return found

    def delete(self, principal: Principal, name: str) -> dict:
        principal.require("write")
        self.records.delete(principal, self._find(principal, name).id)
        return {"object": "agent.deleted", "name": name, "deleted": True}

    def delete_version(self, principal: Principal, name: str, version: str) -> dict:
        principal.require("write")
        record = self._find(principal, name)
        self.version(principal, name, version)

        def drop(state: dict) -> bool:
            state["versions"] = [v for v in state["versions"] if v["version"] != version]
            return not state["versions"]

        _, empty = self.records.mutate(principal, record.id, drop)
        if empty:  # an agent without versions is gone
            self.records.delete(principal, record.id)
        return {"object": "agent.version.deleted", "name": name, "version": version, "deleted": True}

    # ---- agent_reference ------------------------------------------------------------------------------
    def apply_reference(self, principal: Principal, body: dict) -> dict:
        """The Responses request with the agent's model, instructions and tools applied (unchanged without a reference)."""
        key = "agent_reference" if "agent_reference" in body else "agent" if isinstance(body.get("agent"), dict) else None
        if key is None:
            return body
        reference = body[key]
        if not isinstance(reference, dict) or not isinstance(reference.get("name"), str):
            raise InvalidInput(f"{key} must be {{\"type\": \"agent_reference\", \"name\": ...}}.", code="invalid_value")
        if reference.get("type", "agent_reference") != "agent_reference":
            raise InvalidInput(f"{key}.type must be 'agent_reference'.", code="invalid_value")
        version = reference.get("version")
        if version is not None and not isinstance(version, str):
            raise InvalidInput(f"{key}.version must be a string.", code="invalid_value")
        for field in _OVERRIDES:
            if body.get(field) is not None:
                raise InvalidInput(f"Not allowed when agent is specified. (param: {field})", code="invalid_payload")
        found = self._stored_version(principal, reference["name"], version)
        definition = found["definition"]
        if body.get("model") and body["model"] != definition["model"]:
            raise InvalidInput("Not allowed when agent is specified. (param: model)", code="invalid_payload")
        out = {k: v for k, v in body.items() if k != key}
        out["model"] = definition["model"]
        for field in ("instructions", "temperature", "top_p", "tools", "tool_choice", "text"):
            if definition.get(field) is not None and out.get(field) is None:
                out[field] = definition[field]
        return out
