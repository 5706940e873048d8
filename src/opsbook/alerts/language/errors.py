"""The one error of the condition language: a message and where in the text it happened."""

from __future__ import annotations


class ConditionError(ValueError):
    """Bad condition text. `position` is the 0-based offset in the text; `line`/`column` 1-based."""

    def __init__(self, message: str, text: str = "", position: int = 0) -> None:
        self.message = message
        self.text = text
        self.position = position
        super().__init__(self.describe())

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.position) + 1

    @property
    def column(self) -> int:
        return self.position - (self.text.rfind("\n", 0, self.position) + 1) + 1

    def describe(self) -> str:
        if not self.text:
            return self.message
        return f"column {self.column}: {self.message}"
