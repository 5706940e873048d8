"""The parser on the seeds and on small runbooks written for one behaviour each."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from opsbook.errors import NotFoundError, RunbookError
from opsbook.runbook.model import BlockRole, Runbook, StepKind
from opsbook.runbook.parse import parse_file, parse_text
from tests.runbook.conftest import SEED_FILES, seed_path


def _fence_lines(path: Path) -> list[int]:
    tokens = MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8"))
    return [t.map[0] + 1 for t in tokens if t.type in {"fence", "code_block"} and t.map]


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name[:3])
def test_every_fenced_block_of_a_seed_is_accounted_for_once(path: Path) -> None:
    runbook = parse_file(path)
    assert [b.line for b in runbook.blocks] == _fence_lines(path)
    step_blocks = {s.block_line for p in runbook.procedures for s in p.steps if s.block_line}
    for block in runbook.blocks:
        if block.role == BlockRole.STEPS:
            assert block.line in step_blocks, f"block at line {block.line} became no step"
    assert step_blocks <= {b.line for b in runbook.blocks}


def test_seed_000_application_restart_has_nine_steps_titled_from_its_comments(
    seeds: dict[str, Runbook],
) -> None:
    procedure = seeds["000"].procedure("Application Restart")
    assert procedure is not None
    assert procedure.slug == "1-application-restart"
    assert [s.title for s in procedure.steps] == [
        "Check current status",
        "Notify team",
        "Enable maintenance mode",
        "Wait for active requests to complete",
        "Restart application",
        "Wait for application to be ready",
        "Disable maintenance mode",
        "Verify application",
        "Notify completion",
    ]
    assert [s.number for s in procedure.steps] == list(range(1, 10))
    assert [p.role for p in procedure.parts] == ["symptoms", "procedure"]
    assert all(s.kind == StepKind.SHELL for s in procedure.steps)


def test_a_step_keeps_the_code_between_its_marker_and_the_next(seeds: dict[str, Runbook]) -> None:
    procedure = seeds["000"].procedure("Application Restart")
    assert procedure is not None
    first, fifth, last = procedure.steps[0], procedure.steps[4], procedure.steps[-1]
    assert first.code.startswith('echo "Starting application restart procedure..."')
    assert "curl -s https://synapse-studio.com/api/health | jq '.'" in first.code
    assert fifth.code.startswith("# 5. Restart application")
    assert "kubectl rollout restart" in fifth.code and "# 6." not in fifth.code
    assert last.code.rstrip().endswith('echo "Restart procedure completed"')
    lines = seed_path("000").read_text().splitlines()
    assert lines[fifth.line - 1] == "# 5. Restart application"


def test_seed_000_database_connection_issues_has_a_diagnostic_and_a_resolution_part(
    seeds: dict[str, Runbook],
) -> None:
    procedure = seeds["000"].procedure("Database Connection Issues")
    assert procedure is not None
    diagnosis = procedure.part("diagnosis")
    resolution = procedure.part("resolution")
    assert diagnosis is not None and resolution is not None
    assert diagnosis.title == "Diagnostic Steps"
    assert [s.number for s in diagnosis.steps] == [1, 2, 3, 4, 5]
    assert diagnosis.steps[0].title == "Test basic connectivity"
    assert resolution.title == "Resolution Steps"
    assert [s.title for s in resolution.steps][:2] == [
        "Kill idle connections",
        "Vacuum and analyze tables",
    ]
    assert [s.number for s in procedure.steps] == list(range(1, 10))
    assert procedure.steps[5].part == "Resolution Steps"


def test_steps_list_the_variables_they_read_and_not_the_ones_they_set(
    seeds: dict[str, Runbook],
) -> None:
    procedure = seeds["000"].procedure("Database Connection Issues")
    assert procedure is not None
    auth = procedure.steps[1]
    assert set(auth.variables) == {"DB_PASSWORD", "DB_HOST", "DB_USER", "DB_NAME"}
    assert "PGPASSWORD" in auth.assigns and "PGPASSWORD" not in auth.variables
    rotation = seeds["000"].procedure("Log Rotation")
    assert rotation is not None
    assert rotation.steps[0].variables == ()  # LOG_DIRS and dir are set by the step itself


def test_steps_name_the_tools_they_call(seeds: dict[str, Runbook]) -> None:
    procedure = seeds["000"].procedure("Application Restart")
    assert procedure is not None
    assert procedure.steps[0].tools == ("curl", "jq")
    assert set(procedure.steps[4].tools) == {"vercel", "docker-compose", "kubectl"}


DANGER_CASES = [
    ("000", "Database Connection Issues", "Kill idle connections", "pg_terminate_backend"),
    ("001", "Weekly Tasks", "Full vacuum on small tables", "VACUUM FULL"),
    ("000", "Scheduled Maintenance", "Run database maintenance", "REINDEX DATABASE"),
    (
        "001",
        "Critical: Database Connection Exhaustion",
        "Increase connection limit (temporary)",
        "ALTER SYSTEM",
    ),
    ("004", "Disk Space Emergency", "Clean tmp", "rm -rf"),
    ("004", "Disk Space Emergency", "Clean Docker", "docker system prune"),
    ("000", "Application Restart", "Restart application", "--prod"),
    ("000", "Application Restart", "Restart application", "--force"),
    ("001", "Application Rollback", "Rollback to previous version", "rollout undo"),
    ("001", "Optimize Indexes", "Optimize Indexes", "DROP"),
]


@pytest.mark.parametrize(("seed", "procedure", "step", "reason"), DANGER_CASES)
def test_dangerous_seed_steps_say_why(
    seeds: dict[str, Runbook], seed: str, procedure: str, step: str, reason: str
) -> None:
    found = [
        s
        for p in seeds[seed].procedures
        for s in p.steps
        if s.title == step and (p.title == procedure or procedure == step)
    ]
    assert found, f"no step {step!r} in {procedure!r}"
    assert reason in found[0].danger
    assert found[0].needs_confirmation


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("kubectl delete pod api-0 -n production", "kubectl delete"),
        ("psql -c 'TRUNCATE TABLE sessions'", "TRUNCATE"),
        ("psql -c 'DROP TABLE old_events'", "DROP"),
        ('psql -c "DELETE FROM sessions;"', "DELETE without WHERE"),
        ('psql -c "UPDATE users SET active = false;"', "UPDATE without WHERE"),
    ],
)
def test_a_shell_step_with_a_destructive_command_is_dangerous(code: str, reason: str) -> None:
    runbook = parse_text(f"# R\n\n## Fix\n\n```bash\n{code}\n```\n")
    assert reason in runbook.procedures[0].steps[0].danger


def test_delete_and_update_with_where_are_not_dangerous() -> None:
    sql = "DELETE FROM s WHERE id = 1;\nUPDATE u SET a = 1 WHERE id = 2;"
    text = f"# R\n\n## Fix\n\n```sql\n{sql}\n```\n"
    assert parse_text(text).procedures[0].steps[0].danger == ()


def test_echoed_and_commented_words_are_not_danger() -> None:
    code = '# never DROP TABLE here\necho "Running VACUUM FULL later"\nuptime'
    text = f"# R\n\n## Fix\n\n```bash\n{code}\n```\n"
    assert parse_text(text).procedures[0].steps[0].danger == ()


def test_read_p_becomes_a_parameter_with_its_prompt(seeds: dict[str, Runbook]) -> None:
    procedure = seeds["000"].procedure("Rollback Procedure")
    assert procedure is not None
    params = procedure.steps[0].parameters
    assert [(p.name, p.prompt) for p in params] == [
        ("ROLLBACK_URL", "Enter deployment URL to rollback to:"),
        ("REVISION", "Enter revision number to rollback to:"),
    ]
    assert "REVISION" not in procedure.steps[0].variables


def test_read_s_makes_a_secret_parameter() -> None:
    text = '# R\n\n## Rotate\n\n```bash\nread -s -p "New password: " NEW_PASSWORD\n```\n'
    (param,) = parse_text(text).procedures[0].steps[0].parameters
    assert param.name == "NEW_PASSWORD" and param.secret


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("watch -n 5 'pg_isready'", "watch"),
        ("tail -f /var/log/syslog", "tail -f"),
        ("docker exec -it api bash", "-it"),
        ("while true; do date; sleep 1; done", "unbounded loop"),
        ("psql -h db.local", "psql session"),
    ],
)
def test_constructs_that_wait_forever_are_flagged(code: str, reason: str) -> None:
    runbook = parse_text(f"# R\n\n## Look\n\n```bash\n{code}\n```\n")
    assert reason in runbook.procedures[0].steps[0].interactive


def test_bounded_commands_are_not_flagged_interactive() -> None:
    code = (
        'psql -c "SELECT 1"\nredis-cli ping\ntail -n 20 /var/log/syslog\n'
        "for i in 1 2 3; do echo $i; done"
    )
    runbook = parse_text(f"# R\n\n## Look\n\n```bash\n{code}\n```\n")
    assert runbook.procedures[0].steps[0].interactive == ()


def test_block_attributes_come_from_the_info_string() -> None:
    info = "bash {name=restart timeout=60 confirm=true}"
    text = f"# R\n\n## Restart\n\n```{info}\nsystemctl restart app\n```\n"
    runbook = parse_text(text)
    step = runbook.procedures[0].steps[0]
    assert step.attrs == {"name": "restart", "timeout": "60", "confirm": "true"}
    assert step.needs_confirmation
    assert runbook.blocks[0].language == "bash"
    assert runbook.blocks[0].attrs["timeout"] == "60"


def test_a_split_block_names_each_step_from_its_name_attribute() -> None:
    text = "# R\n\n## Fix\n\n```sql {name=fix}\n-- 1. Look\nSELECT 1;\n-- 2. Act\nSELECT 2;\n```\n"
    steps = parse_text(text).procedures[0].steps
    assert [s.attrs["name"] for s in steps] == ["fix-1", "fix-2"]
    assert [s.title for s in steps] == ["Look", "Act"]


def test_run_false_keeps_a_block_as_reference() -> None:
    text = "# R\n\n## Example\n\n```bash {run=false}\nrm -rf /srv/app\n```\n"
    runbook = parse_text(text)
    assert runbook.blocks[0].role == BlockRole.REFERENCE
    assert runbook.procedures == ()


def test_reference_and_diagram_code_is_kept_and_never_run(seeds: dict[str, Runbook]) -> None:
    roles = {(b.language, b.role) for b in seeds["000"].blocks}
    assert ("typescript", BlockRole.REFERENCE) in roles
    assert ("nginx", BlockRole.REFERENCE) in roles
    assert ("plantuml", BlockRole.DIAGRAM) in roles
    art = [b for b in seeds["003"].blocks if b.role == BlockRole.DIAGRAM]
    assert art and "┌" in art[0].content


def test_numbered_list_items_with_code_are_steps(seeds: dict[str, Runbook]) -> None:
    procedure = seeds["004"].procedure("User Metrics Review")
    assert procedure is not None
    assert [(s.title, s.kind) for s in procedure.steps] == [
        ("Check active users", StepKind.SQL),
        ("Check usage metrics", StepKind.SQL),
        ("Check system performance", StepKind.SHELL),
    ]


def test_a_block_right_after_a_numbered_item_belongs_to_it(seeds: dict[str, Runbook]) -> None:
    procedure = seeds["001"].procedure("High Query Latency Alert")
    assert procedure is not None
    assert [(s.title, s.kind) for s in procedure.steps] == [
        ("Acknowledge Alert", StepKind.SHELL),
        ("Investigate", StepKind.REFERENCE),
        ("Mitigate", StepKind.REFERENCE),
        ("Document", StepKind.SHELL),
    ]


def test_bold_labels_make_parts(seeds: dict[str, Runbook]) -> None:
    procedure = seeds["003"].procedure("API Not Responding")
    assert procedure is not None
    assert [(p.role, p.title) for p in procedure.parts] == [
        ("symptoms", "Symptoms"),
        ("diagnosis", "Diagnosis"),
        ("resolution", "Solutions"),
    ]
    assert procedure.parts[0].text == "HTTP 502/503 errors, timeouts"
    assert [s.kind for s in procedure.part("resolution").steps] == [StepKind.MANUAL] * 4  # type: ignore[union-attr]


def test_checklist_items_become_checklist_steps(seeds: dict[str, Runbook]) -> None:
    procedure = seeds["004"].procedure("Incident Commander Checklist")
    assert procedure is not None
    assert len(procedure.steps) == 15
    assert {s.kind for s in procedure.steps} == {StepKind.CHECKLIST}
    assert procedure.steps[0].title == "Determine severity"


def test_a_step_of_comments_only_is_manual(seeds: dict[str, Runbook]) -> None:
    procedure = seeds["002"].procedure("Staging Deployment")
    assert procedure is not None
    check = procedure.steps[2]
    assert (check.title, check.kind) == ("Check monitoring", StepKind.MANUAL)
    assert check.text == "Visit: https://monitoring.example.com"


def test_preamble_code_before_a_comment_only_first_step_still_runs() -> None:
    code = "set -e\n# 1. Look at the dashboard\n# 2. Restart\nsystemctl restart app"
    text = f"# R\n\n## Fix\n\n```bash\n{code}\n```\n"
    first, second = parse_text(text).procedures[0].steps
    assert (first.kind, first.code) == (StepKind.SHELL, "set -e\n# 1. Look at the dashboard")
    assert second.kind == StepKind.SHELL


def test_no_title_of_any_seed_keeps_mojibake(seeds: dict[str, Runbook]) -> None:
    titles = [s.title for r in seeds.values() for s in r.sections]
    titles += [p.title for r in seeds.values() for p in r.procedures]
    assert not [t for t in titles if any(ch in t for ch in "ðŸÃâ€Â")]


def test_titles_lose_numbering_and_emoji_but_slugs_follow_github(seeds: dict[str, Runbook]) -> None:
    titles = [s.title for s in seeds["004"].sections]
    assert "Daily Operations" in titles
    assert not any("ð" in t or "Ÿ" in t for t in titles)
    toc_links = {
        "common-operations",
        "incident-response",
        "monitoring--alerting",
        "disaster-recovery",
    }
    assert toc_links <= {s.slug for s in seeds["000"].sections}


def test_mojibake_is_repaired_with_a_warning(seeds: dict[str, Runbook]) -> None:
    runbook = seeds["004"]
    warning = next(w for w in runbook.warnings if w.code == "mojibake")
    assert warning.line == 3
    assert runbook.sections[1].title == "Daily Operations"


def test_undecodable_bytes_are_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(b"# Title\n\nok line\n\xff\xfe broken\n")
    with pytest.raises(RunbookError) as caught:
        parse_file(path)
    assert str(caught.value).startswith(f"{path}:4: column 1:")
    assert "not UTF-8" in str(caught.value)


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        parse_file(tmp_path / "nope.md")


def test_an_unclosed_fence_is_a_warning_and_still_a_block() -> None:
    runbook = parse_text("# R\n\n## Fix\n\n```bash\nuptime\n")
    assert [w.code for w in runbook.warnings] == ["unclosed-fence"]
    assert runbook.procedures[0].steps[0].code == "uptime"


def test_content_before_the_first_heading_is_kept() -> None:
    runbook = parse_text("```bash\nuptime\n```\n", source="notes.md")
    assert runbook.title == "notes"
    assert runbook.procedures[0].steps[0].code == "uptime"
