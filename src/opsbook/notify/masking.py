"""Masking secrets in JSON-like documents by value (the names of fields are left alone).

`Redactor.redact_data` also masks values under secret-looking names, which would hide a
notification's `key` and PagerDuty's `dedup_key`; those are not secrets, so notify masks by value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsbook.secrets import Redactor


def masked(document: Mapping[str, Any], redactor: Redactor) -> dict[str, Any]:
    """`document` with every string value redacted (keys are kept: `key` is no secret here)."""
    return {name: _masked_value(value, redactor) for name, value in document.items()}


def _masked_value(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, Mapping):
        return masked(value, redactor)
    if isinstance(value, list | tuple):
        return [_masked_value(v, redactor) for v in value]
    return value
