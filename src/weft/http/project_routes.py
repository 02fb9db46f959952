"""The Foundry project face (`azure-ai-projects` 2.x): project-scoped paths and agent definitions.

`AIProjectClient(endpoint=".../api/projects/<project>")` sends `.../api/projects/<project>/agents/...` (with
`?api-version=v1`), and its `get_openai_client()` targets `.../api/projects/<project>/openai/v1` with no
api-version (reference `agents-and-retrieval-api.md` section 2.1). `ProjectPaths` maps those onto weft's own
routes before routing, so every route keeps its one definition, its auth and its auth-matrix row:

* `/api/projects/{project}/openai/v1/...` and `/openai/v1/...` -> `/v1/...` (conversations, responses);
* `/api/projects/{project}/{agents|assistants|threads}...` -> the same path without the prefix.

The project segment names no separate namespace: the tenant is the caller's (its key or token), as everywhere.
"""
from __future__ import annotations

import re

from fastapi import APIRouter, Request

from weft.agents.definitions import AgentDefinitions
from weft.errors import InvalidInput
from weft.http.tenant_auth import TenantAuth
from weft.http.threads_http import call, json_body, ok, paging
from weft.http.threads_shapes import list_json

_PROJECT = re.compile(r"^/api/projects/[A-Za-z0-9_.-]{1,64}(/.*)$")
_FAMILIES = ("/agents", "/assistants", "/threads")


def project_path(path: str) -> str:
    found = _PROJECT.match(path)
    if found:
        path = found.group(1)
        if path.startswith("/openai/v1/"):
            return path[len("/openai"):]
        if path.startswith("/openai/"):  # the form some 2.x docstrings still show
            return "/v1" + path[len("/openai"):]
        return path if path.startswith(_FAMILIES) else "/api/projects/-" + path  # anything else stays a 404
    if path.startswith("/openai/v1/"):
        return path[len("/openai"):]
    return path


class ProjectPaths:
    """ASGI middleware: the project-scoped paths onto weft's routes (module docstring)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and (scope["path"].startswith("/api/projects/") or scope["path"].startswith("/openai/")):
            mapped = project_path(scope["path"])
            if mapped != scope["path"]:
                scope = {**scope, "path": mapped, "raw_path": mapped.encode()}
        await self.app(scope, receive, send)


def build_agent_definitions_router(definitions: AgentDefinitions, auth: TenantAuth) -> APIRouter:
    router = APIRouter()

    def list_body(data: list[dict], has_more: bool, key: str) -> dict:
        return {"object": "list", "data": data, "first_id": data[0][key] if data else None,
                "last_id": data[-1][key] if data else None, "has_more": has_more}

    @router.post("/agents/{name}/versions")
    async def create_agent_version(request: Request, name: str):
        principal = await call(auth.principal, request)
        principal.require("write")
        return ok(await call(definitions.create_version, principal, name, await json_body(request)))

    @router.get("/agents")
    async def list_agents(request: Request):
        principal = await call(auth.principal, request)
        limit, order, after, before = paging(request, default_order="desc")
        kind = request.query_params.get("kind")
        if kind not in (None, "", "prompt", "hosted", "workflow", "external", "voice"):
            raise InvalidInput(f"kind {kind!r} is not an agent kind.", code="invalid_value")
        if kind not in (None, "", "prompt"):  # weft holds prompt agents only
            return ok(list_body([], False, "name"))
        data, has_more = await call(definitions.list, principal, limit=limit, order=order, after=after, before=before)
        return ok(list_body(data, has_more, "name"))

    @router.get("/agents/{name}")
    async def get_agent(request: Request, name: str):
        principal = await call(auth.principal, request)
        return ok(await call(definitions.get, principal, name))

    @router.delete("/agents/{name}")
    async def delete_agent(request: Request, name: str):
        principal = await call(auth.principal, request)
        return ok(await call(definitions.delete, principal, name))

    @router.get("/agents/{name}/versions")
    async def list_agent_versions(request: Request, name: str):
        principal = await call(auth.principal, request)
        limit, order, after, before = paging(request, default_order="desc")
        data, has_more = await call(definitions.versions, principal, name, limit=limit, order=order, after=after, before=before)
        return ok(list_body(data, has_more, "version"))

    @router.get("/agents/{name}/versions/{version}")
    async def get_agent_version(request: Request, name: str, version: str):
        principal = await call(auth.principal, request)
        return ok(await call(definitions.version, principal, name, version))

    @router.delete("/agents/{name}/versions/{version}")
    async def delete_agent_version(request: Request, name: str, version: str):
        principal = await call(auth.principal, request)
        return ok(await call(definitions.delete_version, principal, name, version))

    return router
