"""What the parser extracts from the seeds and from small runbooks: rules, schedules, policy."""

from __future__ import annotations

from opsbook.runbook.model import Runbook
from opsbook.runbook.parse import parse_text
from opsbook.runbook.templates import to_jinja


def test_seed_000_has_five_opsbook_alert_rules(seeds: dict[str, Runbook]) -> None:
    rules = seeds["000"].alert_rules
    assert [r.name for r in rules] == [
        "high_error_rate",
        "high_response_time",
        "low_disk_space",
        "database_connections",
        "memory_usage",
    ]
    first = rules[0]
    assert (first.dialect, first.condition, first.for_seconds) == (
        "opsbook",
        "error_rate > 0.05",
        300,
    )
    assert (first.severity, first.channels) == ("critical", ("pagerduty", "slack"))
    assert first.message == "Error rate exceeded 5% for 5 minutes"
    assert first.line == 727


def test_seed_002_has_five_threshold_dialect_rules(seeds: dict[str, Runbook]) -> None:
    rules = seeds["002"].alert_rules
    assert len(rules) == 5
    assert {r.dialect for r in rules} == {"threshold"}
    assert (rules[0].name, rules[0].condition, rules[0].severity) == (
        "HighErrorRate",
        "error_rate > 5%",
        "Critical",
    )


def test_seed_003_has_two_prometheus_rules(seeds: dict[str, Runbook]) -> None:
    rules = seeds["003"].alert_rules
    assert [(r.name, r.for_seconds, r.severity) for r in rules] == [
        ("HighErrorRate", 120, "critical"),
        ("HighResponseTime", 300, "warning"),
    ]
    assert rules[0].expr == 'rate(http_requests_total{status=~"5.."}[5m]) > 0.05'
    assert rules[0].annotations == {"summary": "High error rate detected"}


def test_prometheus_rule_groups_are_read() -> None:
    yaml_text = (
        "groups:\n  - name: db\n    rules:\n      - alert: PgDown\n        expr: pg_up == 0\n"
        "        for: 1m\n        keep_firing_for: 5m\n        labels: {severity: page}\n"
        "      - record: job:rate5m\n        expr: rate(x[5m])\n"
    )
    runbook = parse_text(f"# R\n\n```yaml\n{yaml_text}```\n")
    (rule,) = runbook.alert_rules
    assert (rule.name, rule.severity, rule.for_seconds, rule.keep_firing_seconds) == (
        "PgDown",
        "page",
        60,
        300,
    )
    assert rule.line == 7


def test_a_rule_with_a_bad_duration_is_left_out_with_a_warning() -> None:
    yaml_text = "alerts:\n  - name: x\n    condition: a > 1\n    duration: soon\n"
    runbook = parse_text(f"# R\n\n```yaml\n{yaml_text}```\n")
    assert runbook.alert_rules == ()
    assert [(w.line, w.code) for w in runbook.warnings] == [(5, "alert-rule")]


def test_invalid_alert_yaml_is_a_warning_with_its_line() -> None:
    runbook = parse_text("# R\n\n```yaml\nalerts:\n  - name: [unclosed\n```\n")
    assert [w.code for w in runbook.warnings] == ["yaml"]
    assert runbook.warnings[0].line >= 4


def test_seed_004_has_seven_schedules_named_from_their_comments(seeds: dict[str, Runbook]) -> None:
    schedules = seeds["004"].schedules
    assert [(s.name, s.cron) for s in schedules] == [
        ("database-backup", "0 */6 * * *"),
        ("log-rotation", "0 2 * * *"),
        ("usage-report", "0 6 * * *"),
        ("cost-tracking", "0 * * * *"),
        ("health-check", "*/5 * * * *"),
        ("certificate-renewal-check", "0 0 * * 0"),
        ("database-maintenance", "0 3 15 * *"),
    ]
    assert schedules[0].command == "/scripts/backup-database.sh"
    assert schedules[0].comment == "Database backup - every 6 hours"


def test_a_crontab_comment_in_a_procedure_schedules_that_procedure(
    seeds: dict[str, Runbook],
) -> None:
    (schedule,) = seeds["000"].schedules
    assert (schedule.cron, schedule.procedure, schedule.name) == (
        "0 2 * * *",
        "2-log-rotation",
        "log-rotation",
    )


def test_crontab_lines_in_prose_and_macros_are_schedules() -> None:
    prose = "Backups run from `30 1 * * * /usr/local/bin/backup.sh`."
    text = f"# R\n\n{prose}\n\n```cron\n@daily /bin/true\n```\n"
    schedules = parse_text(text).schedules
    assert [(s.cron, s.command) for s in schedules] == [
        ("30 1 * * *", "/usr/local/bin/backup.sh"),
        ("0 0 * * *", "/bin/true"),
    ]


def test_a_bad_line_in_a_cron_block_is_a_warning() -> None:
    runbook = parse_text("# R\n\n```cron\n61 * * * * /bin/true\n```\n")
    assert runbook.schedules == ()
    assert [(w.line, w.code) for w in runbook.warnings] == [(4, "cron")]


def test_seed_001_has_a_six_row_threshold_table(seeds: dict[str, Runbook]) -> None:
    rows = seeds["001"].thresholds
    assert len(rows) == 6
    assert (rows[0].metric, rows[0].green, rows[0].yellow, rows[0].red) == (
        "P95 Latency",
        "< 500ms",
        "500-1000ms",
        "> 1000ms",
    )


