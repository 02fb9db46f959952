"""Azure's ``/synonymmaps`` routes in both path styles (``/synonymmaps/x`` and ``/synonymmaps('x')``): a thin
adapter over :class:`weft.search.synonyms_service.SynonymMapService`. An admin key, or a token granting
definitions.read (GET) or manage (create, update, delete)."""
from __future__ import annotations

from fastapi import APIRouter

from weft.http.auth import KeyChecker
from weft.http.routing import named_collection_routes
from weft.search.synonyms_service import SynonymMapService


def build_router(service: SynonymMapService, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    named_collection_routes(router, keys, "synonymmaps", service)
    return router
