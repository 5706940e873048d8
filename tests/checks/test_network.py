from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from opsbook.checks.model import Status
from tests.checks.conftest import Certificate, free_port, make_certificate, metric, run_one


def test_a_tcp_port_with_nothing_listening_fails(tmp_path: Path) -> None:
    result = run_one(tmp_path, {"type": "tcp", "host": "127.0.0.1", "port": free_port()})
    assert (result.status, result.error) == (Status.UNHEALTHY, "connection refused")
    assert metric(result, "check_up") == 0.0


def test_a_listening_tcp_port_is_healthy(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = run_one(tmp_path, {"type": "tcp", "host": "127.0.0.1", "port": port})
    assert result.status is Status.HEALTHY


class TlsServer:
    """Completes TLS handshakes on 127.0.0.1 with the given certificate."""

    def __init__(self, certificate: Certificate) -> None:
        self.context = certificate.server_context()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(2)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def tls_server(certificate: Certificate):  # type: ignore[no-untyped-def]
    server = TlsServer(certificate)
    yield server
    server.close()


def test_a_certificate_that_expires_in_10_days_is_degraded(
    tmp_path: Path, tls_server: TlsServer, certificate: Certificate
) -> None:
    spec = {
        "type": "tls",
        "host": "127.0.0.1",
        "port": tls_server.port,
        "server_name": "localhost",
        "ca_file": str(certificate.cert_file),
    }
    result = run_one(tmp_path, spec)
    assert result.status is Status.DEGRADED
    assert result.error == f"certificate expires in 10 days ({certificate.not_after:%Y-%m-%d})"
    assert metric(result, "tls_cert_expiry_seconds") == pytest.approx(10 * 86400, abs=120)


def test_a_certificate_with_time_to_spare_is_healthy(tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path, days=90)
    server = TlsServer(certificate)
    try:
        spec = {
            "type": "tls",
            "host": "localhost",
            "port": server.port,
            "ca_file": str(certificate.cert_file),
        }
        result = run_one(tmp_path, spec)
    finally:
        server.close()
    assert result.status is Status.HEALTHY


def test_an_untrusted_certificate_fails_and_its_expiry_is_still_recorded(
    tmp_path: Path, tls_server: TlsServer
) -> None:
    spec = {"type": "tls", "host": "127.0.0.1", "port": tls_server.port}
    result = run_one(tmp_path, spec)
    assert result.status is Status.UNHEALTHY
    assert result.error is not None
    assert result.error.startswith("certificate verify failed: self-signed certificate")
    assert metric(result, "tls_cert_expiry_seconds") == pytest.approx(10 * 86400, abs=120)


def test_dns_resolves_through_the_given_name_server(
    tmp_path: Path, dns_server: tuple[str, int, dict[str, list[str]]]
) -> None:
    host, port, records = dns_server
    records["api.example.test"] = ["10.0.0.7", "10.0.0.8"]
    spec = {
        "type": "dns",
        "query": "api.example.test",
        "server": host,
        "port": port,
        "expect": ["10.0.0.7"],
    }
    result = run_one(tmp_path, spec)
    assert result.status is Status.HEALTHY
    assert metric(result, "dns_answers") == 2


def test_dns_fails_on_a_missing_name_or_a_wrong_answer(
    tmp_path: Path, dns_server: tuple[str, int, dict[str, list[str]]]
) -> None:
    host, port, records = dns_server
    records["api.example.test"] = ["10.0.0.9"]
    base = {"type": "dns", "server": host, "port": port}
    missing = run_one(tmp_path, {**base, "query": "gone.example.test"})
    wrong = run_one(tmp_path, {**base, "query": "api.example.test", "expect": ["10.0.0.7"]})
    assert missing.error == "gone.example.test: no such name"
    assert wrong.error == "api.example.test A lacks 10.0.0.7 (got 10.0.0.9)"
