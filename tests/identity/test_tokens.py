"""Token validation against a real loopback issuer (discovery + JWKS over HTTPS) and a JWKS file."""
from __future__ import annotations

import time

import jwt
import pytest

from tests.support.oidc import Issuer, write_jwks
from weft.errors import Forbidden, Unauthenticated
from weft.identity import IdentitySettings
from weft.identity.roles import DEFINITIONS_READ, DOCUMENTS_READ, DOCUMENTS_WRITE, MANAGE, RoleMapping
from weft.identity.tokens import IssuerConfig, TokenValidator
from weft.tls import ensure_auto_certificates


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return ensure_auto_certificates(tmp_path_factory.mktemp("pki"), "127.0.0.1")


@pytest.fixture()
def issuer(pki):
    idp = Issuer(pki).start()
    yield idp
    idp.stop()


def validator(idp: Issuer, pki, **kwargs) -> TokenValidator:
    kwargs.setdefault("refresh_interval", 0.0)
    return TokenValidator([IssuerConfig(issuer=idp.issuer, ca_file=str(pki.ca))], **kwargs)


def test_valid_token_through_discovery_and_jwks(issuer, pki):
    v = validator(issuer, pki)
    claims = v.validate(issuer.token(roles=["Search Index Data Reader"], oid="oid-1"))
    assert claims.subject == "oid-1"
    assert claims.audit_id == "idp:oid-1"
    assert issuer.jwks_requests == 1
    v.validate(issuer.token())
    assert issuer.jwks_requests == 1  # cached


@pytest.mark.parametrize("case, kwargs, message", [
    ("expired", {"lifetime": -600}, "expired"),
    ("not yet valid", {"not_before": 600}, "not valid yet"),
    ("wrong issuer", {"issuer": "https://elsewhere.example/v2.0"}, "issuer is not trusted"),
    ("wrong audience", {"audience": "https://graph.microsoft.com"}, "audience"),
])
def test_refused_tokens_say_why(issuer, pki, case, kwargs, message):
    with pytest.raises(Unauthenticated, match=message):
        validator(issuer, pki).validate(issuer.token(**kwargs))


def test_clock_skew_is_tolerated(issuer, pki):
    v = validator(issuer, pki, leeway_seconds=60)
    v.validate(issuer.token(lifetime=-30))  # expired 30 s ago: within the skew
    v.validate(issuer.token(not_before=30))
    with pytest.raises(Unauthenticated, match="expired"):
        validator(issuer, pki, leeway_seconds=0).validate(issuer.token(lifetime=-5))


def test_forged_and_unsafe_tokens(issuer, pki):
    v = validator(issuer, pki)
    good = issuer.token()
    header, payload, signature = good.split(".")
    with pytest.raises(Unauthenticated, match="signature"):
        v.validate(f"{header}.{payload}.{signature[:-4]}AAAA")
    claims = jwt.decode(good, options={"verify_signature": False})
    with pytest.raises(Unauthenticated, match="algorithm"):
        v.validate(jwt.encode(claims, "a-guessed-shared-secret-of-32-bytes!", algorithm="HS256", headers={"kid": issuer.keys[-1][0]}))
    with pytest.raises(Unauthenticated, match="algorithm"):
        v.validate(jwt.encode(claims, None, algorithm="none"))
    with pytest.raises(Unauthenticated, match="well-formed"):
        v.validate("eyJnot.a.token")
    no_exp = {k: val for k, val in claims.items() if k != "exp"}
    with pytest.raises(Unauthenticated, match="exp"):
        v.validate(jwt.encode(no_exp, issuer.keys[-1][2], algorithm="RS256", headers={"kid": issuer.keys[-1][0]}))


def test_unknown_key_then_rotation_and_es256(issuer, pki):
    v = validator(issuer, pki, refresh_interval=0.0)
    v.validate(issuer.token())
    hidden = issuer.add_key("ES256", publish=False)
    with pytest.raises(Unauthenticated, match="does not publish"):
        v.validate(issuer.token(kid=hidden))
    issuer.publish(hidden)  # the issuer rotates: the new key appears in its JWKS
    assert v.validate(issuer.token(kid=hidden)).claims["iss"] == issuer.issuer


