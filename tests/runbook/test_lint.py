"""opsbook lint: each problem it reports, with its line and level."""

from __future__ import annotations

from pathlib import Path

from opsbook.runbook.lint import Problem, lint_file


def _lint(tmp_path: Path, text: str) -> list[Problem]:
    path = tmp_path / "runbook.md"
    path.write_text(text)
    return [p for p in lint_file(path) if p.level != "info"]


def _codes(problems: list[Problem]) -> list[tuple[int, str, str]]:
    return [(p.line, p.level, p.code) for p in problems]


def test_a_link_to_a_missing_anchor_is_a_warning(tmp_path: Path) -> None:
    text = "# R\n\nSee [restart](#restart) and [fix](#fix-it).\n\n## Fix it\n"
    assert _codes(_lint(tmp_path, text)) == [(3, "warning", "broken-link")]


def test_links_inside_blocks_are_not_checked(tmp_path: Path) -> None:
    text = "# R\n\n```markdown\n[x](#nowhere)\n```\n"
    assert _lint(tmp_path, text) == []


def test_two_procedures_with_one_name_are_a_warning(tmp_path: Path) -> None:
    text = "# R\n\n## Restart\n\n```bash\nuptime\n```\n\n## Restart\n\n```bash\nuptime\n```\n"
    assert _codes(_lint(tmp_path, text)) == [(9, "warning", "duplicate-procedure")]


def test_a_step_that_waits_forever_needs_a_timeout(tmp_path: Path) -> None:
    text = "# R\n\n## Watch\n\n```bash\ntail -f /var/log/syslog\n```\n"
    assert _codes(_lint(tmp_path, text)) == [(6, "warning", "waits-forever")]
    bounded = text.replace("```bash", "```bash {timeout=60s}")
    assert _lint(tmp_path, bounded) == []


def test_a_placeholder_left_in_code_is_a_warning(tmp_path: Path) -> None:
    text = "# R\n\n## Restore\n\n```bash\n./restore.sh <backup_timestamp>\n```\n"
    assert _codes(_lint(tmp_path, text)) == [(6, "warning", "placeholder")]


def test_sql_written_as_shell_is_a_warning(tmp_path: Path) -> None:
    text = "# R\n\n## Look\n\n```bash\nSELECT 1;\n```\n"
    assert _codes(_lint(tmp_path, text)) == [(6, "warning", "sql-in-shell")]


def test_a_real_secret_in_the_runbook_is_an_error(tmp_path: Path) -> None:
    text = "# R\n\n## Environment\n\n```env\nDB_PASSWORD=s3cr3t-Pa55word\n```\n"
    problems = _lint(tmp_path, text)
    assert _codes(problems) == [(6, "error", "secret-value")]
    assert "s3cr3t" not in problems[0].message


def test_bad_attribute_values_are_errors(tmp_path: Path) -> None:
    text = "# R\n\n## Fix\n\n```bash {confirm=maybe errexit=sometimes}\nuptime\n```\n"
    assert _codes(_lint(tmp_path, text)) == [(6, "error", "attribute"), (6, "error", "attribute")]


def test_undecodable_bytes_are_one_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(b"# R\n\xff\n")
    assert _codes(lint_file(path)) == [(2, "error", "encoding")]


def test_undeclared_variables_are_infos(tmp_path: Path) -> None:
    path = tmp_path / "runbook.md"
    path.write_text("# R\n\n## Check\n\n```bash\npg_isready -h $DB_HOST\n```\n")
    (problem,) = lint_file(path)
    assert (problem.line, problem.level, problem.code) == (6, "info", "variable")
    assert "DB_HOST" in problem.message
