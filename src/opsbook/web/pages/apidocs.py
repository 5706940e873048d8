"""/api/docs: the OpenAPI document rendered as a page (no script, no CDN)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from opsbook.accounts.model import Role
from opsbook.web.pages import pages_router, render
from opsbook.web.security import PUBLIC_KEY, ROLE_KEY, PrincipalDep, needs

router = pages_router()
METHODS = ("get", "post", "put", "patch", "delete")


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per API operation, grouped for the page (pages themselves are left out)."""
    found = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            op = item.get(method)
            if op is None or "pages" in op.get("tags", []):
                continue
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            first: dict[str, Any] = next(iter(body.values()), {})
            schema: dict[str, Any] = first.get("schema", {})
            found.append(
                {
                    "tag": (op.get("tags") or ["other"])[0],
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "access": "public" if op.get(PUBLIC_KEY) else op.get(ROLE_KEY, "viewer"),
                    "parameters": op.get("parameters", []),
                    "body": schema.get("$ref", "").rsplit("/", 1)[-1],
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return sorted(found, key=lambda o: (o["tag"], o["path"], o["method"]))


@router.get("/api/docs", openapi_extra=needs(Role.VIEWER))
def api_docs(request: Request, principal: PrincipalDep) -> Response:
    """Every API endpoint with its parameters, body, responses and the role it needs."""
    spec = request.app.openapi()
    schemas = spec.get("components", {}).get("schemas", {})
    return render(request, "apidocs.html", principal, operations=operations(spec), schemas=schemas)
