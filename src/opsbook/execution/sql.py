"""SQL steps: statement by statement against a named connection, results printed as tables.

Statements are split with sqlparse (dollar quotes, comments and strings respected) and run the way
`psql -f` runs them: each in autocommit unless the block opens its own `BEGIN ... COMMIT`, so
`VACUUM` and `CREATE INDEX CONCURRENTLY` run outside a transaction. A block with psql
meta-commands (`\\d+`, `\\i`) is handed to `psql` itself, with the password in the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import sqlparse
from psycopg.conninfo import conninfo_to_dict

from opsbook.execution.model import StepResult, StepStatus
from opsbook.execution.process import Ending, run_process

MAX_ROWS_SHOWN = 500
CONNECT_TIMEOUT_SECONDS = 10
_META_COMMAND = re.compile(r"(?m)^\s*\\[a-zA-Z!?]")


@dataclass(frozen=True)
class SqlTarget:
    """Where a SQL step runs. `url` may hold a password: never print it unmasked."""

    url: str
    statement_timeout: float
    read_only: bool = False


def has_meta_commands(code: str) -> bool:
    return bool(_META_COMMAND.search(code))


def split_statements(code: str) -> list[str]:
    """The statements of `code`, comments kept, comment-only pieces dropped."""
    pieces = (piece.strip() for piece in sqlparse.split(code))
    return [p for p in pieces if p and sqlparse.format(p, strip_comments=True).strip()]


async def run_sql(
    code: str,
    target: SqlTarget,
    *,
    timeout: float,
    stop: asyncio.Event,
    emit: Callable[[str], None],
) -> StepResult:
    """Run every statement of `code`; stop at the first error, as psql's ON_ERROR_STOP does."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            target.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
        )
    except psycopg.Error as exc:
        message = _first_line(str(exc)) or type(exc).__name__
        emit(f"cannot connect: {message}\n")
        return StepResult(StepStatus.FAILED, error=f"cannot connect: {message}")
    async with conn:
        await _configure(conn, target, timeout)
        statements: list[dict[str, Any]] = []
        work = asyncio.ensure_future(_run_all(conn, split_statements(code), emit, statements))
        ending = await _wait(work, timeout, stop)
        if ending is not Ending.EXITED:
            with contextlib.suppress(psycopg.Error):
                await conn.cancel_safe()
            with contextlib.suppress(psycopg.Error, asyncio.CancelledError):
                await work
            status = StepStatus.TIMED_OUT if ending is Ending.TIMED_OUT else StepStatus.INTERRUPTED
            emit(f"\n{status.value.replace('_', ' ')}: the running statement was cancelled\n")
            return StepResult(status, error="statement cancelled", data={"statements": statements})
        error = work.result()
        if error:
            await _rollback_open_transaction(conn)
            return StepResult(StepStatus.FAILED, 1, error, data={"statements": statements})
        return StepResult(StepStatus.OK, 0, data={"statements": statements})


async def _configure(conn: psycopg.AsyncConnection[Any], target: SqlTarget, timeout: float) -> None:
    # The step's own timeout cancels from here (the step is then `timed_out`); the server's
    # limit backs it up a second later, and is the connection's own when that is shorter.
    seconds = target.statement_timeout if 0 < target.statement_timeout < timeout else timeout + 1
    limit_ms = int(seconds * 1000)
    await conn.execute(b"SELECT set_config('statement_timeout', %s, false)", [f"{limit_ms}ms"])
    if target.read_only:
        await conn.execute(b"SET default_transaction_read_only = on")


