"""TLS for `weft serve`: given certificate files, or a local CA made on first start (`--tls auto`).

The server's SSL context is kept for the life of the process and its certificate chain is reloaded in place
when the files change (OpenSSL applies a reloaded chain to the next handshakes), so a renewed certificate
needs no restart. `--tls auto` keeps its CA and server certificate in `<data-dir>/tls/`; a server certificate
that no longer covers the listen address, or expires within 30 days, is reissued from the same CA at start.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger("weft.tls")

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
RENEW_BEFORE = dt.timedelta(days=30)
SERVER_VALIDITY = dt.timedelta(days=397)  # the longest lifetime browsers accept for a server certificate
CA_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    ca: Path | None = None  # the CA to trust, for --tls auto


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def subject_names(host: str) -> tuple[list[str], list[ipaddress._BaseAddress]]:
    """DNS names and IP addresses a certificate for a server listening on `host` must cover."""
    dns = {"localhost"}
    ips: set[ipaddress._BaseAddress] = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    if host in ("0.0.0.0", "::", ""):
        name = socket.gethostname()
        dns.add(name)
        try:
            for info in socket.getaddrinfo(name, None):
                ips.add(ipaddress.ip_address(info[4][0].split("%")[0]))
        except OSError:
            pass
    else:
        try:
            ips.add(ipaddress.ip_address(host))
        except ValueError:
            dns.add(host)
    return sorted(dns), sorted(ips, key=lambda a: (a.version, int(a)))


def _load_or_create_ca(directory: Path, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if cert.not_valid_after_utc - now > RENEW_BEFORE:
            return cert, key  # type: ignore[return-value]
        log.warning("the local CA in %s expires soon: making a new one (clients must trust the new %s)", directory, CA_CERT)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"weft local CA ({socket.gethostname()})"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "weft")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _covers(cert: x509.Certificate, dns: list[str], ips: list) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return set(dns) <= set(san.get_values_for_type(x509.DNSName)) and set(ips) <= set(san.get_values_for_type(x509.IPAddress))


def ensure_auto_certificates(directory: Path, host: str, now: dt.datetime | None = None) -> TlsFiles:
    """The local CA and a server certificate for `host` in `directory`, created or renewed as needed."""
    now = now or dt.datetime.now(dt.timezone.utc)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    ca_cert, ca_key = _load_or_create_ca(directory, now)
    dns, ips = subject_names(host)
    cert_path, key_path = directory / SERVER_CERT, directory / SERVER_KEY
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if (cert.issuer == ca_cert.subject and _covers(cert, dns, ips) and cert.not_valid_after_utc - now > RENEW_BEFORE):
            return TlsFiles(cert_path, key_path, directory / CA_CERT)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0] if host in ("0.0.0.0", "::", "") else host)]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + SERVER_VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns] + [x509.IPAddress(i) for i in ips]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(cert_path, key_path, directory / CA_CERT)


class ReloadingContext:
    """A server SSLContext whose certificate chain follows its files: `check()` reloads when they changed.

    Each reload builds a fresh context from the files and swaps it in whole: the context handed to the server
    only picks, per handshake (its SNI callback runs for every ClientHello, with or without a server name), the
    newest complete context. A half-written renewal (a certificate and key that do not match yet) fails to load
    and is retried at the next check; the previous chain keeps being served meanwhile.
    """

    def __init__(self, files: TlsFiles, interval: float = 10.0):
        self.files = files
        self.interval = interval
        self._stamp = self._current_stamp()
        self._current = self._build()
        self.context = self._build()  # what uvicorn wraps sockets with
        self.context.sni_callback = self._pick
        self.reloads = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _build(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(str(self.files.cert), str(self.files.key))
        return context

    def _pick(self, ssl_object, server_name, context) -> None:
        current = self._current
        if ssl_object.context is not current:
            ssl_object.context = current

    def _current_stamp(self) -> tuple:
        stamp = []
        for path in (self.files.cert, self.files.key):
            st = os.stat(path)
            stamp.append((st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(stamp)

    def check(self) -> bool:
        try:
            stamp = self._current_stamp()
        except OSError:
            return False
        if stamp == self._stamp:
            return False
        try:
            fresh = self._build()
        except (ssl.SSLError, OSError) as exc:
            log.warning("renewed TLS certificate not loaded yet (%s); still serving the previous one", exc)
            return False
        self._current = fresh
        self._stamp = stamp
        self.reloads += 1
        log.info("TLS certificate reloaded from %s", self.files.cert)
        return True

    def start(self) -> None:
        if self._thread is None and self.interval > 0:
            self._thread = threading.Thread(target=self._watch, name="weft-tls-reload", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def stop(self) -> None:
        self._stop.set()
