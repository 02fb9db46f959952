"""What a validated token may do: Azure's built-in role names (or ids) in the `roles` claim, or a configured table
of object ids / group ids -> roles; for the conversation APIs, a tenant claim and read/write/admin scopes.

Search permissions (Azure's data-plane split, `azure-search-api` reference section 6.3):
- `manage`: create, update and delete indexes, indexers, data sources and the other definitions; service stats;
- `definitions.read`: read definitions and statistics;
- `documents.read`: search, suggest, autocomplete, look up and count documents;
- `documents.write`: upload, merge and delete documents.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from weft.errors import Forbidden
from weft.identity.tokens import AGENT_AUDIENCES, SEARCH_AUDIENCES, TokenClaims

MANAGE, DEFINITIONS_READ, DOCUMENTS_READ, DOCUMENTS_WRITE = "manage", "definitions.read", "documents.read", "documents.write"

_SEARCH_ROLES: dict[str, frozenset[str]] = {}
_THREAD_ROLES: dict[str, frozenset[str]] = {}


def _role(table: dict, names: tuple[str, ...], grants: tuple[str, ...]) -> None:
    for name in names:
        table[name.lower()] = frozenset(grants)


_role(_SEARCH_ROLES, ("Search Service Contributor", "7ca78c08-252a-4471-8644-bb5ff32d4ba0", "Owner", "Contributor",
                      "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42a0-ab88-20f7382dd24c"), (MANAGE, DEFINITIONS_READ))
_role(_SEARCH_ROLES, ("Search Index Data Contributor", "8ebe5a00-799e-43f5-93ac-243d3dce84a7"), (DOCUMENTS_READ, DOCUMENTS_WRITE))
_role(_SEARCH_ROLES, ("Search Index Data Reader", "1407120a-92aa-4202-b7e9-c0e197c71c8f"), (DOCUMENTS_READ,))
_role(_SEARCH_ROLES, ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"), (DEFINITIONS_READ,))

_role(_THREAD_ROLES, ("Foundry User", "Azure AI User", "53ca6127-db72-4b80-b1b0-d745d6d5456d", "Foundry Agent Consumer",
                      "weft.threads.write"), ("read", "write"))
_role(_THREAD_ROLES, ("Foundry Project Manager", "Azure AI Project Manager", "eadc314b-1a2d-4efa-be10-5d325db5065e", "Foundry Owner",
                      "Azure AI Owner", "weft.threads.admin"), ("read", "write", "admin"))
_role(_THREAD_ROLES, ("weft.threads.read",), ("read",))

KNOWN_ROLES = sorted({*_SEARCH_ROLES, *_THREAD_ROLES})


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


@dataclass
class RoleMapping:
    """`assignments`: object id or group id -> role names, for issuers whose tokens carry no `roles` claim."""

    assignments: dict[str, list[str]] = field(default_factory=dict)
    tenant_claim: str = "tid"
    search_audiences: tuple[str, ...] = SEARCH_AUDIENCES
    agent_audiences: tuple[str, ...] = AGENT_AUDIENCES

    def __post_init__(self) -> None:
        for principal, roles in self.assignments.items():
            for role in roles:
                if role.lower() not in _SEARCH_ROLES and role.lower() not in _THREAD_ROLES:
                    raise ValueError(f"unknown role {role!r} assigned to {principal!r}; known roles: {', '.join(KNOWN_ROLES)}")

    def roles(self, token: TokenClaims) -> list[str]:
        claims = token.claims
        roles = [r.lower() for r in _strings(claims.get("roles"))]
        for who in [claims.get("oid"), claims.get("sub"), *_strings(claims.get("groups"))]:
            if isinstance(who, str):
                roles.extend(r.lower() for r in self.assignments.get(who, []))
        return roles

    @staticmethod
    def _for(audiences: tuple[str, ...], token: TokenClaims) -> bool:
        wanted = {a.rstrip("/") for a in audiences}
        return any(a.rstrip("/") in wanted for a in token.audience)

    def search_permissions(self, token: TokenClaims, *, any_audience: bool = False) -> frozenset[str]:
        """`any_audience`: the roles of a token issued for another weft API (the agents' Azure AI Search tool)."""
        if not any_audience and not self._for(self.search_audiences, token):
            raise Forbidden("The token's audience is not the search service.", code="Forbidden")
        granted: set[str] = set()
        for role in self.roles(token):
            granted |= _SEARCH_ROLES.get(role, frozenset())
        return frozenset(granted)

    def thread_grant(self, token: TokenClaims) -> tuple[str, frozenset[str]]:
        """(tenant id, scopes) for the conversation APIs."""
        if not self._for(self.agent_audiences, token):
            raise Forbidden("The token's audience is not the agents service.", code="insufficient_permissions")
        tenant = token.claims.get(self.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise Forbidden(f"The token has no '{self.tenant_claim}' claim naming its tenant.", code="insufficient_permissions")
        scopes: set[str] = set()
        for role in self.roles(token):
            scopes |= _THREAD_ROLES.get(role, frozenset())
        if not scopes:
            raise Forbidden("The token grants no role for the conversation APIs.", code="insufficient_permissions")
        return tenant, frozenset(scopes)
