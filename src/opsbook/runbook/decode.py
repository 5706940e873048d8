"""Runbook bytes to text: UTF-8 (with or without BOM, or BOM-marked UTF-16), mojibake repaired.

Two of the seeds were saved as UTF-8 that had once been read as Latin-1/Windows-1252 ("ðŸ“‹"
for "📋"). ftfy repairs such lines; the repair is reported as a warning so the author can fix the
file. Bytes that are not UTF-8 at all are an error that names the line and column.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import ftfy

from opsbook.errors import RunbookError, SourceRef
from opsbook.runbook.model import ParseWarning

# Characters that appear in UTF-8 read as Latin-1/cp1252: only lines holding one are handed to
# ftfy, which keeps plain ASCII files fast.
_SUSPECT = re.compile(
    "[\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2122]"
)


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    warnings: tuple[ParseWarning, ...] = ()


def decode_bytes(data: bytes, source: str) -> DecodedText:
    """The text of a runbook file. Raises RunbookError (with the line) for undecodable bytes."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise RunbookError(
                f"invalid UTF-16 text ({exc.reason})", source=SourceRef(source)
            ) from exc
    else:
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _decode_error(data, exc, source) from exc
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise RunbookError(
            "a NUL byte: this is a binary file, not a Markdown runbook",
            source=SourceRef(source, line),
        )
    return repair_mojibake(text)


def _decode_error(data: bytes, exc: UnicodeDecodeError, source: str) -> RunbookError:
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    bad = data[exc.start : min(exc.end, exc.start + 4)].hex(" ")
    return RunbookError(
        f"column {column}: byte(s) {bad} are not UTF-8 ({exc.reason}); save the runbook as UTF-8",
        source=SourceRef(source, line),
    )


def normalize_newlines(text: str) -> str:
    """`\r\n` and a lone `\r` as `\n`, as markdown-it reads them, so line numbers agree."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def repair_mojibake(text: str) -> DecodedText:
    """`text` with mojibake lines repaired by ftfy, and one warning naming the lines."""
    if not _SUSPECT.search(text):
        return DecodedText(text)
    lines = text.split("\n")
    repaired: list[int] = []
    for index, line in enumerate(lines):
        if _SUSPECT.search(line):
            fixed = ftfy.fix_encoding(line)
            if fixed != line and "\n" not in fixed:
                lines[index] = fixed
                repaired.append(index + 1)
    if not repaired:
        return DecodedText(text)
    shown = ", ".join(str(n) for n in repaired[:10]) + (", ..." if len(repaired) > 10 else "")
    warning = ParseWarning(
        line=repaired[0],
        message=(
            f"repaired mojibake (UTF-8 that was read as Latin-1) on {len(repaired)} "
            f"line(s): {shown}; save the file with the repaired text"
        ),
        code="mojibake",
    )
    return DecodedText("\n".join(lines), (warning,))