def test_target_lists_become_thresholds(seeds: dict[str, Runbook]) -> None:
    rows = {(t.group, t.metric): t for t in seeds["002"].thresholds}
    cpu = rows[("Application Health", "CPU usage")]
    assert (cpu.green, cpu.yellow, cpu.red) == ("< 70%", "", ">= 70%")
    assert rows[("API Performance", "Throughput")].red == "<= 100 req/s"


def test_seed_001_severities_have_response_targets(seeds: dict[str, Runbook]) -> None:
    severities = seeds["001"].severities
    assert [(s.level, s.name, s.response_seconds) for s in severities] == [
        ("P1", "Critical", 900),
        ("P2", "High", 3600),
        ("P3", "Medium", 14400),
        ("P4", "Low", 86400),
    ]
    assert severities[0].description == "Complete outage, data loss"


def test_seed_003_severities_come_from_headings(seeds: dict[str, Runbook]) -> None:
    severities = seeds["003"].severities
    assert [s.level for s in severities] == ["P0", "P1", "P2", "P3"]
    assert [s.response_seconds for s in severities] == [900, 3600, 14400, 86400]
    assert severities[0].description == "Complete service outage"


def test_seed_002_has_a_four_level_escalation_ladder(seeds: dict[str, Runbook]) -> None:
    ladder = seeds["002"].escalation
    assert [(e.level, e.target, e.after_seconds) for e in ladder] == [
        (1, "On-call engineer", 0),
        (2, "Engineering lead", 1800),
        (3, "Tech lead", 3600),
        (4, "Executive", 7200),
    ]


def test_an_escalation_list_without_times_is_kept_with_warnings(seeds: dict[str, Runbook]) -> None:
    runbook = seeds["001"]
    assert [e.target for e in runbook.escalation][:2] == ["On-Call Engineer", "Team Lead"]
    assert {e.after_seconds for e in runbook.escalation} == {0}
    assert sum(1 for w in runbook.warnings if w.code == "escalation-time") == 4


def test_seed_001_has_three_templates_with_jinja_fields(seeds: dict[str, Runbook]) -> None:
    templates = seeds["001"].templates
    assert [t.name for t in templates] == ["initial", "update", "resolution"]
    initial = templates[0]
    assert initial.fields == ("Title", "Severity", "User-facing impact", "Time")
    assert to_jinja(initial).splitlines()[:3] == [
        "INCIDENT: {{ title }}",
        "Severity: {{ severity }}",
        "Status: Investigating",
    ]
    assert "Duration: {{ start }} - {{ end }}" in to_jinja(templates[2])


def test_template_text_that_looks_like_jinja_stays_literal() -> None:
    text = "# R\n\n## Communication Templates\n\n```\nHi [Name], see {{ not a var }}\n```\n"
    (template,) = parse_text(text).templates
    rendered = to_jinja(template)
    from jinja2 import Environment

    assert Environment(autoescape=False).from_string(rendered).render(name="Ann") == (
        "Hi Ann, see {{ not a var }}"
    )


def test_checklists_are_grouped_by_heading(seeds: dict[str, Runbook]) -> None:
    checklists = {c.title: c for c in seeds["001"].checklists}
    assert len(checklists["Pre-Deployment Checklist"].items) == 7
    assert checklists["Pre-Deployment Checklist"].items[0].text == "Run test suite: `npm test`"
    assert not checklists["During Incident"].items[0].checked
    assert len(seeds["004"].checklists[0].items) == 15


def test_environment_blocks_declare_variables_and_mark_secrets(seeds: dict[str, Runbook]) -> None:
    variables = {v.name: v for v in seeds["002"].variables}
    assert variables["NEXTAUTH_SECRET"].secret and variables["NEXTAUTH_SECRET"].declared
    assert not variables["LOG_LEVEL"].secret
    url = variables["DATABASE_URL"]
    assert url.secret and url.example == "postgresql://user:••••••@host:5432/syncup"


def test_variables_read_by_steps_are_listed_with_their_steps(seeds: dict[str, Runbook]) -> None:
    variables = {v.name: v for v in seeds["000"].variables}
    assert variables["DB_PASSWORD"].secret and not variables["DB_PASSWORD"].declared
    assert not variables["DB_HOST"].secret
    assert len(variables["DB_HOST"].used_by) == 10


def test_a_real_secret_in_an_environment_block_is_masked_and_warned() -> None:
    text = "# R\n\n## Environment\n\n```env\nAPI_TOKEN=9f8e7d6c5b4a39281706f5e4d3c2b1a0\n```\n"
    runbook = parse_text(text)
    (variable,) = runbook.variables
    assert variable.example == "••••••"
    assert [w.code for w in runbook.warnings] == ["secret-value"]


def test_schedule_names_are_valid_job_names() -> None:
    cron = "# Sauvegarde été - chaque nuit\n0 1 * * * /bin/true\n# 🔁 Rotation\n0 2 * * * /bin/true"
    text = f"# R\n\n```cron\n{cron}\n```\n"
    names = [s.name for s in parse_text(text).schedules]
    assert names == ["sauvegarde-ete", "rotation"]
