"""Real targets for check tests: an HTTP server that misbehaves on demand, a TLS server with a
certificate that expires in 10 days, a DNS server, and helpers to run one check."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dns.message
import dns.rrset
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opsbook.checks.model import CheckResult
from opsbook.checks.probe import ProbeContext, run_check
from opsbook.clock import SystemClock
from opsbook.config import Config, config_from_data
from opsbook.config.checks import CheckConfig


@dataclass
class Behaviour:
    """What `/app` does; tests change it while the server runs."""

    status: int = 200
    body: str = "ok"
    delay: float = 0.0
    hang: bool = False
    requests: int = 0
    headers: dict[str, str] = field(default_factory=dict)


class Target(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = Behaviour()
        self.release = threading.Event()  # hung requests end when the test does
        self.metrics_text = ""

    @property
    def url(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Target

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self._send(200, self.server.metrics_text, "text/plain; version=0.0.4")
            return
        if self.path.startswith("/status/"):
            self._send(int(self.path.rsplit("/", 1)[1]), "status")
            return
        if self.path == "/hang":
            self.server.release.wait(30)
            return
        app = self.server.app
        app.requests += 1
        app.headers = dict(self.headers)
        if app.hang:
            self.server.release.wait(30)
            return
        if app.delay:
            time.sleep(app.delay)
        self._send(app.status, app.body)

    def _send(self, status: int, body: str, kind: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(server: Target) -> Iterator[Target]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def target() -> Iterator[Target]:
    """An HTTP server on 127.0.0.1 that answers slowly, wrongly or not at all on demand."""
    yield from _serve(Target())


@dataclass
class Certificate:
    cert_file: Path
    key_file: Path
    not_after: datetime

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificate(folder: Path, days: float, name: str = "localhost") -> Certificate:
    """A self-signed certificate for `name` and 127.0.0.1 that expires in `days`."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    not_after = now + timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file, cert.not_valid_after_utc)


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return make_certificate(tmp_path, days=10)


@pytest.fixture
def https_target(certificate: Certificate) -> Iterator[Target]:
    server = Target()
    server.socket = certificate.server_context().wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


@pytest.fixture
def dns_server() -> Iterator[tuple[str, int, dict[str, list[str]]]]:
    """A UDP name server on 127.0.0.1 answering A queries from a dict name -> addresses."""
    records: dict[str, list[str]] = {}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".")
            if name in records:
                response.answer.append(
                    dns.rrset.from_text_list(question.name, 60, "IN", "A", records[name])
                )
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield "127.0.0.1", sock.getsockname()[1], records
    stop.set()
    thread.join(2)
    sock.close()


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_config(tmp_path: Path, checks: list[dict[str, Any]], **extra: Any) -> Config:
    defaults = {"interval": "30s", "timeout": "5s"}
    data = {"checks": [{**defaults, **check} for check in checks], **extra}
    return config_from_data(data, base_dir=tmp_path)


def run_one(
    tmp_path: Path,
    check: dict[str, Any],
    previous: dict[str, Any] | None = None,
    **extra: Any,
) -> CheckResult:
    """Run one check (given as its YAML mapping) once, for real."""
    config = make_config(tmp_path, [{"name": "t", **check}], **extra)
    spec: CheckConfig = config.settings.checks[0]

    async def go() -> CheckResult:
        ctx = ProbeContext(config, SystemClock(), config.redactor)
        try:
            return await run_check(spec, ctx, previous)
        finally:
            await ctx.aclose()

    return asyncio.run(go())


def metric(result: CheckResult, name: str, **labels: str) -> float:
    """The value of metric `name` (with `labels`) in a result; KeyError when absent."""
    for sample in result.samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    names = sorted({s.name for s in result.samples})
    raise KeyError(f"{name}{labels or ''} not among {json.dumps(names)}")
