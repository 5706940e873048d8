"""The JSON API: one router per domain, every route guarded by `security.GuardedRoute`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from opsbook.web.security import GuardedRoute

API_PREFIX = "/api/v1"


def api_router(**kwargs: Any) -> APIRouter:
    """A router whose routes need a role unless marked PUBLIC (authenticated by default)."""
    return APIRouter(route_class=GuardedRoute, **kwargs)
