"""weft serve over TLS: --tls auto (local CA in the data dir) and given certificate files, every API family,
untrusted clients refused, and a renewed certificate served without a restart."""
from __future__ import annotations

import shutil
import socket
import ssl
import time
from pathlib import Path

import httpx
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import SearchableField, SearchIndex, SimpleField
from cryptography import x509
from openai import OpenAI

from tests.support.server import WeftServer
from weft.tls import ensure_auto_certificates


def _context(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def _served_certificate(port: int, ca: Path) -> x509.Certificate:
    ctx = _context(ca)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def _every_family(srv: WeftServer, ca: Path) -> None:
    # search, through the Azure SDK (requests transport) trusting only the local CA
    index_client = SearchIndexClient(srv.endpoint, AzureKeyCredential(srv.admin_key), connection_verify=str(ca))
    index_client.create_index(SearchIndex(name="tls-docs", fields=[SimpleField(name="id", type="Edm.String", key=True),
                                                                    SearchableField(name="body", type="Edm.String")]))
    docs = SearchClient(srv.endpoint, "tls-docs", AzureKeyCredential(srv.admin_key), connection_verify=str(ca))
    assert docs.upload_documents([{"id": "1", "body": "encrypted in transit"}])[0].succeeded
    assert [d["id"] for d in docs.search("transit")] == ["1"]
    with httpx.Client(verify=_context(ca), headers={"api-key": srv.admin_key}) as http:
        # indexers and data sources
        assert http.get(srv.url("/indexers")).status_code == 200
        assert http.get(srv.url("/datasources")).status_code == 200
        # Foundry-style threads
        thread = http.post(f"{srv.endpoint}/threads", json={})
        assert thread.status_code == 200, thread.text
        # conversations, through the openai SDK (httpx transport)
        client = OpenAI(base_url=f"{srv.endpoint}/v1", api_key=srv.admin_key, http_client=httpx.Client(verify=_context(ca)))
        conv = client.conversations.create(items=[{"type": "message", "role": "user", "content": "over TLS"}])
        items = client.conversations.items.list(conv.id)
        assert [i.type for i in items] == ["message"]


def test_tls_auto_serves_every_family_and_reuses_its_ca(tmp_path):
    data = tmp_path / "data"
    ca = data / "tls" / "ca.pem"
    srv = WeftServer(data, extra_args=["--tls", "auto"], scheme="https", verify=lambda: _context(ca)).start()
    try:
        assert ca.exists()
        assert (data / "tls" / "ca-key.pem").stat().st_mode & 0o777 == 0o600
        _every_family(srv, ca)
        # a client that does not trust the CA is refused at the handshake
        with pytest.raises(httpx.ConnectError):
            httpx.get(srv.url("/indexes"), headers={"api-key": srv.admin_key})
        # plain http on the TLS port gets nothing useful
        with pytest.raises(httpx.HTTPError):
            httpx.get(srv.url("/indexes").replace("https://", "http://"), headers={"api-key": srv.admin_key}, timeout=3)
        first_ca = ca.read_bytes()
        first_cert = _served_certificate(srv.port, ca)
    finally:
        srv.stop()
    srv.start()  # same data dir: the CA and the server certificate are reused
    try:
        assert ca.read_bytes() == first_ca
        assert _served_certificate(srv.port, ca).serial_number == first_cert.serial_number
    finally:
        srv.stop()


def test_given_certificate_files_and_renewal_without_restart(tmp_path):
    issued = ensure_auto_certificates(tmp_path / "pki", "127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(issued.cert, cert)
    shutil.copy(issued.key, key)
    srv = WeftServer(tmp_path / "data", extra_args=["--tls-cert", str(cert), "--tls-key", str(key)], scheme="https",
                     verify=_context(issued.ca), env={"WEFT_TLS_RELOAD_SECONDS": "0.2"}).start()
    try:
        _every_family(srv, issued.ca)
        before = _served_certificate(srv.port, issued.ca)
        # renew: a new server certificate from the same CA, written over the served files
        (tmp_path / "pki" / "server.pem").unlink()
        renewed = ensure_auto_certificates(tmp_path / "pki", "127.0.0.1")
        shutil.copy(renewed.key, key)
        shutil.copy(renewed.cert, cert)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _served_certificate(srv.port, issued.ca).serial_number == before.serial_number:
            time.sleep(0.1)
        assert _served_certificate(srv.port, issued.ca).serial_number != before.serial_number
        # the service kept answering through the renewal
        r = httpx.get(srv.url("/indexes"), headers={"api-key": srv.admin_key}, verify=_context(issued.ca))
        assert r.status_code == 200
    finally:
        srv.stop()


def test_bad_tls_options_are_refused_at_start(tmp_path):
    with pytest.raises(RuntimeError, match="tls-key"):
        WeftServer(tmp_path / "a", extra_args=["--tls-cert", str(tmp_path / "nope.pem")], scheme="https").start(timeout=20)
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(RuntimeError, match="cannot load the TLS certificate"):
        WeftServer(tmp_path / "b", extra_args=["--tls-cert", str(tmp_path / "bad.pem"), "--tls-key", str(tmp_path / "bad.pem")],
                   scheme="https").start(timeout=20)
    with pytest.raises(RuntimeError, match="server.tls is one of off, auto"):
        WeftServer(tmp_path / "c", extra_args=["--tls", "yes"], scheme="https").start(timeout=20)
