"""Recording a server certificate's expiry, for the http and tls kinds."""

from __future__ import annotations

import ssl
from datetime import datetime

from cryptography import x509

from opsbook.checks.model import Observation

DAY = 86400.0


def peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes | None:
    """The DER bytes of the peer's certificate, verified or not."""
    if ssl_object is None:
        return None
    return ssl_object.getpeercert(binary_form=True)


def record_expiry(obs: Observation, der: bytes, now: datetime, warning: float) -> None:
    """Add the expiry metrics; warn when it expires within `warning` seconds, fail once expired."""
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    left = (not_after - now).total_seconds()
    obs.add("tls_cert_expiry_seconds", left)
    obs.add("tls_cert_not_after_timestamp_seconds", not_after.timestamp())
    when = not_after.strftime("%Y-%m-%d")
    if left <= 0:
        obs.fail(f"certificate expired on {when}")
    elif left < warning:
        obs.warn(f"certificate expires in {left / DAY:.0f} days ({when})")