def test_unknown_key_ids_cannot_hammer_the_issuer(issuer, pki):
    v = validator(issuer, pki, refresh_interval=30.0)
    v.validate(issuer.token())
    hidden = issuer.add_key(publish=False)
    for _ in range(20):
        with pytest.raises(Unauthenticated):
            v.validate(issuer.token(kid=hidden))
    assert issuer.jwks_requests == 1  # no refetch within the refresh interval


def test_jwks_file_for_air_gapped_networks(issuer, pki, tmp_path):
    path = write_jwks(issuer, tmp_path / "jwks.json")
    issuer.stop()  # no route to the issuer
    v = TokenValidator([IssuerConfig(issuer=issuer.issuer, jwks_file=path)])
    v.validate(issuer.token())
    rotated = issuer.add_key()
    with pytest.raises(Unauthenticated):
        v.validate(issuer.token(kid=rotated))
    time.sleep(0.01)
    write_jwks(issuer, path)  # the operator drops the new JWKS in place
    v.validate(issuer.token(kid=rotated))


def test_role_mapping(issuer, pki):
    v = validator(issuer, pki)
    mapping = RoleMapping({"group-ops": ["Search Service Contributor"]})
    perms = lambda **kw: mapping.search_permissions(v.validate(issuer.token(**kw)))
    assert perms(roles=["Search Service Contributor"]) == {MANAGE, DEFINITIONS_READ}
    assert perms(roles=["Search Index Data Contributor"]) == {DOCUMENTS_READ, DOCUMENTS_WRITE}
    assert perms(roles=["8ebe5a00-799e-43f5-93ac-243d3dce84a7"]) == {DOCUMENTS_READ, DOCUMENTS_WRITE}
    assert perms(roles=["Search Index Data Reader"]) == {DOCUMENTS_READ}
    assert perms(roles=[]) == frozenset()
    assert perms(extra={"groups": ["group-ops"]}) == {MANAGE, DEFINITIONS_READ}
    with pytest.raises(Forbidden, match="audience"):
        perms(audience="https://ai.azure.com", roles=["Search Index Data Reader"])
    tenant, scopes = mapping.thread_grant(v.validate(issuer.token(audience="https://ai.azure.com", roles=["Azure AI User"], tid="t-1")))
    assert (tenant, scopes) == ("t-1", {"read", "write"})
    with pytest.raises(Forbidden, match="no role"):
        mapping.thread_grant(v.validate(issuer.token(audience="https://ai.azure.com", roles=["Search Index Data Reader"])))
    with pytest.raises(ValueError, match="unknown role"):
        RoleMapping({"x": ["Search God"]})


def test_identity_settings_errors(tmp_path):
    assert IdentitySettings(issuers=["https://a.example/v2.0"]).build().mode == "both"
    assert IdentitySettings().build().mode == "keys"
    with pytest.raises(ValueError, match="needs at least one token issuer"):
        IdentitySettings(mode="tokens").build()
    with pytest.raises(ValueError, match="--auth takes"):
        IdentitySettings(mode="maybe").build()
    (tmp_path / "roles.json").write_text('{"oid": "Reader"}')
    with pytest.raises(ValueError, match="maps object or group ids"):
        IdentitySettings(role_assignments_file=tmp_path / "roles.json").build()


def test_validated_tokens_are_cached_until_they_expire(issuer, pki):
    v = validator(issuer, pki, leeway_seconds=0)
    token = issuer.token(lifetime=2)
    first = v.validate(token)
    assert v.validate(token) is first  # the cached claims: no second signature check
    assert not v.needs_fetch(token)
    time.sleep(2.2)
    with pytest.raises(Unauthenticated, match="expired"):
        v.validate(token)


def test_a_withdrawn_key_empties_the_cache(issuer, pki):
    v = validator(issuer, pki, refresh_interval=0.0)
    old_kid = issuer.keys[-1][0]
    token = issuer.token()
    v.validate(token)
    issuer.published.remove(old_kid)  # the issuer withdraws the key (compromised, say) and publishes a new one
    new_kid = issuer.add_key()
    v.validate(issuer.token(kid=new_kid))  # an unknown key id: the keys are fetched again, and they changed
    with pytest.raises(Unauthenticated, match="does not publish"):
        v.validate(token)
