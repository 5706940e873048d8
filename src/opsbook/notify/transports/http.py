"""POSTing JSON to a receiver and reading its answer as an `Outcome`."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from opsbook.notify.model import Outcome

ANSWER_LIMIT = 300
_RETRYABLE = {408, 409, 425, 429}


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ANSWER_LIMIT else text[: ANSWER_LIMIT - 1] + "…"


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from an HTTP Retry-After header (seconds or an HTTP date); None when absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def outcome_of(response: httpx.Response) -> Outcome:
    """2xx is accepted; 408/409/425/429 and 5xx are worth a retry; other 4xx are permanent."""
    code = response.status_code
    answer = f"HTTP {code}"
    if response.text.strip():
        answer += f": {_excerpt(response.text)}"
    details: dict[str, Any] = {"http_status": code}
    if "json" in response.headers.get("content-type", "") and len(response.content) <= 4096:
        with contextlib.suppress(ValueError):
            details["response"] = response.json()
    if 200 <= code < 300:
        return Outcome(True, answer, details=details)
    retryable = code in _RETRYABLE or code >= 500
    wait = retry_after(response.headers.get("retry-after")) if retryable else None
    return Outcome(False, answer, retryable=retryable, retry_after=wait, details=details)


async def post_json(
    client: httpx.AsyncClient, url: str, payload: dict[str, Any], timeout: float
) -> Outcome:
    """POST `payload` to `url` once; connection problems and timeouts are retryable failures."""
    try:
        response = await client.post(url, json=payload, timeout=timeout)
    except httpx.TimeoutException:
        return Outcome(False, f"no answer within {timeout:g}s")
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return Outcome(False, f"could not reach the receiver: {reason}")
    return outcome_of(response)
