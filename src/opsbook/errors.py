"""The one exception tree of opsbook.

    OpsbookError                  every error opsbook raises on purpose
    ├── InputError                bad input from the user: exit code 2, HTTP 400/422
    │   ├── ConfigError           opsbook.yaml or an override is invalid
    │   ├── RunbookError          a runbook cannot be read (bytes, syntax)
    │   └── UsageError            a command was called the wrong way
    ├── NotFoundError             a named thing does not exist: exit 2, HTTP 404
    ├── ConflictError             the action does not fit the current state: exit 1, HTTP 409
    ├── PermissionDenied          the actor's role is too low: HTTP 403
    └── UnavailableError          a dependency (database, tool, receiver) cannot be reached

Errors that come from a place in a file carry a `SourceRef`, and their text starts with
`file:line:` so editors and CI annotate them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A place in a source file; `line` is 1-based, 0 when the whole file is meant."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class OpsbookError(Exception):
    """Base of every error opsbook raises on purpose."""

    def __init__(self, message: str, *, source: SourceRef | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class InputError(OpsbookError):
    """Bad input from the user."""


class ConfigError(InputError):
    """The configuration is invalid. `problems` holds every error found, each with its place."""

    def __init__(
        self,
        message: str,
        *,
        source: SourceRef | None = None,
        problems: list[tuple[SourceRef | None, str]] | None = None,
    ) -> None:
        self.problems = problems or [(source, message)]
        if problems and len(problems) > 1:
            message = "\n".join(f"{ref}: {text}" if ref else text for ref, text in problems)
            super().__init__(message)
        else:
            super().__init__(message, source=source)


class RunbookError(InputError):
    """A runbook cannot be read."""


class UsageError(InputError):
    """A command was called the wrong way."""


class NotFoundError(OpsbookError):
    """A named thing does not exist."""


class ConflictError(OpsbookError):
    """The action does not fit the current state of the thing it acts on."""


class PermissionDenied(OpsbookError):
    """The actor's role does not allow the action."""


class UnavailableError(OpsbookError):
    """A dependency cannot be reached."""
