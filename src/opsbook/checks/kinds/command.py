"""`command`: run a command; its exit code decides, its output can carry metrics.

A string runs through `/bin/sh -c`, a list runs without a shell. The command gets its own
process group, and the whole group is killed when the check times out. Output may give metrics:
`key=value` lines, or Prometheus text.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal

from prometheus_client.parser import text_string_to_metric_families

from opsbook.checks.context import ProbeContext
from opsbook.checks.model import Observation
from opsbook.config.checks import CommandCheck
from opsbook.metrics.model import LABEL_NAME

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_KEY_VALUE = re.compile(rf"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[=:]\s*({_NUMBER})\s*")
OUTPUT_LIMIT = 1024 * 1024


async def probe(spec: CommandCheck, ctx: ProbeContext, obs: Observation) -> None:
    argv = ["/bin/sh", "-c", spec.command] if isinstance(spec.command, str) else spec.command
    cwd = ctx.config.resolve_path(spec.cwd) if spec.cwd else ctx.config.base_dir
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env={**os.environ, **spec.env},
        start_new_session=True,
    )
    try:
        stdout, stderr = await process.communicate()
    except asyncio.CancelledError:
        _kill_group(process.pid)
        with contextlib.suppress(ProcessLookupError):
            await asyncio.shield(process.wait())
        raise
    code = process.returncode if process.returncode is not None else -1
    obs.add("command_exit_code", code)
    out = stdout[:OUTPUT_LIMIT].decode(errors="replace")
    err = stderr[:OUTPUT_LIMIT].decode(errors="replace")
    _parse_output(spec, out, obs)
    if code != 0:
        detail = _last_line(err) or _last_line(out)
        text = f"exit {code}" + (f": {detail}" if detail else "")
        if code in spec.warn_exit_codes:
            obs.warn(text)
        else:
            obs.fail(text)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _parse_output(spec: CommandCheck, out: str, obs: Observation) -> None:
    if spec.output == "key_value":
        for line in out.splitlines():
            match = _KEY_VALUE.fullmatch(line)
            if match:
                obs.add(match[1], float(match[2]))
    elif spec.output == "prometheus":
        try:
            add_prometheus_text(out, obs, keep=None)
        except ValueError as exc:
            obs.warn(f"output is not Prometheus text: {exc}")


def add_prometheus_text(text: str, obs: Observation, keep: list[str] | None) -> int:
    """Record the samples of Prometheus exposition `text` (those whose names match `keep`).

    Returns how many samples the text held. A scraped `check` label becomes `exported_check`.
    """
    from fnmatch import fnmatchcase

    total = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            total += 1
            if keep is not None and not any(fnmatchcase(sample.name, p) for p in keep):
                continue
            labels = {
                ("exported_check" if k == "check" else k): str(v)
                for k, v in sample.labels.items()
                if LABEL_NAME.fullmatch(k)
            }
            obs.add(sample.name, float(sample.value), **labels)
    return total
