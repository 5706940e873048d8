"""The `server` section: how `opsbook serve` listens, signs people in and what it makes public."""

from __future__ import annotations

from pydantic import Field

from opsbook.config.base import StrictModel
from opsbook.config.types import Duration


class StatusPageConfig(StrictModel):
    """The public status page at /status."""

    title: str = Field(default="Service status", description="Heading of the public status page.")
    description: str = Field(
        default="", description="A line of text under the heading (plain text)."
    )


class ServerConfig(StrictModel):
    """`opsbook serve`: the HTTP API, the pages and sign-in."""

    host: str = Field(
        default="127.0.0.1",
        description="Address to listen on; 0.0.0.0 listens on every interface.",
    )
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port to listen on.")
    public_url: str = Field(
        default="",
        description=(
            "The address people reach the server at (https://ops.example.com); used in links. "
            "An https address also marks the session cookie Secure."
        ),
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto "
            "headers are believed."
        ),
    )
    public_metrics: bool = Field(
        default=False,
        description="Serve /metrics without a token (for a Prometheus that cannot send one).",
    )
    session_lifetime: Duration = Field(
        default=12 * 3600.0, description="How long a web sign-in lasts before signing in again."
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description=(
            "Failed sign-ins allowed per user name within login_window before further attempts "
            "are refused (four times as many per client address)."
        ),
    )
    login_window: Duration = Field(
        default=900.0, description="The period over which failed sign-ins are counted."
    )
    status_page: StatusPageConfig = Field(
        default_factory=StatusPageConfig, description="The public status page."
    )
