"""Azure's ``/aliases`` routes in both path styles (``/aliases/x`` and ``/aliases('x')``): a thin adapter over
:class:`weft.search.aliases.AliasService`. The index routes' permission model: an admin key, or a token granting
definitions.read (GET) or manage (create, update, delete)."""
from __future__ import annotations

from fastapi import APIRouter

from weft.http.auth import KeyChecker
from weft.http.routing import named_collection_routes
from weft.search.aliases import AliasService


def build_router(service: AliasService, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    named_collection_routes(router, keys, "aliases", service)
    return router