async def _wait(work: asyncio.Future[Any], timeout: float, stop: asyncio.Event) -> Ending:
    stopped: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {work, stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopped.cancel()
    if work in done:
        return Ending.EXITED
    return Ending.INTERRUPTED if stop.is_set() else Ending.TIMED_OUT


async def _run_all(
    conn: psycopg.AsyncConnection[Any],
    statements: Sequence[str],
    emit: Callable[[str], None],
    record: list[dict[str, Any]],
) -> str:
    """Run each statement, printing its result; returns the error message, or "" when all ran."""
    loop = asyncio.get_running_loop()
    for statement in statements:
        started = loop.time()
        entry: dict[str, Any] = {"statement": _summary(statement)}
        record.append(entry)
        try:
            async with conn.cursor() as cur:
                await cur.execute(statement.encode("utf-8"))
                entry["status"] = cur.statusmessage or ""
                entry["rows"] = cur.rowcount
                if cur.description is not None:
                    columns = [col.name for col in cur.description]
                    rows = await cur.fetchmany(MAX_ROWS_SHOWN)
                    emit(format_table(columns, rows, total=cur.rowcount))
                else:
                    emit(f"{cur.statusmessage}\n")
        except psycopg.Error as exc:
            entry["error"] = _first_line(str(exc))
            emit(f"ERROR:  {exc}\n")
            return f"ERROR:  {entry['error']}"
        finally:
            entry["duration_seconds"] = round(loop.time() - started, 6)
    return ""


async def _rollback_open_transaction(conn: psycopg.AsyncConnection[Any]) -> None:
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        with contextlib.suppress(psycopg.Error):
            await conn.execute(b"ROLLBACK")


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, total: int) -> str:
    """Rows as psql prints them: aligned columns, a rule, and `(N rows)`."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [" " + " | ".join(c.center(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-" + "-+-".join("-" * w for w in widths) + "-")
    lines += [" " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    count = total if total >= 0 else len(rows)
    lines.append(f"({count} row{'' if count == 1 else 's'})")
    if count > len(rows):
        lines.append(f"(first {len(rows)} shown)")
    return "\n".join(line.rstrip() for line in lines) + "\n\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("\n", "\\n")


def _summary(statement: str) -> str:
    text = sqlparse.format(statement, strip_comments=True).strip()
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:199] + "…"


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def psql_environment(target: SqlTarget) -> dict[str, str]:
    """libpq variables for `target`, so psql gets host, user and password without argv."""
    params = conninfo_to_dict(target.url)
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "dbname": "PGDATABASE",
        "sslmode": "PGSSLMODE",
    }
    env = {names[k]: str(v) for k, v in params.items() if k in names and v is not None}
    options = [f"-c statement_timeout={int(target.statement_timeout * 1000)}"]
    if target.read_only:
        options.append("-c default_transaction_read_only=on")
    env["PGOPTIONS"] = " ".join(options)
    return env


async def run_psql(
    code: str,
    target: SqlTarget,
    *,
    script: Path,
    env: dict[str, str],
    cwd: str = "",
    timeout: float,
    stop: asyncio.Event,
    on_output: Callable[[bytes], None],
    on_start: Callable[[int], None] | None = None,
) -> StepResult:
    """Run a block with psql meta-commands through `psql -f`; a clear error without psql."""
    psql = shutil.which("psql", path=env.get("PATH"))
    if psql is None:
        if on_start is not None:
            on_start(0)
        message = "this SQL step uses psql meta-commands (\\d, \\i, ...) and psql is not installed"
        on_output(f"{message}\n".encode())
        return StepResult(StepStatus.FAILED, error=message)
    script.write_text(code if code.endswith("\n") else code + "\n")
    script.chmod(0o600)
    result = await run_process(
        [psql, "-X", "-v", "ON_ERROR_STOP=1", "-f", str(script)],
        env={**env, **psql_environment(target)},
        cwd=cwd or str(script.parent),
        timeout=timeout,
        stop=stop,
        on_output=on_output,
        on_start=on_start,
    )
    if result.ending is Ending.TIMED_OUT:
        return StepResult(StepStatus.TIMED_OUT, error="psql timed out")
    if result.ending is Ending.INTERRUPTED:
        return StepResult(StepStatus.INTERRUPTED, error="interrupted")
    if result.exit_code == 0:
        return StepResult(StepStatus.OK, 0)
    return StepResult(StepStatus.FAILED, result.exit_code, error=f"psql exited {result.exit_code}")
