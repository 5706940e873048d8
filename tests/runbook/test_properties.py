"""Bad input never crashes the parser, and big input takes linear time."""

from __future__ import annotations

import json
import os
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from opsbook.cli.output import to_json
from opsbook.runbook.analyze import analyze_shell
from opsbook.runbook.importer import config_fragment, render_fragment
from opsbook.runbook.lint import lint_runbook
from opsbook.runbook.model import Runbook
from opsbook.runbook.parse import parse_text
from opsbook.runbook.schema import runbook_json

# OPSBOOK_FUZZ_EXAMPLES=5000 makes a long fuzzing run by hand.
_EXAMPLES = int(os.environ.get("OPSBOOK_FUZZ_EXAMPLES", "150"))
_SETTINGS = settings(
    max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

_LANGUAGES = ["", "bash", "sh", "sql", "yaml", "cron", "typescript", "plantuml", "opsbook", "env"]
_CODE_LINES = st.sampled_from(
    [
        "# 1. Check status",
        "-- 2. Kill idle connections",
        "// 3. Something",
        'echo "Step 4: Restart"',
        'psql -c "SELECT 1"',
        "rm -rf /tmp/x",
        "read -p 'Name: ' NAME",
        "cat <<EOF",
        "EOF",
        "alerts:",
        "  - name: x",
        "    condition: a > 1",
        "    duration: 5m",
        "0 2 * * * /bin/true",
        "KEY=value",
        "L1: On-call",
        "$(echo $((1+2)) `date`",
        "'unclosed \"quote",
        "{ [ ( ) ] }",
    ]
)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@st.composite
def _markdown(draw: st.DrawFn) -> str:
    pieces: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["heading", "label", "para", "fence", "list", "task", "table"]))
        text = draw(_TEXT).replace("\n", " ")
        if kind == "heading":
            pieces.append("#" * draw(st.integers(1, 6)) + " " + text)
        elif kind == "label":
            pieces.append(f"**{draw(st.sampled_from(['Symptoms', 'Diagnosis', 'Fix', text]))}:**")
        elif kind == "para":
            pieces.append(text)
        elif kind == "fence":
            body = "\n".join(draw(st.lists(_CODE_LINES | _TEXT, max_size=8)))
            info = draw(st.sampled_from(_LANGUAGES)) + draw(
                st.sampled_from(["", " {name=x timeout=5}", " {"])
            )
            closing = draw(st.sampled_from(["```", "", "~~~"]))
            pieces.append(f"```{info}\n{body}\n{closing}")
        elif kind == "list":
            marker = draw(st.sampled_from(["1.", "-", "2)"]))
            pieces.append(f"{marker} {text}\n   ```bash\n   uptime\n   ```")
        elif kind == "task":
            pieces.append(f"- [{draw(st.sampled_from([' ', 'x']))}] {text}")
        else:
            header = "| Metric | Green | Yellow | Red |\n|---|---|---|---|"
            pieces.append(f"{header}\n| {text} | < 1 | 1-2 | > 2 |")
    return "\n\n".join(pieces)


def _check_invariants(runbook: Runbook, text: str) -> None:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    assert all(1 <= b.line <= lines for b in runbook.blocks)
    assert [b.line for b in runbook.blocks] == sorted(b.line for b in runbook.blocks)
    for procedure in runbook.procedures:
        assert [s.number for s in procedure.steps] == list(range(1, len(procedure.steps) + 1))
        for part in procedure.parts:
            assert [s.number for s in part.steps] == list(range(1, len(part.steps) + 1))
    json.loads(to_json(runbook_json(runbook)))


@_SETTINGS
@given(_TEXT.map(lambda t: t * 3))
def test_any_text_parses_without_crashing(text: str) -> None:
    _check_invariants(parse_text(text), text)


@_SETTINGS
@given(_markdown())
def test_random_markdown_parses_and_accounts_for_every_block(text: str) -> None:
    runbook = parse_text(text)
    _check_invariants(runbook, text)
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    fences = [t.map[0] + 1 for t in tokens if t.type in {"fence", "code_block"} and t.map]
    assert [b.line for b in runbook.blocks] == fences
    assert all(p.level in {"error", "warning", "info"} for p in lint_runbook(runbook, text))
    fragment = config_fragment(runbook)
    assert yaml.safe_load(render_fragment(fragment, "random.md")) == fragment


@_SETTINGS
@given(st.lists(_CODE_LINES | _TEXT, max_size=20).map("\n".join))
def test_the_shell_analysis_never_crashes(code: str) -> None:
    analysis = analyze_shell(code)
    assert all(isinstance(name, str) for name in analysis.variables)


def test_deeply_nested_substitutions_do_not_overflow() -> None:
    analysis = analyze_shell("echo " + "$(" * 5000 + "date" + ")" * 5000)
    assert "date" not in analysis.variables


_CHUNK = """
## Restart {n}

The service answers slowly or not at all. Restarting it is safe: requests in flight are
retried by the load balancer, sessions live in Redis, and the process comes back within a
minute. Before you restart, look at the error rate and the logs so the post-mortem has them;
after, watch the latency for a few minutes. If two restarts in an hour do not help, stop and
escalate: the cause is elsewhere (the database, a dependency, or a bad deploy), and restarting
again only hides it. Keep the incident channel informed of each step you take and its result.
The dashboards to watch are the request rate, the p95 latency and the error ratio of the
service, and the connection count of its database. Note the time of each step.

### Symptoms
- Requests time out
- Error rate > 5%

### Procedure

```bash {{name=restart-{n} timeout=60}}
# 1. Check current status
curl -s http://127.0.0.1:8080/health | jq '.'
# 2. Restart the service
sudo systemctl restart app-{n}
# 3. Verify
psql -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" -c "SELECT count(*) FROM pg_stat_activity;"
```

1. **Check the logs**
   ```bash
   tail -n 100 /var/log/app-{n}.log
   ```
2. Tell the team in the incident channel.

| Metric | Green | Yellow | Red |
|--------|-------|--------|-----|
| P95 Latency | < 500ms | 500-1000ms | > 1000ms |

- [ ] Post-mortem scheduled
"""


def _runbook_of(size: int) -> str:
    parts = ["# Big runbook\n"]
    total, n = 0, 0
    while total < size:
        chunk = _CHUNK.format(n=n)
        parts.append(chunk)
        total += len(chunk)
        n += 1
    return "".join(parts)


def _cpu_seconds(text: str) -> float:
    start = time.process_time()
    parse_text(text)
    return time.process_time() - start


@pytest.mark.slow
def test_a_ten_megabyte_runbook_parses_in_linear_time() -> None:
    small, big = _runbook_of(1_000_000), _runbook_of(10_000_000)
    one = _cpu_seconds(small)
    ten = _cpu_seconds(big)
    # Linear would be 10x; allow 2x on top for a loaded machine and garbage collection.
    assert ten / one < 20, f"1 MB: {one:.2f}s, 10 MB: {ten:.2f}s"
